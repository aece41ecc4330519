"""The challenge utility against hand-computed cases and a literal port of the official loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.utility import (
    best_alerts,
    best_threshold,
    normalized_utility,
    row_utilities,
    total_utility,
    utility_curve,
)


def _stay(n: int, first_label: int | None) -> np.ndarray:
    y = np.zeros(n, dtype=np.int8)
    if first_label is not None:
        y[first_label:] = 1
    return y


def _alerts(n: int, rows: list[int]) -> np.ndarray:
    a = np.zeros(n, dtype=bool)
    a[rows] = True
    return a


# Septic stay of 40 rows, first SepsisLabel at row 20: t_sepsis = 26 (onset = label + 6 h).
SEPTIC = _stay(40, 20)
G40 = np.zeros(40, dtype=np.int64)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (14, 0.0),  # t - t_sepsis = -12: dt_early, reward 0
        (17, 0.5),  # -9: halfway up the early ramp (1/6 * -9 + 2)
        (20, 1.0),  # -6: dt_optimal, the full reward
        (26, 1.0 / 3.0),  # 0: on the falling ramp (-1/9 * 0 + 1/3)
        (29, 0.0),  # +3: dt_late, reward 0
        (10, -0.05),  # -16: too early, costs like a false alarm
        (35, 0.0),  # after dt_late nothing counts
    ],
)
def test_single_alert_on_a_septic_stay(row: int, expected: float) -> None:
    u_alert, u_quiet = row_utilities(SEPTIC, G40)
    # the utility of that one alert over staying quiet at that row
    gained = total_utility(SEPTIC, G40, _alerts(40, [row])) - total_utility(
        SEPTIC, G40, _alerts(40, [])
    )
    assert u_alert[row] == pytest.approx(expected)
    assert gained == pytest.approx(expected - u_quiet[row])


def test_missed_sepsis_costs_the_late_ramp() -> None:
    # quiet everywhere: rows -5..+3 h cost -2/9 d - 4/3 each, summing to -10
    assert total_utility(SEPTIC, G40, np.zeros(40, dtype=bool)) == pytest.approx(-10.0)
    _, u_quiet = row_utilities(SEPTIC, G40)
    assert u_quiet[21] == pytest.approx(-2.0 / 9.0)  # -5 h
    assert u_quiet[29] == pytest.approx(-2.0)  # +3 h
    assert u_quiet[20] == 0.0  # -6 h: not yet missed


def test_false_alarms_cost_five_hundredths_each() -> None:
    y = _stay(10, None)
    g = np.zeros(10, dtype=np.int64)
    assert total_utility(y, g, _alerts(10, [2, 3, 7])) == pytest.approx(-0.15)
    assert total_utility(y, g, np.zeros(10, dtype=bool)) == 0.0


def test_normalization_best_is_one_and_silence_is_zero() -> None:
    y = np.concatenate([SEPTIC, _stay(10, None)])
    g = np.concatenate([G40, np.ones(10, dtype=np.int64)])
    best = best_alerts(y, g)
    assert best.nonzero()[0].tolist() == list(range(14, 30))  # [t_sepsis-12, t_sepsis+3]
    assert normalized_utility(y, g, best) == pytest.approx(1.0)
    assert normalized_utility(y, g, np.zeros(50, dtype=bool)) == pytest.approx(0.0)
    # best utility: early ramp 0..1 (rows 14-20) + falling ramp (rows 21-29)
    u_best = sum(k / 6 for k in range(7)) + sum(1 / 3 - d / 9 for d in range(-5, 4))
    # one false alarm on the non-septic stay
    alarm = best.copy()
    alarm[45] = True
    assert normalized_utility(y, g, alarm) == pytest.approx((u_best + 10 - 0.05) / (u_best + 10))


def test_label_at_first_row_clips_the_best_window() -> None:
    y = _stay(5, 0)  # t_sepsis = 6: best window rows [0, 9] clipped to the stay
    g = np.zeros(5, dtype=np.int64)
    assert best_alerts(y, g).all()


def _official(labels: list[int], predictions: list[int]) -> float:
    """Literal port of compute_prediction_utility (evaluation-2019), for the oracle test."""
    dt_early, dt_optimal, dt_late = -12, -6, 3.0
    max_u_tp, min_u_fn, u_fp, u_tn = 1, -2, -0.05, 0
    if any(labels):
        is_septic = True
        t_sepsis: float = labels.index(1) - dt_optimal
    else:
        is_septic = False
        t_sepsis = float("inf")
    m_1 = float(max_u_tp) / float(dt_optimal - dt_early)
    b_1 = -m_1 * dt_early
    m_2 = float(-max_u_tp) / float(dt_late - dt_optimal)
    b_2 = -m_2 * dt_late
    m_3 = float(min_u_fn) / float(dt_late - dt_optimal)
    b_3 = -m_3 * dt_optimal
    total = 0.0
    for t in range(len(labels)):
        if t <= t_sepsis + dt_late:
            if is_septic and predictions[t]:
                if t <= t_sepsis + dt_optimal:
                    total += max(m_1 * (t - t_sepsis) + b_1, u_fp)
                elif t <= t_sepsis + dt_late:
                    total += m_2 * (t - t_sepsis) + b_2
            elif not is_septic and predictions[t]:
                total += u_fp
            elif is_septic and not predictions[t]:
                if t <= t_sepsis + dt_optimal:
                    total += 0
                elif t <= t_sepsis + dt_late:
                    total += m_3 * (t - t_sepsis) + b_3
            else:
                total += u_tn
    return total


stays = st.lists(
    st.tuples(st.integers(1, 60), st.one_of(st.none(), st.integers(0, 59))), min_size=1, max_size=6
)


@given(stays, st.randoms(use_true_random=False))
def test_matches_the_official_loop(spec: list[tuple[int, int | None]], rnd: object) -> None:
    labels: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    expected = 0.0
    for n, first in spec:
        y = _stay(n, first if first is not None and first < n else None)
        a = np.array([rnd.random() < 0.3 for _ in range(n)])  # type: ignore[attr-defined]
        labels.append(y)
        preds.append(a)
        expected += _official(y.tolist(), a.astype(int).tolist())
    g = np.concatenate([np.full(len(y), i, dtype=np.int64) for i, y in enumerate(labels)])
    got = total_utility(np.concatenate(labels), g, np.concatenate(preds))
    assert got == pytest.approx(expected, abs=1e-9)


def test_curve_agrees_with_direct_scoring() -> None:
    rng = np.random.default_rng(3)
    y = np.concatenate([SEPTIC, _stay(30, None), _stay(25, 10)])
    g = np.repeat([0, 1, 2], [40, 30, 25]).astype(np.int64)
    scores = rng.random(len(y)).round(2)
    thresholds, utilities = utility_curve(y, g, scores)
    for t, u in zip(thresholds[::7], utilities[::7], strict=True):
        assert u == pytest.approx(normalized_utility(y, g, scores >= t))
    t_best, u_best = best_threshold(y, g, scores)
    assert u_best == pytest.approx(utilities.max())
    assert normalized_utility(y, g, scores >= t_best) == pytest.approx(u_best)


def test_rows_of_a_stay_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match="contiguous"):
        row_utilities(np.zeros(3), np.array([0, 1, 0]))

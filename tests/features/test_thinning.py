"""Monitor-cadence vital signs: thinned to each minute's extremes after an hour, extremes exact."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from features.compute import snapshot
from features.series import Series
from features.state import THIN_AFTER_MS, PatientState
from tests.features.factory import PID, T0, H, obs

SEC = 1000


def _series(points: list[tuple[int, float]]) -> Series:
    s = Series()
    for n, (t, v) in enumerate(points):
        s.insert(t, v, f"o{n}", f"m{n}")
    return s


def test_buckets_of_two_or_fewer_points_are_never_touched() -> None:
    s = _series([(0, 1.0), (30 * SEC, 2.0), (60 * SEC, 3.0), (10 * 60 * SEC, 4.0)])
    assert s.thinned(10**9, 60 * SEC) is None


def test_a_busy_minute_keeps_its_lowest_and_highest_point_and_newer_points_stay() -> None:
    s = _series(
        [(k * SEC, v) for k, v in enumerate([5.0, 9.0, 1.0, 7.0, 9.0, 1.0])] + [(61 * SEC, 4.0)]
    )
    keep = s.thinned(60 * SEC - 1, 60 * SEC)
    assert keep is not None
    s.keep(keep)
    assert list(zip(s.t, s.v, strict=True)) == [(1 * SEC, 9.0), (2 * SEC, 1.0), (61 * SEC, 4.0)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 20)), min_size=1, max_size=120),
    st.randoms(use_true_random=False),
    st.integers(0, 300),
)
def test_thinning_in_steps_equals_thinning_once(
    raw: list[tuple[int, int]], rnd: random.Random, split: int
) -> None:
    """Thin, add the rest (any order), thin again: the same points as thinning all at once."""
    points = [(t * SEC, float(v)) for t, v in raw]
    ids = {p: n for n, p in enumerate(points)}
    once = Series()
    for p in points:
        once.insert(p[0], p[1], f"o{ids[p]}", "m")
    keep = once.thinned(10**9, 60 * SEC)
    if keep is not None:
        once.keep(keep)
    stepwise = Series()
    first, rest = points[:split], points[split:]
    rnd.shuffle(rest)
    for p in first:
        stepwise.insert(p[0], p[1], f"o{ids[p]}", "m")
    keep = stepwise.thinned(10**9, 60 * SEC)
    if keep is not None:
        stepwise.keep(keep)
    for p in rest:
        stepwise.insert(p[0], p[1], f"o{ids[p]}", "m")
    keep = stepwise.thinned(10**9, 60 * SEC)
    if keep is not None:
        stepwise.keep(keep)
    assert sorted(zip(once.t, once.v, once.obs, strict=True)) == sorted(
        zip(stepwise.t, stepwise.v, stepwise.obs, strict=True)
    )


def test_six_hours_of_1_hz_heart_rate_thin_and_keep_exact_extremes() -> None:
    rng = random.Random(7)
    state, raw = PatientState(patient_id=PID), PatientState(patient_id=PID)
    values: list[tuple[int, float]] = []
    for k in range(6 * 3600):
        t, v = T0 + k * SEC, float(rng.randint(55, 140))
        values.append((t, v))
        o = obs("hr", v, t)
        state.apply(o)
        raw.series.setdefault("hr", Series()).insert(t, v, o.obs_id, o.source_msg_id)
    state.prune()
    newest = values[-1][0]
    hr = state.series["hr"]
    old = [t for t in hr.t if t <= newest - THIN_AFTER_MS]
    per_minute: dict[int, int] = {}
    for t in old:
        per_minute[t // 60_000] = per_minute.get(t // 60_000, 0) + 1
    assert max(per_minute.values()) <= 2
    assert len(hr) < 5 * 120 + 3600 + 10  # 5 thinned hours + 1 raw hour, not 21,600
    got = snapshot(state, newest).values
    for hours in (1, 6, 24):
        window = [v for t, v in values if t > newest - hours * H]
        assert got[f"hr_max_{hours}h"] == max(window), hours
        assert got[f"hr_min_{hours}h"] == min(window), hours
    assert got["hr_last"] == values[-1][1]
    assert len(state.to_bytes()) * 4 < len(raw.to_bytes())  # 6 h; 24 h: about 13x

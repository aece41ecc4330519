"""The PhysioNet/CinC 2019 challenge's normalized utility, exactly as the official scorer.

Reference: ``evaluate_sepsis_score.py`` of ``physionetchallenges/evaluation-2019`` (Reyna et
al., Crit Care Med 2020;48:210). Per stay, with rows indexed ``t = 0, 1, ...`` (one per ICU
hour) and ``t_sepsis`` = index of the first ``SepsisLabel == 1`` row + 6 (``- dt_optimal``):

- a septic stay's alert at ``t <= t_sepsis - 6`` earns ``max(m1 (t - t_sepsis) + b1, u_fp)``
  (rising linearly from 0 at -12 h to 1 at -6 h; earlier alerts cost ``u_fp``); an alert in
  ``(-6, +3]`` earns ``m2 (t - t_sepsis) + b2`` (falling from 1 to 0);
- a septic stay's missed row in ``(-6, +3]`` costs ``m3 (t - t_sepsis) + b3`` (0 to -2);
  a missed row at or before -6 h costs nothing;
- a non-septic stay's alert costs ``u_fp``; rows after ``t_sepsis + dt_late`` count nothing.

Normalized: ``(U - U_no_alert) / (U_best - U_no_alert)`` summed over the cohort, where the best
predictions alert on rows ``[t_sepsis - 12, t_sepsis + 3]`` of each septic stay.

Rows of all stays are held in flat arrays with ``groups`` (one stay index per row); a stay's
rows are contiguous and in time order (the PSV row order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class UtilityParams:
    """The challenge's parameters (hours relative to onset, rewards per row)."""

    dt_early: float = -12.0
    dt_optimal: float = -6.0
    dt_late: float = 3.0
    max_u_tp: float = 1.0
    min_u_fn: float = -2.0
    u_fp: float = -0.05
    u_tn: float = 0.0


CHALLENGE = UtilityParams()


def stay_positions(groups: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Row position within its stay, and each stay's first row (rows contiguous per stay).

    Raises ``ValueError`` when a stay's rows are not contiguous.
    """
    g = np.asarray(groups, dtype=np.int64)
    if g.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(g)) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    if len(np.unique(g[starts])) != len(starts):
        raise ValueError("a stay's rows must be contiguous")
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, g.size)))
    positions = np.arange(g.size, dtype=np.int64) - starts[run]
    return positions, starts


def onset_offsets(
    labels: npt.ArrayLike, groups: npt.ArrayLike, p: UtilityParams = CHALLENGE
) -> FloatArray:
    """Per row, ``t - t_sepsis`` in hours (``nan`` for rows of stays that never turn septic)."""
    y = np.asarray(labels, dtype=np.int64)
    positions, starts = stay_positions(groups)
    if y.size == 0:
        return np.zeros(0)
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, y.size)))
    big = np.iinfo(np.int64).max
    first = np.minimum.reduceat(np.where(y == 1, positions, big), starts)
    septic = first != big
    t_sepsis = np.where(septic, first - p.dt_optimal, np.nan)
    return np.asarray(positions - t_sepsis[run], dtype=np.float64)


def row_utilities(
    labels: npt.ArrayLike, groups: npt.ArrayLike, p: UtilityParams = CHALLENGE
) -> tuple[FloatArray, FloatArray]:
    """Per row, the utility if the row alerts and if it does not (official definition)."""
    rel = onset_offsets(labels, groups, p)
    septic = ~np.isnan(rel)
    d = np.where(septic, rel, 0.0)
    m1 = p.max_u_tp / (p.dt_optimal - p.dt_early)
    b1 = -m1 * p.dt_early
    m2 = -p.max_u_tp / (p.dt_late - p.dt_optimal)
    b2 = -m2 * p.dt_late
    m3 = p.min_u_fn / (p.dt_late - p.dt_optimal)
    b3 = -m3 * p.dt_optimal
    early = d <= p.dt_optimal
    late = (d > p.dt_optimal) & (d <= p.dt_late)
    u_alert_septic = np.where(
        early, np.maximum(m1 * d + b1, p.u_fp), np.where(late, m2 * d + b2, 0.0)
    )
    u_quiet_septic = np.where(late, m3 * d + b3, 0.0)
    u_alert = np.where(septic, u_alert_septic, p.u_fp)
    u_quiet = np.where(septic, u_quiet_septic, p.u_tn)
    return u_alert, u_quiet


def alert_gains(
    labels: npt.ArrayLike, groups: npt.ArrayLike, p: UtilityParams = CHALLENGE
) -> FloatArray:
    """Per row, what alerting adds to the utility: ``u_alert - u_quiet`` (:func:`row_utilities`).

    ``u_fp`` (-0.05) on rows of non-septic stays and on a septic stay's rows before
    ``t_sepsis + dt_early``; 0 to 1 on ``[-12, -6]`` h; 1 to 2 on ``(-6, +3]`` h (the missed
    row's cost is saved too); 0 after ``+3`` h (and at exactly -12 h).
    """
    u_alert, u_quiet = row_utilities(labels, groups, p)
    return u_alert - u_quiet


def best_alerts(
    labels: npt.ArrayLike, groups: npt.ArrayLike, p: UtilityParams = CHALLENGE
) -> BoolArray:
    """The optimal predictions: rows in ``[t_sepsis + dt_early, t_sepsis + dt_late]``."""
    rel = onset_offsets(labels, groups, p)
    with np.errstate(invalid="ignore"):
        return (rel >= p.dt_early) & (rel <= p.dt_late)


def total_utility(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    alerts: npt.ArrayLike,
    p: UtilityParams = CHALLENGE,
) -> float:
    """Unnormalized utility of binary ``alerts`` summed over all stays."""
    u_alert, u_quiet = row_utilities(labels, groups, p)
    a = np.asarray(alerts, dtype=bool)
    return float(np.where(a, u_alert, u_quiet).sum())


def normalized_utility(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    alerts: npt.ArrayLike,
    p: UtilityParams = CHALLENGE,
) -> float:
    """The challenge score: 1 for the best predictions, 0 for never alerting."""
    u_alert, u_quiet = row_utilities(labels, groups, p)
    a = np.asarray(alerts, dtype=bool)
    best = best_alerts(labels, groups, p)
    observed = float(np.where(a, u_alert, u_quiet).sum())
    optimal = float(np.where(best, u_alert, u_quiet).sum())
    inaction = float(u_quiet.sum())
    if optimal == inaction:
        raise ValueError("no septic stay: the normalized utility is undefined")
    return (observed - inaction) / (optimal - inaction)


def utility_curve(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    scores: npt.ArrayLike,
    p: UtilityParams = CHALLENGE,
) -> tuple[FloatArray, FloatArray]:
    """Normalized utility of ``alert = score >= threshold`` at every distinct score.

    Returns ``(thresholds, utilities)`` with thresholds descending. One sort: the utility at a
    threshold is the no-alert utility plus the gains ``u_alert - u_quiet`` of rows at or above.
    """
    gain = alert_gains(labels, groups, p)
    s = np.asarray(scores, dtype=np.float64)
    best = best_alerts(labels, groups, p)
    span = float(gain[best].sum())
    if span == 0.0:
        raise ValueError("no septic stay: the normalized utility is undefined")
    order = np.argsort(-s, kind="stable")
    gains = np.cumsum(gain[order])
    sorted_scores = s[order]
    # the last row of each run of equal scores: every row with that score alerts together
    last = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    return sorted_scores[last], gains[last] / span


def best_threshold(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    scores: npt.ArrayLike,
    p: UtilityParams = CHALLENGE,
) -> tuple[float, float]:
    """The threshold maximizing the normalized utility on these rows, and that utility.

    Ties go to the highest threshold (fewest alerts). When no threshold beats never alerting,
    the threshold is ``inf`` and the utility 0.
    """
    thresholds, utilities = utility_curve(labels, groups, scores, p)
    i = int(np.argmax(utilities))  # thresholds descend: argmax takes the first, the highest
    if utilities[i] <= 0.0:
        return float("inf"), 0.0
    return float(thresholds[i]), float(utilities[i])

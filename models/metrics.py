"""Alert metrics a clinician can read: discrimination, and what the alerts would do.

Rows are snapshots in time order within each patient or stay (``groups``). ``rel_h`` gives
each row's time relative to the event it could warn of (``nan`` where there is none), and a
detection window ``(lo, hi)`` in hours says which alerts count as warning of it (PhysioNet:
``[-12, +3]`` around the onset, the challenge's rewarded span; the synthetic risks: the 24 h
before onset).

- Row level (against the training label): AUROC, AUPRC (average precision), sensitivity
  and PPV of the alerting rows.
- Event level: an *alert* is a run of consecutive alerting rows (what a deduplicating alert
  policy pages once). Sensitivity = events with an alerting row in their window / events;
  lead time = hours from the first such row to the onset; PPV = alerts whose run overlaps
  the window of its event / alerts, leaving out alerts that start after the window (the
  patient already has the condition); alerts per patient-day = all alerts / patient-days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, roc_auc_score

from models.utility import stay_positions


@dataclass(frozen=True, slots=True)
class AlertMetrics:
    """What alerts at one operating point do (see the module docstring)."""

    auroc: float | None
    auprc: float | None
    row_sensitivity: float
    row_ppv: float | None
    events: int
    detected: int
    sensitivity: float | None
    alerts: int
    true_alerts: int
    ppv: float | None
    patient_days: float
    alerts_per_patient_day: float
    lead_time_median_h: float | None
    lead_time_iqr_h: tuple[float, float] | None
    lead_times_h: tuple[float, ...]

    def summary(self) -> dict[str, float | int | None]:
        """The headline figures as a flat dict (for manifests and tables)."""
        return {
            "auroc": _round(self.auroc),
            "auprc": _round(self.auprc),
            "sensitivity": _round(self.sensitivity),
            "ppv": _round(self.ppv),
            "row_sensitivity": _round(self.row_sensitivity),
            "row_ppv": _round(self.row_ppv),
            "alerts_per_patient_day": _round(self.alerts_per_patient_day),
            "lead_time_median_h": _round(self.lead_time_median_h),
            "events": self.events,
            "detected": self.detected,
            "alerts": self.alerts,
            "patient_days": round(self.patient_days, 1),
        }


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def discrimination(
    labels: npt.ArrayLike, scores: npt.ArrayLike
) -> tuple[float | None, float | None]:
    """AUROC and AUPRC (average precision); ``None`` when only one class is present."""
    y = np.asarray(labels)
    if y.min(initial=0) == y.max(initial=0):
        return None, None
    s = np.asarray(scores, dtype=np.float64)
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def alert_runs(groups: npt.ArrayLike, alerts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Per row, the index of its alert run (-1 for quiet rows); runs never cross groups."""
    a = np.asarray(alerts, dtype=bool)
    positions, _ = stay_positions(groups)
    previous = np.concatenate(([False], a[:-1])) & (positions > 0)
    starts = a & ~previous
    run = np.cumsum(starts) - 1
    return np.where(a, run, -1).astype(np.int64)


def alert_metrics(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    scores: npt.ArrayLike,
    alerts: npt.ArrayLike,
    rel_h: npt.ArrayLike,
    event_ids: npt.ArrayLike,
    window: tuple[float, float],
    row_hours: float = 1.0,
) -> AlertMetrics:
    """Row- and event-level metrics of ``alerts`` (see the module docstring).

    ``event_ids`` names each row's event (-1 none); ``rel_h`` is the row time minus that
    event's onset in hours.
    """
    y = np.asarray(labels).astype(bool)
    a = np.asarray(alerts, dtype=bool)
    rel = np.asarray(rel_h, dtype=np.float64)
    ev = np.asarray(event_ids, dtype=np.int64)
    auroc, auprc = discrimination(y, scores)
    lo, hi = window
    with np.errstate(invalid="ignore"):
        in_window = (ev >= 0) & (rel >= lo) & (rel <= hi)
        after = (ev >= 0) & (rel > hi)
    events = np.unique(ev[ev >= 0])
    hit = a & in_window
    detected_ids, first = np.unique(ev[hit], return_index=True)
    # rows are in time order within an event: the first hit row has the smallest rel
    leads = -rel[hit][first]
    runs = alert_runs(groups, a)
    n_runs = int(runs.max()) + 1 if a.any() else 0
    run_true = np.zeros(n_runs, dtype=bool)
    run_start_after = np.zeros(n_runs, dtype=bool)
    if n_runs:
        np.logical_or.at(run_true, runs[a], in_window[a])
        start_rows = np.flatnonzero(a & (np.diff(np.concatenate(([-1], runs))) != 0))
        run_start_after[runs[start_rows]] = after[start_rows]
    counted = ~run_start_after
    n_counted = int(counted.sum())
    patient_days = len(a) * row_hours / 24.0
    tp_rows = int((a & y).sum())
    return AlertMetrics(
        auroc=auroc,
        auprc=auprc,
        row_sensitivity=tp_rows / max(int(y.sum()), 1),
        row_ppv=tp_rows / int(a.sum()) if a.any() else None,
        events=len(events),
        detected=len(detected_ids),
        sensitivity=len(detected_ids) / len(events) if len(events) else None,
        alerts=n_runs,
        true_alerts=int((run_true & counted).sum()),
        ppv=float((run_true & counted).sum()) / n_counted if n_counted else None,
        patient_days=patient_days,
        alerts_per_patient_day=n_runs / patient_days if patient_days else 0.0,
        lead_time_median_h=float(np.median(leads)) if len(leads) else None,
        lead_time_iqr_h=(
            (float(np.percentile(leads, 25)), float(np.percentile(leads, 75)))
            if len(leads)
            else None
        ),
        lead_times_h=tuple(float(x) for x in leads),
    )

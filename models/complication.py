"""CRS, ICANS and HLH models: train on one cohort's rows, evaluate on held-out patients.

Threshold: the one maximizing the row-level F1 score on the calibration patients (the 25% of
training patients held out from the trees). There is no published utility for these risks;
a site should move the threshold to its own alert budget (the report shows the trade-off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import precision_recall_curve

from models.estimator import DEFAULT_PARAMS, Fitted, TreeParams, fit, probabilities
from models.history_data import HistoryRows, Targets
from models.inputs import InputSpec
from models.metrics import AlertMetrics, alert_metrics

COMPLICATION_RISKS: tuple[str, ...] = ("crs", "icans", "hlh")
DEFAULT_HORIZON_H = 24.0


def f1_threshold(labels: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[float, float]:
    """The threshold maximizing F1 of ``scores >= threshold``, and that F1."""
    y = np.asarray(labels).astype(int)
    if y.sum() == 0:
        return float("inf"), 0.0
    precision, recall, thresholds = precision_recall_curve(y, np.asarray(scores, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))[:-1]
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


@dataclass(frozen=True, slots=True)
class ComplicationFit:
    """A fitted complication model and its threshold."""

    fitted: Fitted
    threshold: float
    threshold_f1: float


def fit_complication(
    rows: HistoryRows, t: Targets, spec: InputSpec, params: TreeParams = DEFAULT_PARAMS
) -> ComplicationFit:
    """Fit on the included rows; choose the threshold on the calibration patients."""
    idx = np.flatnonzero(t.include)
    x = spec.from_columns(rows.features[idx], rows.columns)
    y = t.target[idx]
    fitted = fit(x, y, rows.groups[idx], params)
    calib = fitted.calibration_rows
    threshold, f1 = f1_threshold(y[calib], probabilities(fitted.model, x[calib]))
    return ComplicationFit(fitted, threshold, f1)


@dataclass(frozen=True, slots=True)
class Scored:
    """A model's scores on evaluation rows (included rows only) and its metrics."""

    labels: npt.NDArray[np.int8]
    groups: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]
    alerts: npt.NDArray[np.bool_]
    rel_h: npt.NDArray[np.float64]
    event_ids: npt.NDArray[np.int64]
    metrics: AlertMetrics


def score(
    model: ComplicationFit,
    rows: HistoryRows,
    t: Targets,
    spec: InputSpec,
    horizon_h: float,
    row_hours: float,
) -> Scored:
    """Score the included rows of ``rows`` and compute the alert metrics."""
    idx = np.flatnonzero(t.include)
    x = spec.from_columns(rows.features[idx], rows.columns)
    p = probabilities(model.fitted.model, x)
    alerts = p >= model.threshold
    metrics = alert_metrics(
        t.target[idx],
        rows.groups[idx],
        p,
        alerts,
        t.rel_h[idx],
        t.event_ids[idx],
        (-horizon_h, 0.0),
        row_hours=row_hours,
    )
    return Scored(
        t.target[idx], rows.groups[idx], p, alerts, t.rel_h[idx], t.event_ids[idx], metrics
    )

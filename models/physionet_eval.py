"""Cross-validated evaluation of the infection model and the rule baselines, side by side.

Every operating point (the model at its per-fold thresholds, SIRS >= 2, qSOFA >= 2,
NEWS2 >= 5, NEWS2 >= 7) is scored on the same rows of the same stays with the challenge's
normalized utility and :func:`models.metrics.alert_metrics` (detection window: 12 h before to
3 h after onset, the span the utility rewards).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.baselines import RULE_BASELINES
from models.metrics import AlertMetrics, alert_metrics
from models.physionet_data import PhysionetRows
from models.sepsis import SepsisCV
from models.utility import CHALLENGE, normalized_utility, onset_offsets

WINDOW_H = (CHALLENGE.dt_early, CHALLENGE.dt_late)


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """One way of alerting, scored."""

    name: str
    utility: float
    metrics: AlertMetrics

    def row(self) -> dict[str, float | int | str | None]:
        """A flat table row."""
        return {"name": self.name, "utility": round(self.utility, 4), **self.metrics.summary()}


def score_alerts(
    rows: PhysionetRows, name: str, scores: npt.ArrayLike, alerts: npt.ArrayLike
) -> OperatingPoint:
    """Utility and alert metrics of one alerting rule on ``rows``."""
    rel = onset_offsets(rows.labels, rows.groups)
    septic = ~np.isnan(rel)
    event_ids = np.where(septic, rows.groups, -1)
    metrics = alert_metrics(
        rows.labels, rows.groups, scores, alerts, rel, event_ids, WINDOW_H, row_hours=1.0
    )
    return OperatingPoint(name, normalized_utility(rows.labels, rows.groups, alerts), metrics)


def evaluate(rows: PhysionetRows, cv: SepsisCV) -> list[OperatingPoint]:
    """The model (cross-validated) and every rule baseline on the same rows."""
    name = f"model ({len(cv.thresholds)}-fold CV)"
    out = [score_alerts(rows, name, cv.probabilities, cv.alerts)]
    for base in RULE_BASELINES:
        points = rows.rule_points(base.score)
        out.append(score_alerts(rows, base.label, points, points >= base.at_least))
    return out

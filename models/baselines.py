"""Rule baselines for the infection model, read from the rule layer's own assessment.

SIRS >= 2, qSOFA >= 2 and NEWS2 >= 5 / >= 7, computed by ``scoring.score_snapshot`` on the
same snapshots the model sees. Points count the criteria or components that could be scored;
a missing input scores nothing (the rule layer's convention), so a baseline alerts only on
what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.result import Assessment

RULE_SCORES: tuple[str, ...] = ("sirs", "qsofa", "news2")
"""Criteria whose points are kept per training row (registry names in ``scoring``)."""


@dataclass(frozen=True, slots=True)
class RuleBaseline:
    """A rule alert: ``points(score) >= at_least``."""

    label: str
    score: str
    at_least: float


RULE_BASELINES: tuple[RuleBaseline, ...] = (
    RuleBaseline("SIRS >= 2", "sirs", 2.0),
    RuleBaseline("qSOFA >= 2", "qsofa", 2.0),
    RuleBaseline("NEWS2 >= 5", "news2", 5.0),
    RuleBaseline("NEWS2 >= 7", "news2", 7.0),
)


def rule_points(assessment: Assessment) -> tuple[float, ...]:
    """Points of each of :data:`RULE_SCORES` (0 when the criteria set gave none)."""
    out = []
    for name in RULE_SCORES:
        points = assessment.criteria[name].points
        out.append(0.0 if points is None else float(points))
    return tuple(out)

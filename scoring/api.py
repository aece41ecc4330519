"""Public API of the rule layers: score one snapshot with every criteria set.

    >>> from scoring.api import score_snapshot, assessment_to_dict
    >>> assessment = score_snapshot(snapshot)               # doctest: +SKIP
    >>> assessment.syndromes["crs"].grade                  # doctest: +SKIP
    >>> json_ready = assessment_to_dict(assessment)        # doctest: +SKIP

Pure: no I/O, no clock. The snapshot's ``time_ms`` is the only time. ``RULESET_VERSION``
names the whole ruleset; each criteria result also names its own version.
"""

from __future__ import annotations

from typing import Any

import msgspec

from features.snapshot import Snapshot
from scoring import syndromes
from scoring.config import RuleConfig
from scoring.registry import REGISTRY
from scoring.result import Assessment, CriteriaResult, Suggestion

__all__ = [
    "DEFAULT_CONFIG",
    "RULESET_VERSION",
    "RuleConfig",
    "assessment_to_dict",
    "score_snapshot",
]

RULESET_VERSION = "blina-ews-rules-1.0.0"
"""Version of the whole ruleset; bump when any rule, band or syndrome combination changes."""

DEFAULT_CONFIG = RuleConfig()


def _marker_flags(snapshot: Snapshot, cfg: RuleConfig) -> tuple[str, ...]:
    """CRP and IL-6 are not interpretable for a while after tocilizumab (reference section 6)."""
    hours = snapshot.values.get("hours_since_tocilizumab")
    if hours is not None and 0.0 <= hours <= cfg.tocilizumab_marker_window_h:
        return (
            "crp_not_interpretable_after_tocilizumab",
            "il6_not_interpretable_after_tocilizumab",
        )
    return ()


def score_snapshot(snapshot: Snapshot, config: RuleConfig = DEFAULT_CONFIG) -> Assessment:
    """Run every registered criteria set, the syndrome layer and the label suggestions."""
    results: dict[str, CriteriaResult] = {
        name: spec.fn(snapshot, config) for name, spec in REGISTRY.items()
    }
    syn = syndromes.assess(results, snapshot, config)
    flags = _marker_flags(snapshot, config)
    notes: list[str] = []
    if flags:
        notes.append(
            "Tocilizumab given: CRP falls and IL-6 rises regardless of CRS activity; do not read "
            "them as CRS markers."
        )
    if "crs_infection_overlap" in syn["crs"].flags:
        notes.append(syndromes.OVERLAP_NOTE)
    suggestions: list[Suggestion] = []
    for s in syn.values():
        suggestions.extend(x for x in s.suggestions if x not in suggestions)
    return Assessment(
        ruleset_version=RULESET_VERSION,
        patient_id=snapshot.patient_id,
        time_ms=snapshot.time_ms,
        snapshot_version=snapshot.version,
        criteria=results,
        syndromes=syn,
        suggestions=tuple(suggestions),
        notes=tuple(notes),
        flags=flags,
    )


def assessment_to_dict(assessment: Assessment) -> dict[str, Any]:
    """A JSON-ready dict of an assessment (defaults omitted, tuples as lists)."""
    out: dict[str, Any] = msgspec.to_builtins(assessment)
    return out

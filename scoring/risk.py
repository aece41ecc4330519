"""One assessment per risk: the rule grade and the model's probability side by side.

This is what the alert policy consumes. It is built from a rule :class:`~scoring.result.
Assessment` (the syndrome grade, its reasons, evidence and the label's suggestions) and, where
a model is deployed for the risk, the model's probability, its threshold and the features that
contributed most. Neither replaces the other: an alert says which of them fired.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from scoring.result import RuleEvidence, Suggestion

Risk = Literal["crs", "icans", "hlh", "infection", "hepatotoxicity"]
RISKS: tuple[Risk, ...] = ("crs", "icans", "hlh", "infection", "hepatotoxicity")


class Contribution(msgspec.Struct, frozen=True, kw_only=True):
    """How much one feature moved the model's probability for this patient and time."""

    feature: str
    value: float | None
    """The feature's value (``None`` when missing: the model saw it as missing)."""
    delta: float
    """Change in probability attributed to the feature (positive raises the risk)."""


class RiskAssessment(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The current state of one risk for one patient at one event time."""

    risk: Risk
    patient_id: str
    time_ms: int
    ruleset_version: str
    grade: int | None
    """Rule-layer syndrome grade 0-4 (``None`` when the inputs cannot determine it)."""
    criteria: tuple[str, ...] = ()
    """Names and versions of the criteria behind the grade (``ASTCT-CRS-2019``...)."""
    reasons: tuple[str, ...] = ()
    evidence: tuple[RuleEvidence, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    probability: float | None = None
    """Model probability of the risk's outcome within the model's horizon."""
    model_version: str | None = None
    model_threshold: float | None = None
    model_alert: bool = False
    """True when ``probability >= model_threshold``."""
    contributions: tuple[Contribution, ...] = ()

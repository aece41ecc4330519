"""Result types of the rule layers: one criteria result, one syndrome, one assessment.

Every grade or score carries what produced it: the criteria name and version, the points or
grade per component, the observations behind it (each with the rule it hit), the inputs that
were missing, the criteria the stream cannot assess ("unknown"), and notes and flags a
clinician needs to read the number correctly. Label-derived suggestions travel with the
results as suggestions for clinician review; nothing here acts.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from features.snapshot import Evidence

ResultKind = Literal["grade", "score", "criteria"]
"""``grade``: an ordinal grade (CTCAE/ASTCT 0-4); ``score``: points (NEWS2, SOFA, HScore);
``criteria``: a set of criteria that is met or not (SIRS, IDSA febrile neutropenia)."""


class RuleEvidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A feature value a rule used, with the rule it hit (``temp_max_24h 38.6 Cel >= 38``)."""

    feature: str
    value: float
    rule: str
    source: Evidence | None = None
    """The observation behind the feature, when one observation decides it."""


class Suggestion(msgspec.Struct, frozen=True, kw_only=True):
    """A label-derived action for a clinician to consider. Never executed by the service."""

    text: str
    source: str
    kind: Literal["suggestion"] = "suggestion"


class CriteriaResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The outcome of one published criteria set on one snapshot."""

    name: str
    """Registry key, e.g. ``astct_crs``."""
    criteria: str
    """Human name, e.g. ``ASTCT CRS grade``."""
    version: str
    """Criteria version that produced the result, e.g. ``ASTCT-2019``, ``CTCAE-5.0``."""
    citation: str
    kind: ResultKind
    grade: int | None = None
    """Ordinal grade; ``None`` when the grade cannot be determined from the inputs."""
    points: float | None = None
    """Points (scores) or number of criteria met (criteria sets)."""
    points_max: float | None = None
    """Highest points the missing and unknown items could still give, where that matters."""
    met: bool | None = None
    """Whether the criteria set's threshold is reached; ``None`` when undetermined."""
    status: str = ""
    """Short outcome word (``met``, ``not_reachable``, ``undetermined``, NEWS2 risk...)."""
    complete: bool = True
    """``False`` when any input that could change the result was missing."""
    components: dict[str, int | None] = {}
    """Points or grade per component; ``None`` = not scored (its inputs were missing)."""
    values: dict[str, float] = {}
    """Derived numbers a clinician may want (HScore probability %, m-EASIX...)."""
    reasons: tuple[str, ...] = ()
    """Why the result is what it is; every non-zero grade has at least one, citing the rule."""
    evidence: tuple[RuleEvidence, ...] = ()
    missing: tuple[str, ...] = ()
    """Feature names that were needed and were ``None``."""
    unknown: tuple[str, ...] = ()
    """Criteria that need data the stream cannot have (biopsy, NK activity...)."""
    notes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()

    def severity(self) -> float | None:
        """One ordinal number per result, for comparisons: grade, else points, else met."""
        if self.kind == "grade":
            return None if self.grade is None else float(self.grade)
        if self.points is not None:
            return self.points
        if self.met is None:
            return None
        return 1.0 if self.met else 0.0


Risk = Literal["crs", "icans", "hlh", "infection", "hepatotoxicity"]


class SyndromeResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One complication risk: its current grade (0-4, ``None`` when undetermined) and why."""

    risk: Risk
    grade: int | None
    status: str
    reasons: tuple[str, ...] = ()
    based_on: tuple[str, ...] = ()
    """Names of the criteria results (in the same assessment) behind the grade."""
    criteria_grades: dict[str, float | None] = {}
    """Severity of each of those criteria results, for a quick read."""
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()


class Assessment(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Everything the rule layers say about one snapshot."""

    ruleset_version: str
    patient_id: str
    time_ms: int
    snapshot_version: str
    criteria: dict[str, CriteriaResult]
    syndromes: dict[str, SyndromeResult]
    suggestions: tuple[Suggestion, ...] = ()
    notes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

"""A small accumulator that every rule uses to read features and record why.

Reading through :class:`RuleContext` is what keeps "missing stays missing" uniform: a
feature read with :meth:`RuleContext.value` that is ``None`` is listed in ``missing`` at
once, so no rule can forget to report it. Evidence strings are built in one format
(``feature value unit op threshold: meaning``) so that every alert reads the same way.
"""

from __future__ import annotations

from typing import Any

from features.snapshot import Evidence, Snapshot
from scoring.bands import Band, Op, fmt, holds
from scoring.result import CriteriaResult, ResultKind, RuleEvidence
from scoring.units import unit_of


class RuleContext:
    """Reads one snapshot for one criteria set and collects reasons, evidence and gaps."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        name: str,
        criteria: str,
        version: str,
        citation: str,
        kind: ResultKind,
    ) -> None:
        self.snapshot = snapshot
        self._head: dict[str, Any] = {
            "name": name,
            "criteria": criteria,
            "version": version,
            "citation": citation,
            "kind": kind,
        }
        self.missing: list[str] = []
        self.reasons: list[str] = []
        self.evidence: list[RuleEvidence] = []
        self.unknown: list[str] = []
        self.notes: list[str] = []
        self.flags: list[str] = []
        self.components: dict[str, int | None] = {}
        self.values: dict[str, float] = {}

    # --- reading ---------------------------------------------------------------------
    def value(self, feature: str) -> float | None:
        """A required input; ``None`` is recorded as missing (never read as normal)."""
        v = self.snapshot.values.get(feature)
        if v is None and feature not in self.missing:
            self.missing.append(feature)
        return v

    def optional(self, feature: str) -> float | None:
        """A context input whose ``None`` has a meaning of its own (e.g. "no dose given")."""
        return self.snapshot.values.get(feature)

    def source(self, feature: str) -> Evidence | None:
        """The observation behind a feature, or behind its signal's last value."""
        ev = self.snapshot.evidence_for(feature)
        if ev is None:
            ev = self.snapshot.evidence_for(feature.split("_", maxsplit=1)[0] + "_last")
        return ev

    # --- recording -------------------------------------------------------------------
    def hit(self, feature: str, value: float, rule: str) -> None:
        """Record that ``feature`` = ``value`` satisfied ``rule`` (e.g. ``>= 38.0 (fever)``)."""
        unit = unit_of(feature)
        text = f"{feature} {fmt(value)}{' ' + unit if unit else ''} {rule}"
        item = RuleEvidence(
            feature=feature, value=float(value), rule=text, source=self.source(feature)
        )
        if item not in self.evidence:
            self.evidence.append(item)

    def test(self, feature: str, value: float, op: Op, threshold: float, meaning: str) -> bool:
        """Evaluate ``value <op> threshold``; when it holds, record the evidence."""
        if holds(value, op, threshold):
            self.hit(feature, value, f"{op} {fmt(threshold)}: {meaning}")
            return True
        return False

    def band(self, feature: str, value: float, band: Band, meaning: str) -> None:
        """Record the evidence for a band hit from a table."""
        self.hit(feature, value, f"{band.op} {fmt(band.threshold)}: {meaning}")

    def reason(self, text: str) -> None:
        if text not in self.reasons:
            self.reasons.append(text)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def flag(self, text: str) -> None:
        if text not in self.flags:
            self.flags.append(text)

    def add_unknown(self, text: str) -> None:
        if text not in self.unknown:
            self.unknown.append(text)

    def result(self, **fields: Any) -> CriteriaResult:
        """Freeze what was collected into a :class:`CriteriaResult`."""
        fields.setdefault("complete", not self.missing)
        return CriteriaResult(
            **self._head,
            components=dict(self.components),
            values=dict(self.values),
            reasons=tuple(self.reasons),
            evidence=tuple(self.evidence),
            missing=tuple(self.missing),
            unknown=tuple(self.unknown),
            notes=tuple(self.notes),
            flags=tuple(self.flags),
            **fields,
        )

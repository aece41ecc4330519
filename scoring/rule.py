"""What a registered rule is: a pure function of (snapshot, config) and its metadata."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.result import CriteriaResult

Worse = Literal["up", "down", "away", "none"]
"""Which way an input makes a patient sicker: ``up`` (temperature max), ``down`` (platelets),
``away`` from a normal centre (NEWS2 pulse), ``none`` (no monotone direction)."""

RuleFn = Callable[[Snapshot, RuleConfig], CriteriaResult]


@dataclass(frozen=True)
class InputSpec:
    """One feature a rule reads, and which way is worse (used by the contract tests)."""

    feature: str
    worse: Worse = "up"
    centre: float | None = None
    """Normal value for ``worse="away"``."""


@dataclass(frozen=True)
class RuleSpec:
    """A registered criteria set."""

    name: str
    fn: RuleFn
    criteria: str
    version: str
    citation: str
    inputs: tuple[InputSpec, ...]
    context: tuple[str, ...] = ()
    """Inputs whose ``None`` means "not given" (treatments), not "unknown"."""

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.feature for i in self.inputs)


def up(*features: str) -> tuple[InputSpec, ...]:
    """Inputs where a higher value is worse."""
    return tuple(InputSpec(f, "up") for f in features)


def down(*features: str) -> tuple[InputSpec, ...]:
    """Inputs where a lower value is worse."""
    return tuple(InputSpec(f, "down") for f in features)

"""Infection-only cross-validation experiments (``python -m models experiment``).

Runs the same stay-level cross-validation as ``train`` (same folds, same fit, same per-fold
threshold on the training stays) without the final fit, export or evaluation store, with
feature groups left out or tree parameters changed, and prints the cross-validated figures.
Nothing is written to the artifacts; each result is appended as one JSON line to
``var/models-cache/experiments.jsonl`` (aggregate figures only, no stay identifiers).

The groups are the catalog additions of issue #6, named so the experiment log of
docs/models.md can say what each one is worth (``--without`` removes a group's features
from the inputs, and derived inputs reading them).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from features.catalog import (
    LAB_DELTAS_H,
    LAB_READINGS_H,
    READINGS_LABS,
    READINGS_VITALS,
    VITAL_READINGS_H,
    VITAL_SLOPES,
)
from models.estimator import TreeParams
from models.physionet_data import PhysionetRows
from models.physionet_eval import OperatingPoint, evaluate
from models.selection import choose_inputs
from models.sepsis import DEFAULT_SHIFT_H, INFECTION_PARAMS, cross_validate

DEFAULT_LOG = Path("var/models-cache/experiments.jsonl")

_ICU_PANEL = (
    "etco2", "ph", "base_excess", "sao2", "hco3", "bun", "glucose", "potassium", "chloride",
    "calcium", "magnesium", "phosphate", "alk_phos", "bilirubin_direct", "troponin_i", "ptt",
    "hct",
)  # fmt: skip
"""The 17 PhysioNet signals the catalog did not read before issue #6."""


def _exact(names: set[str]) -> Callable[[str], bool]:
    return names.__contains__


def _regex(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda name: compiled.fullmatch(name) is not None


GROUPS: dict[str, Callable[[str], bool]] = {
    "icu_panel": _exact(
        {f"{p}_{a}" for p in _ICU_PANEL for a in ("last", "age_h")} | {"bun_creatinine_ratio"}
    ),
    "lab_deltas": _exact({f"{s}_delta_{w:g}h" for s, w in LAB_DELTAS_H}),
    "readings": _exact(
        {f"{s}_readings_{VITAL_READINGS_H:g}h" for s in READINGS_VITALS}
        | {f"{s}_readings_{LAB_READINGS_H:g}h" for s in READINGS_LABS}
    ),
    "vital_slopes": _exact({f"{s}_slope_6h" for s in VITAL_SLOPES}),
    "age_h": _regex(r"[a-z0-9_]+_age_h"),
    "first_event": _exact({"hours_since_first_event"}),
}
"""Feature groups by name: the four additions of issue #6, every ``*_age_h``, and the time
under observation (``hours_since_first_event``, ICULOS-like, model 1.2.0)."""

ISSUE6_GROUPS = ("icu_panel", "lab_deltas", "readings", "vital_slopes")


def excluded(columns: Sequence[str], groups: Sequence[str]) -> tuple[str, ...]:
    """The columns that belong to any of ``groups`` (``KeyError`` for an unknown group)."""
    tests = [GROUPS[g] for g in groups]
    return tuple(c for c in columns if any(t(c) for t in tests))


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """Cross-validated figures of one experiment."""

    name: str
    inputs: int
    points: list[OperatingPoint]
    seconds: float

    def record(self) -> dict[str, object]:
        """A JSON-ready record (aggregate figures only)."""
        model = self.points[0]
        return {
            **model.row(),
            "at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "name": self.name,
            "point": model.name,
            "inputs": self.inputs,
            "seconds": round(self.seconds, 1),
        }


def run_experiment(
    rows: PhysionetRows,
    without: Sequence[str] = (),
    folds: int = 5,
    params: TreeParams = INFECTION_PARAMS,
    shift_h: int = DEFAULT_SHIFT_H,
    name: str | None = None,
) -> ExperimentResult:
    """Cross-validate the infection procedure with the groups ``without`` left out."""
    start = time.monotonic()
    spec = choose_inputs(rows.features, rows.columns, exclude=excluded(rows.columns, without))
    cv = cross_validate(rows, spec, folds, params, shift_h)
    points = evaluate(rows, cv)
    label = name or ("all" if not without else "without " + "+".join(without))
    return ExperimentResult(label, len(spec.names), points, time.monotonic() - start)


def with_params(params: TreeParams, **changes: float | None) -> TreeParams:
    """``params`` with the given (non-``None``) fields replaced (an unknown field name is a
    ``TypeError``, as for ``dataclasses.replace``)."""
    given: dict[str, Any] = {name: value for name, value in changes.items() if value is not None}
    return replace(params, **given)


def log_result(result: ExperimentResult, path: Path = DEFAULT_LOG) -> None:
    """Append the result's record to the experiment log (one JSON line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(result.record()) + "\n")

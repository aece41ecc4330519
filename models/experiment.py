"""Infection-only cross-validation experiments (``python -m models experiment``).

Runs the same stay-level cross-validation as ``train`` (same folds, same fit, same per-fold
threshold on the training stays) without the final fit, export or evaluation store, with
feature groups left out or tree parameters changed, and prints the cross-validated figures.
Nothing is written to the artifacts; each result is appended as one JSON line to
``var/models-cache/experiments.jsonl`` (aggregate figures only, no stay identifiers: the
utility, alert metrics, per-fold utilities, thresholds and tree counts, and the settings).
On request (``--oof PATH``) the out-of-fold probabilities and alerts are kept as ``.npz``
under ``var/`` (row-level, derived from ODbL data: never committed), and
:func:`paired_bootstrap` compares two such runs on the same stays.

Besides the tree parameters and the label shift, ``--tree-label`` changes what the trees
learn (the challenge utility's gain per row, or the target without the rows the utility
ignores; ``models.sepsis.TreeLabel``) and ``--threshold-folds`` chooses each fold's threshold
on inner out-of-fold scores of all its training stays instead of its calibration stays.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import GroupKFold

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
from models.sepsis import INFECTION_PROCEDURE, Procedure, SepsisCV, cross_validate
from models.utility import (
    best_alerts,
    best_threshold,
    normalized_utility,
    row_utilities,
    stay_positions,
)

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
    "admission": _exact({"hours_since_admission", "hours_admitted_before_first_event"}),
}
"""Feature groups by name: the four additions of issue #6, every ``*_age_h``, the time
under observation (``hours_since_first_event``, ICULOS-like, model 1.2.0) and the time since
the hospital admission (contract 1.1, model 1.3.0)."""

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
    fold_utilities: tuple[float, ...] = ()
    """Normalized utility of each fold's held-out stays."""
    thresholds: tuple[float, ...] = ()
    iterations: tuple[int, ...] = ()
    """Boosting iterations per fold (below ``max_iter`` only with early stopping)."""
    settings: dict[str, object] = field(default_factory=dict)
    """Tree parameters, label shift and groups left out."""

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
            "fold_utilities": [round(u, 4) for u in self.fold_utilities],
            "thresholds": [round(t, 6) for t in self.thresholds],
            "iterations": list(self.iterations),
            **self.settings,
        }


def fold_utilities(rows: PhysionetRows, cv: SepsisCV) -> tuple[float, ...]:
    """The normalized utility of each fold's held-out stays (a fold holds whole stays)."""
    out: list[float] = []
    for k in range(int(cv.fold.max()) + 1):
        held = cv.fold == k
        out.append(normalized_utility(rows.labels[held], rows.groups[held], cv.alerts[held]))
    return tuple(out)


def save_out_of_fold(path: Path, cv: SepsisCV) -> None:
    """Keep the out-of-fold probabilities, alerts and folds (row-level: under ``var/``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, probabilities=cv.probabilities, alerts=cv.alerts, fold=cv.fold)


def load_probabilities(path: Path) -> npt.NDArray[np.float64]:
    """The out-of-fold probabilities of a run kept by :func:`save_out_of_fold`."""
    with np.load(path, allow_pickle=False) as z:
        return np.asarray(z["probabilities"], dtype=np.float64)


def load_alerts(path: Path) -> npt.NDArray[np.bool_]:
    """The out-of-fold alerts of a run kept by :func:`save_out_of_fold`."""
    with np.load(path, allow_pickle=False) as z:
        return np.asarray(z["alerts"], dtype=bool)


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """Normalized utility of ``b`` minus that of ``a`` on the same stays."""

    difference: float
    low: float
    high: float
    """``low``-``high``: 95% bootstrap interval (stays resampled, both runs together)."""
    share_above_zero: float
    """Share of the resamples in which ``b`` beats ``a``."""


def paired_bootstrap(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    alerts_a: npt.ArrayLike,
    alerts_b: npt.ArrayLike,
    n: int = 2000,
    seed: int = 0,
) -> PairedDifference:
    """Utility of ``alerts_b`` minus ``alerts_a``, with a stay-level paired bootstrap.

    Each resample draws stays with replacement and scores both runs on the same draw, so the
    interval reflects how much the difference depends on which stays were drawn (the spread
    of each run alone, most of it shared, cancels).
    """
    u_alert, u_quiet = row_utilities(labels, groups)
    best = best_alerts(labels, groups)
    _, starts = stay_positions(groups)

    def per_stay(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.add.reduceat(values, starts) if values.size else values

    a = np.asarray(alerts_a, dtype=bool)
    b = np.asarray(alerts_b, dtype=bool)
    quiet = per_stay(u_quiet)
    gain_a = per_stay(np.where(a, u_alert, u_quiet)) - quiet
    gain_b = per_stay(np.where(b, u_alert, u_quiet)) - quiet
    span = per_stay(np.where(best, u_alert, u_quiet)) - quiet
    full = float((gain_b.sum() - gain_a.sum()) / span.sum())
    rng = np.random.default_rng(seed)
    diffs = np.empty(n)
    for i in range(n):
        counts = np.bincount(rng.integers(0, len(starts), len(starts)), minlength=len(starts))
        diffs[i] = (counts @ gain_b - counts @ gain_a) / (counts @ span)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return PairedDifference(full, float(low), float(high), float(np.mean(diffs > 0)))


def run_experiment(
    rows: PhysionetRows,
    without: Sequence[str] = (),
    folds: int = 5,
    procedure: Procedure = INFECTION_PROCEDURE,
    name: str | None = None,
    oof: Path | None = None,
) -> ExperimentResult:
    """Cross-validate the infection ``procedure`` with the groups ``without`` left out (and
    the out-of-fold results kept in ``oof`` when given)."""
    start = time.monotonic()
    spec = choose_inputs(rows.features, rows.columns, exclude=excluded(rows.columns, without))
    cv = cross_validate(rows, spec, folds, procedure)
    if oof is not None:
        save_out_of_fold(oof, cv)
    points = evaluate(rows, cv)
    label = name or ("all" if not without else "without " + "+".join(without))
    settings = {**procedure.settings(), "without": list(without)}
    return ExperimentResult(
        label,
        len(spec.names),
        points,
        time.monotonic() - start,
        fold_utilities(rows, cv),
        cv.thresholds,
        cv.iterations,
        settings,
    )


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


def nested_threshold_utility(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    scores: npt.ArrayLike,
    folds: int = 5,
    seeds: int = 3,
) -> float:
    """Normalized utility of ``scores`` with the threshold priced in: each fifth of the stays
    (``folds``) alerts at the threshold best on the other stays; the mean over ``seeds`` stay
    splits. Scores of runs that were never thresholded (an average of several runs) are
    compared with their members on equal terms this way."""
    y = np.asarray(labels, dtype=np.int8)
    g = np.asarray(groups)
    s = np.asarray(scores, dtype=np.float64)
    results = []
    for seed in range(seeds):
        alerts = np.zeros(y.size, dtype=bool)
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train, test in splitter.split(s, y, g):
            tr, te = np.sort(train), np.sort(test)
            threshold, _ = best_threshold(y[tr], g[tr], s[tr])
            alerts[te] = s[te] >= threshold
        results.append(normalized_utility(y, g, alerts))
    return float(np.mean(results))


def trailing_mean(
    scores: npt.ArrayLike, groups: npt.ArrayLike, hours: int
) -> npt.NDArray[np.float64]:
    """Each row's mean score over its stay's last ``hours`` rows (fewer at the stay's start)."""
    s = np.asarray(scores, dtype=np.float64)
    positions, _ = stay_positions(groups)
    total = s.copy()
    count = np.ones_like(s)
    for k in range(1, hours):
        shifted = np.roll(s, k)
        inside = positions >= k
        total += np.where(inside, shifted, 0.0)
        count += inside
    return total / count


@dataclass(frozen=True, slots=True)
class Blend:
    """Nested-threshold utilities of runs and of their average (:func:`blend`)."""

    members: tuple[float, ...]
    average: float


def blend(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    runs: Sequence[npt.ArrayLike],
    hours: int = 1,
) -> Blend:
    """What averaging runs' out-of-fold probabilities would be worth, each score first
    averaged over its stay's last ``hours`` hours (1: as it is).

    Runs on different fold draws stand for models fitted on different subsets of the
    stays: every row's average comes from models that never saw its stay, an estimate of
    a bagged ensemble. All are scored by :func:`nested_threshold_utility`."""
    scores = [trailing_mean(r, groups, hours) for r in runs]
    members = tuple(nested_threshold_utility(labels, groups, s) for s in scores)
    average = nested_threshold_utility(labels, groups, np.mean(scores, axis=0))
    return Blend(members, average)

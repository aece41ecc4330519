"""The infection (sepsis) model on PhysioNet 2019: stay-level cross-validation and the final fit.

Target: the row's SepsisLabel, extended ``shift_h`` hours earlier (rows from
``first label row - shift_h`` on are positive): the challenge rewards alerts from 12 h before
onset, i.e. 6 h before the first SepsisLabel row. Evaluation always uses the challenge's own
labels and utility.

Each fold's model is fitted exactly like the deployed one (trees on 75% of the training
stays, calibration and the utility-maximizing threshold on the other 25%), then scores the
held-out stays: the cross-validated figures estimate the deployed procedure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import GroupKFold

from models.estimator import DEFAULT_PARAMS, Fitted, TreeParams, fit, probabilities, tree_count
from models.inputs import InputSpec
from models.physionet_data import PhysionetRows
from models.utility import best_threshold, stay_positions

DEFAULT_SHIFT_H = 6
INFECTION_PARAMS: TreeParams = replace(DEFAULT_PARAMS, max_leaf_nodes=8, min_samples_leaf=2000)
"""The infection model's tree parameters (``train`` and ``experiment`` start from them).

Smaller, better-populated leaves than the shared defaults (31 leaves, 200 rows): on the 1.2
catalog the 5-fold CV utility went 0.344 -> 0.367 (15 leaves / 1000 rows: 0.364; 500 trees
with the defaults: 0.284, overfitted). Experiment log: docs/models.md."""


def sepsis_target(
    labels: npt.ArrayLike, groups: npt.ArrayLike, shift_h: int = DEFAULT_SHIFT_H
) -> npt.NDArray[np.int8]:
    """SepsisLabel extended ``shift_h`` rows (hours) earlier within each stay."""
    y = np.asarray(labels, dtype=np.int8)
    positions, starts = stay_positions(groups)
    big = np.iinfo(np.int64).max
    first = np.minimum.reduceat(np.where(y == 1, positions, big), starts)
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, y.size)))
    first_row = first[run]
    out = (first_row != big) & (positions >= first_row - shift_h)
    return np.asarray(out, dtype=np.int8)


@dataclass(frozen=True, slots=True)
class SepsisFit:
    """A fitted infection model with its threshold, chosen on its calibration stays."""

    fitted: Fitted
    threshold: float
    threshold_utility: float
    """Normalized utility at the threshold on the calibration stays (in-sample for it)."""


def fit_sepsis(
    rows: PhysionetRows,
    spec: InputSpec,
    index: npt.NDArray[np.int64] | None = None,
    params: TreeParams = INFECTION_PARAMS,
    shift_h: int = DEFAULT_SHIFT_H,
) -> SepsisFit:
    """Fit on the rows ``index`` (all rows when ``None``) and choose the threshold."""
    idx = np.arange(len(rows.labels)) if index is None else index
    x = spec.from_columns(rows.features[idx], rows.columns)
    groups = rows.groups[idx]
    labels = rows.labels[idx]
    target = sepsis_target(labels, groups, shift_h)
    fitted = fit(x, target, groups, params)
    calib = fitted.calibration_rows
    scores = probabilities(fitted.model, x[calib])
    threshold, utility = best_threshold(labels[calib], groups[calib], scores)
    return SepsisFit(fitted, threshold, utility)


@dataclass(frozen=True, slots=True)
class SepsisCV:
    """Out-of-fold results: every row scored by the model of the fold that held it out."""

    probabilities: npt.NDArray[np.float64]
    alerts: npt.NDArray[np.bool_]
    fold: npt.NDArray[np.int64]
    """Fold of each row."""
    thresholds: tuple[float, ...]
    calibration_utilities: tuple[float, ...]
    iterations: tuple[int, ...] = ()
    """Boosting iterations each fold's trees ran (below ``max_iter`` with early stopping)."""


def cross_validate(
    rows: PhysionetRows,
    spec: InputSpec,
    folds: int = 5,
    params: TreeParams = INFECTION_PARAMS,
    shift_h: int = DEFAULT_SHIFT_H,
) -> SepsisCV:
    """Stay-level ``folds``-fold cross-validation (``GroupKFold`` on stays)."""
    n = len(rows.labels)
    probs = np.zeros(n)
    alerts = np.zeros(n, dtype=bool)
    fold_of = np.full(n, -1, dtype=np.int64)
    thresholds: list[float] = []
    utilities: list[float] = []
    iterations: list[int] = []
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=params.seed)
    for k, (train, test) in enumerate(splitter.split(rows.features, rows.labels, rows.groups)):
        model = fit_sepsis(rows, spec, np.sort(train).astype(np.int64), params, shift_h)
        test_idx = np.sort(test)
        x = spec.from_columns(rows.features[test_idx], rows.columns)
        p = probabilities(model.fitted.model, x)
        probs[test_idx] = p
        alerts[test_idx] = p >= model.threshold
        fold_of[test_idx] = k
        thresholds.append(model.threshold)
        utilities.append(model.threshold_utility)
        iterations.append(tree_count(model.fitted.model))
    return SepsisCV(probs, alerts, fold_of, tuple(thresholds), tuple(utilities), tuple(iterations))

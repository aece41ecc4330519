"""The infection (sepsis) model on PhysioNet 2019: stay-level cross-validation and the final fit.

Target: the row's SepsisLabel, extended ``shift_h`` hours earlier (rows from
``first label row - shift_h`` on are positive): the challenge rewards alerts from 12 h before
onset, i.e. 6 h before the first SepsisLabel row. Evaluation always uses the challenge's own
labels and utility.

Each fold's model is fitted exactly like the deployed one (one :class:`Procedure`: trees on
75% of the training stays and calibration on the other 25%, the utility-maximizing threshold
on inner out-of-fold scores; or, with out-of-fold calibration, trees on every training stay),
then scores the held-out stays: the cross-validated figures estimate the deployed procedure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from models.estimator import (
    DEFAULT_PARAMS,
    Fitted,
    TreeParams,
    calibrate_on_scores,
    fit,
    fit_trees,
    log_odds,
    probabilities,
    tree_count,
)
from models.inputs import InputSpec
from models.physionet_data import PhysionetRows
from models.utility import CHALLENGE, alert_gains, best_threshold, onset_offsets, stay_positions

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


TreeLabel = Literal["target", "no-late", "utility"]
"""What the trees learn (the calibration and threshold always use the target above):

- ``target``: the target, every row weighted 1 (models up to 1.2.0);
- ``no-late``: the target, without the rows of a septic stay after ``t_sepsis + 3`` h (the
  utility counts nothing there: already-septic rows, easy positives, teach the trees nothing
  the utility rewards);
- ``utility``: a cost-sensitive reduction of the challenge utility: label ``gain > 0`` and
  weight ``|gain|`` with ``gain = u_alert - u_quiet`` per row (:func:`models.utility.alert_gains`:
  -0.05 on non-septic rows and early rows, 0-1 on ``[-12, -6]`` h, 1-2 on ``(-6, +3]`` h, 0
  after), weights scaled to mean 1 over the rows kept; rows of gain 0 are left out.
"""
TREE_LABELS: tuple[TreeLabel, ...] = get_args(TreeLabel)
DEFAULT_TREE_LABEL: TreeLabel = "target"
INFECTION_TREE_LABEL: TreeLabel = "utility"
"""What the deployed infection model's trees learn (since 1.4.0; ``target`` before)."""
INFECTION_THRESHOLD_FOLDS = 5
"""The deployed infection model's threshold (and, since 1.5.0, its calibration) comes from
inner 5-fold out-of-fold scores of all its training stays (3 folds in 1.4.0; on the
calibration stays before). Inner-fold thresholds with the utility-shaped trees: +0.014 CV
utility on the committed folds (docs/models.md, session 7)."""

Calibration = Literal["held-out", "out-of-fold"]
"""Where the Platt map (and the threshold's probabilities) come from:

- ``held-out``: the trees learn from 75% of the training stays; the map is fitted on the
  trees' log-odds of the other 25% (models up to 1.4.0);
- ``out-of-fold``: the trees learn from every training stay; the map is fitted on the
  inner out-of-fold log-odds of all of them (trees fitted the same way on the other inner
  folds), which also choose the threshold. Needs ``threshold_folds`` >= 2.
"""
CALIBRATIONS: tuple[Calibration, ...] = get_args(Calibration)
INFECTION_CALIBRATION: Calibration = "out-of-fold"
"""The deployed infection model's calibration (since 1.5.0; ``held-out`` before). With 5
inner folds: +0.002, +0.003 and +0.019 CV utility over 1.4.0 on three fold draws
(docs/models.md, session 9)."""


@dataclass(frozen=True, slots=True)
class Procedure:
    """How an infection model is fitted: one value that the final fit, every cross-validation
    fold and every inner fold share, so the figures always describe the deployed procedure.
    The defaults are the deployed model's (``train`` and ``experiment`` start from them)."""

    params: TreeParams = INFECTION_PARAMS
    shift_h: int = DEFAULT_SHIFT_H
    """Hours the SepsisLabel is extended earlier for calibration (and the ``target`` trees)."""
    tree_label: TreeLabel = INFECTION_TREE_LABEL
    threshold_folds: int = INFECTION_THRESHOLD_FOLDS
    """>= 2: the threshold is chosen on inner out-of-fold scores of all the training stays
    (:func:`inner_scores`); 0: on the model's own calibration stays (models up to 1.3.0)."""
    calibration: Calibration = INFECTION_CALIBRATION

    def __post_init__(self) -> None:
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"unknown calibration {self.calibration!r}")
        if self.calibration == "out-of-fold" and not self.inner_threshold:
            raise ValueError(
                "out-of-fold calibration needs threshold_folds >= 2 (or calibration held-out)"
            )

    @property
    def inner_threshold(self) -> bool:
        """Whether the threshold comes from inner out-of-fold scores (``threshold_folds``)."""
        return self.threshold_folds >= 2

    def settings(self) -> dict[str, object]:
        """The procedure as plain values (experiment log, manifest)."""
        return {
            "params": self.params.as_dict(),
            "shift_h": self.shift_h,
            "tree_label": self.tree_label,
            "threshold_folds": self.threshold_folds,
            "calibration": self.calibration,
        }


INFECTION_PROCEDURE = Procedure()
"""The deployed infection model's procedure."""


def tree_training(
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    shift_h: int = DEFAULT_SHIFT_H,
    tree_label: TreeLabel = DEFAULT_TREE_LABEL,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64] | None]:
    """The trees' label and row weights for ``tree_label`` (weights ``None``: all 1)."""
    if tree_label == "target":
        return sepsis_target(labels, groups, shift_h), None
    if tree_label == "no-late":
        rel = onset_offsets(labels, groups)
        with np.errstate(invalid="ignore"):
            late = rel > CHALLENGE.dt_late  # nan (non-septic stay) compares False
        return sepsis_target(labels, groups, shift_h), np.where(late, 0.0, 1.0)
    if tree_label == "utility":
        gain = alert_gains(labels, groups)
        weight = np.abs(gain)
        kept = weight > 0.0
        if kept.any():
            weight = weight / weight[kept].mean()
        return np.asarray(gain > 0.0, dtype=np.int8), weight
    raise ValueError(f"unknown tree label {tree_label!r}")


@dataclass(frozen=True, slots=True)
class SepsisFit:
    """A fitted infection model with its threshold, chosen on its calibration stays."""

    fitted: Fitted
    threshold: float
    threshold_utility: float
    """Normalized utility at the threshold on the stays that chose it (in-sample for it)."""


def _fit_held_out(
    x: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    groups: npt.NDArray[np.int64],
    procedure: Procedure,
) -> Fitted:
    target = sepsis_target(labels, groups, procedure.shift_h)
    tree_y, weight = tree_training(labels, groups, procedure.shift_h, procedure.tree_label)
    return fit(x, target, groups, procedure.params, tree_y, weight)


def _inner_folds(
    x: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    groups: npt.NDArray[np.int64],
    folds: int,
    procedure: Procedure,
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """The inner stay-level folds: (training rows, held-out rows), each sorted."""
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=procedure.params.seed)
    return [(np.sort(tr), np.sort(he)) for tr, he in splitter.split(x, labels, groups)]


def inner_scores(
    x: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    groups: npt.NDArray[np.int64],
    folds: int,
    procedure: Procedure = INFECTION_PROCEDURE,
) -> npt.NDArray[np.float64]:
    """Out-of-fold probabilities of these rows: ``folds`` models fitted like the final one
    (trees and calibration) on the other stays, each scoring the stays it did not see."""
    out = np.zeros(len(labels))
    for tr, he in _inner_folds(x, labels, groups, folds, procedure):
        model = _fit_held_out(x[tr], labels[tr], groups[tr], procedure)
        out[he] = probabilities(model.model, x[he])
    return out


def _trees_on_all(
    x: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    groups: npt.NDArray[np.int64],
    procedure: Procedure,
) -> HistGradientBoostingClassifier:
    tree_y, weight = tree_training(labels, groups, procedure.shift_h, procedure.tree_label)
    return fit_trees(x, tree_y, groups, procedure.params, weight)


def _fit_out_of_fold(
    x: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    groups: npt.NDArray[np.int64],
    procedure: Procedure,
) -> SepsisFit:
    """Trees on every stay; the Platt map and the threshold from the inner out-of-fold
    log-odds of all of them (``calibration="out-of-fold"``)."""
    raw = np.zeros(len(labels))
    for tr, he in _inner_folds(x, labels, groups, procedure.threshold_folds, procedure):
        raw[he] = log_odds(_trees_on_all(x[tr], labels[tr], groups[tr], procedure), x[he])
    trees = _trees_on_all(x, labels, groups, procedure)
    target = sepsis_target(labels, groups, procedure.shift_h)
    model, scores = calibrate_on_scores(trees, raw, target)
    threshold, utility = best_threshold(labels, groups, scores)
    return SepsisFit(Fitted(model, np.arange(len(labels), dtype=np.int64)), threshold, utility)


def fit_sepsis(
    rows: PhysionetRows,
    spec: InputSpec,
    index: npt.NDArray[np.int64] | None = None,
    procedure: Procedure = INFECTION_PROCEDURE,
) -> SepsisFit:
    """Fit on the rows ``index`` (all rows when ``None``) and choose the threshold.

    The threshold maximizes the utility on the model's calibration stays; with
    ``procedure.threshold_folds`` >= 2, on out-of-fold probabilities of all these stays
    instead (:func:`inner_scores`: that many more fits, a threshold chosen on about four
    times as many stays, by models fitted on fewer). With ``calibration="out-of-fold"`` the
    trees learn from every stay and those out-of-fold scores also fit the calibration."""
    idx = np.arange(len(rows.labels)) if index is None else index
    x = spec.from_columns(rows.features[idx], rows.columns)
    groups = rows.groups[idx]
    labels = rows.labels[idx]
    if procedure.calibration == "out-of-fold":
        return _fit_out_of_fold(x, labels, groups, procedure)
    fitted = _fit_held_out(x, labels, groups, procedure)
    if procedure.inner_threshold:
        scores = inner_scores(x, labels, groups, procedure.threshold_folds, procedure)
        threshold, utility = best_threshold(labels, groups, scores)
        return SepsisFit(fitted, threshold, utility)
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
    procedure: Procedure = INFECTION_PROCEDURE,
) -> SepsisCV:
    """Stay-level ``folds``-fold cross-validation (``GroupKFold`` on stays)."""
    n = len(rows.labels)
    probs = np.zeros(n)
    alerts = np.zeros(n, dtype=bool)
    fold_of = np.full(n, -1, dtype=np.int64)
    thresholds: list[float] = []
    utilities: list[float] = []
    iterations: list[int] = []
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=procedure.params.seed)
    for k, (train, test) in enumerate(splitter.split(rows.features, rows.labels, rows.groups)):
        train_idx = np.sort(train).astype(np.int64)
        model = fit_sepsis(rows, spec, train_idx, procedure)
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

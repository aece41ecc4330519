"""The estimator: gradient-boosted trees with Platt calibration on patients they did not see.

``HistGradientBoostingClassifier`` reads NaN natively (each split learns where missing
values go), so a missing feature stays missing. Calibration (:func:`fit`): the trees are
fitted on 75% of the patients, a sigmoid (Platt) map of their log-odds on the other 25%
(``CalibratedClassifierCV`` over a ``FrozenEstimator``); those held-out patients also choose
the alert threshold. Or (:func:`fit_trees` + :func:`calibrate_on_scores`) the trees see every
patient and the map is fitted on out-of-fold log-odds of other fits of the same trees.
Sigmoid rather than isotonic: skl2onnx's isotonic calibrator differs from scikit-learn by up
to 0.09 here, the sigmoid one by < 1e-6.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GroupShuffleSplit


@dataclass(frozen=True, slots=True)
class TreeParams:
    """Hyper-parameters of the boosted trees (fixed, not searched; see docs/models.md)."""

    max_iter: int = 250
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 200
    l2_regularization: float = 1.0
    max_features: float = 0.5
    positive_weight: float = 1.0
    """Sample weight of positive rows in the trees (the calibration is unweighted)."""
    early_stopping_share: float = 0.0
    """Share of the tree-training patients held out to stop the boosting early (0: off,
    all ``max_iter`` trees): boosting stops once their loss has not improved for
    ``n_iter_no_change`` rounds. Whole patients are held out, never single rows (rows of one
    stay are near-duplicates, a row-level split would not stop). They train no tree and do
    not calibrate."""
    n_iter_no_change: int = 10
    calibration_share: float = 0.25
    seed: int = 0

    def as_dict(self) -> dict[str, float | int]:
        """The parameters as a JSON-ready dict (for the manifest)."""
        return asdict(self)


DEFAULT_PARAMS = TreeParams()


@dataclass(frozen=True, slots=True)
class Fitted:
    """A calibrated model and the row indices of the patients that calibrated it."""

    model: CalibratedClassifierCV
    calibration_rows: npt.NDArray[np.int64]


def unfreeze(model: CalibratedClassifierCV) -> CalibratedClassifierCV:
    """Replace the ``FrozenEstimator`` wrappers by the trees they hold, in place.

    skl2onnx has no converter for ``FrozenEstimator``; the wrapper only forwards calls, so
    the predictions are unchanged (a test checks).
    """
    for calibrated in model.calibrated_classifiers_:
        if isinstance(calibrated.estimator, FrozenEstimator):
            calibrated.estimator = calibrated.estimator.estimator
    if isinstance(model.estimator, FrozenEstimator):
        model.estimator = model.estimator.estimator
    return model


def fit(
    x: npt.NDArray[np.float32],
    y: npt.ArrayLike,
    groups: npt.ArrayLike,
    params: TreeParams = DEFAULT_PARAMS,
    tree_y: npt.ArrayLike | None = None,
    tree_weight: npt.ArrayLike | None = None,
) -> Fitted:
    """Fit trees on most patients and calibrate them on the rest (split by ``groups``).

    The calibration always maps the trees' log-odds to the probability of ``y``. The trees
    themselves learn ``tree_y`` (default ``y``) with the row weights ``tree_weight`` (default
    1; rows of weight 0 are left out of the trees, ``positive_weight`` multiplies in): a
    cost-sensitive training target whose probabilities need not be those of ``y``. The
    patient splits depend on ``groups`` and the seed only, not on these.
    """
    target = np.asarray(y).astype(np.int64)
    g = np.asarray(groups)
    split = GroupShuffleSplit(
        n_splits=1, test_size=params.calibration_share, random_state=params.seed
    )
    train, calib = next(split.split(x, target, g))
    tree_target = target if tree_y is None else tree_y
    trees = _trees_on_rows(x, tree_target, g, params, tree_weight, train)
    model = CalibratedClassifierCV(FrozenEstimator(trees), method="sigmoid")
    model.fit(x[calib], target[calib])
    return Fitted(unfreeze(model), calib.astype(np.int64))


def fit_trees(
    x: npt.NDArray[np.float32],
    tree_y: npt.ArrayLike,
    groups: npt.ArrayLike,
    params: TreeParams = DEFAULT_PARAMS,
    tree_weight: npt.ArrayLike | None = None,
) -> HistGradientBoostingClassifier:
    """Trees on every patient (no calibration split; ``calibration_share`` is unused), as
    :func:`fit` trains them otherwise. Calibrate with :func:`calibrate_on_scores`."""
    return _trees_on_rows(x, tree_y, np.asarray(groups), params, tree_weight, np.arange(len(x)))


def _trees_on_rows(
    x: npt.NDArray[np.float32],
    tree_y: npt.ArrayLike,
    g: npt.NDArray[np.generic],
    params: TreeParams,
    tree_weight: npt.ArrayLike | None,
    train: npt.NDArray[np.int64],
) -> HistGradientBoostingClassifier:
    """Trees on the rows ``train`` (less the early-stopping patients, if any)."""
    tree_target = np.asarray(tree_y).astype(np.int64)
    row_weight = None if tree_weight is None else np.asarray(tree_weight, dtype=np.float64)
    stop = params.early_stopping_share > 0.0
    val = np.zeros(0, dtype=np.int64)
    if stop:
        inner = GroupShuffleSplit(
            n_splits=1, test_size=params.early_stopping_share, random_state=params.seed
        )
        keep, held = next(inner.split(train, tree_target[train], g[train]))
        train, val = train[keep], train[held]
    if row_weight is not None:
        train, val = train[row_weight[train] > 0.0], val[row_weight[val] > 0.0]
    trees = HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        max_features=params.max_features,
        early_stopping=stop,
        n_iter_no_change=params.n_iter_no_change,
        random_state=params.seed,
    )
    weights, val_weights = _tree_weights(tree_target, row_weight, train, val, params)
    if stop:
        trees.fit(
            x[train],
            tree_target[train],
            sample_weight=weights,
            X_val=x[val],
            y_val=tree_target[val],
            sample_weight_val=val_weights,
        )
    else:
        trees.fit(x[train], tree_target[train], sample_weight=weights)
    return trees


class _GivenLogOdds(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A binary classifier whose log-odds are its input's first column: lets
    ``CalibratedClassifierCV`` fit its sigmoid on log-odds computed elsewhere."""

    def fit(self, x: npt.ArrayLike, y: npt.ArrayLike) -> _GivenLogOdds:
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.asarray(x, dtype=np.float64)[:, 0]

    def predict(self, x: npt.ArrayLike) -> npt.NDArray[np.int64]:
        return np.asarray(self.decision_function(x) > 0.0, dtype=np.int64)


def calibrate_on_scores(
    trees: HistGradientBoostingClassifier, log_odds: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[CalibratedClassifierCV, npt.NDArray[np.float64]]:
    """``trees`` with a sigmoid (Platt) map fitted on ``log_odds`` against ``y``, and the
    mapped probabilities of ``log_odds``.

    ``log_odds`` are out-of-fold: each row's comes from trees fitted the same way on other
    patients, so the map is fitted on patients its scorer did not see, as with a held-out
    share, while ``trees`` learn from every patient. The model is the same
    ``CalibratedClassifierCV`` (and ONNX graph) as :func:`fit` makes."""
    column = np.asarray(log_odds, dtype=np.float64).reshape(-1, 1)
    target = np.asarray(y).astype(np.int64)
    given = _GivenLogOdds().fit(column, target)
    model = CalibratedClassifierCV(FrozenEstimator(given), method="sigmoid")
    model.fit(column, target)
    mapped = np.asarray(model.predict_proba(column)[:, 1], dtype=np.float64)
    for calibrated in model.calibrated_classifiers_:
        calibrated.estimator = trees
    model.estimator = trees
    return model, mapped


def log_odds(
    trees: HistGradientBoostingClassifier, x: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    """The trees' raw log-odds per row (what the sigmoid calibration maps)."""
    return np.asarray(trees.decision_function(x), dtype=np.float64)


def _tree_weights(
    target: npt.NDArray[np.int64],
    row_weight: npt.NDArray[np.float64] | None,
    train: npt.NDArray[np.int64],
    val: npt.NDArray[np.int64],
    params: TreeParams,
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """Sample weights of the tree-training and early-stopping rows (``None``: unweighted)."""
    if row_weight is None and params.positive_weight == 1.0:
        return None, None
    base = np.ones(target.size) if row_weight is None else row_weight
    weight = base * np.where(target == 1, params.positive_weight, 1.0)
    return weight[train], weight[val]


def tree_count(model: CalibratedClassifierCV) -> int:
    """Boosting iterations the (unfrozen) trees of ``model`` ran (fewer than ``max_iter``
    when early stopping ended them)."""
    trees = model.estimator
    if isinstance(trees, FrozenEstimator):
        trees = trees.estimator
    return int(trees.n_iter_)


def probabilities(
    model: CalibratedClassifierCV, x: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    """The positive-class probability per row (scikit-learn; serving uses ONNX)."""
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)

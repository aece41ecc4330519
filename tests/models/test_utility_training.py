"""Session 6 levers of the infection model: the trees trained on the challenge utility's
gain per row (a cost-sensitive reduction) or without the rows the utility ignores, while
the calibration keeps the model's target."""

from __future__ import annotations

import numpy as np
import pytest

from models.estimator import fit, probabilities
from models.sepsis import INFECTION_THRESHOLD_FOLDS, TREE_LABELS, sepsis_target, tree_training
from models.utility import alert_gains, normalized_utility, row_utilities, utility_curve
from tests.models.helpers import SMALL, training_rows

# One septic stay of 30 rows, first SepsisLabel at row 14: t_sepsis = 20, so row t is
# t - 20 h from onset; then a non-septic stay of 5 rows.
LABELS = np.concatenate([np.repeat([0, 1], [14, 16]), np.zeros(5)]).astype(np.int8)
GROUPS = np.repeat([0, 1], [30, 5])


@pytest.mark.parametrize(
    ("row", "gain"),
    [
        (0, -0.05),  # 20 h before onset: an alert is a false alarm
        (7, -0.05),  # -13 h: still before the rewarded span
        (8, 0.0),  # -12 h: the reward ramp starts at 0, and so does the gain
        (11, 0.5),  # -9 h: half-way up the ramp; a missed row costs nothing yet
        (14, 1.0),  # -6 h: full reward, no cost of missing yet
        (17, 1 + 1 / 3),  # -3 h: reward 1 - 3/9 = 2/3, missing costs 2 * 3/9 = 2/3
        (23, 2.0),  # +3 h: reward 0, missing costs 2
        (24, 0.0),  # +4 h: the utility counts nothing any more
        (29, 0.0),
        (30, -0.05),  # the non-septic stay
        (34, -0.05),
    ],
)
def test_alert_gain_by_hand(row: int, gain: float) -> None:
    assert alert_gains(LABELS, GROUPS)[row] == pytest.approx(gain)


def test_alert_gain_is_the_difference_of_the_row_utilities() -> None:
    u_alert, u_quiet = row_utilities(LABELS, GROUPS)
    assert np.array_equal(alert_gains(LABELS, GROUPS), u_alert - u_quiet)
    # and the utility curve adds up the same gains: alerting on rows 11-23 only
    alerts = (np.arange(35) >= 11) & (np.arange(35) <= 23)
    scores = alerts.astype(np.float64)
    thresholds, utilities = utility_curve(LABELS, GROUPS, scores)
    assert utilities[thresholds == 1.0][0] == pytest.approx(
        normalized_utility(LABELS, GROUPS, alerts)
    )


def test_utility_label_and_weights() -> None:
    y, weight = tree_training(LABELS, GROUPS, tree_label="utility")
    assert weight is not None
    gain = alert_gains(LABELS, GROUPS)
    assert np.array_equal(y, (gain > 0).astype(np.int8))
    assert y[9:24].all() and not y[:9].any() and not y[24:].any()
    kept = weight > 0
    assert np.array_equal(kept, gain != 0)  # -12 h and after +3 h: left out of the trees
    assert weight[kept].mean() == pytest.approx(1.0)
    ratio = weight[kept] / np.abs(gain[kept])
    assert np.allclose(ratio, ratio[0])  # |gain|, scaled


def test_no_late_keeps_the_target_and_drops_only_rows_after_plus_3_h() -> None:
    y, weight = tree_training(LABELS, GROUPS, shift_h=6, tree_label="no-late")
    assert weight is not None
    assert np.array_equal(y, sepsis_target(LABELS, GROUPS, 6))
    assert np.flatnonzero(weight == 0).tolist() == list(range(24, 30))
    y0, w0 = tree_training(LABELS, GROUPS, shift_h=6, tree_label="target")
    assert w0 is None and np.array_equal(y0, y)
    assert TREE_LABELS[0] == "target"


def test_tree_label_and_weights_change_the_trees_not_the_calibration_target() -> None:
    x, y, groups = training_rows(5)
    plain = fit(x, y, groups, SMALL)
    ones = fit(x, y, groups, SMALL, y, np.ones(y.size))
    assert np.allclose(probabilities(plain.model, x), probabilities(ones.model, x))
    # the trees learn "not y", drop the first half's rows: the calibration still maps to y
    rng = np.random.default_rng(0)
    weight = np.where(np.arange(y.size) < y.size // 2, 0.0, rng.uniform(0.5, 2.0, y.size))
    flipped = fit(x, y, groups, SMALL, 1 - y, weight)
    assert np.array_equal(plain.calibration_rows, flipped.calibration_rows)
    raw = flipped.model.estimator.predict_proba(x)[:, 1]
    calibrated = probabilities(flipped.model, x)
    assert np.corrcoef(raw, y)[0, 1] < 0 < np.corrcoef(calibrated, y)[0, 1]
    assert (
        abs(calibrated[flipped.calibration_rows].mean() - y[flipped.calibration_rows].mean()) < 0.02
    )


def test_experiment_command_takes_the_tree_label() -> None:
    from models.__main__ import build_parser

    args = build_parser().parse_args(["experiment", "--tree-label", "target"])
    assert args.tree_label == "target"
    # the default is the deployed procedure's (utility-shaped trees since model 1.4.0)
    assert build_parser().parse_args(["experiment"]).tree_label == "utility"


def test_inner_scores_are_out_of_fold_probabilities_of_every_row() -> None:
    from models.sepsis import Procedure, inner_scores

    x, y, groups = training_rows(6)
    labels = y.astype(np.int8)
    procedure = Procedure(SMALL, shift_h=0, tree_label="target")
    scores = inner_scores(x, labels, groups, 3, procedure)
    assert scores.shape == (y.size,) and ((scores > 0) & (scores < 1)).all()
    assert np.array_equal(scores, inner_scores(x, labels, groups, 3, procedure))
    # informative although no model scored rows it was fitted on
    assert scores[y == 1].mean() > scores[y == 0].mean()


def test_experiment_command_takes_the_threshold_folds() -> None:
    from models.__main__ import build_parser

    # as train does
    assert build_parser().parse_args(["experiment"]).threshold_folds == INFECTION_THRESHOLD_FOLDS
    args = build_parser().parse_args(["experiment", "--threshold-folds", "0"])
    assert args.threshold_folds == 0

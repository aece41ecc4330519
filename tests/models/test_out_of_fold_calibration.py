"""Out-of-fold calibration of the infection model: the trees learn from every training stay
and the Platt map is fitted on inner out-of-fold log-odds (``Procedure.calibration``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from models.estimator import calibrate_on_scores, fit_trees, log_odds, probabilities
from models.export import onnx_max_abs_diff, to_onnx_bytes
from models.physionet_data import PhysionetRows
from models.sepsis import Procedure, fit_sepsis, tree_training
from tests.models.helpers import SMALL, SPEC, training_rows


def test_a_map_fitted_on_given_log_odds_is_the_usual_held_out_calibration() -> None:
    x, y, groups = training_rows(7)
    fitted_on, held = groups < 100, groups >= 100
    trees = fit_trees(x[fitted_on], y[fitted_on], groups[fitted_on], SMALL)
    usual = CalibratedClassifierCV(FrozenEstimator(trees), method="sigmoid")
    usual.fit(x[held], y[held])
    model, mapped = calibrate_on_scores(trees, log_odds(trees, x[held]), y[held])
    assert np.array_equal(mapped, usual.predict_proba(x[held])[:, 1])
    assert np.allclose(probabilities(model, x), usual.predict_proba(x)[:, 1], rtol=0, atol=1e-12)
    assert model.estimator is trees
    assert onnx_max_abs_diff(model, to_onnx_bytes(model, x.shape[1]), x) < 1e-5


def _rows(seed: int) -> PhysionetRows:
    x, y, groups = training_rows(seed)
    raw = x[:, : len(SPEC.catalog)]
    return PhysionetRows(
        stay_ids=tuple(f"s{g}" for g in np.unique(groups)),
        groups=groups.astype(np.int64),
        features=raw,
        labels=y.astype(np.int8),
        iculos=np.zeros(y.size, dtype=np.float32),
        rules=np.zeros((y.size, 3), dtype=np.float32),
        columns=SPEC.catalog,
    )


def test_out_of_fold_calibration_trains_the_trees_on_every_stay() -> None:
    rows = _rows(8)
    x = SPEC.from_columns(rows.features, rows.columns)
    procedure = Procedure(SMALL, shift_h=0, tree_label="target", calibration="out-of-fold")
    done = fit_sepsis(rows, SPEC, procedure=procedure)
    tree_y, weight = tree_training(rows.labels, rows.groups, 0, "target")
    on_all = fit_trees(x, tree_y, rows.groups, SMALL, weight)
    assert np.array_equal(log_odds(done.fitted.model.estimator, x), log_odds(on_all, x))
    assert done.fitted.calibration_rows.tolist() == list(range(rows.labels.size))
    held_out = fit_sepsis(rows, SPEC, procedure=Procedure(SMALL, 0, "target", 3, "held-out"))
    assert not np.array_equal(log_odds(held_out.fitted.model.estimator, x), log_odds(on_all, x))
    p = probabilities(done.fitted.model, x)
    assert p[rows.labels == 1].mean() > p[rows.labels == 0].mean()
    assert 0.0 < done.threshold < 1.0
    again = fit_sepsis(rows, SPEC, procedure=procedure)
    assert (again.threshold, again.threshold_utility) == (done.threshold, done.threshold_utility)


def test_out_of_fold_calibration_needs_inner_folds() -> None:
    with pytest.raises(ValueError, match="threshold_folds"):
        Procedure(SMALL, threshold_folds=0, calibration="out-of-fold")
    with pytest.raises(ValueError, match="unknown calibration"):
        Procedure(SMALL, calibration="isotonic")  # type: ignore[arg-type]
    assert Procedure(SMALL, calibration="out-of-fold").settings()["calibration"] == "out-of-fold"


def test_experiment_command_takes_the_calibration() -> None:
    from models.__main__ import build_parser

    # the deployed procedure's calibration (since 1.5.0) is the default, as train does
    assert build_parser().parse_args(["experiment"]).calibration == "out-of-fold"
    args = build_parser().parse_args(["experiment", "--calibration", "held-out"])
    assert args.calibration == "held-out"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["experiment", "--calibration", "isotonic"])


def test_experiment_command_refuses_out_of_fold_calibration_without_inner_folds(
    tmp_path: Path,
) -> None:
    from models.__main__ import main

    # refused before any row is built (the data path does not exist)
    missing = str(tmp_path / "none.tar.gz")
    refusal = re.escape("threshold_folds >= 2 (or calibration held-out)")
    with pytest.raises(SystemExit, match=refusal):
        main(["experiment", "--threshold-folds", "0", "--physionet", missing])


def test_the_manifest_says_where_the_calibration_came_from() -> None:
    from models.train import _threshold_method, infection_estimator

    held_out = Procedure(SMALL, calibration="held-out")
    out_of_fold = Procedure(SMALL, calibration="out-of-fold")
    assert "held-out patients" in infection_estimator(held_out)["kind"]
    assert "out-of-fold log-odds" in infection_estimator(out_of_fold)["kind"]
    assert "also fit its calibration" in _threshold_method(out_of_fold)
    assert "also fit its calibration" not in _threshold_method(held_out)

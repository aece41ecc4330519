"""The exported ONNX graph gives scikit-learn's probabilities within 1e-5 on held-out rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.frozen import FrozenEstimator

from models.estimator import TreeParams, fit, probabilities, unfreeze
from models.export import INPUT_NAME, to_onnx_bytes
from models.physionet_data import build_rows
from models.selection import choose_inputs
from models.sepsis import sepsis_target
from models.serving import session_options
from tests.models.helpers import SMALL, training_rows

PHYSIONET = Path("/work/shared/data/physionet2019/training_setB_dev.tar.gz")


def _onnx_probabilities(onnx: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(onnx, session_options(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["probabilities"], {INPUT_NAME: x})[0])[:, 1]


def test_random_rows_with_missing_values() -> None:
    x, y, groups = training_rows(seed=0, n=2000)
    train, held_out = groups < 150, groups >= 150
    fitted = fit(x[train], y[train], groups[train], SMALL)
    onnx = to_onnx_bytes(fitted.model, x.shape[1])
    expected = probabilities(fitted.model, x[held_out])
    got = _onnx_probabilities(onnx, x[held_out])
    assert np.isnan(x[held_out]).any()
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_unfreezing_keeps_the_predictions() -> None:
    x, y, groups = training_rows(seed=1, n=800)
    fitted = fit(x, y, groups, SMALL)
    model = fitted.model
    before = probabilities(model, x)
    frozen = model.calibrated_classifiers_[0].estimator
    model.calibrated_classifiers_[0].estimator = FrozenEstimator(frozen)
    np.testing.assert_array_equal(probabilities(unfreeze(model), x), before)


@pytest.mark.skipif(not PHYSIONET.exists(), reason="PhysioNet 2019 archive not on this machine")
def test_physionet_subset_held_out_stays() -> None:
    rows = build_rows(PHYSIONET, limit=120, workers=1)
    spec = choose_inputs(rows.features, rows.columns)
    x = spec.from_columns(rows.features, rows.columns)
    y = sepsis_target(rows.labels, rows.groups, 6)
    cut = int(np.searchsorted(rows.groups, 90))
    params = TreeParams(max_iter=30, min_samples_leaf=20)
    fitted = fit(x[:cut], y[:cut], rows.groups[:cut], params)
    onnx = to_onnx_bytes(fitted.model, x.shape[1])
    expected = probabilities(fitted.model, x[cut:])
    np.testing.assert_allclose(_onnx_probabilities(onnx, x[cut:]), expected, atol=1e-5, rtol=0)

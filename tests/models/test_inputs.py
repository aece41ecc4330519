"""Model inputs: the stream's snapshot code, derived inputs, missing stays missing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from features.catalog import FEATURE_NAMES
from features.replay import feature_vector
from models.derived import DERIVED, compute
from models.inputs import InputSpec, quantize
from tests.models.factory_rows import febrile_snapshot


def test_matrix_of_snapshots_equals_catalog_columns() -> None:
    snap = febrile_snapshot()
    spec = InputSpec(("hr_last", "sbp_last", "crp_last"), ("shock_index", "hr_trend_6h_vs_24h"))
    row = spec.row(snap)
    full = np.array([feature_vector(snap, FEATURE_NAMES)], dtype=np.float32)
    np.testing.assert_array_equal(spec.from_columns(full, FEATURE_NAMES), row)
    hr, sbp, crp, shock, trend = row[0]
    assert hr == snap.get("hr_last") and sbp == snap.get("sbp_last")
    assert math.isnan(crp)  # never measured: NaN, not zero
    assert shock == pytest.approx(hr / sbp, rel=3e-5)  # quantized: 16-bit mantissa
    assert trend == pytest.approx(snap.get("hr_mean_6h") - snap.get("hr_mean_24h"), rel=3e-5)  # type: ignore[operator]


def test_derived_inputs_propagate_missing() -> None:
    names = tuple(d.name for d in DERIVED)
    sources = {f for d in DERIVED for f in d.inputs}
    columns = {f: np.array([np.nan, 1.0], dtype=np.float32) for f in sources}
    out = compute(names, columns)
    for j, d in enumerate(DERIVED):
        if d.name.endswith("_count"):
            assert out[0, j] == 0.0  # a count of present values: none present
        else:
            assert math.isnan(out[0, j]), d.name


def test_shock_index_without_pressure_is_missing() -> None:
    out = compute(
        ("shock_index",),
        {"hr_last": np.array([100.0], np.float32), "sbp_last": np.array([0.0], np.float32)},
    )
    assert math.isnan(out[0, 0])


def test_spec_problems_name_unknown_inputs() -> None:
    spec = InputSpec(("hr_last", "nonsense"), ("shock_index", "nope"))
    problems = spec.problems()
    assert "unknown catalog feature 'nonsense'" in problems
    assert "unknown derived input 'nope'" in problems
    with pytest.raises(ValueError):
        spec.validate()
    assert InputSpec(("hr_last",), ("shock_index",)).problems() == []


def test_quantize_keeps_missing_and_is_idempotent() -> None:
    rng = np.random.default_rng(0)
    x = (rng.lognormal(3, 2, 5000) * rng.choice([-1, 1], 5000)).astype(np.float32)
    x[::7] = np.nan
    q = quantize(x)
    assert np.array_equal(np.isnan(q), np.isnan(x))
    ok = ~np.isnan(x)
    assert np.all(np.abs(q[ok] - x[ok]) <= np.abs(x[ok]) * 2.0**-16)
    np.testing.assert_array_equal(quantize(q), q)


def test_quantized_midpoints_are_exact_in_float32() -> None:
    # the reason for quantizing: a split between two adjacent training values must survive
    # the float64 -> float32 cast of the ONNX tree thresholds
    rng = np.random.default_rng(1)
    v = np.unique(quantize(rng.normal(100, 30, 20000).astype(np.float32)).astype(np.float64))
    mid = (v[:-1] + v[1:]) / 2
    assert np.array_equal(mid.astype(np.float32).astype(np.float64), mid)
    raw = np.unique(rng.normal(100, 30, 20000).astype(np.float32).astype(np.float64))
    raw_mid = (raw[:-1] + raw[1:]) / 2
    assert not np.array_equal(raw_mid.astype(np.float32).astype(np.float64), raw_mid)

"""A tiny trained model written the way ``models.train`` writes one, for serving tests."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from features.snapshot import SNAPSHOT_VERSION
from models.derived import DERIVED_VERSION
from models.estimator import TreeParams, fit
from models.export import reference_values, sha256_bytes, to_onnx_bytes, write_model
from models.inputs import InputSpec
from models.manifest import MANIFEST_SCHEMA, Manifest

SPEC = InputSpec(("hr_last", "temp_last", "rr_last", "sbp_last"), ("shock_index",))
SMALL = TreeParams(max_iter=15, min_samples_leaf=20, max_features=1.0)


def training_rows(seed: int = 0, n: int = 1500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Catalog-source rows (hr, temp, rr, sbp; 20% missing), an outcome driven by HR and
    temperature, and patient groups."""
    rng = np.random.default_rng(seed)
    raw = np.column_stack(
        [
            rng.normal(90, 20, n),
            rng.normal(37.5, 0.8, n),
            rng.normal(18, 4, n),
            rng.normal(115, 20, n),
        ]
    ).astype(np.float32)
    raw[rng.random(raw.shape) < 0.2] = np.nan
    logit = 0.06 * (np.nan_to_num(raw[:, 0], nan=90) - 90) + 1.5 * (
        np.nan_to_num(raw[:, 1], nan=37.5) - 37.5
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-(logit - 1.0)))).astype(np.int64)
    groups = np.repeat(np.arange(n // 10), 10)
    return SPEC.from_columns(raw, SPEC.catalog), y, groups


@functools.cache
def _trained(seed: int) -> tuple[bytes, tuple[float | None, ...]]:
    x, y, groups = training_rows(seed)
    fitted = fit(x, y, groups, SMALL)
    return to_onnx_bytes(fitted.model, len(SPEC.names)), reference_values(x)


def write_tiny_model(
    directory: Path, version: str = "1.0.0", seed: int = 0, risk: str = "infection"
) -> Manifest:
    """Write a tiny model for ``risk`` into ``directory`` (trained once per seed and run)."""
    onnx, reference = _trained(seed)
    manifest = Manifest(
        schema=MANIFEST_SCHEMA,
        derived_version=DERIVED_VERSION,
        snapshot_version=SNAPSHOT_VERSION,
        model_id=f"tiny-{risk}",
        risk=risk,  # type: ignore[arg-type]
        version=version,
        created_at="2026-01-01T00:00:00+00:00",
        created_by="tests",
        onnx_file=f"{risk}.onnx",
        onnx_sha256=sha256_bytes(onnx),
        features=SPEC.names,
        catalog_features=SPEC.catalog,
        derived_features=SPEC.derived,
        reference_values=reference,
        outcome="test outcome",
        horizon_h=24.0,
        threshold=0.5,
        threshold_method="fixed for tests",
        training_data={"description": "random rows"},
        estimator={"kind": "tiny"},
        synthetic=True,
    )
    write_model(directory, manifest, onnx, "# tiny\n")
    return manifest

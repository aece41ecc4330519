"""The committed models load, their manifests check out, and they score real snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from features.catalog import FEATURES
from models.derived import DERIVED_BY_NAME
from models.manifest import MANIFEST_SUFFIX, read_manifest, sha256_file
from models.serving import ARTIFACTS_DIR, ModelSet
from tests.models.factory_rows import febrile_snapshot

MANIFESTS = sorted(ARTIFACTS_DIR.glob(f"*{MANIFEST_SUFFIX}"))


def test_every_risk_with_a_model_is_committed() -> None:
    risks = {read_manifest(p).risk for p in MANIFESTS}
    assert risks == {"infection", "crs", "icans", "hlh"}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_consistent(path: Path) -> None:
    manifest = read_manifest(path)
    folder = path.parent
    assert sha256_file(folder / manifest.onnx_file) == manifest.onnx_sha256
    assert manifest.features == manifest.catalog_features + manifest.derived_features
    assert all(f in FEATURES for f in manifest.catalog_features)
    assert all(d in DERIVED_BY_NAME for d in manifest.derived_features)
    assert len(manifest.reference_values) == len(manifest.features)
    assert 0.0 < manifest.threshold < 1.0
    assert (folder / f"{manifest.risk}.card.md").exists()
    assert manifest.synthetic == (manifest.risk != "infection")
    raw = json.loads(path.read_text())
    assert raw["schema"] == "blina-ews-model-manifest/1"


def test_committed_models_load_and_score_a_snapshot() -> None:
    models = ModelSet.load(ARTIFACTS_DIR)
    snap = febrile_snapshot()
    for risk in models.risks:
        row = models.model(risk).spec.row(snap)
        p = models.predict(risk, row)
        assert p.shape == (1,)
        assert 0.0 <= p[0] <= 1.0
        batch = models.predict(risk, np.repeat(row, 8, axis=0))
        np.testing.assert_allclose(batch, p[0], atol=1e-7)


def test_artifacts_stay_small() -> None:
    total = sum(p.stat().st_size for p in ARTIFACTS_DIR.iterdir() if p.is_file())
    assert total < 5_000_000

"""Serving: manifest checks at load, batched prediction, explanation, atomic hot reload."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.manifest import MANIFEST_SUFFIX
from models.serving import ModelLoadError, ModelSet
from tests.models.helpers import SPEC, training_rows, write_tiny_model


def _edit_manifest(directory: Path, risk: str = "infection", **changes: object) -> None:
    path = directory / f"{risk}{MANIFEST_SUFFIX}"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_loads_and_predicts_a_batch(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    models = ModelSet.load(tmp_path)
    assert models.risks == ("infection",)
    x, _, _ = training_rows(seed=5, n=64)
    p = models.predict("infection", x)
    assert p.shape == (64,)
    assert np.all((p >= 0) & (p <= 1))
    single = np.array([models.predict("infection", x[i : i + 1])[0] for i in range(64)])
    np.testing.assert_allclose(single, p, atol=1e-7)


def test_refuses_a_wrong_checksum(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    _edit_manifest(tmp_path, onnx_sha256="0" * 64)
    with pytest.raises(ModelLoadError, match="sha256"):
        ModelSet.load(tmp_path)


def test_refuses_a_tampered_onnx_file(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    onnx = tmp_path / "infection.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    with pytest.raises(ModelLoadError, match="sha256"):
        ModelSet.load(tmp_path)


def test_refuses_an_unknown_feature(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    catalog = ["hr_last", "temp_last", "rr_last", "heart_vibes"]
    _edit_manifest(tmp_path, catalog_features=catalog, features=[*catalog, "shock_index"])
    with pytest.raises(ModelLoadError, match="unknown catalog feature 'heart_vibes'"):
        ModelSet.load(tmp_path)


def test_refuses_an_unknown_derived_input(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    _edit_manifest(
        tmp_path, derived_features=["mood_index"], features=[*SPEC.catalog, "mood_index"]
    )
    with pytest.raises(ModelLoadError, match="unknown derived input 'mood_index'"):
        ModelSet.load(tmp_path)


def test_refuses_a_mismatched_order(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    swapped = ["temp_last", "hr_last", "rr_last", "sbp_last", "shock_index"]
    _edit_manifest(tmp_path, features=swapped)
    with pytest.raises(ModelLoadError, match="in order"):
        ModelSet.load(tmp_path)


def test_refuses_a_malformed_version(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    _edit_manifest(tmp_path, version="latest")
    with pytest.raises(ModelLoadError, match=r"MAJOR\.MINOR\.PATCH"):
        ModelSet.load(tmp_path)


def test_refuses_a_feature_count_the_onnx_does_not_take(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    catalog = ["hr_last", "temp_last", "rr_last", "sbp_last", "spo2_last"]
    _edit_manifest(
        tmp_path,
        catalog_features=catalog,
        features=[*catalog, "shock_index"],
        reference_values=[None] * 6,
    )
    with pytest.raises(ModelLoadError, match="ONNX input"):
        ModelSet.load(tmp_path)


def test_hot_reload_swaps_to_a_new_version(tmp_path: Path) -> None:
    write_tiny_model(tmp_path, version="1.0.0", seed=0)
    models = ModelSet.load(tmp_path)
    x, _, _ = training_rows(seed=9, n=32)
    before = models.predict("infection", x)
    assert models.maybe_reload().reloaded == ()  # nothing changed
    write_tiny_model(tmp_path, version="1.1.0", seed=1)
    report = models.maybe_reload()
    assert report.reloaded == ("infection",)
    assert report.errors == {}
    assert models.manifest("infection").version == "1.1.0"
    assert not np.allclose(models.predict("infection", x), before)


def test_a_broken_new_version_keeps_the_old_one(tmp_path: Path) -> None:
    write_tiny_model(tmp_path, version="1.0.0")
    models = ModelSet.load(tmp_path)
    x, _, _ = training_rows(seed=9, n=16)
    before = models.predict("infection", x)
    # a new version whose ONNX file does not match its manifest (e.g. a half-copied deploy)
    write_tiny_model(tmp_path, version="2.0.0", seed=3)
    (tmp_path / "infection.onnx").write_bytes(b"not onnx")
    report = models.maybe_reload()
    assert report.reloaded == ()
    assert "sha256" in report.errors[f"infection{MANIFEST_SUFFIX}"]
    assert models.manifest("infection").version == "1.0.0"
    np.testing.assert_array_equal(models.predict("infection", x), before)


def test_same_version_with_other_content_is_refused(tmp_path: Path) -> None:
    write_tiny_model(tmp_path, version="1.0.0", seed=0)
    models = ModelSet.load(tmp_path)
    write_tiny_model(tmp_path, version="1.0.0", seed=4)
    report = models.maybe_reload()
    assert report.reloaded == ()
    assert "new version" in report.errors[f"infection{MANIFEST_SUFFIX}"]


def test_explain_names_the_inputs_that_move_the_probability(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    models = ModelSet.load(tmp_path)
    row = np.array([150.0, 40.0, 18.0, math.nan, math.nan], dtype=np.float32)  # fast and hot
    contributions = models.explain("infection", row, top_k=3)
    assert contributions
    by_name = {c.feature: c for c in contributions}
    assert {"hr_last", "temp_last"} & set(by_name)
    for c in contributions:
        assert c.delta > 0 or c.feature not in ("hr_last", "temp_last")
    assert all(c.value is None or not math.isnan(c.value) for c in contributions)
    # a delta is exactly the probability change of swapping in the reference value
    model = models.model("infection")
    first = contributions[0]
    j = model.manifest.features.index(first.feature)
    swapped = row.copy()
    swapped[j] = model.reference[0, j]
    p = models.predict("infection", np.stack([row, swapped]))
    assert first.delta == pytest.approx(p[0] - p[1], abs=1e-6)


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no \\*"):
        ModelSet.load(tmp_path)


def test_refuses_a_manifest_without_its_versions(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    path = tmp_path / f"infection{MANIFEST_SUFFIX}"
    data = json.loads(path.read_text())
    del data["snapshot_version"]
    path.write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match="snapshot_version"):
        ModelSet.load(tmp_path)


def test_refuses_another_snapshot_version(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    _edit_manifest(tmp_path, snapshot_version="0.9")
    with pytest.raises(ModelLoadError, match=r"snapshot version 0\.9"):
        ModelSet.load(tmp_path)

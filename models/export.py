"""ONNX export (skl2onnx) and the atomic write of a model's files.

The ONNX graph takes one float32 input ``input[N, n_inputs]`` (NaN = missing) and gives
``label`` and ``probabilities[N, 2]`` (no ZipMap, so a batch is one tensor).

Files of one risk in the artifacts folder: ``<risk>.onnx``, ``<risk>.manifest.json`` and
``<risk>.card.md``. The ONNX file is written first and the manifest last, each through a
temporary file and a rename: a reader polling the folder sees either the old manifest (whose
sha256 then refuses a new ONNX file until the manifest follows) or the new one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.calibration import CalibratedClassifierCV

from models.manifest import MANIFEST_SUFFIX, Manifest, encode_manifest

INPUT_NAME = "input"


def to_onnx_bytes(model: CalibratedClassifierCV, n_inputs: int) -> bytes:
    """Serialized ONNX of a fitted (unfrozen) calibrated classifier."""
    onx = convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_inputs]))],
        options={id(model): {"zipmap": False}},
    )
    data: bytes = onx.SerializeToString()
    return data


MAX_ONNX_DIFF = 1e-5


def onnx_max_abs_diff(
    model: CalibratedClassifierCV, onnx: bytes, x: npt.NDArray[np.float32]
) -> float:
    """Largest |p_onnx - p_sklearn| over the rows ``x`` (raises ``ValueError`` above
    :data:`MAX_ONNX_DIFF`: an export that changes the model's answers is not written)."""
    import onnxruntime as ort

    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(["probabilities"], {INPUT_NAME: x})[0])[:, 1]
    diff = float(np.max(np.abs(got - model.predict_proba(x)[:, 1]))) if len(x) else 0.0
    if diff > MAX_ONNX_DIFF:
        raise ValueError(f"ONNX differs from scikit-learn by {diff:.2e} > {MAX_ONNX_DIFF:g}")
    return diff


def reference_values(x: npt.NDArray[np.float32]) -> tuple[float | None, ...]:
    """Per column, the median of present values, or ``None`` when most rows are missing."""
    out: list[float | None] = []
    for j in range(x.shape[1]):
        col = x[:, j]
        present = col[~np.isnan(col)]
        if len(present) * 2 < len(col) or len(present) == 0:
            out.append(None)
        else:
            out.append(round(float(np.median(present)), 6))
    return tuple(out)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256."""
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_model(out_dir: Path, manifest: Manifest, onnx: bytes, card: str) -> Path:
    """Write ONNX, model card and manifest (last) for ``manifest.risk``; returns the manifest
    path. The manifest's ``onnx_sha256`` must be the sha256 of ``onnx``."""
    if sha256_bytes(onnx) != manifest.onnx_sha256:
        raise ValueError("manifest onnx_sha256 does not match the ONNX bytes")
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(out_dir / manifest.onnx_file, onnx)
    _atomic_write(out_dir / f"{manifest.risk}.card.md", card.encode("utf-8"))
    path = out_dir / f"{manifest.risk}{MANIFEST_SUFFIX}"
    _atomic_write(path, encode_manifest(manifest))
    return path

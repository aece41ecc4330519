"""The model manifest: everything needed to trust, load and feed one ONNX model.

One JSON file per deployed model (``<risk>.manifest.json``) next to its ``.onnx`` and model
card. Serving refuses a model whose manifest does not check out (:func:`problems`): unknown
schema, malformed version, an ONNX file whose sha256 differs, an input the feature catalog or
the derived-input registry does not know, or an order that differs from the declared one.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import msgspec

from features.snapshot import SNAPSHOT_VERSION
from models.derived import DERIVED_VERSION
from models.inputs import InputSpec
from scoring.risk import Risk

MANIFEST_SCHEMA = "blina-ews-model-manifest/1"
MANIFEST_SUFFIX = ".manifest.json"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


class Metric(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A named figure with how it was obtained."""

    value: float | int | None
    how: str = ""


class Manifest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a deployed model is, what it reads, how it was made and how well it did."""

    schema: str
    """Always :data:`MANIFEST_SCHEMA` when written by this code (required: never implied)."""
    model_id: str
    risk: Risk
    version: str
    created_at: str
    created_by: str
    onnx_file: str
    onnx_sha256: str
    input_name: str = "input"
    probability_output: str = "probabilities"
    """ONNX output holding ``[p(negative), p(positive)]`` per row."""
    features: tuple[str, ...]
    """Model input names in order: ``catalog_features`` then ``derived_features``."""
    catalog_features: tuple[str, ...]
    derived_features: tuple[str, ...] = ()
    derived_version: str
    """Version of ``models.derived`` the derived inputs were computed with (required)."""
    snapshot_version: str
    """Snapshot version of the training rows (required: checked against the stream's)."""
    reference_values: tuple[float | None, ...]
    """Per input, the value :meth:`ModelSet.explain` swaps in: the training median, or
    ``None`` (missing) when most training rows had it missing."""
    outcome: str
    horizon_h: float | None
    threshold: float
    threshold_method: str
    training_data: dict[str, Any]
    estimator: dict[str, Any]
    metrics: dict[str, Metric] = {}
    synthetic: bool
    """True when trained only on simulated patients (not validated on patients)."""
    license_notes: str = ""

    def input_spec(self) -> InputSpec:
        """The inputs as an :class:`~models.inputs.InputSpec`."""
        return InputSpec(self.catalog_features, self.derived_features)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def problems(manifest: Manifest, directory: Path) -> list[str]:
    """Everything that forbids loading ``manifest`` from ``directory`` (empty: loadable)."""
    out: list[str] = []
    if manifest.schema != MANIFEST_SCHEMA:
        out.append(f"manifest schema {manifest.schema!r}, expected {MANIFEST_SCHEMA!r}")
    if not _SEMVER.match(manifest.version):
        out.append(f"version {manifest.version!r} is not MAJOR.MINOR.PATCH")
    if manifest.snapshot_version != SNAPSHOT_VERSION:
        out.append(
            f"trained on snapshot version {manifest.snapshot_version}, "
            f"the stream computes {SNAPSHOT_VERSION}"
        )
    if manifest.derived_features and manifest.derived_version != DERIVED_VERSION:
        out.append(
            f"derived inputs version {manifest.derived_version}, this code has {DERIVED_VERSION}"
        )
    spec = manifest.input_spec()
    out.extend(spec.problems())
    if tuple(manifest.features) != spec.names:
        out.append("features are not catalog_features followed by derived_features in order")
    if len(manifest.reference_values) != len(manifest.features):
        out.append("reference_values do not match features in length")
    onnx_path = directory / manifest.onnx_file
    if Path(manifest.onnx_file).name != manifest.onnx_file:
        out.append(f"onnx_file {manifest.onnx_file!r} must be a file name in the same folder")
    elif not onnx_path.is_file():
        out.append(f"ONNX file {manifest.onnx_file} not found")
    elif sha256_file(onnx_path) != manifest.onnx_sha256:
        out.append(f"sha256 of {manifest.onnx_file} does not match the manifest")
    return out


def read_manifest(path: Path) -> Manifest:
    """Decode a manifest file (raises ``msgspec.ValidationError`` / ``DecodeError``)."""
    return msgspec.json.decode(path.read_bytes(), type=Manifest)


def encode_manifest(manifest: Manifest) -> bytes:
    """Pretty JSON bytes of a manifest (stable key order, trailing newline)."""
    raw = msgspec.json.encode(manifest)
    return msgspec.json.format(raw, indent=2) + b"\n"

"""In-process serving of the deployed ONNX models: load, check, predict, explain, hot-reload.

``ModelSet.load(dir)`` reads every ``<risk>.manifest.json`` in ``dir`` and refuses the whole
set (:class:`ModelLoadError`, listing each reason) when any manifest does not check out
(``models.manifest.problems``: sha256, version, catalog features and order) or its ONNX file
does not take the declared inputs. Sessions run single-threaded (intra- and inter-op 1
thread): the stream scales by worker processes, and one thread gives the steadiest latency.

``maybe_reload()`` polls the manifests: a changed one is loaded completely aside and swapped
in with one assignment, so a reader sees the old model or the new one, never a mix; a new
version that fails its checks leaves the old model serving and is reported.

``explain(risk, row, top_k)``: for each input, the probability change when that input is
replaced by its reference value (training median, or missing when most training rows lacked
it); all ``n_inputs + 1`` rows go through one batched ONNX call. It is an occlusion measure:
honest about this model at this row, not a causal claim, and inputs that move together
(``hr_last``, ``hr_max_1h``) share the credit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from features.snapshot import Snapshot
from models.inputs import InputSpec, quantize
from models.manifest import MANIFEST_SUFFIX, Manifest, problems, read_manifest
from scoring.risk import Contribution, Risk

Rows = npt.NDArray[np.float32]
ARTIFACTS_DIR = Path(__file__).parent / "artifacts"
"""The committed, trained models."""


class ModelLoadError(Exception):
    """A model (set) that must not be served; ``reasons`` says why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """One checked model, ready to score."""

    manifest: Manifest
    spec: InputSpec
    session: ort.InferenceSession
    reference: Rows
    """Reference values as one float32 row (NaN = missing)."""
    manifest_path: Path
    manifest_stamp: tuple[int, int]
    """(mtime_ns, size) of the manifest when it was read."""

    def predict(self, rows: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Probabilities for a ``(n, n_inputs)`` batch of input rows (NaN = missing); rows
        are quantized as in training (``models.inputs.quantize``, idempotent)."""
        x = quantize(rows)
        if x.ndim != 2 or x.shape[1] != len(self.manifest.features):
            raise ValueError(f"rows must be (n, {len(self.manifest.features)}), not {x.shape}")
        out = self.session.run([self.manifest.probability_output], {self.manifest.input_name: x})[0]
        return np.asarray(out, dtype=np.float64)[:, 1]

    def explain(self, row: npt.ArrayLike, top_k: int = 5) -> tuple[Contribution, ...]:
        """See :meth:`ModelSet.explain`."""
        x = np.asarray(row, dtype=np.float32).reshape(1, -1)
        n = x.shape[1]
        batch = np.repeat(x, n + 1, axis=0)
        idx = np.arange(n)
        batch[idx + 1, idx] = self.reference[0]
        p = self.predict(batch)
        deltas = p[0] - p[1:]
        order = np.argsort(-np.abs(deltas), kind="stable")
        out: list[Contribution] = []
        for j in order[:top_k]:
            if deltas[j] == 0.0:
                break
            value = float(x[0, j])
            out.append(
                Contribution(
                    feature=self.manifest.features[j],
                    value=None if math.isnan(value) else value,
                    delta=float(deltas[j]),
                )
            )
        return tuple(out)


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What one :meth:`ModelSet.maybe_reload` did."""

    reloaded: tuple[Risk, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)
    """Manifest file name -> why its new version was not loaded (old one kept)."""


def session_options() -> ort.SessionOptions:
    """One thread per session (intra-op and inter-op)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def load_model(manifest_path: Path) -> LoadedModel:
    """Read, check and open one model (raises :class:`ModelLoadError`)."""
    try:
        stamp = _stamp(manifest_path)
        manifest = read_manifest(manifest_path)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ModelLoadError([f"{manifest_path.name}: unreadable manifest: {exc}"]) from None
    directory = manifest_path.parent
    found = problems(manifest, directory)
    if found:
        raise ModelLoadError([f"{manifest_path.name}: {p}" for p in found])
    try:
        session = ort.InferenceSession(
            str(directory / manifest.onnx_file),
            session_options(),
            providers=["CPUExecutionProvider"],
        )
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelLoadError([f"{manifest_path.name}: ONNX file does not load: {exc}"]) from None
    inputs = session.get_inputs()
    outputs = {o.name for o in session.get_outputs()}
    shape_ok = len(inputs) == 1 and inputs[0].name == manifest.input_name
    width = inputs[0].shape[1] if shape_ok and len(inputs[0].shape) == 2 else None
    if not shape_ok or width != len(manifest.features):
        raise ModelLoadError(
            [f"{manifest_path.name}: ONNX input is not {manifest.input_name}[N, "
             f"{len(manifest.features)}]"]
        )  # fmt: skip
    if manifest.probability_output not in outputs:
        raise ModelLoadError(
            [f"{manifest_path.name}: ONNX has no output {manifest.probability_output!r}"]
        )
    reference = np.array(
        [[math.nan if v is None else v for v in manifest.reference_values]], dtype=np.float32
    )
    return LoadedModel(manifest, manifest.input_spec(), session, reference, manifest_path, stamp)


def _manifest_paths(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob(f"*{MANIFEST_SUFFIX}") if p.is_file())


class ModelSet:
    """The deployed models, one per risk, loaded from one folder."""

    def __init__(self, directory: Path, models: Mapping[Risk, LoadedModel]) -> None:
        self.directory = directory
        self._models: dict[Risk, LoadedModel] = dict(models)

    @classmethod
    def load(cls, directory: Path | str) -> ModelSet:
        """Load every model in ``directory``; refuse all when any is bad or two share a risk."""
        folder = Path(directory)
        models: dict[Risk, LoadedModel] = {}
        reasons: list[str] = []
        for path in _manifest_paths(folder):
            try:
                model = load_model(path)
            except ModelLoadError as exc:
                reasons.extend(exc.reasons)
                continue
            risk = model.manifest.risk
            if risk in models:
                reasons.append(f"{path.name}: a second model for risk {risk!r}")
                continue
            models[risk] = model
        if reasons:
            raise ModelLoadError(reasons)
        if not models:
            raise ModelLoadError([f"no *{MANIFEST_SUFFIX} in {folder}"])
        return cls(folder, models)

    # --- reading ----------------------------------------------------------------------------

    @property
    def risks(self) -> tuple[Risk, ...]:
        """Risks with a deployed model."""
        return tuple(self._models)

    def model(self, risk: Risk) -> LoadedModel:
        """The loaded model of ``risk`` (``KeyError`` when none is deployed)."""
        return self._models[risk]

    def manifest(self, risk: Risk) -> Manifest:
        """The manifest of the model serving ``risk``."""
        return self._models[risk].manifest

    def rows(self, risk: Risk, snapshots: list[Snapshot]) -> Rows:
        """Model input rows of ``snapshots`` for ``risk`` (same code as training)."""
        return self._models[risk].spec.matrix(snapshots)

    def predict(self, risk: Risk, rows: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Probabilities for a ``(n, n_inputs)`` batch of input rows (NaN = missing)."""
        return self._models[risk].predict(rows)

    def predict_snapshot(self, risk: Risk, snapshot: Snapshot) -> float:
        """The probability for one snapshot."""
        model = self._models[risk]  # one read: a concurrent reload cannot mix two versions
        return float(model.predict(model.spec.row(snapshot))[0])

    def explain(self, risk: Risk, row: npt.ArrayLike, top_k: int = 5) -> tuple[Contribution, ...]:
        """The ``top_k`` inputs whose replacement by the reference moves the probability most.

        ``delta`` = p(row) - p(row with that input at its reference): positive means the
        input's value raises the risk. One batched ONNX call of ``n_inputs + 1`` rows.
        """
        return self._models[risk].explain(row, top_k)

    # --- hot reload -------------------------------------------------------------------------

    def maybe_reload(self) -> ReloadReport:
        """Load manifests that changed on disk (or appeared) and swap them in atomically.

        A new version is accepted only when it passes every load check and its version
        string differs from the serving one (a version names one artifact); otherwise the
        serving model stays and the reason is reported.
        """
        current = self._models
        updated = dict(current)
        by_path = {m.manifest_path.name: m for m in current.values()}
        reloaded: list[Risk] = []
        errors: dict[str, str] = {}
        present = {p.name: p for p in _manifest_paths(self.directory)}
        for name in by_path:
            if name not in present:
                errors[name] = "manifest removed; the loaded version keeps serving"
        for name, path in present.items():
            old = by_path.get(name)
            try:
                if old is not None and _stamp(path) == old.manifest_stamp:
                    continue
                new = load_model(path)
            except (OSError, ModelLoadError) as exc:
                errors[name] = str(exc)
                continue
            risk = new.manifest.risk
            serving = updated.get(risk)
            if serving is not None and serving.manifest_path.name != name:
                errors[name] = f"risk {risk!r} is already served by {serving.manifest_path.name}"
                continue
            if serving is not None and new.manifest == serving.manifest:
                updated[risk] = new  # touched, not changed: keep serving, remember the stamp
                continue
            if serving is not None and new.manifest.version == serving.manifest.version:
                errors[name] = (
                    f"version {new.manifest.version} is already serving with other content; "
                    "a new model needs a new version"
                )
                continue
            updated[risk] = new
            reloaded.append(risk)
        if updated != current:
            self._models = updated  # one reference swap: readers see old or new, never a mix
        return ReloadReport(tuple(reloaded), errors)

"""A model's inputs in a fixed order: catalog features, then model-only derived inputs.

Training rows and streaming rows are built by the same code: catalog values come from the
snapshot through ``features.replay.feature_vector`` (NaN where the snapshot has ``None``),
derived inputs from those values through ``models.derived``. The order is the manifest's.

Every value is then rounded to a 16-bit float32 mantissa (:func:`quantize`, relative error
< 2e-5, far below any measurement's precision). Why: the trees split at midpoints between
training values, which scikit-learn keeps in float64 and ONNX in float32; when two training
values are adjacent float32 numbers the midpoint rounds onto one of them and ONNX sends that
value the other way (seen: probabilities off by 1.5e-3 on PhysioNet). With 16-bit mantissas
every such midpoint is exact in float32, and ONNX agrees with scikit-learn (< 1e-6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features.catalog import FEATURES
from features.replay import feature_vector
from features.snapshot import Snapshot
from models.derived import DERIVED_BY_NAME, compute, derived_inputs

Matrix = npt.NDArray[np.float32]
_MANTISSA_MASK = np.uint32(0xFFFFFF80)
"""Keeps sign, exponent and the top 16 of float32's 23 mantissa bits (NaN stays NaN)."""


def quantize(x: npt.ArrayLike) -> Matrix:
    """``x`` as float32 with the mantissa truncated to 16 bits (idempotent; see above)."""
    a = np.array(x, dtype=np.float32, copy=True, order="C")
    bits = a.view(np.uint32)
    bits &= _MANTISSA_MASK
    return a


@dataclass(frozen=True, slots=True)
class InputSpec:
    """Which catalog features and derived inputs a model reads, in model order."""

    catalog: tuple[str, ...]
    derived: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Model input names in order: catalog features, then derived inputs."""
        return self.catalog + self.derived

    @property
    def sources(self) -> tuple[str, ...]:
        """Every catalog feature read: the model's own, then those only derived inputs read."""
        extra = tuple(f for f in derived_inputs(self.derived) if f not in self.catalog)
        return self.catalog + extra

    def problems(self) -> list[str]:
        """What is wrong with this spec against the catalog and the derived registry."""
        out = [f"unknown catalog feature {n!r}" for n in self.catalog if n not in FEATURES]
        out += [f"unknown derived input {n!r}" for n in self.derived if n not in DERIVED_BY_NAME]
        if not out:
            out += [
                f"derived inputs read unknown feature {n!r}"
                for n in derived_inputs(self.derived)
                if n not in FEATURES
            ]
        if len(set(self.names)) != len(self.names):
            out.append("duplicate input names")
        return out

    def validate(self) -> None:
        """Raise ``ValueError`` listing every problem (see :meth:`problems`)."""
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def from_columns(self, matrix: npt.ArrayLike, columns: Sequence[str]) -> Matrix:
        """Model rows (quantized) from a matrix whose columns are named ``columns`` (a
        superset of :attr:`sources`, e.g. the whole catalog)."""
        m = np.asarray(matrix, dtype=np.float32)
        if m.ndim != 2 or m.shape[1] != len(columns):
            raise ValueError(f"matrix shape {m.shape} does not match {len(columns)} columns")
        index = {name: i for i, name in enumerate(columns)}
        own = m[:, [index[n] for n in self.catalog]]
        if not self.derived:
            return quantize(own)
        cols = {n: m[:, index[n]] for n in derived_inputs(self.derived)}
        return quantize(np.hstack([own, compute(self.derived, cols)]))

    def matrix(self, snapshots: Sequence[Snapshot]) -> Matrix:
        """Model rows of ``snapshots`` (one row each)."""
        sources = self.sources
        raw = np.array([feature_vector(s, sources) for s in snapshots], dtype=np.float32)
        return self.from_columns(raw.reshape(len(snapshots), len(sources)), sources)

    def row(self, snapshot: Snapshot) -> Matrix:
        """One model row, shape ``(1, len(names))``."""
        return self.matrix([snapshot])

"""Row-level evaluation results kept between ``train`` and ``report`` (under ``var/``).

They are derived data (for infection, from the ODbL PhysioNet database): they stay outside
the repository. Only aggregate figures and plots go into ``docs/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.physionet_data import PhysionetRows
from models.train import ComplicationResult, InfectionResult

DEFAULT_EVAL_DIR = Path("var/models-cache/eval")


def save_infection(directory: Path, rows: PhysionetRows, result: InfectionResult) -> None:
    """Keep the cross-validated scores, labels and rule points of the infection model."""
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(
        directory / "infection.npz",
        labels=rows.labels,
        groups=rows.groups,
        rules=rows.rules,
        probabilities=result.cv.probabilities,
        alerts=result.cv.alerts,
        fold=result.cv.fold,
        thresholds=np.array(result.cv.thresholds),
    )
    table = [p.row() for p in result.points]
    meta = {"manifest_sha256": result.manifest.onnx_sha256, "points": table}
    (directory / "infection.json").write_text(json.dumps(meta, indent=2) + "\n")


def save_complication(directory: Path, risk: str, result: ComplicationResult) -> None:
    """Keep the held-out scores of a complication model."""
    directory.mkdir(parents=True, exist_ok=True)
    s = result.scored
    np.savez(
        directory / f"{risk}.npz",
        labels=s.labels,
        groups=s.groups,
        probabilities=s.probabilities,
        alerts=s.alerts,
        rel_h=s.rel_h,
        event_ids=s.event_ids,
    )
    meta = {
        "manifest_sha256": result.manifest.onnx_sha256,
        "threshold": result.manifest.threshold,
        "horizon_h": result.manifest.horizon_h,
        "step_h": result.manifest.training_data.get("snapshot_step_h", 1.0),
        "summary": s.metrics.summary(),
    }
    (directory / f"{risk}.json").write_text(json.dumps(meta, indent=2) + "\n")


@dataclass(frozen=True, slots=True)
class Stored:
    """One risk's stored evaluation."""

    arrays: dict[str, npt.NDArray[Any]]
    meta: dict[str, Any]


def load(directory: Path, risk: str) -> Stored | None:
    """The stored evaluation of ``risk``, or ``None`` when there is none."""
    arrays_path = directory / f"{risk}.npz"
    meta_path = directory / f"{risk}.json"
    if not arrays_path.exists() or not meta_path.exists():
        return None
    with np.load(arrays_path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return Stored(arrays, json.loads(meta_path.read_text()))

"""Inference time of the deployed ONNX models (``python -m models.bench``).

For each model in the artifacts folder: one row at a time (the stream's case: one snapshot
per event) and batches of 256 rows, through ``ModelSet.predict`` (single-threaded
sessions), plus the full per-snapshot path (feature row from a snapshot + predict) and
``explain``. Rows are drawn from the model's reference values with noise and 30% missing.
Figures vary with the machine and its load; this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from models.serving import ARTIFACTS_DIR, ModelSet
from scoring.risk import Risk


def _rows(models: ModelSet, risk: Risk, n: int, seed: int = 0) -> npt.NDArray[np.float32]:
    ref = models.model(risk).reference[0]
    rng = np.random.default_rng(seed)
    base = np.where(np.isnan(ref), 1.0, ref)
    x = base * rng.normal(1.0, 0.1, size=(n, len(ref)))
    x[rng.random(x.shape) < 0.3] = np.nan
    return x.astype(np.float32)


def _per_call_us(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best * 1e6


def _call(
    fn: Callable[[Risk, npt.NDArray[np.float32]], object], risk: Risk, x: npt.NDArray[np.float32]
) -> Callable[[], object]:
    return lambda: fn(risk, x)


def bench(directory: Path, repeat: int = 2000) -> list[dict[str, float | str]]:
    """Microseconds per row: single rows, batches of 256, and explain, per model."""
    models = ModelSet.load(directory)
    out: list[dict[str, float | str]] = []
    for risk in models.risks:
        x = _rows(models, risk, 256)
        single = _per_call_us(_call(models.predict, risk, x[:1]), repeat)
        batch = _per_call_us(_call(models.predict, risk, x), max(repeat // 50, 10)) / 256
        explain = _per_call_us(_call(models.explain, risk, x[0]), max(repeat // 20, 10))
        out.append(
            {
                "risk": risk,
                "inputs": float(x.shape[1]),
                "single_row_us": round(single, 1),
                "batch256_us_per_row": round(batch, 2),
                "explain_us": round(explain, 1),
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures as a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m models.bench", description=__doc__)
    parser.add_argument("--dir", type=Path, default=ARTIFACTS_DIR)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args(argv)
    rows = bench(args.dir, args.repeat)
    sys.stdout.write("| model | inputs | one row (us) | batch of 256 (us/row) | explain (us) |\n")
    sys.stdout.write("|---|---|---|---|---|\n")
    for r in rows:
        sys.stdout.write(
            f"| {r['risk']} | {r['inputs']:.0f} | {r['single_row_us']} | "
            f"{r['batch256_us_per_row']} | {r['explain_us']} |\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

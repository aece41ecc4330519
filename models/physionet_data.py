"""PhysioNet 2019 stays -> hourly training rows, built by the stream's own feature code.

Each PSV row becomes one snapshot at its ICULOS hour (``features.replay``, the events from
``adapters.physionet.psv_events``), so a row sees that hour's values and everything before,
never later ones. The whole catalog is kept per row (the model's inputs are chosen later),
with the SepsisLabel, the ICULOS hour and the rule points of the baselines.

The rows are derived from an ODbL database: they are cached under ``var/`` (never committed)
and not copied into the repository.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from adapters.physionet import (
    PHYSIONET_EPOCH_MS,
    PsvStay,
    iter_tar_stays,
    parse_psv_text,
    psv_events,
)
from contract.events import Event
from features.catalog import FEATURE_NAMES
from features.compute import snapshot
from features.replay import feature_vector, snapshots_for_history
from features.snapshot import SNAPSHOT_VERSION, Snapshot
from features.state import PatientState
from models.baselines import RULE_SCORES, rule_points
from scoring.api import RULESET_VERSION, score_snapshot

HOUR_MS = 3_600_000
DEFAULT_CACHE = Path("var/models-cache")


@dataclass(frozen=True, slots=True)
class StayRows:
    """One stay's rows: catalog features, SepsisLabel, ICULOS and rule points per PSV row."""

    stay_id: str
    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int8]
    iculos: npt.NDArray[np.float32]
    rules: npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class PhysionetRows:
    """All rows of many stays, flat; ``groups`` gives each row's stay index."""

    stay_ids: tuple[str, ...]
    groups: npt.NDArray[np.int64]
    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int8]
    iculos: npt.NDArray[np.float32]
    rules: npt.NDArray[np.float32]
    columns: tuple[str, ...] = FEATURE_NAMES

    def rule_points(self, score: str) -> npt.NDArray[np.float32]:
        """Points of one rule score (``sirs``, ``qsofa``, ``news2``) per row."""
        return self.rules[:, RULE_SCORES.index(score)]


def row_times(iculos: list[float | None], epoch_ms: int = PHYSIONET_EPOCH_MS) -> list[int]:
    """Event time of each PSV row: the epoch + ICULOS hours (as ``psv_events`` places its
    events); a row without ICULOS takes the previous row's time (the epoch for the first)."""
    out: list[int] = []
    last = epoch_ms
    for hours in iculos:
        if hours is not None:
            last = epoch_ms + round(hours * HOUR_MS)
        out.append(last)
    return out


def stay_snapshots(stay: PsvStay) -> list[Snapshot]:
    """One snapshot per PSV row, at the row's time (:func:`row_times`)."""
    events: list[Event] = [e for _, evs in psv_events(stay.stay_id, stay) for e in evs]
    times = row_times(stay.column("ICULOS"))
    if not times:
        return []
    unique = sorted(set(times))
    if events:
        snaps = snapshots_for_history(events, unique)
    else:
        empty = PatientState(patient_id=stay.stay_id)
        snaps = [snapshot(empty, t) for t in unique]
    by_time = dict(zip(unique, snaps, strict=True))
    return [by_time[t] for t in times]


def stay_rows(item: tuple[str, str]) -> StayRows:
    """Training rows of one stay (``(stay id, PSV text)``; a picklable worker function)."""
    stay_id, text = item
    stay = parse_psv_text(text, stay_id)
    snaps = stay_snapshots(stay)
    labels = stay.column("SepsisLabel") if "SepsisLabel" in stay.columns else [None] * len(snaps)
    iculos = [np.nan if h is None else h for h in stay.column("ICULOS")]
    features = np.array([feature_vector(s, FEATURE_NAMES) for s in snaps], dtype=np.float32)
    rules = np.array([rule_points(score_snapshot(s)) for s in snaps], dtype=np.float32)
    return StayRows(
        stay_id=stay_id,
        features=features.reshape(len(snaps), len(FEATURE_NAMES)),
        labels=np.array([1 if v == 1.0 else 0 for v in labels], dtype=np.int8),
        iculos=np.array(iculos, dtype=np.float32),
        rules=rules.reshape(len(snaps), len(RULE_SCORES)),
    )


def _iter_rows(tar: Path, limit: int | None, workers: int) -> Iterator[StayRows]:
    stays = iter_tar_stays(tar, limit)
    if workers <= 1:
        yield from map(stay_rows, stays)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(stay_rows, stays, chunksize=16)


def build_rows(
    tar: Path | str, limit: int | None = None, workers: int | None = None
) -> PhysionetRows:
    """Rows of every stay in a challenge ``.tar.gz`` (archive order, at most ``limit`` stays)."""
    parts = [
        r for r in _iter_rows(Path(tar), limit, workers or os.cpu_count() or 1) if len(r.labels)
    ]
    if not parts:
        raise ValueError(f"no stays with rows in {tar}")
    return PhysionetRows(
        stay_ids=tuple(p.stay_id for p in parts),
        groups=np.repeat(np.arange(len(parts), dtype=np.int64), [len(p.labels) for p in parts]),
        features=np.concatenate([p.features for p in parts]),
        labels=np.concatenate([p.labels for p in parts]),
        iculos=np.concatenate([p.iculos for p in parts]),
        rules=np.concatenate([p.rules for p in parts]),
    )


def cache_key(tar: Path, limit: int | None) -> str:
    """Key of a cached build: the archive (name, size, mtime), the limit and every version
    the rows depend on (catalog, snapshot, ruleset)."""
    st = tar.stat()
    text = "|".join(
        [
            tar.name,
            str(st.st_size),
            str(int(st.st_mtime)),
            str(limit),
            ",".join(FEATURE_NAMES),
            SNAPSHOT_VERSION,
            RULESET_VERSION,
            ",".join(RULE_SCORES),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_rows(
    tar: Path | str, limit: int | None = None, cache_dir: Path | None = DEFAULT_CACHE
) -> PhysionetRows:
    """:func:`build_rows`, cached as ``.npz`` under ``cache_dir`` (``None``: no cache)."""
    path = Path(tar)
    if cache_dir is None:
        return build_rows(path, limit)
    cached = cache_dir / f"physionet-{cache_key(path, limit)}.npz"
    if cached.exists():
        with np.load(cached, allow_pickle=False) as z:
            return PhysionetRows(
                stay_ids=tuple(str(s) for s in z["stay_ids"]),
                groups=z["groups"],
                features=z["features"],
                labels=z["labels"],
                iculos=z["iculos"],
                rules=z["rules"],
            )
    rows = build_rows(path, limit)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        stay_ids=np.array(rows.stay_ids),
        groups=rows.groups,
        features=rows.features,
        labels=rows.labels,
        iculos=rows.iculos,
        rules=rows.rules,
    )
    tmp.replace(cached)
    return rows

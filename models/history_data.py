"""Canonical event histories + episode labels -> training rows for the complication models.

Works the same for the simulator's cohort and for a site's own data (canonical JSON lines
and a labels CSV with the simulator's columns, see ``models.site_data``): each patient's
history is replayed by ``features.replay`` into snapshots every ``step_h`` hours from the
first event to the last, and every row keeps the whole catalog.

Target of a risk at row time ``t``: an episode of that complication with peak grade
``>= min_grade`` starts within the horizon, ``onset in (t, t + horizon]``. Rows inside any
episode of the complication (onset to resolution, any grade) are left out of training and
evaluation: the condition is present and the rule layer grades it; the model warns of the
next one.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from contract.events import Event, PatientContext
from features.catalog import FEATURE_NAMES
from features.replay import feature_vector, snapshots_for_history
from simulator.labels import Label

HOUR_MS = 3_600_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HistoryRows:
    """Snapshots of many patients, flat; ``groups`` gives each row's patient index."""

    patient_ids: tuple[str, ...]
    groups: npt.NDArray[np.int64]
    times_ms: npt.NDArray[np.int64]
    features: npt.NDArray[np.float32]
    columns: tuple[str, ...] = FEATURE_NAMES


@dataclass(frozen=True, slots=True)
class PatientRows:
    """One patient's snapshot times and catalog features."""

    patient_id: str
    times_ms: npt.NDArray[np.int64]
    features: npt.NDArray[np.float32]


def snapshot_times(events: Sequence[Event], step_h: float) -> list[int]:
    """Every ``step_h`` hours after the first timed event up to the last one."""
    times = [e.time_ms for e in events if not isinstance(e, PatientContext)]
    if not times:
        return []
    step = int(step_h * HOUR_MS)
    return list(range(min(times) + step, max(times) + 1, step))


def patient_rows(patient_id: str, events: Sequence[Event], step_h: float) -> PatientRows:
    """One patient's rows (the stream's own replay code)."""
    times = snapshot_times(events, step_h)
    snaps = snapshots_for_history(events, times) if times else []
    features = np.array([feature_vector(s, FEATURE_NAMES) for s in snaps], dtype=np.float32)
    return PatientRows(
        patient_id,
        np.array(times, dtype=np.int64),
        features.reshape(len(snaps), len(FEATURE_NAMES)),
    )


def _from_history(item: tuple[str, list[Event], float]) -> PatientRows:
    return patient_rows(*item)


def collect(parts: Iterable[PatientRows]) -> HistoryRows:
    """Stack patients' rows (patients without rows are left out)."""
    kept = [p for p in parts if len(p.times_ms)]
    if not kept:
        raise ValueError("no patient has any snapshot")
    return HistoryRows(
        patient_ids=tuple(p.patient_id for p in kept),
        groups=np.repeat(np.arange(len(kept), dtype=np.int64), [len(p.times_ms) for p in kept]),
        times_ms=np.concatenate([p.times_ms for p in kept]),
        features=np.concatenate([p.features for p in kept]),
    )


def parallel_map(
    fn: Callable[[T], PatientRows], items: Iterable[T], workers: int | None = None
) -> list[PatientRows]:
    """``fn`` over ``items`` on ``workers`` processes (all CPUs by default), in order."""
    n = workers or os.cpu_count() or 1
    if n <= 1:
        return [fn(i) for i in items]
    with multiprocessing.get_context("fork").Pool(n) as pool:
        return list(pool.imap(fn, items, chunksize=4))


def rows_from_histories(
    histories: Iterable[tuple[str, list[Event]]], step_h: float = 1.0, workers: int | None = None
) -> HistoryRows:
    """Rows of ``(patient id, events)`` histories."""
    items = ((pid, events, step_h) for pid, events in histories)
    return collect(parallel_map(_from_history, items, workers))


@dataclass(frozen=True, slots=True)
class Targets:
    """A risk's training target on :class:`HistoryRows`."""

    target: npt.NDArray[np.int8]
    include: npt.NDArray[np.bool_]
    """Rows used for training and evaluation (outside every episode of the complication)."""
    rel_h: npt.NDArray[np.float64]
    """Row time minus the onset of the next qualifying episode, hours (nan: none ahead)."""
    event_ids: npt.NDArray[np.int64]
    """Index of that episode (-1: none ahead)."""


def targets(
    rows: HistoryRows,
    labels: Sequence[Label],
    complication: str,
    horizon_h: float = 24.0,
    min_grade: int = 2,
) -> Targets:
    """The target of ``complication`` (see the module docstring)."""
    n = len(rows.times_ms)
    target = np.zeros(n, dtype=np.int8)
    include = np.ones(n, dtype=bool)
    rel = np.full(n, np.nan)
    event_ids = np.full(n, -1, dtype=np.int64)
    by_patient: dict[str, list[Label]] = {}
    for lab in labels:
        if lab.complication == complication:
            by_patient.setdefault(lab.patient_id, []).append(lab)
    index = {pid: i for i, pid in enumerate(rows.patient_ids)}
    starts = np.searchsorted(rows.groups, np.arange(len(rows.patient_ids)))
    ends = np.append(starts[1:], n)
    horizon = horizon_h * HOUR_MS
    next_id = 0
    for pid, episodes in sorted(by_patient.items()):
        if pid not in index:
            continue
        g = index[pid]
        t = rows.times_ms[starts[g] : ends[g]]
        inc = include[starts[g] : ends[g]]
        for ep in episodes:
            inc &= ~((t >= ep.onset_ms) & (t <= ep.resolution_ms))
        qualifying = sorted(e.onset_ms for e in episodes if e.peak_grade >= min_grade)
        if not qualifying:
            continue
        onsets = np.array(qualifying, dtype=np.int64)
        nxt = np.searchsorted(onsets, t, side="right")  # first onset strictly after t
        ahead = nxt < len(onsets)
        onset_next = onsets[np.minimum(nxt, len(onsets) - 1)]
        delta = onset_next - t
        target[starts[g] : ends[g]] = (ahead & (delta <= horizon)).astype(np.int8)
        rel[starts[g] : ends[g]] = np.where(ahead, -delta / HOUR_MS, np.nan)
        event_ids[starts[g] : ends[g]] = np.where(ahead, next_id + nxt, -1)
        next_id += len(onsets)
    return Targets(target, include, rel, event_ids)

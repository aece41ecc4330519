"""Offline replay: the stream's own state code over a recorded history.

The stream, offline evaluation and model training all compute features through
``PatientState.apply`` and ``compute.snapshot``; these helpers only decide the order.

A snapshot at time ``t`` sees every event with event time ``<= t`` (and the corrections and
retractions of those), never a later one, so training features carry no look-ahead.
Events are applied in event-time order; events with the same time keep their given order,
so a correction recorded after its original still follows it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from contract.events import Event
from features.compute import snapshot
from features.snapshot import Snapshot
from features.state import DEFAULT_LATENESS_MS, PatientState
from features.timeline import HOUR_MS


def snapshots_for_history(
    events: Iterable[Event],
    times: Iterable[int],
    lateness_ms: int = DEFAULT_LATENESS_MS,
) -> list[Snapshot]:
    """Snapshots of one patient's history at each of ``times`` (returned in time order).

    Raises ``ValueError`` if the events name more than one patient or there are none.
    """
    ordered = sorted(events, key=lambda e: e.time_ms)  # stable: ties keep recorded order
    if not ordered:
        raise ValueError("no events to replay")
    patients = {e.patient_id for e in ordered}
    if len(patients) != 1:
        raise ValueError(f"events of {len(patients)} patients; replay one at a time")
    state = PatientState(patient_id=ordered[0].patient_id, lateness_ms=lateness_ms)
    out: list[Snapshot] = []
    i = 0
    for at in sorted(times):
        while i < len(ordered) and ordered[i].time_ms <= at:
            state.apply(ordered[i])
            i += 1
        out.append(snapshot(state, at))
    return out


def hourly_snapshots(
    events: Iterable[Event],
    start_ms: int,
    end_ms: int,
    lateness_ms: int = DEFAULT_LATENESS_MS,
) -> list[Snapshot]:
    """Snapshots every hour from ``start_ms`` to ``end_ms`` inclusive."""
    if end_ms < start_ms:
        raise ValueError("end_ms is before start_ms")
    times = range(start_ms, end_ms + 1, HOUR_MS)
    return snapshots_for_history(events, times, lateness_ms)


def feature_vector(snap: Snapshot, names: Sequence[str]) -> list[float]:
    """The values of ``names`` as floats for a model, NaN where missing (the snapshot keeps
    ``None``). Raises ``KeyError`` for a name the snapshot does not have."""
    nan = math.nan
    return [nan if v is None else float(v) for v in map(snap.values.__getitem__, names)]

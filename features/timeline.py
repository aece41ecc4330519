"""The blinatumomab infusion timeline of one patient, from their InfusionEvents.

Blincyto label: continuous infusion in 28-day cycles (cycle 1: 9 ug/day days 1-7, then
28 ug/day); an interruption of 4 h or more is followed by a *restart* that needs
dexamethasone premedication again. The timeline tells the rules where the patient is:
cycle, day of cycle, hours since the start and since the last dose change, current dose,
and how much infusion was missed.

Semantics (documented in docs/features.md):
- The current cycle is the cycle of the latest ``start`` at or before the time (without
  any start, of the latest event); its start is that cycle's earliest ``start`` event.
  A new cycle's start resets every per-cycle counter: only the current cycle is walked.
- ``infusion_day = floor(hours since start / 24) + 1``: calendar 24-h blocks from the start,
  interruptions do not shift it.
- An interruption opens when the infusion is running; a ``restart`` closes it, and counts as
  a restart (label) when the interruption lasted >= 4 h (exactly 4.0 h counts). A ``stop``
  closes a running interruption without counting a restart.
- Events at the same millisecond are applied in the order start, dose_change,
  interruption, restart, stop (then by message id) so the result does not depend on
  arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from contract.events import InfusionEvent
from features.snapshot import Timeline

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
RESTART_INTERRUPTION_MS = 4 * HOUR_MS
"""Label: an interruption of 4 h or more needs a restart with premedication."""

ACTION_ORDER: dict[str, int] = {
    "start": 0,
    "dose_change": 1,
    "interruption": 2,
    "restart": 3,
    "stop": 4,
}


def infusion_sort_key(event: InfusionEvent) -> tuple[int, int, str]:
    """Deterministic order of infusion events: time, then action, then message id."""
    return (event.time_ms, ACTION_ORDER[event.action], event.source_msg_id)


def first_start_ms(events: Iterable[InfusionEvent]) -> int | None:
    """Time of the earliest ``start`` of the lowest cycle seen (the pre-infusion baseline's
    reference point), ``None`` before any start."""
    best: tuple[int, int] | None = None
    for e in events:
        if e.action == "start":
            key = (e.cycle, e.time_ms)
            if best is None or key < best:
                best = key
    return None if best is None else best[1]


def current_cycle_start_ms(events: Sequence[InfusionEvent], at_ms: int) -> int | None:
    """Start time of the cycle current at ``at_ms`` (``events`` sorted by
    :func:`infusion_sort_key`), ``None`` if that cycle has no start event."""
    cycle = _current_cycle(events, at_ms)
    if cycle is None:
        return None
    for e in events:
        if e.time_ms > at_ms:
            break
        if e.cycle == cycle and e.action == "start":
            return e.time_ms
    return None


def _current_cycle(events: Sequence[InfusionEvent], at_ms: int) -> int | None:
    """The cycle of the latest start at or before ``at_ms``; without any start, the cycle of
    the latest event. A late event of an earlier cycle cannot pull the patient back into it."""
    latest_event: int | None = None
    latest_start: int | None = None
    for e in events:
        if e.time_ms > at_ms:
            break
        latest_event = e.cycle
        if e.action == "start":
            latest_start = e.cycle
    return latest_start if latest_start is not None else latest_event


def build_timeline(events: Sequence[InfusionEvent], at_ms: int) -> Timeline:
    """The timeline at ``at_ms`` from infusion events sorted by :func:`infusion_sort_key`.

    Events after ``at_ms`` are ignored, so the same history gives the timeline of any time.
    """
    cycle = _current_cycle(events, at_ms)
    if cycle is None:
        return Timeline()
    start_ms: int | None = None
    on = False
    dose: float | None = None
    last_change_ms: int | None = None
    interrupted_since: int | None = None
    interruptions = restarts = 0
    off_ms = 0
    for e in events:
        if e.time_ms > at_ms:
            break
        if e.cycle != cycle:
            continue
        if e.action == "start":
            if start_ms is not None:
                continue  # a repeated start of the same cycle is not a new cycle
            start_ms = e.time_ms
            on, dose, last_change_ms = True, e.dose_ug_per_day, e.time_ms
        elif e.action == "dose_change":
            if e.dose_ug_per_day is not None:
                dose = e.dose_ug_per_day
            if on:
                last_change_ms = e.time_ms
        elif e.action == "interruption":
            if on:
                on, interrupted_since = False, e.time_ms
                interruptions += 1
        elif e.action == "restart":
            if interrupted_since is not None:
                gap = e.time_ms - interrupted_since
                off_ms += gap
                if gap >= RESTART_INTERRUPTION_MS:
                    restarts += 1
                interrupted_since = None
            if e.dose_ug_per_day is not None:
                dose = e.dose_ug_per_day
            on, last_change_ms = True, e.time_ms
        else:  # stop
            if interrupted_since is not None:
                off_ms += e.time_ms - interrupted_since
                interrupted_since = None
            on = False
    if interrupted_since is not None:
        off_ms += at_ms - interrupted_since
    current_dose: float | None = dose if on else 0.0
    return Timeline(
        cycle=cycle,
        infusion_day=None if start_ms is None else (at_ms - start_ms) // DAY_MS + 1,
        hours_since_start=None if start_ms is None else (at_ms - start_ms) / HOUR_MS,
        hours_since_dose_change=(
            None if last_change_ms is None else (at_ms - last_change_ms) / HOUR_MS
        ),
        dose_ug_per_day=current_dose,
        on_infusion=on,
        interruptions=interruptions,
        restarts=restarts,
        hours_off_infusion=off_ms / HOUR_MS,
    )

"""The cohort and its time-ordered stream (lazy: patients are simulated when reached).

Patients are merged with a heap keyed on arrival time (what a consumer sees: late labs,
late charting and corrections arrive after newer events) or on event time. A patient is
simulated only when the merged stream reaches its admission, so memory follows the number
of patients in hospital at once, not the cohort size.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from contract.events import Event
from simulator.config import CohortConfig
from simulator.labels import Label, labels_for
from simulator.messages import SimMessage
from simulator.patient import SimPatient, simulate_patient
from simulator.plan import PatientPlan, first_admission, plan_patient

Order = Literal["arrival", "event"]


@dataclass(frozen=True, slots=True)
class Cohort:
    """A synthetic cohort: patients ``0 .. n_patients - 1`` of ``config``."""

    config: CohortConfig

    def patient(self, index: int) -> SimPatient:
        """Simulate one patient (deterministic, independent of the others)."""
        return simulate_patient(self.config, index)

    def patients(self) -> Iterator[SimPatient]:
        """Every patient, in index order."""
        for i in range(self.config.n_patients):
            yield self.patient(i)

    def plans(self) -> Iterator[PatientPlan]:
        """Every patient's ground truth without rendering messages (fast)."""
        for i in range(self.config.n_patients):
            yield plan_patient(self.config, i)

    def labels(self) -> list[Label]:
        """All labels of the cohort (from the plans; identical to the rendered ones)."""
        return [row for plan in self.plans() for row in labels_for(plan)]


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One event of the merged stream, with when it arrives and the message carrying it."""

    arrival_ms: int
    event: Event
    message: SimMessage


_Key = tuple[int, int, int]


def _arrival_items(patient: SimPatient, index: int) -> Iterator[tuple[_Key, StreamItem]]:
    seq = 0
    for m in patient.messages:  # already sorted by arrival
        for e in m.events:
            yield (m.arrival_ms, index, seq), StreamItem(m.arrival_ms, e, m)
            seq += 1


def _event_items(patient: SimPatient, index: int) -> Iterator[tuple[_Key, StreamItem]]:
    rows = [
        (e.time_ms, m.arrival_ms, n, k, m, e)
        for n, m in enumerate(patient.messages)
        for k, e in enumerate(m.events)
    ]
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    for seq, (t, arrival, _, _, m, e) in enumerate(rows):
        yield (t, index, seq), StreamItem(arrival, e, m)


def _merge(
    cohort: Cohort, items: Callable[[SimPatient, int], Iterator[tuple[_Key, StreamItem]]]
) -> Iterator[StreamItem]:
    config = cohort.config
    # Every event of a patient happens (and arrives) at or after its first admission.
    starts = sorted((first_admission(config, i), i) for i in range(config.n_patients))
    heap: list[tuple[_Key, StreamItem, Iterator[tuple[_Key, StreamItem]]]] = []
    p = 0
    while p < len(starts) or heap:
        while p < len(starts) and (not heap or starts[p][0] <= heap[0][0][0]):
            index = starts[p][1]
            it = items(cohort.patient(index), index)
            first = next(it, None)
            if first is not None:
                heapq.heappush(heap, (first[0], first[1], it))
            p += 1
        if not heap:
            continue
        _, item, it = heapq.heappop(heap)
        yield item
        nxt = next(it, None)
        if nxt is not None:
            heapq.heappush(heap, (nxt[0], nxt[1], it))


def iter_timed(cohort: Cohort, order: Order = "arrival") -> Iterator[StreamItem]:
    """The merged stream with arrival times (pace a publisher on ``arrival_ms``)."""
    if order not in ("arrival", "event"):
        raise ValueError(f"order must be 'arrival' or 'event', not {order!r}")
    return _merge(cohort, _arrival_items if order == "arrival" else _event_items)


def iter_stream(cohort: Cohort, order: Order = "arrival") -> Iterator[Event]:
    """All events of all patients merged by arrival time (default) or event time."""
    for item in iter_timed(cohort, order):
        yield item.event


def iter_messages(cohort: Cohort) -> Iterator[SimMessage]:
    """Whole messages in arrival order (what the FHIR and HL7 exporters write)."""
    last: SimMessage | None = None
    for item in iter_timed(cohort, "arrival"):
        if item.message is not last:
            last = item.message
            yield item.message

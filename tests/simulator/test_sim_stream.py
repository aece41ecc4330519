"""The merged stream is complete and ordered by arrival or by event time."""

from __future__ import annotations

import itertools

import pytest

from simulator.config import HOUR_MS, CohortConfig
from simulator.stream import Cohort, iter_messages, iter_stream, iter_timed


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return Cohort(CohortConfig(n_patients=8, seed=3, enrollment_days=5.0))


def test_arrival_order_is_sorted_and_complete(cohort: Cohort) -> None:
    items = list(iter_timed(cohort, "arrival"))
    arrivals = [i.arrival_ms for i in items]
    assert arrivals == sorted(arrivals)
    expected = sum(len(m.events) for p in cohort.patients() for m in p.messages)
    assert len(items) == expected
    assert len({i.event.patient_id for i in items}) == 8
    # Arrival never precedes the event; some labs arrive hours late (the late-lab case).
    assert all(i.arrival_ms >= i.event.time_ms for i in items)
    lab_delays = [
        i.arrival_ms - i.event.time_ms for i in items if i.message.channel.startswith("lab.")
    ]
    assert max(lab_delays) >= 6 * HOUR_MS


def test_event_order_is_sorted(cohort: Cohort) -> None:
    times = [e.time_ms for e in iter_stream(cohort, "event")]
    assert times == sorted(times)
    assert len(times) == sum(1 for _ in iter_stream(cohort, "arrival"))


def test_arrival_order_differs_from_event_order(cohort: Cohort) -> None:
    by_arrival = [e.time_ms for e in iter_stream(cohort, "arrival")]
    assert by_arrival != sorted(by_arrival)


def test_messages_are_whole(cohort: Cohort) -> None:
    n = sum(len(m.events) for m in iter_messages(cohort))
    assert n == sum(1 for _ in iter_stream(cohort))


def test_bad_order_rejected(cohort: Cohort) -> None:
    with pytest.raises(ValueError):
        list(iter_timed(cohort, "random"))  # type: ignore[arg-type]


def test_monitor_cadence() -> None:
    config = CohortConfig(n_patients=1, seed=4, vitals_mode="monitor", monitor_interval_s=30.0)
    patient = Cohort(config).patient(0)
    hr = sorted(
        m.events[0].time_ms
        for m in patient.messages
        if m.channel == "vitals" and m.artifact is None and len(m.events) == 4
    )
    gaps = {b - a for a, b in itertools.pairwise(hr)}
    assert gaps == {30_000} or 30_000 in gaps
    assert len(hr) > 28 * 24 * 60


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        CohortConfig(monitor_interval_s=0.5)
    with pytest.raises(ValueError):
        CohortConfig(ward_interval_h=(5.0, 2.0))
    with pytest.raises(ValueError):
        CohortConfig(profile="nope")  # type: ignore[arg-type]

"""The snapshot's kept plans (the catalog without the signals that have no points) give the
snapshot of the whole catalog, byte for byte: the same values and evidence in the same
order, whichever plans are kept and however often the cache of plans is emptied."""

from __future__ import annotations

import msgspec
import pytest

from features import compute
from features.compute import snapshot
from features.state import PatientState
from tests.features import generator

H = 3_600_000


def _snapshots(states: list[PatientState]) -> list[bytes]:
    out = []
    for state in states:
        assert state.first_ms is not None and state.newest_ms is not None
        for at in (
            state.first_ms - 1,
            state.first_ms + H,
            state.newest_ms,
            state.newest_ms + 50 * H,
        ):
            out.append(msgspec.msgpack.encode(snapshot(state, at)))
    return out


@pytest.mark.parametrize("plans_max", [1, 2, 256])
def test_kept_plans_give_the_whole_catalogs_snapshot(
    plans_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = []
    for seed in range(4):
        events = generator.arrivals(generator.generate(seed, hours=20.0), seed)
        for part in (5, 2, 1):  # early (few signals measured yet) to complete
            state = PatientState(patient_id=generator.PID)
            for event in events[: len(events) // part]:
                state.apply(event)
            states.append(state)
    monkeypatch.setattr(compute, "_PLANS_MAX", plans_max)
    compute._PLANS.clear()
    fast = _snapshots(states)
    assert len(compute._PLANS) >= 1
    monkeypatch.setattr(compute, "_PLAN_SIGNALS", frozenset())
    slow = _snapshots(states)
    assert fast == slow

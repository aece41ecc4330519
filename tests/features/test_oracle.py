"""Streaming equals batch: snapshots after a messy arrival order equal a direct computation
over the cleaned history (tests/features/oracle.py, independent of the streaming code)."""

from __future__ import annotations

import math

import pytest

from features.catalog import CATALOG
from features.compute import snapshot
from features.snapshot import Snapshot
from features.state import PatientState
from tests.features import generator, oracle

H = 3_600_000


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _compare(snap: Snapshot, expected: dict[str, oracle.Out], label: str) -> None:
    bad = []
    for f in CATALOG:
        value, point = expected[f.name]
        got = snap.values[f.name]
        if not _close(got, value):
            bad.append(f"{f.name}: stream {got} batch {value}")
            continue
        if value is not None and point is not None:
            assert f.signal is not None
            want = oracle.evidence(f, point, f.signal)
            if snap.evidence.get(f.name) != want:
                bad.append(f"{f.name}: evidence {snap.evidence.get(f.name)} != {want}")
    assert not bad, f"{label}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("seed", range(24))
def test_stream_equals_batch(seed: int) -> None:
    history = generator.generate(seed)
    arrived = generator.arrivals(history, seed)
    state = PatientState(patient_id=generator.PID)
    checkpoints = {len(arrived) * k // 5 for k in range(1, 5)}
    kinds: set[str] = set()
    for n, event in enumerate(arrived, start=1):
        result = state.apply(event)
        kinds.add(result.kind)
        assert result.kind != "too_late", result.reason
        if n in checkpoints:
            assert state.newest_ms is not None
            at = state.newest_ms
            expected = oracle.batch_features(oracle.clean(arrived[:n]), at, arrived[:n])
            _compare(snapshot(state, at), expected, f"seed {seed} after {n} events")
    assert state.newest_ms is not None
    cleaned = oracle.clean(arrived)
    # At the newest time, just after it, across staleness edges and a day later.
    for offset in (0, 1, 30 * 60_000, 4 * H, 6 * H, 12 * H + 1, 25 * H):
        at = state.newest_ms + offset
        expected = oracle.batch_features(cleaned, at, arrived)
        _compare(snapshot(state, at), expected, f"seed {seed} +{offset}")
    assert {"applied", "duplicate"} <= kinds


def test_generator_exercises_every_outcome() -> None:
    """The oracle is only as strong as its feed: every kind of trouble must reach apply()."""
    kinds: set[str] = set()
    for seed in range(6):
        state = PatientState(patient_id=generator.PID)
        for event in generator.arrivals(generator.generate(seed), seed):
            kinds.add(state.apply(event).kind)
    assert kinds == {"applied", "duplicate", "corrected", "retracted", "unknown_correction"}


@pytest.mark.parametrize("seed", range(4))
def test_serialized_state_gives_the_same_snapshots(seed: int) -> None:
    history = generator.generate(seed)
    state = PatientState(patient_id=generator.PID)
    for event in generator.arrivals(history, seed):
        state.apply(event)
    restored = PatientState.from_bytes(state.to_bytes())
    assert restored == state
    assert state.newest_ms is not None
    assert snapshot(restored, state.newest_ms) == snapshot(state, state.newest_ms)


def test_order_does_not_matter() -> None:
    history = generator.generate(99)
    a = PatientState(patient_id=generator.PID)
    b = PatientState(patient_id=generator.PID)
    for event in history:
        a.apply(event)
    for event in generator.arrivals(history, 5):
        b.apply(event)
    assert a.newest_ms == b.newest_ms and a.newest_ms is not None
    # The messy feed only adds corrections/retractions; compare on the features that the
    # generator's corrections cannot touch: the timeline.
    assert snapshot(a, a.newest_ms).timeline == snapshot(b, b.newest_ms).timeline

"""``PatientState.apply``'s in-order observation path does what the general path does.

An observation that is not a correction and is newer than every stored point of its signal
is applied on one short path (``features/state.py``, ``_IN_ORDER_STATUSES``). With that set
emptied every event takes the general path; both must give the same results, the same state
and the same stored bytes, for any sequence of events: monitor-like runs in order, late and
too-late points (the lateness bound is per feed, so a signal can be in order while its feed
is far ahead), corrections, retractions, tombstoned ids sent again, duplicates, signals no
feature reads, and other event kinds.
"""

from __future__ import annotations

import random

import pytest

import features.state as state_module
from contract.events import Event, Observation, Retraction, Treatment
from features.series import Series
from features.state import ApplyResult, PatientState
from tests.features import generator

H = 3_600_000
SIGNALS = ["hr", "rr", "temp", "spo2", "crp", "weight_kg", "no_such_signal"]
SOURCES = ["json", "fhir", "hl7v2"]
STATUSES = ["final", "final", "final", "preliminary", "amended", "corrected"]


def _random_events(seed: int, n: int = 1500) -> list[Event]:
    rng = random.Random(seed)
    now = 1_700_000_000_000
    sent: list[Observation] = []
    events: list[Event] = []
    for k in range(n):
        roll = rng.random()
        if roll < 0.75:
            now += rng.choice([0, 1, 1000, 1000, 60_000])
        elif roll < 0.80:  # a jump far ahead (the next points of slower feeds are late)
            now += rng.choice([47, 49, 60]) * H
        source = rng.choice(SOURCES)
        if sent and rng.random() < 0.08:
            old = rng.choice(sent)
            if rng.random() < 0.7:  # the same observation again, or a new version of it
                if rng.random() < 0.5:
                    events.append(old)
                else:
                    status = rng.choice(STATUSES)
                    value = old.value + rng.choice([0, 1])
                    events.append(_obs(old.signal, old.time_ms, value, old.obs_id, status, source))
            else:
                events.append(
                    Retraction(
                        patient_id="p",
                        time_ms=old.time_ms,
                        source=source,
                        source_msg_id=f"m{k}",
                        signal=old.signal,
                        obs_id=old.obs_id,
                    )
                )
            continue
        if rng.random() < 0.02:
            events.append(
                Treatment(
                    patient_id="p",
                    time_ms=now,
                    source=source,
                    source_msg_id=f"m{k}",
                    treatment="antipyretic",
                    agent="paracetamol",
                )
            )
            continue
        # Mostly in order; sometimes a point of the past (late, or beyond the bound).
        time_ms = now if rng.random() < 0.85 else now - rng.choice([1, 1000, 3 * H, 50 * H])
        obs = _obs(
            rng.choice(SIGNALS),
            time_ms,
            rng.choice([36.6, 37.2, 80.0, 120.5]),
            f"o{rng.randrange(400)}",  # ids recur: some were retracted (tombstones)
            rng.choice(["final"] * 8 + ["preliminary", "amended"]),
            source,
        )
        sent.append(obs)
        events.append(obs)
    return events


def _obs(
    signal: str, time_ms: int, value: float, obs_id: str, status: str, source: str
) -> Observation:
    return Observation(
        patient_id="p",
        time_ms=time_ms,
        source=source,  # type: ignore[arg-type]
        source_msg_id=f"msg-{time_ms}",
        signal=signal,
        value=value,
        unit="x",
        obs_id=obs_id,
        status=status,  # type: ignore[arg-type]
        ref_low=None if value < 50 else 10.0,
    )


def _apply_all(events: list[Event]) -> tuple[PatientState, list[ApplyResult]]:
    state = PatientState(patient_id=events[0].patient_id)
    return state, [state.apply(e) for e in events]


def _check(events: list[Event], monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_results = _apply_all(events)
    with monkeypatch.context() as m:
        m.setattr(state_module, "_IN_ORDER_STATUSES", frozenset())
        slow, slow_results = _apply_all(events)
    assert fast_results == slow_results
    assert fast == slow
    assert fast.to_bytes() == slow.to_bytes()


@pytest.mark.parametrize("seed", range(10))
def test_random_sequences_are_applied_as_by_the_general_path(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _random_events(seed)
    _check(events, monkeypatch)
    # The comparison means something: the outcomes are varied.
    kinds = {r.kind for r in _apply_all(events)[1]}
    assert {"applied", "too_late", "corrected", "unknown_correction"} <= kinds, kinds


@pytest.mark.parametrize("seed", range(4))
def test_simulated_histories_are_applied_as_by_the_general_path(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = generator.generate(seed, hours=30.0)
    _check(generator.arrivals(history, seed), monkeypatch)
    _check(sorted(generator.arrivals(history, seed), key=lambda e: e.time_ms), monkeypatch)


def test_a_signal_in_order_behind_a_far_ahead_feed_is_too_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In order for its own series, beyond the bound of its feed: not appended."""
    t0 = 1_700_000_000_000
    events: list[Event] = [
        _obs("crp", t0, 12.0, "a", "final", "hl7v2"),
        _obs("hr", t0 + 49 * H, 80.0, "b", "final", "hl7v2"),
        _obs("crp", t0 + 1000, 14.0, "c", "final", "hl7v2"),
    ]
    _check(events, monkeypatch)
    assert _apply_all(events)[1][-1].kind == "too_late"


def test_a_retracted_id_sent_again_in_order_stays_out(monkeypatch: pytest.MonkeyPatch) -> None:
    t0 = 1_700_000_000_000
    events: list[Event] = [
        _obs("hr", t0, 80.0, "a", "final", "json"),
        _obs("hr", t0 + 1000, 81.0, "b", "final", "json"),
        Retraction(
            patient_id="p", time_ms=t0 + 5000, source="json", source_msg_id="r", signal="hr",
            obs_id="z",
        ),
        _obs("hr", t0 + 9000, 82.0, "z", "final", "json"),
    ]  # fmt: skip
    _check(events, monkeypatch)
    assert _apply_all(events)[1][-1].kind == "duplicate"


def test_a_stored_series_no_feature_reads_gets_no_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """A state decoded with a series of a signal no feature reads (an older catalog)."""
    t0 = 1_700_000_000_000
    results = []
    for shortcut in (True, False):
        with monkeypatch.context() as m:
            if not shortcut:
                m.setattr(state_module, "_IN_ORDER_STATUSES", frozenset())
            state = PatientState(patient_id="p", series={"retired_signal": Series()})
            state.series["retired_signal"].insert(t0, 1.0, "a", "m")
            result = state.apply(_obs("retired_signal", t0 + 1000, 2.0, "b", "final", "json"))
            results.append((result, state.to_bytes()))
    assert results[0] == results[1]
    assert not results[0][0].changed

"""The shortcuts of the hot paths give exactly what the general paths give.

- ``PatientState`` appends an observation newer than every point of its signal without
  searching for a stored version (``Series.append``); the general path (``_locate`` then
  ``Series.insert``) must leave the same state and report the same outcomes.
- ``Series.encoded`` keeps the encoding of its columns and encodes only the points added
  since; whatever happened to the series, the bytes must be msgspec's.
- ``snapshot`` does not evaluate the plain aggregates of a signal without any point at or
  before the snapshot time; evaluating them must give the same snapshot.
"""

from __future__ import annotations

import random

import msgspec
import pytest

from contract.events import Event, Observation
from features import compute
from features.compute import snapshot
from features.series import INCREMENTAL_FROM, Series
from features.state import ApplyResult, PatientState
from tests.features import generator

H = 3_600_000


def _apply_all(events: list[Event]) -> tuple[PatientState, list[ApplyResult]]:
    state = PatientState(patient_id=generator.PID)
    return state, [state.apply(e) for e in events]


def _without_append_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route the shortcut through the general insert (which searches the time column)."""

    def append(self: Series, *point: object) -> None:
        Series.insert(self, *point)  # type: ignore[arg-type]

    monkeypatch.setattr(Series, "append", append)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("order", ["arrival", "time"])
def test_in_order_append_equals_the_general_insert(
    seed: int, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = generator.generate(seed, hours=30.0)
    events = generator.arrivals(history, seed)
    if order == "time":  # mostly in order: the shortcut is taken for nearly every point
        events = sorted(events, key=lambda e: e.time_ms)
    fast, fast_results = _apply_all(events)
    _without_append_shortcut(monkeypatch)
    slow, slow_results = _apply_all(events)
    assert fast_results == slow_results
    assert fast == slow


def test_a_same_time_duplicate_is_not_appended() -> None:
    state = PatientState(patient_id="p")
    obs = Observation(
        patient_id="p",
        time_ms=1_000,
        source="json",
        source_msg_id="m1",
        signal="hr",
        value=80.0,
        unit="/min",
        obs_id="o1",
    )
    assert state.apply(obs).kind == "applied"
    later = Observation(**{**_fields(obs), "time_ms": 2_000, "obs_id": "o2"})
    assert state.apply(later).kind == "applied"
    assert state.apply(later).kind == "duplicate"  # same time as the newest: searched
    amended = Observation(**{**_fields(later), "value": 90.0, "status": "amended"})
    assert state.apply(amended).kind == "corrected"
    assert state.series["hr"].v == [80.0, 90.0]


def _fields(obs: Observation) -> dict[str, object]:
    return {f: getattr(obs, f) for f in obs.__struct_fields__}


@pytest.mark.parametrize("seed", range(8))
def test_skipping_signals_without_points_changes_no_snapshot(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = generator.generate(seed, hours=30.0)
    events = generator.arrivals(history, seed)
    state, _ = _apply_all(events[: len(events) // 2])
    assert state.newest_ms is not None and state.first_ms is not None
    # Before the first point, early on (some signals not measured yet), now, and later.
    times = [
        state.first_ms - 1,
        state.first_ms + H,
        state.first_ms + 6 * H,
        state.newest_ms,
        state.newest_ms + 30 * H,
    ]
    fast = [snapshot(state, at) for at in times]
    monkeypatch.setattr(compute, "_PLAN_SIGNALS", frozenset())
    slow = [snapshot(state, at) for at in times]
    assert fast == slow
    assert [s.evidence for s in fast] == [s.evidence for s in slow]


def _point(
    rng: random.Random, time_ms: int
) -> tuple[int, float, str | None, str, int, float | None, float | None]:
    return (
        time_ms,
        rng.choice([rng.uniform(-1e6, 1e6), float(rng.randint(0, 300)), 0.0]),
        rng.choice([None, f"o{rng.randrange(10**9)}", "x" * rng.randint(1, 300)]),
        rng.choice(["m", f"msg-{rng.randrange(10**6)}"]),
        rng.randint(0, 3),
        rng.choice([None, rng.uniform(0, 10)]),
        rng.choice([None, rng.uniform(10, 100), 2**70 * 1.0]),
    )


def _change(s: Series, rng: random.Random, newest: int) -> int:
    """One random change of ``s``; returns the newest time."""
    op = rng.random()
    if op < 0.6 or len(s) < 5:  # grow at the end, often several points at once
        for _ in range(rng.choice([1, 1, 3, 40, 300])):
            newest += rng.choice([0, 1, 1000])
            s.insert(*_point(rng, newest))
    elif op < 0.7:  # a late point
        s.insert(*_point(rng, rng.randint(0, newest)))
    elif op < 0.8:
        s.remove(rng.randrange(len(s)))
    elif op < 0.88:
        s.drop_before(rng.randrange(len(s)))
    elif op < 0.95:
        s.keep(sorted(rng.sample(range(len(s)), rng.randint(0, len(s)))))
    else:  # a column replaced by an equal list (as PatientState.from_bytes does)
        s.msg = list(s.msg)
    return newest


@pytest.mark.parametrize("seed", range(12))
def test_the_kept_encoding_of_a_series_is_always_msgspecs(seed: int) -> None:
    rng = random.Random(seed)
    s = Series()
    newest = 0
    for step in range(300):
        for _ in range(rng.choice([1, 1, 2, 3])):  # several changes between encodings
            newest = _change(s, rng, newest)
        assert s.encoded() == msgspec.msgpack.encode(s), f"step {step}, {len(s)} points"
    assert msgspec.msgpack.decode(s.encoded(), type=Series) == s


def test_a_long_series_keeps_its_encoding_and_a_short_one_does_not() -> None:
    s = Series()
    for i in range(INCREMENTAL_FROM - 1):
        s.append(i, 1.0, None, "m", 1, None, None)
    s.encoded()
    assert not s.__dict__
    s.append(INCREMENTAL_FROM, 1.0, None, "m", 1, None, None)
    s.encoded()
    assert s.__dict__  # kept, but neither encoded nor compared
    assert s == Series(**{f: getattr(s, f) for f in s.__struct_fields__})
    assert msgspec.msgpack.encode(s) == s.encoded()

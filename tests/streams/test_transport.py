"""The consumer's delivery guard (a stream partition never skips records Faust fetched but
did not deliver; a gap that is really in the log is accepted after one refetch) and the runs
of input records that reach the pipeline agent as one Faust event each."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any
from weakref import WeakSet

from faust import types as faust_types
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import ConsumerMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from intervaltree import IntervalTree

from streams.app import in_fetch_order
from streams.transport import (
    DeliveryGuard,
    FetchedRun,
    TunedConsumer,
    append_gap,
    run_message,
)

TP = ("in.vitals", 0)
_FTP = faust_types.TP("in.json", 3)


def test_a_record_past_the_next_expected_offset_seeks_back() -> None:
    guard = DeliveryGuard()
    guard.positioned(TP, 10)
    assert guard.check(TP, 10) is None
    guard.delivered(TP, 10)
    assert guard.check(TP, 11) is None
    guard.delivered(TP, 11)
    assert guard.check(TP, 15) == 12  # 12..14 fetched but never delivered


def test_a_hole_in_the_log_is_accepted_after_one_fetch() -> None:
    guard = DeliveryGuard()
    guard.positioned(TP, 5)
    assert guard.check(TP, 7) == 5
    guard.fetched(TP, 7)  # the fetch from 5 starts at 7: the log has nothing at 5 and 6
    assert guard.check(TP, 7) is None
    guard.delivered(TP, 7)
    assert guard.check(TP, 9) == 8  # a later gap is checked again


def test_a_refetch_that_finds_the_records_keeps_the_expectation() -> None:
    guard = DeliveryGuard()
    guard.positioned(TP, 5)
    assert guard.check(TP, 7) == 5
    guard.fetched(TP, 5)
    assert guard.check(TP, 7) == 5  # record 5 exists; Faust dropped it again


def test_unknown_positions_and_earlier_records_pass() -> None:
    guard = DeliveryGuard()
    assert guard.check(TP, 1000) is None  # no committed offset: started at the log start
    guard.delivered(TP, 1000)
    assert guard.check(TP, 990) is None  # a redelivery; Faust drops what it already read
    guard.positioned(TP, None)
    assert guard.check(TP, 5000) is None


def test_a_seek_forgets_the_rewind() -> None:
    guard = DeliveryGuard()
    guard.positioned(TP, 5)
    assert guard.check(TP, 8) == 5
    assert guard.rewinding
    guard.positioned(TP, 2)  # a rebalance seeked to the committed offset meanwhile
    assert not guard.rewinding
    guard.fetched(TP, 8)
    assert guard.check(TP, 8) == 2


def test_partitions_are_independent() -> None:
    guard = DeliveryGuard()
    other = ("in.vitals", 1)
    guard.positioned(TP, 3)
    guard.positioned(other, 100)
    assert guard.check(other, 100) is None
    assert guard.check(TP, 4) == 3


# A fetch step: deliver, cancel the delivery (Faust's read offset moves on), or drop the
# next k fetched records (a rebalance stopped the flow mid-batch).
_STEP = st.one_of(st.just("ok"), st.just("cancel"), st.integers(min_value=1, max_value=40))


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=200),
    holes=st.sets(st.integers(min_value=0, max_value=199), max_size=30),
    steps=st.lists(_STEP, max_size=400),
)
def test_every_record_below_the_newest_delivered_is_delivered_once(
    size: int, holes: set[int], steps: list[object]
) -> None:
    """A simulated fetcher dropping records at random: the guard brings every dropped record
    back, delivers nothing twice, and ends (a hole in the log costs one refetch)."""
    log = [offset for offset in range(size) if offset not in holes]
    guard = DeliveryGuard()
    guard.positioned(TP, 0)
    delivered: list[int] = []
    position, budget = 0, 4 * (size + len(steps)) + 10
    actions = iter(steps)
    while budget:
        budget -= 1
        record = next((offset for offset in log if offset >= position), None)
        if record is None:
            break
        guard.fetched(TP, record)  # the raw fetch, before Faust may drop the record
        step = next(actions, "ok")
        if isinstance(step, int):
            position = record + step
            continue
        back_to = guard.check(TP, record)
        if back_to is not None:
            position = back_to
            continue
        position = record + 1
        if step == "ok":
            guard.delivered(TP, record)
            delivered.append(record)
    assert budget, "the guard kept seeking back"
    assert delivered == sorted(set(delivered))
    if delivered:
        assert delivered == [offset for offset in log if offset <= delivered[-1]]


def _message(offset: int, value: bytes = b"{}") -> ConsumerMessage:
    return ConsumerMessage(
        "in.json", 3, offset, 1.0 + offset, 0, [], b"p1", value, None, 2, len(value), _FTP
    )


def test_a_run_message_stands_for_its_records_and_commits_through_the_last() -> None:
    records = [_message(7, b"a"), _message(8, b"bb"), _message(9, b"ccc")]
    message = run_message(_FTP, list(zip((0, 3, 4), records, strict=True)))
    assert isinstance(message.value, FetchedRun)
    assert message.value.messages == tuple(records)
    assert message.value.order == (0, 3, 4)
    assert (message.topic, message.partition, message.offset) == ("in.json", 3, 9)
    assert message.timestamp == records[-1].timestamp
    assert message.serialized_value_size == 6


def test_runs_taken_together_are_processed_in_fetch_order() -> None:
    """Two partitions fetched round robin (a patient's messages on two topics): the runs'
    records come back interleaved as Faust would have delivered them one by one."""
    a = [(0, _message(10)), (2, _message(11)), (4, _message(12))]
    b = [(1, _message(50)), (3, _message(51))]
    later = [(5, _message(13))]
    events = [SimpleNamespace(value=run_message(_FTP, run).value) for run in (a, b, later)]
    ordered = in_fetch_order(events)
    assert [record.offset for _, record in ordered] == [10, 50, 11, 51, 12, 13]
    assert [events.index(event) for event, _ in ordered] == [0, 1, 0, 1, 0, 2]
    assert in_fetch_order([]) == []


def _bare(cls: type) -> Any:
    """A consumer with only the state the gap bookkeeping reads (no app, no thread)."""
    consumer = object.__new__(cls)
    consumer._committed_offset = defaultdict(lambda: None)
    consumer._gap = defaultdict(IntervalTree)
    return consumer


_GAP_OPS = st.lists(
    st.tuples(st.integers(0, 400), st.integers(0, 40), st.none() | st.integers(0, 400)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(_GAP_OPS, st.booleans())
def test_gap_bookkeeping_matches_faust(ops: list[tuple[int, int, int | None]], runs: bool) -> None:
    """Gaps left by runs (each after the last) and arbitrary ones, with commits between:
    the tuned consumer's gap trees equal Faust's after every step."""
    faust_consumer, tuned = _bare(faust_aiokafka.Consumer), _bare(TunedConsumer)
    tp = _FTP
    cursor = 0

    async def apply() -> None:
        nonlocal cursor
        for start, length, committed in ops:
            first = cursor + start % 7 if runs else start
            for consumer in (faust_consumer, tuned):
                consumer._committed_offset[tp] = committed
                await consumer._add_gap(tp, first, first + length)
            cursor = first + length + 1
            assert sorted(tuned._gap[tp]) == sorted(faust_consumer._gap[tp])

    asyncio.run(apply())


def test_a_gap_after_every_other_is_appended_without_a_merge() -> None:
    gaps = IntervalTree()
    assert append_gap(gaps, 10, 19)
    assert append_gap(gaps, 20, 29)  # adjacent, not overlapping: kept apart as Faust would
    assert not append_gap(gaps, 25, 40)  # overlaps: Faust's own merge must handle it
    assert sorted((i.begin, i.end) for i in gaps) == [(10, 20), (20, 30)]


def _acking(generation: int = 1) -> Any:
    """A consumer with the state Faust's acknowledgements and commit offsets read."""
    consumer = _bare(TunedConsumer)
    consumer._acked = defaultdict(list)
    consumer._acked_index = defaultdict(set)
    consumer._unacked_messages = WeakSet()
    consumer._waiting_for_ack = None
    consumer._n_acked = 0
    consumer.ews_processed = WeakSet()
    consumer.ews_guard = DeliveryGuard()
    consumer.ews_fetch_epochs = {}
    consumer._read_offset = {}
    consumer.app = SimpleNamespace(
        consumer_generation_id=generation,
        ews_batched_topics=frozenset({_FTP.topic}),
        topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
    )
    return consumer


def _run(last: int, generation: int = 1, epoch: int = 0) -> ConsumerMessage:
    record = ConsumerMessage(
        _FTP.topic, _FTP.partition, last, 1.0, 0, [], b"p1", b"{}", None, 2, 2, _FTP,
        generation_id=generation,
    )  # fmt: skip
    return run_message(_FTP, [(0, record)], epoch)


def test_a_run_fetched_before_a_seek_is_not_acknowledged() -> None:
    """Its gap, counted from the read offset before the seek, would cover records the seek
    asked to read again."""
    consumer = _acking()
    before = _run(104, epoch=consumer.ews_guard.epoch(_FTP))
    consumer.ews_guard.positioned(_FTP, 30)  # seek_to_committed at the generation's start
    after = _run(53, epoch=consumer.ews_guard.epoch(_FTP))
    consumer.processed(before)
    consumer.processed(after)
    assert not consumer.ack(before)
    assert consumer.ack(after)
    assert consumer._acked[_FTP] == [53]


def test_a_delivery_that_outlived_a_seek_gives_the_seek_its_position_back() -> None:
    """Faust sets the read offset to a record once its delivery returns; a seek made while
    the delivery waited would otherwise lose the records from its position on."""
    consumer = _acking()
    guard = consumer.ews_guard
    guard.positioned(_FTP, 0)
    consumer.ews_fetch_epochs = {_FTP: guard.epoch(_FTP)}  # the fetch of 80..104
    epoch = consumer._fetched_at(_FTP)
    guard.positioned(_FTP, 30)  # the seek, while the run waits on a full stream buffer
    guard.delivered(_FTP, 104)  # the delivery returns: Faust and the guard move past it
    consumer._read_offset[_FTP] = 104
    consumer._after_delivery(_FTP, epoch)
    assert consumer._read_offset[_FTP] == 30
    assert guard.check(_FTP, 54) == 30  # a later record is a hole again: seek back to 30
    unchanged = _acking()
    unchanged.ews_guard.positioned(_FTP, 30)
    unchanged._read_offset[_FTP] = 104
    unchanged._after_delivery(_FTP, unchanged.ews_guard.epoch(_FTP))  # no seek meanwhile
    assert unchanged._read_offset[_FTP] == 104


def test_each_positioning_starts_a_new_epoch() -> None:
    guard = DeliveryGuard()
    assert guard.epoch(_FTP) == 0
    guard.positioned(_FTP, 30)
    guard.positioned(_FTP, None)
    assert guard.epoch(_FTP) == 2 and guard.epoch(TP) == 0
    guard.delivered(_FTP, 99)
    assert guard.back_to_position(_FTP) is None
    assert guard.check(_FTP, 500) is None  # the partition's start: nothing expected


def test_only_runs_the_app_processed_in_this_generation_are_acknowledged() -> None:
    """Faust acknowledges events its stream skipped (flow stopped by a rebalance, or an
    earlier generation): such a run's offset would commit records never processed."""
    consumer = _acking(generation=2)
    skipped, stale, done = _run(149, 2), _run(199, 1), _run(99, 2)
    consumer.processed(stale)
    consumer.processed(done)
    assert not consumer.ack(skipped)
    assert not consumer.ack(stale)
    assert consumer.ack(done)
    assert consumer._acked[_FTP] == [99]


def test_acknowledgements_of_the_previous_generation_are_forgotten(monkeypatch: Any) -> None:
    async def assigned(self: Any, assigned: Any, generation_id: int = 0) -> None:
        return None

    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_assigned", assigned)
    consumer = _acking()
    consumer._acked[_FTP].extend([101, 151])  # acked while the rebalance ran (gaps gone)
    consumer._acked_index[_FTP].update([101, 151])
    asyncio.run(consumer.on_partitions_assigned({_FTP}, 2))
    assert not consumer._acked and not consumer._acked_index and not consumer._gap


def _delivered(*runs: tuple[int, int]) -> Any:
    """A consumer that committed 52 and has since delivered ``runs`` (first, last offset):
    each run leaves its gap, as Faust's fetch loop records it."""
    consumer = _acking()
    consumer._committed_offset[_FTP] = 52

    async def deliver() -> None:
        for first, last in runs:
            await consumer._add_gap(_FTP, first, last)

    asyncio.run(deliver())
    return consumer


def test_runs_acknowledged_since_the_last_commit_are_committed_together() -> None:
    """Each run's offset is both acknowledged and the end of its gap: counted once, three
    runs commit in one go (Faust's own bookkeeping advanced one run per commit)."""
    consumer = _delivered((53, 101), (102, 151), (152, 201))
    for last in (101, 151, 201):
        consumer._acked[_FTP].append(last)
    assert consumer._new_offset(_FTP) == 202
    assert consumer._new_offset(_FTP) is None


def test_a_gap_is_committed_only_up_to_the_highest_acknowledged_offset() -> None:
    """The partition read again with other run boundaries while a run of the first reading
    (up to 242) is still acknowledged: the run 191..260 of the second reading straddles it,
    and its records past 242 are not processed yet."""
    consumer = _delivered((53, 120), (121, 190), (191, 260))
    consumer._acked[_FTP].extend([120, 242])
    assert _commit_all(consumer) == 243
    consumer._acked[_FTP].append(260)  # the second reading's run processed
    assert _commit_all(consumer) == 261


def _commit_all(consumer: Any) -> int | None:
    """The committed offset after as many commits as there is something to commit."""
    for _ in range(10):
        offset = consumer._new_offset(_FTP)
        if offset is not None and offset > (consumer._committed_offset[_FTP] or 0):
            consumer._committed_offset[_FTP] = offset
    committed: int | None = consumer._committed_offset[_FTP]
    return committed


def test_only_stream_partitions_get_a_seek_position_back(monkeypatch: Any) -> None:
    """The fetch loop's deliveries, with a seek of both partitions while each waits: the
    stream partition's read offset goes back to the seek, a changelog's (positioned by table
    recovery itself) is left alone."""
    stream_tp = faust_types.TP("in.alerts", 0)
    changelog_tp = faust_types.TP("app-patients-changelog", 0)
    consumer = _acking()
    consumer.app.ews_stream_topics = frozenset({stream_tp.topic})
    consumer.ews_guard.positioned(stream_tp, 10)
    consumer.ews_guard.positioned(changelog_tp, 5)
    consumer.ews_numbering = iter(range(10))

    async def fetched(self: Any, timeout: float) -> Any:
        self.ews_fetch_epochs = {tp: self.ews_guard.epoch(tp) for tp in (stream_tp, changelog_tp)}
        for tp, offset in ((stream_tp, 10), (changelog_tp, 60)):
            yield tp, SimpleNamespace(offset=offset)

    monkeypatch.setattr(faust_aiokafka.Consumer, "getmany", fetched)

    async def drain() -> None:
        async for tp, message in consumer.getmany(1.0):
            consumer.ews_guard.positioned(tp, 7)  # a seek while the delivery waited
            consumer._read_offset[tp] = message.offset  # Faust, once the delivery returns

    asyncio.run(drain())
    assert consumer._read_offset == {stream_tp: 7, changelog_tp: 60}

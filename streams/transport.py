"""Faust's aiokafka transport with a configurable fetch wait and a checked producer flush.

Faust fixes ``fetch_max_wait_ms`` at 1500 ms for worker consumers. On brokers that do not
answer a waiting fetch early when data arrives (Tansu, see broker-notes.md) every hop then
costs about half of that; on Kafka a shorter wait only means more, smaller fetches. The wait
comes from ``EWS_FETCH_MAX_WAIT_MS`` via the app attribute ``ews_fetch_max_wait_ms``.
"""

from __future__ import annotations

import itertools
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import ConsumerMessage
from faust.utils.functional import consecutive_numbers
from intervaltree import IntervalTree

SCHEME = "ewskafka"

log = logging.getLogger(__name__)


class DeliveryGuard:
    """The next offset each stream partition must hand to the agents.

    Faust advances a partition's read offset past records it fetched but never delivered:
    records dropped when a rebalance stops the flow mid-batch, a delivery cancelled by
    ``suspend_flow`` while the stream buffer was full, a seek that failed with "No current
    assignment" while the assignment changed. The next record it delivers then leaves a gap,
    which Faust's commit logic counts as done (it takes gaps for transaction markers), so the
    skipped inputs were never processed and never retried (docs/reliability.md finding 1b).

    The consumer asks :meth:`check` before handing a stream record on. A record beyond the
    next expected offset means records were skipped: the answer is the offset to seek back
    to. The first raw fetch after that seek (:meth:`fetched`, before Faust can drop anything)
    tells whether the log has records there; if it starts later, the range is a hole in the
    log itself (transaction markers, aborted or deleted records) and the expectation moves to
    its end.
    """

    def __init__(self) -> None:
        self._next: dict[Any, int] = {}
        self._rewound: dict[Any, int] = {}
        self._epoch: dict[Any, int] = {}
        self._position: dict[Any, int | None] = {}

    def epoch(self, tp: Any) -> int:
        """How many times ``tp`` was positioned (:meth:`positioned`): records fetched at an
        earlier epoch were fetched from before the latest seek, and the seek asked for the
        records after its position to be read again."""
        return self._epoch.get(tp, 0)

    def back_to_position(self, tp: Any) -> int | None:
        """Expect the latest seek's offset again (a delivery fetched before that seek moved
        the expectation past it); returns that offset (``None``: the partition's start)."""
        position = self._position.get(tp)
        self._rewound.pop(tp, None)
        if position is None:
            self._next.pop(tp, None)
        else:
            self._next[tp] = position
        return position

    def check(self, tp: Any, offset: int) -> int | None:
        """``None`` to deliver the record at ``offset``; otherwise the offset to seek to."""
        expected = self._next.get(tp)
        if expected is None or offset <= expected:
            return None
        self._rewound[tp] = expected
        return expected

    @property
    def rewinding(self) -> bool:
        """Some partition waits for its first fetch after a seek back."""
        return bool(self._rewound)

    def fetched(self, tp: Any, first: int) -> None:
        """A fetch returned records of ``tp`` starting at ``first``."""
        back_to = self._rewound.pop(tp, None)
        if back_to is not None and first > back_to and self._next.get(tp) == back_to:
            self._next[tp] = first  # no records in the log between the two

    def delivered(self, tp: Any, offset: int) -> None:
        """The record at ``offset`` reached the agents' streams."""
        self._next[tp] = offset + 1

    def positioned(self, tp: Any, offset: int | None) -> None:
        """The partition was seeked to ``offset`` (``None``: its start, not known here)."""
        self._epoch[tp] = self._epoch.get(tp, 0) + 1
        self._position[tp] = offset
        self._rewound.pop(tp, None)
        if offset is None:
            self._next.pop(tp, None)
        else:
            self._next[tp] = offset


@dataclass(frozen=True, slots=True)
class FetchedRun:
    """Consecutive records of one input partition from one fetch: one Faust event's value.

    ``order`` numbers each record in the order Faust would have delivered it one by one
    (round robin over the fetched partitions), so runs taken together can be processed in
    that order (``streams.app.in_fetch_order``): a patient's messages on several topics
    stay interleaved as they were fetched.
    """

    messages: tuple[ConsumerMessage, ...]
    order: tuple[int, ...]
    epoch: int = 0
    """The partition's :meth:`DeliveryGuard.epoch` when the records were fetched."""


def run_message(
    tp: Any, numbered: list[tuple[int, ConsumerMessage]], epoch: int = 0
) -> ConsumerMessage:
    """One Faust message standing for the ``(order, record)`` pairs ``numbered`` (offset
    and time of the last record), fetched at the partition's ``epoch``."""
    order, records = zip(*numbered, strict=True)
    messages = cast(tuple[ConsumerMessage, ...], records)
    last = messages[-1]
    return ConsumerMessage(
        last.topic,
        last.partition,
        last.offset,
        last.timestamp,
        last.timestamp_type,
        [],
        None,
        cast(Any, FetchedRun(messages, order, epoch)),
        None,
        0,
        sum(m.serialized_value_size or 0 for m in messages),
        tp,
        generation_id=last.generation_id,
    )


def _fetched_before_seek(message: Any, guard: DeliveryGuard) -> bool:
    """Whether ``message`` is a run fetched before its partition's latest seek."""
    run = message.value
    return isinstance(run, FetchedRun) and run.epoch != guard.epoch(message.tp)


def append_gap(gaps: IntervalTree, first: int, last: int) -> bool:
    """Add the offsets ``first..last`` to ``gaps`` if they come after every gap there.

    Returns ``False`` (nothing added) otherwise. Faust merges a partition's gap tree after
    every gap it adds (``IntervalTree.merge_overlaps`` rebuilds the whole tree), and the
    tree grows until the next commit; every run of records (:class:`FetchedRun`) leaves a
    gap, so the cost per run grew with the runs since the commit: 13% of a worker's samples
    at 5,000 messages/s, and the event-to-output latency rose through each commit interval.
    A gap after all others overlaps none of them (they are kept merged), so adding it
    without the merge leaves the same tree.
    """
    if gaps and first < gaps.end():
        return False
    gaps.addi(first, last + 1)  # intervals exclude their end
    return True


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Consumer thread that applies the app's fetch wait to the worker consumer, and can
    ask the broker for the group's committed offsets (the input watch, streams/app.py)."""

    async def seek_to_committed(self) -> Any:
        """Seek the assigned partitions to their committed offsets, and the stream topics'
        partitions without one to their beginning.

        aiokafka's ``seek_to_committed`` leaves a partition without a committed offset
        (or with 0) where its fetch position happens to be. Faust calls this after every
        rebalance; when a worker kept a partition whose committed offset the broker no longer
        has (a broker that lost its data), that position was past messages never processed,
        and they were skipped silently (seen in the broker_restart fault scenario). A
        consumer group without a committed offset starts at the earliest offset
        (``consumer_auto_offset_reset``); this makes a rebalance do the same. Changelog and
        other internal partitions are left alone: table recovery positions them itself.
        """
        return await self.call_thread(self._seek_to_committed_or_earliest)

    async def _seek_to_committed_or_earliest(self) -> Any:
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        streams = set(getattr(self.app, "ews_stream_topics", ()))
        assigned = consumer.assignment()  # a rebalance may have moved some meanwhile
        fresh = [
            tp
            for tp, offset in committed.items()
            if not offset and tp.topic in streams and tp in assigned
        ]
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        return committed

    async def committed_offsets(self, partitions: list[Any]) -> dict[Any, int | None]:
        """The group's committed offsets on the broker (``None``: none committed)."""
        return dict(await self.call_thread(self._committed_offsets, partitions))

    async def _committed_offsets(self, partitions: list[Any]) -> dict[Any, int | None]:
        coordinator = self._ensure_consumer()._coordinator
        found = await coordinator.fetch_committed_offsets(partitions)
        out: dict[Any, int | None] = dict.fromkeys(partitions)
        for tp, meta in found.items():
            out[tp] = meta.offset if meta is not None and meta.offset >= 0 else None
        return out

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, "ews_fetch_max_wait_ms", None)
        if wait_ms is not None:
            # aiokafka reads this attribute when it builds its fetcher in start().
            consumer._fetch_max_wait_ms = int(wait_ms)
        return consumer


class TunedConsumer(faust_aiokafka.Consumer):
    """Faust aiokafka consumer using :class:`TunedConsumerThread`, that never lets a stream
    partition skip records it fetched but did not deliver (:class:`DeliveryGuard`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ews_guard = DeliveryGuard()
        self.ews_numbering = itertools.count()  # FetchedRun.order
        self.ews_committed: set[Any] = set()  # partitions this process committed (_commit)
        self.ews_processed: weakref.WeakSet[Any] = weakref.WeakSet()  # runs the app finished
        self.ews_fetch_epochs: dict[Any, int] = {}  # DeliveryGuard.epoch of the last fetch
        deliver: Callable[[Any], Awaitable[Any]] = self.callback
        delivered = self.ews_guard.delivered

        async def on_message(message: Any) -> Any:
            result = await deliver(message)
            delivered(message.tp, message.offset)  # not reached when the delivery is cancelled
            return result

        self.callback = on_message

    def processed(self, message: Any) -> None:
        """The app processed the input run ``message`` and the broker has its outputs: its
        next acknowledgement counts (:meth:`ack`)."""
        self.ews_processed.add(message)

    def ack(self, message: Any) -> bool:
        """Faust's ack, except for input runs the app did not process in this generation.

        Faust also acknowledges events its stream skipped without handing them to the agent
        (flow stopped by a rebalance, or fetched in an earlier generation), and each run's
        offset stands for the whole run (its records before it are a gap Faust counts as
        done). An acknowledged skipped run, or a run acknowledged after the partitions were
        assigned again, let a commit cover records this worker never processed in the
        current generation. So did a run fetched before the partition's latest seek (its
        epoch, :meth:`DeliveryGuard.epoch`): its gap, counted from the read offset before
        the seek, reaches over records the seek asked to read again. Such acks are ignored:
        the records are read again from the committed offset or the seek's position.
        """
        batched: frozenset[str] = getattr(self.app, "ews_batched_topics", frozenset())
        if message.topic in batched and (
            message not in self.ews_processed
            or message.generation_id != self.app.consumer_generation_id
            or _fetched_before_seek(message, self.ews_guard)
        ):
            self._unacked_messages.discard(message)
            return False
        return bool(super().ack(message))

    async def on_partitions_assigned(self, assigned: Any, generation_id: int = 0) -> None:
        """Forget the acknowledgements and gaps left from the previous generation first.

        Faust drops a revoked partition's acks and gaps before the app's revoke handler lets
        the agent finish its events, so the acks made then stay behind without their gaps:
        they cannot be committed in that generation, and in the next one (the same worker
        keeping or regaining the partition) they are taken as done while the partition is
        read again from its committed offset, so Faust's gap filling commits past records
        delivered but not yet processed (or beyond the last one processed at all). The new
        generation starts from the committed offsets; its own acks are the only ones that
        may advance them.
        """
        self._acked.clear()
        self._acked_index.clear()
        self._gap.clear()
        await super().on_partitions_assigned(assigned, generation_id)

    def _new_offset(self, tp: Any) -> int | None:
        """Faust's next commit offset for ``tp``, with the gaps taken only up to the highest
        acknowledged offset and each offset counted once.

        Faust fills in every gap interval that starts below the highest acknowledged offset,
        also the part of it beyond that offset. A run's gap reaches to its last record, so
        when acknowledgements and gaps come from different deliveries (the partition read
        again from its committed offset, with other run boundaries, while runs of the first
        reading are still being acknowledged), that part is a run not processed yet, and it
        was committed. Faust also keeps an acknowledged offset that a gap covers twice,
        which ends its run of consecutive offsets there: each commit advanced one run.
        """
        acked = self._acked[tp]
        if not acked:
            return None
        top = max(acked)
        gaps: IntervalTree = self._gap[tp]
        done = set(acked)
        if gaps:
            for interval in gaps.overlap(0, top + 1):
                done.update(range(interval.begin, min(interval.end, top + 1)))
            gaps.chop(0, top + 1)
        offsets = sorted(done)
        committed = self._committed_offset[tp]
        if committed and offsets[0] - committed > 1:
            acked[:] = offsets
            return None  # offsets before the first done one are not done
        batch = next(consecutive_numbers(offsets))
        acked[:] = offsets[len(batch) :]
        self._acked_index[tp].difference_update(batch)
        return batch[-1] + 1

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        """Faust's gap bookkeeping, without the rebuild of the gap tree for a gap after all
        others (:func:`append_gap`): each run of records leaves one."""
        committed = self._committed_offset[tp]
        first = offset_from if committed is None else max(offset_from, committed + 1)
        if first > offset_to or append_gap(self._gap[tp], first, offset_to):
            return
        await super()._add_gap(tp, offset_from, offset_to)

    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def getmany(self, timeout: float) -> Any:
        """Faust's records, with two changes.

        - Stream records past a gap are not delivered: the partition is seeked back to its
          next expected offset so the skipped records are fetched again (:class:`DeliveryGuard`).
        - Records of the app's batched topics (``ews_batched_topics``: the inputs) come as
          one message per partition and fetch, whose value is a :class:`FetchedRun` of the
          records, so Faust's per-event machinery runs once per run instead of once per
          record. The run message carries the offset of its last record: acknowledging it
          commits the whole run (Faust fills the offsets in between as a gap it delivered).
        """
        app = self.app
        streams: frozenset[str] = getattr(app, "ews_stream_topics", frozenset())
        batched: frozenset[str] = getattr(app, "ews_batched_topics", frozenset())
        runs: dict[Any, list[tuple[int, Any]]] = {}
        rewound: set[Any] = set()
        number = self.ews_numbering
        guard = self.ews_guard
        async for tp, message in super().getmany(timeout):
            topic = tp.topic
            if topic in batched:
                runs.setdefault(tp, []).append((next(number), message))
            elif tp in rewound:
                continue  # fetched again after the seek
            elif topic in streams and (
                guard.epoch(tp) != self._fetched_at(tp) or await self._rewound(tp, message.offset)
            ):
                rewound.add(tp)
            else:
                epoch = self._fetched_at(tp)
                yield tp, message
                if topic in streams:  # changelogs: table recovery positions them itself
                    self._after_delivery(tp, epoch)
        if not runs:
            return
        generation = app.consumer_generation_id
        size = max(1, int(getattr(app, "ews_run_max_records", 500)))
        for tp, messages in runs.items():
            epoch = self._fetched_at(tp)
            for start in range(0, len(messages), size):
                if not self.flow_active or app.consumer_generation_id != generation:
                    return  # a rebalance began: the guard brings the rest back if need be
                if guard.epoch(tp) != epoch:
                    break  # seeked since the fetch: these records come again from there
                chunk = messages[start : start + size]
                if await self._rewound(tp, chunk[0][1].offset):
                    break
                yield tp, run_message(tp, chunk, epoch)
                self._after_delivery(tp, epoch)

    def _fetched_at(self, tp: Any) -> int:
        """The partition's epoch when the records being delivered were fetched."""
        return self.ews_fetch_epochs.get(tp, self.ews_guard.epoch(tp))

    def _after_delivery(self, tp: Any, epoch: int) -> None:
        """Undo what a delivery did to ``tp``'s positions if the partition was seeked while
        it was under way (its records were fetched at ``epoch``).

        Faust's fetch loop sets a partition's read offset to each record it delivers once
        the delivery returns, and a delivery waits while the stream buffer is full. At the
        start of a generation Faust resumes the partitions before it seeks them to their
        committed offsets (``Recovery._resume_streams``), so a run fetched from the old
        position could finish its delivery after the seek: the read offset then stood past
        the records the seek asked for, Faust dropped them when they came again as already
        read, and the gap it counted made a commit skip them (session 8: 26 records of a
        partition processed by no worker). The seek's position is put back; the run itself
        is processed, and its acknowledgement ignored (:meth:`ack`).
        """
        if self.ews_guard.epoch(tp) == epoch:
            return
        position = self.ews_guard.back_to_position(tp)
        self._read_offset[tp] = position
        log.warning(
            "A run of %s[%d] fetched before a seek was delivered during it: reading again "
            "from offset %s",
            tp.topic,
            tp.partition,
            position,
        )

    async def _rewound(self, tp: Any, offset: int) -> bool:
        """Seek ``tp`` back if the record at ``offset`` comes after undelivered ones."""
        back_to = self.ews_guard.check(tp, offset)
        if back_to is None:
            return False
        log.warning(
            "Records %d..%d of %s[%d] were fetched but never delivered: seeking back to %d",
            back_to,
            offset - 1,
            tp.topic,
            tp.partition,
            back_to,
        )
        # Faust's own seek: the guard already expects ``back_to`` and waits for the first
        # fetch from there (:meth:`_getmany`).
        await faust_aiokafka.Consumer.seek(self, tp, back_to)
        on_gap = getattr(self.app, "ews_on_offset_gap", None)
        if on_gap is not None:
            on_gap(tp.topic, offset - back_to)
        return True

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        records = await super()._getmany(active_partitions, timeout)
        guard = self.ews_guard
        # Stamped when fetched, before any await: a seek from here on makes them stale.
        self.ews_fetch_epochs = {tp: guard.epoch(tp) for tp in records}
        if guard.rewinding:
            for tp, fetched in records.items():
                if fetched:
                    guard.fetched(tp, fetched[0].offset)
        return records

    async def seek(self, partition: Any, offset: int) -> None:
        await super().seek(partition, offset)
        self.ews_guard.positioned(partition, offset)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed = await super().seek_to_committed()
        for tp, offset in committed.items():
            self.ews_guard.positioned(tp, offset or None)
        return committed

    async def committed_offsets(self, partitions: list[Any]) -> dict[Any, int | None]:
        """The group's committed offsets of ``partitions`` as the broker has them."""
        thread = cast(TunedConsumerThread, self._thread)
        return await thread.committed_offsets(partitions)

    async def _commit(self, offsets: Mapping[Any, int]) -> bool:
        """Commit, after the app's ``ews_before_commit`` (the worker writes the patient
        records changed since the last commit, streams/pending.py), unless the broker lost
        offsets this worker committed before.

        A broker that lost its state (a restart of a memory-only broker; on Kafka, deleted
        group offsets) may be refilled past this worker's fetch positions before the lost
        group shows: the worker then reads a different log from its old offsets, and a
        commit would make the skipped start of the new log look done (docs/reliability.md
        finding 1). Before each commit the broker is asked for the offsets this process
        committed earlier; any gone means the broker lost the group: no commit, and the app's
        ``ews_on_offsets_lost`` stops the worker loudly (a restart reads from what the broker
        has). One OffsetFetch per commit (every ``commit_interval``, 2.8 s by default).
        """
        known = self.ews_committed
        ours = [tp for tp in offsets if tp in known]
        if ours:
            try:
                on_broker = await self.committed_offsets(ours)
            except Exception:  # the commit below fails the same way, and is retried
                on_broker = {}
            lost = sorted(
                f"{tp.topic}[{tp.partition}]"
                for tp in ours
                if tp in on_broker and on_broker[tp] is None
            )
            if lost:
                on_lost = getattr(self.app, "ews_on_offsets_lost", None)
                if on_lost is not None:
                    on_lost(", ".join(lost))
                return False
        before = getattr(self.app, "ews_before_commit", None)
        if before is not None and not await before():
            return False  # the worker's state cannot be written: commit nothing (it stops)
        done = bool(await super()._commit(offsets))
        if done:
            known.update(offsets)
        return done


class CheckedProducer(faust_aiokafka.Producer):
    """Faust's producer whose ``flush`` also fails when a bulk output batch failed.

    Faust flushes the producer right before it commits input offsets; the checks registered
    on the app (``ews_flush_checks``, see ``streams.bulk.BulkSender.check``) raise there, so
    the commit does not happen and the worker crashes loudly instead.
    """

    async def flush(self) -> None:
        await super().flush()
        for check in getattr(self.app, "ews_flush_checks", ()):
            check()


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`TunedConsumer` and :class:`CheckedProducer`."""

    Consumer: ClassVar[type] = TunedConsumer
    Producer: ClassVar[type] = CheckedProducer


def register() -> None:
    """Make ``ewskafka://host:port`` broker URLs resolve to :class:`Transport`."""
    drivers.TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")

"""Watches the input partitions for the two ways a worker can stop silently.

**Rewinds.** Detects an input log that went backwards under the worker, which Faust would
ignore silently.

When a partition's log restarts below what the worker has read (a broker that lost its data,
Tansu restarting with in-memory storage; a topic deleted and re-created; an unclean leader
election), the consumer's fetch position falls back to the new log, but Faust drops every
message below the offset it last read and says so only at debug level: the worker looks
healthy and processes nothing (found by the broker-restart fault scenario, docs/reliability.md).

:class:`RewindWatch` compares, per assigned input partition, the consumer's fetch position with
Faust's last read offset. Normally the position (the next offset to fetch) is past the last
offset read, and right after Faust seeks to the committed offset the two are equal. A position
below the read offset, seen at two checks in a row with the read offset unchanged, means the
log went back: the worker must fail loudly so it restarts and reads the new log from its committed
offset, instead of dropping it. A consumer whose position is beyond the end of a log that
restarted shorter fetches nothing at all; that is caught the same way, from the log end the
fetch responses report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TopicPartition = tuple[str, int]


class RewindWatch:
    """Remembers suspicious partitions between checks (pure: no Kafka here)."""

    def __init__(self) -> None:
        self._suspect: dict[TopicPartition, tuple[str, int]] = {}

    def check(
        self,
        positions: Mapping[TopicPartition, int | None],
        read_offsets: Mapping[TopicPartition, int | None],
        highwaters: Mapping[TopicPartition, int | None] | None = None,
        committed: Mapping[TopicPartition, int | None] | None = None,
        log_ends: Mapping[TopicPartition, int | None] | None = None,
        broker_committed: Mapping[TopicPartition, int | None] | None = None,
    ) -> list[TopicPartition]:
        """Partitions whose log went back (confirmed at this check), in sorted order.

        Three signs, each confirmed by the next check: the fetch position below Faust's read
        offset with the read offset unchanged (Faust is dropping the new log's messages); the
        position beyond the log's end (``highwaters``, from fetch responses) without moving
        (the consumer waits past the end of a log that restarted shorter); or the log's end
        (``log_ends``, asked of the broker) below the offset the worker committed
        (``committed``): a log never shrinks below a commit unless it was lost; or no
        committed offset on the broker (``broker_committed``) for a partition the worker
        has committed: the broker lost the group's offsets, and with them, as a rule, the
        logs (a Kafka group's offsets do not expire while it has members).
        """
        suspect: dict[TopicPartition, tuple[str, int]] = {}
        confirmed: list[TopicPartition] = []
        for tp, position in positions.items():
            if position is None:
                continue
            read = read_offsets.get(tp)
            end = (highwaters or {}).get(tp)
            done = (committed or {}).get(tp)
            log_end = (log_ends or {}).get(tp)
            if read is not None and position < read:
                sign = ("behind", read)
            elif end is not None and position > end:
                sign = ("beyond", position)
            elif done is not None and log_end is not None and log_end < done:
                sign = ("truncated", done)
            elif done and broker_committed is not None and tp in broker_committed:
                if broker_committed[tp] is not None:
                    continue
                sign = ("offsets_lost", done)
            else:
                continue
            if self._suspect.get(tp) == sign:
                confirmed.append(tp)
            suspect[tp] = sign
        self._suspect = suspect
        return sorted(confirmed)

    def sign(self, tp: TopicPartition) -> str:
        """How a reported partition went back (``behind``, ``beyond``, ``truncated`` or
        ``offsets_lost``), with the offset behind that sign (for the log line)."""
        kind, offset = self._suspect[tp]
        return f"{kind} {offset}"


class ProgressWatch:
    """Input partitions with messages waiting and no progress for ``stall_ms`` (pure: no
    Kafka here; the caller gives the times and offsets)."""

    def __init__(self, stall_ms: int) -> None:
        self.stall_ms = stall_ms
        self._waiting: dict[TopicPartition, tuple[int | None, int]] = {}
        """Partition -> (committed offset when first seen waiting, since when)."""

    def reset(self) -> None:
        """Forget what was seen (a rebalance or a table recovery is not a stall)."""
        self._waiting.clear()

    def check(
        self,
        now_ms: int,
        committed: Mapping[TopicPartition, int | None],
        ends: Mapping[TopicPartition, int | None],
    ) -> list[TopicPartition]:
        """Partitions stalled at ``now_ms``, in sorted order.

        ``committed``: the group's committed offset (the next message to process; ``None``
        before the first commit); ``ends``: the log end offsets. A partition waits while its
        end is beyond its committed offset; it has stalled once it has waited ``stall_ms``
        with the committed offset unchanged.
        """
        waiting: dict[TopicPartition, tuple[int | None, int]] = {}
        stalled: list[TopicPartition] = []
        for tp, end in ends.items():
            done = committed.get(tp)
            if end is None or end <= (done or 0):
                continue
            seen = self._waiting.get(tp)
            since = seen[1] if seen is not None and seen[0] == done else now_ms
            waiting[tp] = (done, since)
            if now_ms - since >= self.stall_ms:
                stalled.append(tp)
        self._waiting = waiting
        return sorted(stalled)


async def input_positions(
    consumer: Any, topics: set[str]
) -> tuple[
    dict[TopicPartition, int | None],
    dict[TopicPartition, int | None],
    dict[TopicPartition, int | None],
]:
    """Fetch positions, Faust's last read offsets and the last known log ends (from fetch
    responses) of the assigned partitions of ``topics`` (Faust 0.15: ``Consumer.position``,
    ``Consumer.highwater`` and the consumer's ``_read_offset``)."""
    positions: dict[TopicPartition, int | None] = {}
    reads: dict[TopicPartition, int | None] = {}
    ends: dict[TopicPartition, int | None] = {}
    read_offset = consumer._read_offset
    for tp in consumer.assignment():
        if tp.topic in topics:
            key = (tp.topic, tp.partition)
            positions[key] = await consumer.position(tp)
            reads[key] = read_offset.get(tp)
            ends[key] = consumer.highwater(tp)
    return positions, reads, ends

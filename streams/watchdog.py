"""Detects an input log that went backwards under the worker, which Faust would ignore silently.

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
offset, instead of dropping it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TopicPartition = tuple[str, int]


class RewindWatch:
    """Remembers suspicious partitions between checks (pure: no Kafka here)."""

    def __init__(self) -> None:
        self._suspect: dict[TopicPartition, int] = {}

    def check(
        self,
        positions: Mapping[TopicPartition, int | None],
        read_offsets: Mapping[TopicPartition, int | None],
    ) -> list[TopicPartition]:
        """Partitions whose log went back (confirmed at this check), in sorted order."""
        suspect: dict[TopicPartition, int] = {}
        confirmed: list[TopicPartition] = []
        for tp, position in positions.items():
            read = read_offsets.get(tp)
            if position is None or read is None or position >= read:
                continue
            if self._suspect.get(tp) == read:
                confirmed.append(tp)
            suspect[tp] = read
        self._suspect = suspect
        return sorted(confirmed)


async def input_positions(
    consumer: Any, topics: set[str]
) -> tuple[dict[TopicPartition, int | None], dict[TopicPartition, int | None]]:
    """Fetch positions and Faust's last read offsets of the assigned partitions of ``topics``
    (Faust 0.15: ``Consumer.position`` and the consumer's ``_read_offset``)."""
    positions: dict[TopicPartition, int | None] = {}
    reads: dict[TopicPartition, int | None] = {}
    read_offset = consumer._read_offset
    for tp in consumer.assignment():
        if tp.topic in topics:
            key = (tp.topic, tp.partition)
            positions[key] = await consumer.position(tp)
            reads[key] = read_offset.get(tp)
    return positions, reads

"""Faust's aiokafka transport with a configurable fetch wait and a checked producer flush.

Faust fixes ``fetch_max_wait_ms`` at 1500 ms for worker consumers. On brokers that do not
answer a waiting fetch early when data arrives (Tansu, see broker-notes.md) every hop then
costs about half of that; on Kafka a shorter wait only means more, smaller fetches. The wait
comes from ``EWS_FETCH_MAX_WAIT_MS`` via the app attribute ``ews_fetch_max_wait_ms``.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "ewskafka"


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
    """Faust aiokafka consumer using :class:`TunedConsumerThread`."""

    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def committed_offsets(self, partitions: list[Any]) -> dict[Any, int | None]:
        """The group's committed offsets of ``partitions`` as the broker has them."""
        thread = cast(TunedConsumerThread, self._thread)
        return await thread.committed_offsets(partitions)


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

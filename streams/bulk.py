"""Per-batch bulk output: one Kafka record batch per partition instead of one send per record.

Faust's ``send_soon`` costs a future, a buffer entry and an aiokafka ``send`` per record;
with one canonical record per input message and one state write per patient per batch, that
was most of a worker's CPU (docs/performance.md). :class:`BulkSender` fills aiokafka
``BatchBuilder``s per (topic, partition) with a batch's records and submits each with
``send_batch``; :meth:`BulkSender.submit` returns a future done when the broker has them.

- At-least-once: a batch's outputs are on the broker before its inputs are acknowledged to
  Faust (the pipeline agent acknowledges them on that future, while it processes the next
  batch: the produce round trip no longer holds up the pipeline); a failed batch stops the
  worker loudly, its inputs not committed. ``streams.transport.CheckedProducer`` also fails
  Faust's commit-time flush after a failed batch, as a second line.
- Partitions are what Faust's producer would choose: the default partitioner (murmur2 of the
  key, as the Java client and kafka-python), so downstream consumers see the usual keying;
  table changelog records go to the partition given (the patient's input partition).

It uses Faust's own aiokafka producer (``app.producer``), so TLS/SASL, linger and batch-size
settings apply unchanged (with ``producer_max_batch_size=1`` every record is its own batch,
which Tansu's exact table recovery needs). Written against faust-streaming 0.15.3 / aiokafka
0.14.0 (pinned); ``producer_of`` is the one place that reaches into Faust's producer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka.partitioner import murmur2
from faust.types import TP

_MAX_CACHED_KEYS = 200_000


class Partitioner:
    """Kafka's default key partitioner (murmur2), memoized per key and partition count."""

    def __init__(self) -> None:
        self._cache: dict[tuple[bytes, int], int] = {}

    def __call__(self, key: bytes, partitions: int) -> int:
        cached = self._cache.get((key, partitions))
        if cached is None:
            if len(self._cache) >= _MAX_CACHED_KEYS:
                self._cache.clear()
            cached = (murmur2(key) & 0x7FFFFFFF) % partitions
            self._cache[(key, partitions)] = cached
        return cached


def producer_of(app: Any) -> Callable[[], Any]:
    """A getter of the started aiokafka producer behind a Faust app's producer (looked up
    at send time: the producer exists only once the app runs)."""

    def get() -> Any:
        return app.producer._ensure_producer()

    return get


def changelog_written(table: Any) -> Callable[[str, int, int], None]:
    """An ``on_written`` for a :class:`BulkSender` that carries ``table``'s changelog records:
    what Faust's own changelog callback does, so RocksDB records how far its data goes and a
    restart recovers only the rest of the changelog (records of other topics are ignored)."""
    name = table.changelog_topic.get_topic_name()

    def written(topic: str, partition: int, offset: int) -> None:
        if topic == name:
            table.data.set_persisted_offset(TP(topic, partition), offset)

    return written


class BulkSender:
    """Collects one batch's records, then sends them in per-partition batches and awaits them.

    One instance lives as long as the worker (it remembers topic partition counts); records
    of one batch are queued with :meth:`add` and sent together by :meth:`send`.
    """

    def __init__(
        self,
        producer: Callable[[], Any],
        on_written: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self._producer = producer
        self.on_written = on_written
        self._failed: BaseException | None = None
        self._in_flight: list[asyncio.Future[Any]] = []
        self._partition = Partitioner()
        self._partitions: dict[str, int] = {}
        self._records: dict[str, list[tuple[int | None, bytes, bytes]]] = {}

    def add(self, topic: str, key: bytes, value: bytes, partition: int | None = None) -> None:
        """Queue one record; ``partition`` ``None``: by key, as Kafka's default partitioner."""
        self._records.setdefault(topic, []).append((partition, key, value))

    def __len__(self) -> int:
        return sum(len(r) for r in self._records.values())

    async def send(self) -> None:
        """Send every queued record in per-partition batches and wait for the broker (for
        these and for every record submitted before).

        Raises :class:`BulkSendError` if a batch failed (after aiokafka's own retries).
        ``on_written(topic, partition, offset)`` hears the last offset of each batch written.
        """
        await self.submit()
        await self.wait()

    async def wait(self) -> None:
        """Wait until the broker has every record submitted so far; raises
        :class:`BulkSendError` if a batch failed."""
        in_flight, self._in_flight = self._in_flight, []
        await self.wait_for(in_flight)

    def in_flight(self) -> list[asyncio.Future[Any]]:
        """The record batches submitted and not yet known to be on the broker."""
        self._in_flight = [f for f in self._in_flight if not f.done()]
        return self._in_flight.copy()

    async def wait_for(self, futures: list[asyncio.Future[Any]]) -> None:
        """Wait until the broker has ``futures`` (from :meth:`in_flight`); raises
        :class:`BulkSendError` if a batch failed."""
        await asyncio.gather(*futures, return_exceptions=True)
        self.check()

    async def submit(self) -> asyncio.Future[None]:
        """Send every queued record in per-partition batches without waiting for the broker.

        Returns a future that is done when the broker has them all (raising
        :class:`BulkSendError` if a batch failed): the pipeline agent acknowledges a batch's
        inputs on it while it already processes the next batch.
        """
        self.check()
        futures = await self._submit_queued()
        self._in_flight = [*self.in_flight(), *futures]
        return asyncio.ensure_future(self.wait_for(futures))

    async def _submit_queued(self) -> list[asyncio.Future[Any]]:
        records, self._records = self._records, {}
        if not records:
            return []
        producer = self._producer()
        futures: list[asyncio.Future[Any]] = []
        by_tp: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        for topic, items in records.items():
            count = self._partitions.get(topic)
            if count is None and any(partition is None for partition, _, _ in items):
                count = self._partitions[topic] = len(await producer.partitions_for(topic))
            for given, key, value in items:
                if given is None:
                    assert count is not None
                    partition = self._partition(key, count)
                else:
                    partition = given
                by_tp.setdefault((topic, partition), []).append((key, value))
        for (topic, partition), tp_items in by_tp.items():
            batch, count = producer.create_batch(), 0
            for key, value in tp_items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    # Full: submit it; an empty batch always takes one record, whatever size.
                    futures.append(await self._submit(producer, batch, topic, partition, count))
                    batch, count = producer.create_batch(), 0
                    batch.append(key=key, value=value, timestamp=None)
                count += 1
            futures.append(await self._submit(producer, batch, topic, partition, count))
        return futures

    def check(self) -> None:
        """Raise :class:`BulkSendError` if a submitted batch failed."""
        if self._failed is not None:
            raise BulkSendError(f"a bulk output batch was not written: {self._failed!r}")

    async def _submit(
        self, producer: Any, batch: Any, topic: str, partition: int, n: int
    ) -> asyncio.Future[Any]:
        batch.close()
        fut: asyncio.Future[Any] = await producer.send_batch(batch, topic, partition=partition)
        fut.add_done_callback(lambda f: self._done(f, topic, partition, n))
        return fut

    def _done(self, fut: asyncio.Future[Any], topic: str, partition: int, n: int) -> None:
        if fut.cancelled():
            self._failed = self._failed or asyncio.CancelledError()
        elif (exc := fut.exception()) is not None:
            self._failed = self._failed or exc
        elif self.on_written is not None:
            # A batch's metadata carries the offset of its first record.
            self.on_written(topic, partition, fut.result().offset + n - 1)


class BulkSendError(Exception):
    """A bulk output batch failed after the producer's retries: the worker must stop before
    committing the inputs behind it."""

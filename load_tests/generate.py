"""Load generator: pre-encoded messages into an input topic, at a rate or as fast as possible.

Messages are encoded before timing starts (see :mod:`load_tests.workload`) and split by
Kafka partition over several producer processes: each partition is written by one producer
only, so one patient's messages keep their order, while the producers together outrun the
worker (kafka-python alone tops out near 40k messages/s here). One writer per partition also
keeps clear of a Tansu 0.6.0 race: it raises a partition's high watermark before it stores the
batch, so a fetch during two overlapping produces from different connections can be answered
with the later batch only, and the consumer moves past the earlier one for good
(docs/performance.md, "Broker quirks"). Every send loop is bounded by its message list and by
a deadline; the producers' achieved rate and every delivery the broker refused are reported,
so that a slow producer can never pass for a slow pipeline nor a refused send for a lost one.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Event as MpEvent

from kafka import KafkaConsumer, KafkaProducer

from ews.settings import Settings
from load_tests.workload import TIME_TOKEN, Format, Workload, build
from streams.bulk import Partitioner
from streams.publish import FailedSends, ensure_topics

Message = tuple[str, bytes]
Addressed = tuple[str, bytes, int]
"""A message and the partition it goes to."""


@dataclass(frozen=True, slots=True)
class ProduceStats:
    """What the producers achieved."""

    sent: int
    """Messages handed to the producers (each either delivered or counted in ``failed``)."""
    seconds: float
    """From the common start to the last producer's flush."""
    failed: int = 0
    """Sends the broker refused (a non-retriable error): never on the topic."""

    @property
    def delivered(self) -> int:
        return self.sent - self.failed

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def shard(messages: Sequence[Message], n: int, partitions: int) -> list[list[Addressed]]:
    """Split by Kafka partition (the default key partitioner's): every partition has one
    writer, and each shard keeps the messages' order (so each patient's). The largest
    partitions are placed first, each on the shard with the fewest messages so far, so that
    no producer has much more to send than the others."""
    partition_of = Partitioner()
    addressed = [(key, value, partition_of(key.encode(), partitions)) for key, value in messages]
    sizes = Counter(p for _, _, p in addressed)
    load = [0] * n
    owner: dict[int, int] = {}
    for p, size in sizes.most_common():
        owner[p] = load.index(min(load))
        load[owner[p]] += size
    shards: list[list[Addressed]] = [[] for _ in range(n)]
    for message in addressed:
        shards[owner[message[2]]].append(message)
    return shards


def topic_partitions(bootstrap: str, topic: str) -> int:
    """The partition count of an existing topic."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        found = consumer.partitions_for_topic(topic)
    finally:
        consumer.close()
    if not found:
        raise ValueError(f"topic {topic} does not exist: create it first (ensure_topics)")
    return len(found)


def _send_loop(
    producer: KafkaProducer,
    topic: str,
    messages: Sequence[Addressed],
    rate: float | None,
    deadline: float,
    stamp: bool,
    failures: FailedSends,
) -> int:
    """Send ``messages`` paced at ``rate``/s (``None``: flat out) until done or ``deadline``."""
    start = time.monotonic()
    sent = 0
    total = len(messages)
    while sent < total:
        now = time.monotonic()
        if now >= deadline:
            break
        # Catch up to where the schedule says we should be, then yield the CPU briefly:
        # sleeping per message cannot keep thousands of messages/s.
        due = total if rate is None else min(total, int((now - start) * rate) + 1)
        while sent < due:
            key, value, partition = messages[sent]
            if stamp:
                value = value.replace(TIME_TOKEN, b"%d" % int(time.time() * 1000))
            future = producer.send(topic, key=key.encode(), value=value, partition=partition)
            future.add_errback(failures)
            sent += 1
            if rate is None and sent % 4096 == 0 and time.monotonic() >= deadline:
                break
        if rate is not None:
            time.sleep(0.002)
    return sent


def _child(
    bootstrap: str,
    topic: str,
    messages: list[Addressed],
    rate: float | None,
    duration_s: float,
    stamp: bool,
    linger_ms: int,
    go: MpEvent,
    results: mp.Queue[tuple[int, int, float]],
) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=linger_ms,
        batch_size=262_144,
        acks=1,
        max_request_size=4_194_304,
    )
    try:
        go.wait(timeout=120)
        deadline = time.monotonic() + duration_s
        failures = FailedSends()
        sent = _send_loop(producer, topic, messages, rate, deadline, stamp, failures)
        producer.flush(timeout=60)
        results.put((sent, failures.count, time.time()))
    finally:
        producer.close(timeout=5)


def produce(
    bootstrap: str,
    topic: str,
    messages: Sequence[Message],
    *,
    processes: int = 2,
    rate: float | None = None,
    duration_s: float = 300.0,
    stamp_send_time: bool = False,
    linger_ms: int = 5,
) -> ProduceStats:
    """Send ``messages`` to the full topic name ``topic`` (which must exist); returns the
    producers' figures.

    Each producer process writes whole partitions (:func:`shard`); there are at most as many
    processes as partitions. ``rate`` (messages/s over all producers, each paced by its share
    of the messages) paces the send; ``None`` sends flat out.
    ``stamp_send_time`` writes the wall clock at send into each message's event time
    (:data:`load_tests.workload.TIME_TOKEN`), for the latency probe. ``linger_ms`` is the
    producers' batching wait (Kafka's default is 5 ms; see docs/performance.md for what it
    does to the memory-only test broker).
    """
    ctx = mp.get_context("spawn")  # no inherited client sockets or threads
    go = ctx.Event()
    results: mp.Queue[tuple[int, int, float]] = ctx.Queue()
    parts = [p for p in shard(messages, processes, topic_partitions(bootstrap, topic)) if p]
    procs = [
        ctx.Process(
            target=_child,
            args=(
                bootstrap,
                topic,
                part,
                rate * len(part) / len(messages) if rate else None,
                duration_s,
                stamp_send_time,
                linger_ms,
                go,
                results,
            ),
            daemon=True,
        )
        for part in parts
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # the children import kafka-python and connect before the common start
    started = time.time()
    go.set()
    outcomes = [results.get(timeout=duration_s + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    sent = sum(n for n, _, _ in outcomes)
    failed = sum(f for _, f, _ in outcomes)
    return ProduceStats(sent, max((t for _, _, t in outcomes), default=started) - started, failed)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m load_tests.generate``: send a workload to a running broker."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", required=True, help="host:port (loopback)")
    ap.add_argument("--topic-prefix", default="ews")
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--obs", type=int, default=1, help="observations per message")
    ap.add_argument("--format", choices=("json", "fhir", "hl7v2"), default="json")
    ap.add_argument("--interval-s", type=float, default=1.0, help="cadence per patient")
    ap.add_argument("--rate", type=float, default=None, help="messages/s (default: flat out)")
    ap.add_argument("--duration", type=float, default=120.0, help="stop sending after (s)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--linger-ms", type=int, default=5, help="producer batching wait")
    args = ap.parse_args(argv)
    fmt: Format = args.format
    workload = Workload(
        patients=args.patients,
        messages=args.messages,
        obs_per_message=args.obs,
        fmt=fmt,
        interval_s=args.interval_s,
    )
    messages = build(workload)
    # The service's topics at its partition count (EWS_TOPIC_PARTITIONS), as a worker would.
    settings = Settings(bootstrap_servers=args.bootstrap, topic_prefix=args.topic_prefix)
    ensure_topics(settings)
    topic = settings.topic(workload.topic)
    stats = produce(
        args.bootstrap,
        topic,
        messages,
        processes=args.processes,
        rate=args.rate,
        duration_s=args.duration,
        linger_ms=args.linger_ms,
    )
    print(
        f"sent {stats.sent} messages to {topic} in {stats.seconds:.2f} s ({stats.rate:,.0f}/s), "
        f"{stats.failed} refused by the broker"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

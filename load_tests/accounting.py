"""Reading the worker's outputs back and accounting for every input message.

Each input message yields one canonical record or one or more dead letters, and both carry
``input`` = [topic, partition, offset]. An input is *accounted for* when some output names it;
any input offset that no output names is *lost*, and the harness fails loudly on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field

import msgspec
from aiokafka import AIOKafkaConsumer


class _Ev(msgspec.Struct):
    time_ms: int = 0


class _Out(msgspec.Struct):
    """Only the fields the harness needs from a canonical record or a dead letter."""

    input: tuple[str, int, int] | None = None
    events: list[_Ev] = []


_decoder = msgspec.json.Decoder(_Out)


class LostMessagesError(AssertionError):
    """Some input messages have no output at all."""


@dataclass(slots=True)
class Accounting:
    """Which inputs of one topic the outputs account for, and when they were produced."""

    input_topic: str
    expected: int
    seen: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    """partition -> input offsets named by some output."""
    first_ts: dict[tuple[int, int], int] = field(default_factory=dict)
    """(partition, offset) -> broker timestamp (ms) of the first output naming it."""
    records: int = 0
    foreign: int = 0
    """Outputs naming another topic or none (must stay 0 in a load test)."""

    def add(self, value: bytes, timestamp_ms: int) -> None:
        out = _decoder.decode(value)
        self.records += 1
        if out.input is None or out.input[0] != self.input_topic:
            self.foreign += 1
            return
        _, partition, offset = out.input
        self.seen[partition].add(offset)
        self.first_ts.setdefault((partition, offset), timestamp_ms)

    @property
    def accounted(self) -> int:
        return sum(len(s) for s in self.seen.values())

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.accounted)

    def missing(self, limit: int = 10) -> list[tuple[int, int]]:
        """Some (partition, offset) gaps below the highest offset seen per partition."""
        gaps: list[tuple[int, int]] = []
        for partition, offsets in sorted(self.seen.items()):
            for o in range(max(offsets) + 1):
                if o not in offsets:
                    gaps.append((partition, o))
                    if len(gaps) >= limit:
                        return gaps
        return gaps

    def check(self) -> None:
        """Raise :class:`LostMessagesError` unless every expected input is accounted for."""
        if self.lost or self.accounted > self.expected:
            raise LostMessagesError(
                f"{self.input_topic}: {self.expected} inputs sent, {self.accounted} accounted "
                f"for, {self.lost} lost (gaps e.g. {self.missing()})"
            )

    def sustained_rate(self) -> tuple[float, float]:
        """(inputs/s, seconds) from the first to the last output timestamp.

        The inputs finished in the first output batch are not counted: their processing
        time lies before the first timestamp.
        """
        if not self.first_ts:
            return 0.0, 0.0
        stamps = list(self.first_ts.values())
        t0, t1 = min(stamps), max(stamps)
        after = sum(1 for t in stamps if t > t0)
        seconds = (t1 - t0) / 1000
        return (after / seconds if seconds > 0 else 0.0), seconds


async def read_outputs(
    bootstrap: str,
    topics: list[str],
    accounting: Accounting,
    *,
    timeout_s: float = 120.0,
    idle_s: float = 10.0,
) -> Accounting:
    """Read ``topics`` from the start into ``accounting`` until complete, idle or timed out."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=4 * 1_048_576,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        last_new = time.monotonic()
        while time.monotonic() < deadline and accounting.accounted < accounting.expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for records in batches.values():
                for r in records:
                    accounting.add(r.value, r.timestamp)
                last_new = time.monotonic()
            if time.monotonic() - last_new > idle_s:
                break
    finally:
        await consumer.stop()
    return accounting


def account(
    bootstrap: str,
    prefix: str,
    input_logical: str,
    expected: int,
    *,
    timeout_s: float = 120.0,
    idle_s: float = 10.0,
) -> Accounting:
    """Account for ``expected`` inputs of ``<prefix>.<input_logical>`` on canonical + DLQ."""
    acc = Accounting(f"{prefix}.{input_logical}", expected)
    topics = [f"{prefix}.canonical", f"{prefix}.deadletter"]
    return asyncio.run(read_outputs(bootstrap, topics, acc, timeout_s=timeout_s, idle_s=idle_s))


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (``VmRSS`` of /proc/<pid>/status; 0 if gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def metric_total(text: str, name: str) -> float:
    """Sum of every sample of metric ``name`` in a Prometheus text exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total

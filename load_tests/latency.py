"""Latency probe: event time to output, at a fixed input rate, bounded in time.

Every probe message's event time is the wall clock at send (the producer replaces
:data:`load_tests.workload.TIME_TOKEN` just before sending). A consumer in this process reads
the output topic and records, for each output, its arrival wall clock minus the newest event
time it carries. Until the alerts topic exists the output is the canonical record of each
message; ``output="alerts"`` switches the probe to ``<prefix>.alerts`` (then the probe's
values must be ones that raise alerts, and every integer field named ``*time_ms`` or
``at_ms`` in an alert is taken as its event time).

:func:`run_broker_floor` is the same probe without a worker: the consumer reads the input
topic itself, so its figures are what the broker and the clients alone cost at that rate (one
hop; the pipeline has two), measured in the same run as the pipeline's.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from aiokafka import AIOKafkaConsumer

from ews.settings import Settings
from load_tests.generate import ProduceStats, produce
from load_tests.worker_run import worker_env
from load_tests.workload import Workload, build
from streams.process import WorkerProcess
from streams.publish import ensure_topics

_json = msgspec.json.Decoder()


@dataclass(slots=True)
class LatencyResult:
    """Latencies (ms) of every output seen, and the producer's figures."""

    rate: float
    duration_s: float
    output: str
    linger_ms: int = 5
    """The load producers' batching wait."""
    latencies_ms: list[float] = field(default_factory=list)
    produced: ProduceStats | None = None

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def _times(node: Any) -> Iterator[int]:
    """Every event-time-like integer in a decoded JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, int) and (key.endswith("time_ms") or key == "at_ms"):
                yield value
            else:
                yield from _times(value)
    elif isinstance(node, list):
        for item in node:
            yield from _times(item)


def event_time_ms(value: bytes) -> int | None:
    """The newest event time an output carries (canonical record or alert)."""
    times = list(_times(_json.decode(value)))
    return max(times) if times else None


async def _collect(
    bootstrap: str, topic: str, result: LatencyResult, expected: list[int], stop_at: float
) -> None:
    """Read ``topic`` until ``expected[0]`` outputs (the producers set it to what the broker
    took once done) or ``stop_at``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # A short wait: on Tansu a waiting fetch is answered only when it expires, so the
        # probe's own read adds about half of this to every figure (broker-notes.md, 3).
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        while time.monotonic() < stop_at and len(result.latencies_ms) < expected[0]:
            batches = await consumer.getmany(timeout_ms=200)
            now_ms = time.time() * 1000
            for records in batches.values():
                for r in records:
                    t = event_time_ms(r.value)
                    if t is not None:
                        result.latencies_ms.append(now_ms - t)
    finally:
        await consumer.stop()


async def _probe(
    bootstrap: str,
    topic: str,
    workload: Workload,
    input_topic: str,
    rate: float,
    duration_s: float,
    result: LatencyResult,
) -> None:
    messages = build(workload, stamp_with_token=True)
    expected = [10**9 if result.output == "alerts" else len(messages)]
    # Drain time after the last send: enough to see a backlog, bounded all the same.
    stop_at = time.monotonic() + duration_s + 30
    collector = asyncio.create_task(_collect(bootstrap, topic, result, expected, stop_at))
    result.produced = await asyncio.to_thread(
        produce,
        bootstrap,
        input_topic,
        messages,
        rate=rate,
        duration_s=duration_s,
        stamp_send_time=True,
        linger_ms=result.linger_ms,
    )
    if result.output != "alerts":
        expected[0] = result.produced.delivered
    await collector


def run_latency(
    bootstrap: str,
    workdir: Path,
    *,
    rate: float = 5000.0,
    duration_s: float = 60.0,
    obs_per_message: int = 1,
    partitions: int = 8,
    store: str = "memory://",
    output: str = "canonical",
    label: str = "lat",
    linger_ms: int = 5,
) -> LatencyResult:
    """Start a worker, feed it ``rate`` messages/s for ``duration_s``, measure latencies."""
    prefix = f"lt{os.getpid()}{label}"
    workload = _probe_workload(rate, duration_s, obs_per_message)
    settings = Settings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, topic_partitions=partitions
    )
    ensure_topics(settings, extra=("alerts",) if output == "alerts" else ())
    env = worker_env(bootstrap, prefix, workdir, partitions, store)
    worker = WorkerProcess(env, log_path=workdir / f"worker-{label}.log").start()
    result = LatencyResult(rate, duration_s, output, linger_ms)
    try:
        worker.wait_ready(timeout_s=120)
        asyncio.run(
            _probe(
                bootstrap,
                settings.topic(output),
                workload,
                settings.topic(workload.topic),
                rate,
                duration_s,
                result,
            )
        )
    finally:
        worker.stop()
    return result


def _probe_workload(rate: float, duration_s: float, obs_per_message: int) -> Workload:
    signals = 8 if obs_per_message <= 8 else 1
    # Patients at 1 Hz: each sends its frame's observations as rate/patients messages/s.
    patients = max(1, int(rate * obs_per_message / signals))
    return Workload(
        patients=patients,
        messages=int(rate * duration_s),
        obs_per_message=obs_per_message,
        prefix="probe",
    )


def run_broker_floor(
    bootstrap: str,
    *,
    rate: float = 5000.0,
    duration_s: float = 60.0,
    obs_per_message: int = 1,
    partitions: int = 8,
    linger_ms: int = 5,
    label: str = "floor",
) -> LatencyResult:
    """The probe with no worker: send time to the input record read back (one broker hop)."""
    settings = Settings(
        bootstrap_servers=bootstrap,
        topic_prefix=f"lt{os.getpid()}{label}",
        topic_partitions=partitions,
    )
    ensure_topics(settings)
    workload = _probe_workload(rate, duration_s, obs_per_message)
    topic = settings.topic(workload.topic)
    result = LatencyResult(rate, duration_s, "input (no worker)", linger_ms)
    asyncio.run(_probe(bootstrap, topic, workload, topic, rate, duration_s, result))
    return result

"""Baselines measured in the same run as the pipeline, on the same pre-produced topic.

- ``raw``: a plain aiokafka ``getmany`` loop: the most the broker and client can deliver.
- ``faust-empty``: a Faust agent that only counts: the floor Faust itself costs.
- ``faust-table``: a naive Faust worker that updates a table (changelogged) per message.

Each runs as its own child process (``python -m load_tests.baselines MODE ...``), like the
worker, with the worker's broker settings (10 s session timeout, the fetch wait applied the
way streams/transport.py does, earliest offset reset). The child writes a JSON result when it
has consumed the expected count, or when its time limit is reached, and the parent stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load_tests.accounting import rss_kb

MODES = ("raw", "faust-empty", "faust-table")


@dataclass(frozen=True, slots=True)
class ConsumeResult:
    """A baseline's figures: messages, first/last consume times, first batch size, RSS."""

    mode: str
    count: int
    seconds: float
    first_batch: int
    rss_kb: int

    @property
    def rate(self) -> float:
        """Sustained messages/s (first batch excluded, as for the pipeline)."""
        n = self.count - self.first_batch
        return n / self.seconds if self.seconds > 0 else 0.0


class _Counter:
    """Counts consumed messages and writes the result file once ``expected`` is reached."""

    def __init__(self, mode: str, expected: int, out: Path) -> None:
        self.mode, self.expected, self.out = mode, expected, out
        self.count = 0
        self.first = 0.0
        self.first_batch = 0
        self.last = 0.0

    def add(self, n: int) -> bool:
        """Count ``n`` messages consumed now; True once everything expected is in."""
        now = time.monotonic()
        if self.count == 0:
            self.first, self.first_batch = now, n
        self.count += n
        self.last = now
        if self.count >= self.expected:
            self.write()
            return True
        return False

    def write(self) -> None:
        result = {
            "mode": self.mode,
            "count": self.count,
            "seconds": self.last - self.first,
            "first_batch": self.first_batch,
            "rss_kb": rss_kb(os.getpid()),
        }
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        tmp.replace(self.out)  # atomic: the parent never reads half a file


async def _raw(args: argparse.Namespace, counter: _Counter) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=f"{args.app_id}-raw",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=args.fetch_max_wait_ms,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            # At most one pipeline batch (500) per call, so that the first call does not
            # swallow a small topic whole and leave no time span to measure.
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            n = sum(len(records) for records in batches.values())
            if n and counter.add(n):
                return
    finally:
        await consumer.stop()


def _faust_app(args: argparse.Namespace) -> Any:
    import faust

    from streams import transport

    class _App(faust.App):
        ews_fetch_max_wait_ms: int | None = None

    transport.register()
    app = _App(
        f"{args.app_id}-{args.mode}",
        broker=f"{transport.SCHEME}://{args.bootstrap}",
        store=args.store,
        datadir=args.data_dir,
        topic_partitions=args.partitions,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    app.ews_fetch_max_wait_ms = args.fetch_max_wait_ms
    return app


def _run_faust(args: argparse.Namespace, counter: _Counter) -> None:
    from ews.logs import faust_worker

    app = _faust_app(args)
    topic = app.topic(args.topic, key_serializer="raw", value_serializer="raw")
    table = (
        app.Table("counts", default=int, partitions=args.partitions, key_type=bytes)
        if args.mode == "faust-table"
        else None
    )

    async def agent(stream: Any) -> None:
        # A plain coroutine agent (no ``yield``): nothing is forwarded to sinks or replies.
        async for event in stream.events():
            if table is not None:
                # The naive way: one table read and one changelogged write per message.
                table[event.key] = table[event.key] + 1
            counter.add(1)

    app.agent(topic, name="bench")(agent)

    async def deadline_check() -> None:
        if time.monotonic() > args.started + args.timeout:
            counter.write()  # partial result: the parent sees count < expected

    app.timer(interval=1.0)(deadline_check)

    # As the measured worker starts (no spinner: see ews.logs.faust_worker).
    faust_worker(app, "warning").execute_from_commandline()


def child_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of a baseline child process."""
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=MODES)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--expect", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--app-id", default="lt-baseline")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--store", default="memory://")
    ap.add_argument("--data-dir", default="var/load-tests/baseline-data")
    ap.add_argument("--fetch-max-wait-ms", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args(argv)
    args.started = time.monotonic()
    counter = _Counter(args.mode, args.expect, args.out)
    if args.mode == "raw":
        asyncio.run(_raw(args, counter))
        if counter.count < args.expect:
            counter.write()
        return 0
    _run_faust(args, counter)
    return 0


def run_baseline(
    mode: str,
    bootstrap: str,
    topic: str,
    expected: int,
    workdir: Path,
    *,
    partitions: int,
    store: str = "memory://",
    fetch_max_wait_ms: int = 50,
    timeout_s: float = 180.0,
) -> ConsumeResult:
    """Run one baseline child on ``topic`` until it consumed ``expected`` messages."""
    out = workdir / f"baseline-{mode}.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "load_tests.baselines",
        mode,
        f"--bootstrap={bootstrap}",
        f"--topic={topic}",
        f"--expect={expected}",
        f"--out={out}",
        f"--app-id=lt-{os.getpid()}-{int(time.time())}",
        f"--partitions={partitions}",
        f"--store={store}",
        f"--data-dir={workdir / f'data-{mode}'}",
        f"--fetch-max-wait-ms={fetch_max_wait_ms}",
        f"--timeout={timeout_s}",
    ]
    with (workdir / f"baseline-{mode}.log").open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s + 60
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if not out.exists():
            raise RuntimeError(f"baseline {mode} gave no result; see {workdir}/baseline-*.log")
        data = json.loads(out.read_text())
    finally:
        _stop(proc)
    return ConsumeResult(
        data["mode"], data["count"], data["seconds"], data["first_batch"], data["rss_kb"]
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group; SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(child_main())

"""One measured run of the real worker (``ews worker``) on a workload.

The worker is started exactly as deployed (:class:`streams.process.WorkerProcess`, settings
from ``EWS_*``) on empty topics under a fresh prefix; its RSS is read once it is ready (the
"~0 patients" figure) and it is stopped. The workload is then produced flat out, and a worker
with the same settings starts on the filled topic, as the baselines read it: the producers
(two processes on the same two cores) took half the machine while they ran, and, producing
alongside, the worker was measured at about 60% of one core (session 5: 2,751 msg/s of
8-observation frames against 3,556 msg/s on the filled topic, same code). The run ends when
the worker's own counter says every input was handled, or when it stalls or times out. Every
input offset must then be named by an output on the canonical or dead-letter topic, or the
run fails loudly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ews.settings import Settings
from load_tests.accounting import Accounting, account, metric_total, rss_kb
from load_tests.generate import Message, ProduceStats, produce
from load_tests.workload import Workload
from streams.process import WorkerProcess
from streams.publish import ensure_topics


@dataclass(frozen=True, slots=True)
class WorkerFigures:
    """What one pipeline run measured."""

    label: str
    input_topic: str
    """Full name of the input topic (the baselines read the same data)."""
    messages: int
    observations: int
    patients: int
    rate: float
    """Sustained input messages/s (first to last output timestamp)."""
    seconds: float
    rss_ready_kb: int
    rss_end_kb: int
    hwm_kb: int
    lost: int
    produced: ProduceStats

    @property
    def obs_rate(self) -> float:
        return self.rate * self.observations / self.messages if self.messages else 0.0


def worker_env(
    bootstrap: str, prefix: str, workdir: Path, partitions: int, store: str
) -> dict[str, str]:
    """The ``EWS_*`` environment of a measured worker (defaults otherwise)."""
    return {
        "EWS_BOOTSTRAP_SERVERS": bootstrap,
        "EWS_APP_ID": f"{prefix}-app",
        "EWS_TOPIC_PREFIX": prefix,
        "EWS_TOPIC_PARTITIONS": str(partitions),
        "EWS_STORE": store,
        "EWS_DATA_DIR": str(workdir / f"{prefix}-data"),
        "EWS_SESSION_TIMEOUT_S": "10",
        "EWS_LOG_LEVEL": "WARNING",
    }


def hwm_kb(pid: int) -> int:
    """Peak resident set size (``VmHWM``) of a process in KiB; 0 if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def wait_handled(worker: WorkerProcess, expected: int, timeout_s: float, stall_s: float) -> int:
    """Poll the worker's ``ews_ingest_messages_total`` until ``expected``; the last value."""
    deadline = time.monotonic() + timeout_s
    handled, last_change = 0, time.monotonic()
    while time.monotonic() < deadline and worker.alive:
        status, body = worker.get("/metrics", timeout_s=5)
        if status == 200:
            now = int(metric_total(body.decode(), "ews_ingest_messages_total"))
            if now != handled:
                handled, last_change = now, time.monotonic()
            if handled >= expected:
                break
        if time.monotonic() - last_change > stall_s:
            break
        time.sleep(1.0)
    return handled


def ready_rss(env: Mapping[str, str], log_path: Path) -> int:
    """RSS in KiB of a worker ready on empty topics (then stopped): the "~0 patients" figure."""
    worker = WorkerProcess(env, log_path=log_path).start()
    try:
        worker.wait_ready(timeout_s=120)
        time.sleep(1.0)  # let start-up allocations settle
        return rss_kb(worker.proc.pid if worker.proc else 0)
    finally:
        worker.stop()


def start_profiler(py_spy: str, pid: int, out: Path, duration_s: int) -> subprocess.Popen[bytes]:
    """Sample ``pid`` with py-spy for at most ``duration_s`` (collapsed stacks in ``out``)."""
    cmd = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
    cmd += ["--duration", str(duration_s), "--output", str(out), "--nonblocking"]
    log = out.with_suffix(".log").open("ab")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def run_worker(
    bootstrap: str,
    label: str,
    workload: Workload,
    messages: Sequence[Message],
    workdir: Path,
    *,
    partitions: int = 8,
    store: str = "memory://",
    extra_env: Mapping[str, str] | None = None,
    producers: int = 2,
    timeout_s: float = 300.0,
    py_spy: str | None = None,
) -> WorkerFigures:
    """Run the worker on ``messages`` (the encoded ``workload``) and measure it."""
    prefix = f"lt{os.getpid()}{label.replace('-', '')}"
    env = {**worker_env(bootstrap, prefix, workdir, partitions, store), **(extra_env or {})}
    settings = Settings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, topic_partitions=partitions
    )
    ensure_topics(settings)
    rss_ready = ready_rss(env, workdir / f"worker-{label}-empty.log")
    produced = produce(bootstrap, settings.topic(workload.topic), messages, processes=producers)
    worker = WorkerProcess(env, log_path=workdir / f"worker-{label}.log").start()
    profiler: subprocess.Popen[bytes] | None = None
    try:
        worker.wait_ready(timeout_s=120)
        pid = worker.proc.pid if worker.proc else 0
        if py_spy:
            profiler = start_profiler(py_spy, pid, workdir / f"profile-{label}.txt", 120)
        wait_handled(worker, len(messages), timeout_s, stall_s=30)
        rss_end, hwm = rss_kb(pid), hwm_kb(pid)
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            profiler.wait(timeout=30)
        worker.stop()
    acc: Accounting = account(bootstrap, prefix, workload.topic, len(messages), idle_s=5)
    acc.check()
    rate, seconds = acc.sustained_rate()
    return WorkerFigures(
        label=label,
        input_topic=settings.topic(workload.topic),
        messages=len(messages),
        observations=len(messages) * workload.obs_per_message,
        patients=workload.patients,
        rate=rate,
        seconds=seconds,
        rss_ready_kb=rss_ready,
        rss_end_kb=rss_end,
        hwm_kb=hwm,
        lost=acc.lost,
        produced=produced,
    )

"""Running workers as child processes, and reading topics back (demo, tests, load tests).

A worker is started exactly as in production (``ews worker`` with ``EWS_*`` variables), in its
own process group so that stopping it also stops anything it started. ``stop()`` sends
SIGTERM and waits; ``kill()`` is SIGKILL, for crash tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from kafka import KafkaConsumer

from streams.broker import free_port


class WorkerProcess:
    """One ``ews worker`` child process."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        log_path: Path | None = None,
        web_port: int | None = None,
    ) -> None:
        self.web_port = web_port or free_port()
        self.env = {**os.environ, **env, "EWS_WEB_PORT": str(self.web_port)}
        self.env.setdefault("EWS_WEB_HOST", "127.0.0.1")
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ews.cli", "worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def get(self, path: str, timeout_s: float = 2.0) -> tuple[int, bytes]:
        """GET a path on the worker's web server: (status, body); (0, b"") if unreachable."""
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as err:
            return int(err.code), err.read()
        except OSError:
            return 0, b""

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until ``/ready`` answers 200, or raise ``TimeoutError``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"worker exited with code {self.proc and self.proc.returncode}")
            status, body = self.get("/ready")
            if status == 200 and json.loads(body or b"{}").get("ready"):
                return
            time.sleep(0.25)
        raise TimeoutError(f"worker not ready within {timeout_s} s")

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM the worker's process group and wait; SIGKILL if it does not exit."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the worker's process group (a crash)."""
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Supervisor:
    """Restarts worker processes that exit by themselves, as Kubernetes restarts a pod.

    A worker stops itself on purpose when its input watch finds a stall or a lost log
    (streams/watchdog.py); tests and fault scenarios that expect such a stop need someone to
    start it again. ``restart(worker)`` starts the replacement (with the same data directory,
    as a restarted pod keeps its volume); workers the caller killed on purpose are
    :meth:`forget`-ten first.
    """

    def __init__(self, restart: Callable[[WorkerProcess], WorkerProcess]) -> None:
        self._restart = restart
        self._watched: list[WorkerProcess] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts: list[str] = []
        """One line per restart: which worker (by log file name), with what exit code."""

    def watch(self, worker: WorkerProcess) -> None:
        self._watched.append(worker)

    def forget(self, worker: WorkerProcess) -> None:
        """Stop watching ``worker`` (it is about to be killed or stopped on purpose)."""
        if worker in self._watched:
            self._watched.remove(worker)

    def start(self, workers: Iterable[WorkerProcess] = ()) -> Supervisor:
        """Watch the live ones of ``workers`` and start watching in a thread."""
        for worker in workers:
            if worker.alive:
                self.watch(worker)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for worker in list(self._watched):
                if worker.alive or worker.proc is None:
                    continue
                self.forget(worker)
                name = worker.log_path.name if worker.log_path else "worker"
                self.restarts.append(f"{name} exited with code {worker.proc.returncode}")
                self.watch(self._restart(worker))


def read_topics(
    bootstrap: str,
    topics: list[str],
    *,
    until: Callable[[list[tuple[str, bytes | None, bytes]]], bool],
    timeout_s: float = 60.0,
) -> list[tuple[str, bytes | None, bytes]]:
    """Read ``topics`` from the beginning until ``until(records)`` is true or time runs out.

    Returns (topic, key, value) tuples in the order read.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=500,
    )
    consumer.subscribe(topics)
    records: list[tuple[str, bytes | None, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not until(records):
            batch = consumer.poll(timeout_ms=300)
            for msgs in batch.values():
                records.extend((m.topic, m.key, m.value) for m in msgs)
    finally:
        consumer.close()
    return records


def tail(
    bootstrap: str, topics: list[str], stop: Callable[[], bool]
) -> Iterator[tuple[str, bytes]]:
    """Yield (topic, value) of new messages on ``topics`` until ``stop()`` is true."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    consumer.subscribe(topics)
    try:
        while not stop():
            for msgs in consumer.poll(timeout_ms=300).values():
                for m in msgs:
                    yield m.topic, m.value
    finally:
        consumer.close()

"""Fixtures for integration tests: a real Tansu broker and real worker processes on loopback."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ews.settings import Settings
from streams.broker import EmbeddedBroker
from streams.process import Supervisor, WorkerProcess
from streams.publish import ensure_topics

_ids = itertools.count()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One broker for the session; each test isolates itself with its own topic prefix."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as b:
        yield b


class Deployment:
    """A topic namespace on the broker and the settings/env for workers that use it."""

    def __init__(self, broker: EmbeddedBroker, tmp: Path, **overrides: str) -> None:
        n = next(_ids)
        self.broker = broker
        self.tmp = tmp
        self.env = {
            "EWS_BOOTSTRAP_SERVERS": broker.bootstrap,
            "EWS_APP_ID": f"ews-test-{os.getpid()}-{n}",
            "EWS_TOPIC_PREFIX": f"t{os.getpid()}x{n}",
            "EWS_TOPIC_PARTITIONS": "4",
            "EWS_STORE": "memory://",
            "EWS_DATA_DIR": str(tmp / "data"),
            "EWS_SESSION_TIMEOUT_S": "6",
            "EWS_LOG_LEVEL": "INFO",
            **overrides,
        }
        self.settings = Settings(
            **{k.removeprefix("EWS_").lower(): v for k, v in self.env.items()}  # type: ignore[arg-type]
        )
        ensure_topics(self.settings)
        self.workers: list[WorkerProcess] = []
        self.supervisor: Supervisor | None = None

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    def start_worker_unready(self, data_dir: str | None = None) -> WorkerProcess:
        """Start a worker without waiting for it to be ready.

        Each worker gets its own data directory, as each pod has its own volume: two
        RocksDB stores must not share one (``data_dir``: a restarted pod's own).
        """
        n = len(self.workers)
        log = self.tmp / f"worker-{n}.log"
        env = {**self.env, "EWS_DATA_DIR": data_dir or str(self.tmp / f"data-{n}")}
        worker = WorkerProcess(env, log_path=log).start()
        self.workers.append(worker)
        return worker

    def start_worker(self) -> WorkerProcess:
        worker = self.start_worker_unready()
        worker.wait_ready(timeout_s=90)
        return worker

    def supervise(self) -> Supervisor:
        """Restart live workers that later exit by themselves (streams.process.Supervisor),
        each with its own data directory, as Kubernetes restarts a pod."""

        def restart(worker: WorkerProcess) -> WorkerProcess:
            return self.start_worker_unready(worker.env["EWS_DATA_DIR"])

        self.supervisor = Supervisor(restart).start(self.workers)
        return self.supervisor

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def deployment(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[Deployment]:
    dep = Deployment(broker, tmp_path, EWS_MAX_MESSAGE_BYTES="4096")
    try:
        yield dep
    finally:
        dep.stop()

"""The parts every fault scenario uses: a broker, a pager, workers, a feed and the accounting.

Everything is real and on loopback: the Tansu broker process (``streams.broker``), the
``ews worker`` processes (``streams.process``), and the PagerDuty stand-in
(``ews.pager_receiver``, a real HTTP server the workers' pager sink talks to over TCP).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from alerts.record import AlertRecord, decode_alert
from contract.events import decode_deadletter, decode_record
from ews.pager_receiver import PagerReceiver
from ews.settings import Settings
from faults.oracle import Message
from load_tests.accounting import metric_total
from streams.broker import EmbeddedBroker, free_port
from streams.process import Supervisor, WorkerProcess, read_topics
from streams.publish import ensure_topics
from streams.topics import ALERTS, CANONICAL, DEADLETTER

Ref = tuple[str, int, int]
"""An input offset: (topic, partition, offset)."""

INGEST_METRIC = "ews_ingest_messages_total"
_ids = itertools.count()


def settings_from_env(env: dict[str, str]) -> Settings:
    """The settings a worker started with ``env`` reads (``EWS_*`` variables)."""
    fields = {k.removeprefix("EWS_").lower(): v for k, v in env.items() if k.startswith("EWS_")}
    return Settings(**fields)  # type: ignore[arg-type]


class Pager:
    """The loopback PagerDuty stand-in, with outages.

    ``down("503")`` makes it answer every call with 503 until ``up()``; ``down("refuse")``
    closes its socket, so calls fail to connect, and ``up()`` listens again on the same port.
    Accepted events of every listening period are kept.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self._done: list[PagerReceiver] = []
        self._live: PagerReceiver | None = PagerReceiver(port=self.port).start()
        self._outage: str | None = None
        self.refused_503 = 0
        """Calls answered 503 during outages."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def down(self, mode: str = "503") -> None:
        live = self._live
        assert live is not None and self._outage is None
        self._outage = mode
        if mode == "503":
            live.statuses[:] = [503] * 1_000_000
        elif mode == "refuse":
            live.stop()
            self._done.append(live)
            self._live = None
        else:
            raise ValueError(f"unknown outage mode {mode!r}")

    def up(self) -> None:
        if self._outage == "503" and self._live is not None:
            self.refused_503 += 1_000_000 - len(self._live.statuses)
            self._live.statuses.clear()
        elif self._outage == "refuse":
            self._live = PagerReceiver(port=self.port).start()
        self._outage = None

    def events(self) -> list[dict[str, Any]]:
        """Every accepted event, in arrival order."""
        out: list[dict[str, Any]] = []
        for r in [*self._done, *([self._live] if self._live else [])]:
            out.extend(r.received())
        return out

    def keys(self) -> list[str | None]:
        """The idempotency key (alert id) of every accepted event."""
        out: list[str | None] = []
        for r in [*self._done, *([self._live] if self._live else [])]:
            out.extend(r.keys())
        return out

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._done.append(self._live)
            self._live = None


class Cluster:
    """One scenario's broker, pager and worker settings (its own topic namespace)."""

    def __init__(self, work: Path, *, pager: bool = True, **overrides: str) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.broker = EmbeddedBroker(log_path=work / "broker.log").start()
        self.pager = Pager() if pager else None
        n = next(_ids)
        self.env: dict[str, str] = {
            "EWS_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "EWS_APP_ID": f"ews-faults-{os.getpid()}-{n}",
            "EWS_TOPIC_PREFIX": f"f{os.getpid()}x{n}",
            "EWS_TOPIC_PARTITIONS": "4",
            "EWS_STORE": "memory://",
            "EWS_SESSION_TIMEOUT_S": "6",
            # Exact table recovery on Tansu (broker-notes.md, quirk 1).
            "EWS_PRODUCER_MAX_BATCH_SIZE": "1",
            "EWS_LOG_LEVEL": "INFO",
            "EWS_MODEL_RELOAD_S": "3600",
            # A stalled worker stops well within the scenarios' waits (production: 60 s).
            "EWS_STALL_TIMEOUT_S": "20",
        }
        if self.pager is not None:
            self.env["EWS_PAGER_URL"] = self.pager.url
            self.env["EWS_PAGER_ROUTING_KEYS"] = '{"*": "faults-routing-key"}'
        self.env.update(overrides)
        self.settings = settings_from_env(self.env)
        ensure_topics(self.settings)
        self.workers: list[WorkerProcess] = []
        self.counted: dict[int, float] = {}
        """Worker index -> its last ``ews_ingest_messages_total`` scrape."""
        self._volume: dict[int, int] = {}
        """Worker index -> data directory number (a restarted pod keeps its volume)."""
        self._supervisor: Supervisor | None = None

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def topic(self, logical: str) -> str:
        return self.settings.topic(logical)

    def start_worker(
        self, *, wait: bool = True, timeout_s: float = 90.0, volume: int | None = None
    ) -> WorkerProcess:
        """Start a worker with its own data directory (each pod has its own volume;
        ``volume``: reuse that worker's, as a restarted pod does)."""
        n = len(self.workers)
        data = n if volume is None else volume
        env = {**self.env, "EWS_DATA_DIR": str(self.work / f"data-{data}")}
        worker = WorkerProcess(env, log_path=self.work / f"worker-{n}.log").start()
        self._volume[n] = data
        self.workers.append(worker)
        if wait:
            worker.wait_ready(timeout_s=timeout_s)
        return worker

    def supervise(self) -> None:
        """From now on, restart any worker that exits by itself, as Kubernetes restarts a
        pod (same data directory); :attr:`restarts` lists them."""

        def restart(worker: WorkerProcess) -> WorkerProcess:
            return self.start_worker(wait=False, volume=self._volume[self.workers.index(worker)])

        self._supervisor = Supervisor(restart).start(self.workers)

    @property
    def restarts(self) -> list[str]:
        """Workers that exited by themselves and were restarted (:meth:`supervise`)."""
        return self._supervisor.restarts if self._supervisor is not None else []

    def scrape(self, worker: WorkerProcess) -> float | None:
        """The worker's ``ews_ingest_messages_total`` now (kept as its last count)."""
        status, body = worker.get("/metrics", timeout_s=5.0)
        if status != 200:
            return None
        value = metric_total(body.decode(), INGEST_METRIC)
        self.counted[self.workers.index(worker)] = value
        return value

    def kill(self, worker: WorkerProcess) -> None:
        """SIGKILL a worker's process group right after scraping its counter."""
        if self._supervisor is not None:
            self._supervisor.forget(worker)
        self.scrape(worker)
        worker.kill()

    def scrape_all(self) -> float:
        """Scrape every live worker; the sum of every worker's last count."""
        for w in self.workers:
            if w.alive:
                self.scrape(w)
        return sum(self.counted.values())

    def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.stop()
        for w in self.workers:
            with contextlib.suppress(Exception):
                w.stop(timeout_s=15)
        if self.pager is not None:
            self.pager.close()
        self.broker.stop()


class Feed:
    """An external producer (kafka-python, like a hospital's integration engine) that learns
    the offset of every message it sent."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            linger_ms=5,
            acks=1,
            max_request_size=max(settings.max_message_bytes * 4, 1_048_576),
        )
        self._pending: list[tuple[Message, Any]] = []
        self.sent: dict[Ref, Message] = {}
        self.failed = 0
        """Sends the broker did not acknowledge (never counted as sent)."""

    def send(self, m: Message) -> None:
        topic = self.settings.topic(m.logical)
        self._pending.append((m, self._producer.send(topic, key=m.key, value=m.value)))

    def paced(
        self,
        messages: Iterable[Message],
        rate: float,
        stop: threading.Event | None = None,
    ) -> int:
        """Send at ``rate`` messages per second (``<= 0``: as fast as possible)."""
        start = time.monotonic()
        n = 0
        for n, m in enumerate(messages, 1):
            if stop is not None and stop.is_set():
                return n - 1
            if rate > 0:
                delay = start + (n - 1) / rate - time.monotonic()
                if delay > 0:
                    self._producer.flush(timeout=10)
                    time.sleep(delay)
            self.send(m)
        self._producer.flush(timeout=30)
        return n

    def settle(self, timeout_s: float = 30.0) -> dict[Ref, Message]:
        """Wait for every pending send; the offsets of all acknowledged messages."""
        with contextlib.suppress(KafkaError):
            self._producer.flush(timeout=timeout_s)
        for m, fut in self._pending:
            try:
                md = fut.get(timeout=timeout_s)
            except KafkaError:
                self.failed += 1
                continue
            self.sent[(md.topic, md.partition, md.offset)] = m
        self._pending = []
        return self.sent

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._producer.close(timeout=5)


@dataclass
class Outputs:
    """What the canonical and dead-letter topics say about the inputs."""

    canonical: set[Ref] = field(default_factory=set)
    dead: dict[Ref, list[str]] = field(default_factory=dict)
    """Input offset -> reasons of the dead letters naming it."""
    pager_dead: Counter[str] = field(default_factory=Counter)
    """Pages given up on (dead letters of stage ``pager``), by reason."""
    read: int = 0

    def add(self, topic: str, value: bytes) -> None:
        self.read += 1
        if topic.endswith("." + CANONICAL):
            rec = decode_record(value)
            if rec.input is not None:
                self.canonical.add((rec.input.topic, rec.input.partition, rec.input.offset))
            return
        letter = decode_deadletter(value)
        if letter.input is None:
            self.pager_dead[letter.reason] += 1
            return
        ref = (letter.input.topic, letter.input.partition, letter.input.offset)
        self.dead.setdefault(ref, []).append(letter.reason)

    @property
    def accounted(self) -> set[Ref]:
        return self.canonical | set(self.dead)


def read_outputs(
    bootstrap: str,
    settings: Settings,
    expect: set[Ref],
    timeout_s: float,
    give_up: Callable[[], bool] = lambda: False,
) -> Outputs:
    """Read canonical and dead letters from the start until every ``expect`` is accounted
    for, ``give_up()`` holds (say, the only worker exited: nothing more will come), or
    ``timeout_s`` passes."""
    out = Outputs()
    done = [0]

    def until(rows: list[tuple[str, bytes | None, bytes]]) -> bool:
        for topic, _, value in rows[done[0] :]:
            out.add(topic, value)
        done[0] = len(rows)
        return expect <= out.accounted or give_up()

    topics = [settings.topic(CANONICAL), settings.topic(DEADLETTER)]
    read_topics(bootstrap, topics, until=until, timeout_s=timeout_s)
    return out


def read_quiet(
    bootstrap: str,
    topics: list[str],
    *,
    done: Callable[[list[tuple[str, bytes | None, bytes]]], bool] = lambda rows: False,
    quiet_s: float = 3.0,
    timeout_s: float = 60.0,
) -> list[tuple[str, bytes | None, bytes]]:
    """Read ``topics`` from the start until ``done(rows)`` holds and nothing new arrived for
    1 s, or nothing new arrived for ``quiet_s``, or ``timeout_s`` passed."""
    last = [time.monotonic(), 0]

    def until(rows: list[tuple[str, bytes | None, bytes]]) -> bool:
        now = time.monotonic()
        if len(rows) != last[1]:
            last[:] = [now, len(rows)]
        idle = now - last[0]
        return idle > quiet_s or (idle > 1.0 and done(rows))

    return read_topics(bootstrap, topics, until=until, timeout_s=timeout_s)


def read_alerts(
    bootstrap: str, settings: Settings, expected: set[str], timeout_s: float = 60.0
) -> dict[str, AlertRecord]:
    """The alert transitions on the alerts topic, by alert id (redeliveries collapse)."""

    def done(rows: list[tuple[str, bytes | None, bytes]]) -> bool:
        return len(rows) >= len(expected)

    rows = read_quiet(
        bootstrap, [settings.topic(ALERTS)], done=done, quiet_s=4.0, timeout_s=timeout_s
    )
    out: dict[str, AlertRecord] = {}
    for _, _, value in rows:
        alert = decode_alert(value)
        out.setdefault(alert.alert_id, alert)
    return out


def wait_pages(pager: Pager, expected: set[str], timeout_s: float, quiet_s: float = 3.0) -> None:
    """Wait until every expected page arrived, then ``quiet_s`` more for any duplicate; or
    until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not expected <= set(pager.keys()):
        time.sleep(0.25)
    time.sleep(min(quiet_s, max(0.0, deadline - time.monotonic())))


def wait_until(check: Callable[[], bool], timeout_s: float, step_s: float = 0.25) -> bool:
    """Poll ``check`` until it holds (``True``) or ``timeout_s`` passes (``False``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step_s)
    return check()

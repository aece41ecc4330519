"""Readiness fails while a worker recovers its tables and passes once it has (real broker)."""

from __future__ import annotations

import json
import time

import pytest

from contract.events import Observation, encode
from streams.process import read_topics
from streams.publish import Publisher
from tests.integration.conftest import Deployment

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _fill(dep: Deployment, n: int) -> None:
    now = int(time.time() * 1000)
    with Publisher(dep.settings) as pub:
        for i in range(n):
            pid = f"r{i % 400:04d}"
            ev = Observation(
                patient_id=pid,
                time_ms=now - 3_600_000 + i * 100,
                source="json",
                source_msg_id=f"m{i}",
                obs_id=f"o{i}",
                signal="hr",
                value=60 + i % 30,
                unit="/min",
            )
            pub.send("in.json", pid, encode(ev))


def test_ready_fails_during_table_recovery_and_passes_after(broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # One table write per message makes a long changelog, so recovery takes a while.
    dep = Deployment(broker, tmp_path, EWS_PRODUCER_MAX_BATCH_SIZE="1", EWS_BATCH_MAX_MESSAGES="1")
    try:
        n = 6000
        first = dep.start_worker()
        _fill(dep, n)
        read_topics(
            broker.bootstrap,
            [dep.topic("canonical")],
            until=lambda rows: len(rows) >= n,
            timeout_s=180,
        )
        first.stop()

        # A fresh worker (memory store) must rebuild every patient from the changelog.
        second = dep.start_worker_unready()
        phases: list[tuple[int, str]] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, body = second.get("/ready", timeout_s=1.0)
            if status:
                phase = json.loads(body).get("phase", "")
                if not phases or phases[-1] != (status, phase):
                    phases.append((status, phase))
                if status == 200:
                    break
            time.sleep(0.02)
        assert phases and phases[-1] == (200, "ready"), phases
        assert (503, "recovering") in phases, phases
        assert all(s == 503 for s, _ in phases[:-1]), phases
    finally:
        dep.stop()

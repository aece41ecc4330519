"""Alerts reach the pager exactly once per transition across a worker restart, and the
worker's /metrics shows every service metric with no patient in any label.

Real broker, real worker processes, and a real HTTP receiver on loopback for the pager.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from alerts.pager import pager_action
from alerts.record import decode_alert
from contract.events import decode_deadletter, decode_record
from ews.demo import encode_message
from ews.pager_receiver import PagerReceiver
from simulator.config import CohortConfig
from simulator.stream import Cohort, iter_messages
from streams.alerting import AlertCommand
from streams.broker import EmbeddedBroker
from streams.process import read_topics
from streams.publish import Publisher
from tests.integration.conftest import Deployment

pytestmark = [pytest.mark.broker, pytest.mark.slow]

_DAY_MS = 86_400_000
SERVICE_METRICS = (
    "ews_ingest_messages_total",
    "ews_events_in_total",
    "ews_events_rejected_total",
    "ews_deadletters_total",
    "ews_input_last_event_timestamp_seconds",
    "ews_scoring_seconds_bucket",
    "ews_alerts_total",
    "ews_event_to_alert_seconds_bucket",
    "ews_pager_deliveries_total",
    "ews_pager_failures_total",
    "ews_alerts_suppressed_total",
    "ews_model_inference_seconds_bucket",
    "ews_model_info",
    "ews_ready",
)


def _cohort_messages() -> tuple[list[tuple[str, str, bytes]], set[str]]:
    now = int(time.time() * 1000)
    config = CohortConfig(n_patients=12, seed=3, start_ms=now - 60 * _DAY_MS, enrollment_days=1.0)
    messages = [encode_message(m) for m in iter_messages(Cohort(config))]
    return messages, {key for _, key, _ in messages}


def _accounted(dep: Deployment, total: int, timeout_s: float) -> int:
    seen: set[tuple[str, int, int]] = set()
    consumed = [0]

    def count(rows: list[tuple[str, bytes | None, bytes]]) -> bool:
        for topic, _, value in rows[consumed[0] :]:
            rec = decode_record(value) if topic.endswith(".canonical") else decode_deadletter(value)
            if rec.input is not None:
                seen.add((rec.input.topic, rec.input.partition, rec.input.offset))
        consumed[0] = len(rows)
        return len(seen) >= total

    topics = [dep.topic("canonical"), dep.topic("deadletter")]
    read_topics(dep.broker.bootstrap, topics, until=count, timeout_s=timeout_s)
    return len(seen)


def _canonical(dep: Deployment, patient: str) -> list[bytes]:
    """The canonical records of one patient with events, read from the beginning."""
    rows = read_topics(
        dep.broker.bootstrap, [dep.topic("canonical")], until=lambda r: False, timeout_s=3
    )
    return [v for _, k, v in rows if k == patient.encode() and decode_record(v).events]


def _settled(receiver: PagerReceiver, quiet_s: float = 4.0, timeout_s: float = 60.0) -> None:
    """Wait until no page has arrived for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(receiver.received())
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since > quiet_s:
            return
        time.sleep(0.25)


def test_one_page_per_transition_across_a_restart_and_metrics(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    messages, patients = _cohort_messages()
    half = len(messages) // 2
    with PagerReceiver() as receiver:
        receiver.statuses = [500]  # the first page fails once and is retried
        dep = Deployment(
            broker,
            tmp_path,
            EWS_PAGER_URL=receiver.url,
            EWS_PAGER_ROUTING_KEYS='{"*": "test-routing-key"}',
            EWS_PRODUCER_MAX_BATCH_SIZE="1",  # exact table recovery on Tansu (quirk 1)
        )
        try:
            first = dep.start_worker()
            with Publisher(dep.settings) as pub:
                for topic, key, body in messages[:half]:
                    pub.send(topic, key, body)
                pub.send("in.json", "sim3-00000", b'{"kind": "observation"')  # malformed
            assert _accounted(dep, half + 1, timeout_s=180) >= half + 1
            # A clinician suppresses one patient's CRS alerts (comfort care).
            last_ms = max(
                decode_record(v).events[-1].time_ms for v in _canonical(dep, "sim3-00001")
            )
            command = AlertCommand(
                kind="suppress",
                patient_id="sim3-00001",
                risk="crs",
                by="dr-test",
                at_ms=last_ms,
                until_ms=last_ms + 86_400_000,
                reason="comfort_care",
            )
            with Publisher(dep.settings) as pub:
                pub.send("acks", "sim3-00001", msgspec.json.encode(command))
            time.sleep(3)
            _settled(receiver)
            paged_before_restart = len(receiver.keys())
            status, body = first.get("/metrics")
            first.stop()  # a restart: the second worker recovers alert states and the ledger

            dep.start_worker()
            with Publisher(dep.settings) as pub:
                for topic, key, body_ in messages[half:]:
                    pub.send(topic, key, body_)
            assert _accounted(dep, len(messages) + 1, timeout_s=180) >= len(messages) + 1
            _settled(receiver)
        finally:
            dep.stop()
        keys = receiver.keys()

    # Every alert transition that pages was paged exactly once, across the restart.
    alerts = [
        decode_alert(v)
        for _, _, v in read_topics(
            broker.bootstrap, [dep.topic("alerts")], until=lambda rows: False, timeout_s=6
        )
    ]
    paging = {a.alert_id for a in alerts if pager_action(a) is not None}
    assert paging, "the cohort produced no alert that pages"
    assert 0 < paged_before_restart < len(keys), "pages on both sides of the restart"
    paged = Counter(keys)
    assert None not in paged
    assert set(paged) == paging, "a transition was not paged, or something else was"
    assert all(n == 1 for n in paged.values()), paged.most_common(3)

    # The metrics of the first worker: every service metric, sensible, no patient labels.
    assert status == 200
    text = body.decode()
    for name in SERVICE_METRICS:
        assert re.search(rf"^{name}(\{{|\s)", text, re.M), f"{name} missing"
    assert re.search(
        r'^ews_events_rejected_total\{[^}]*reason="malformed"[^}]*\} 1\.0$', text, re.M
    )
    assert re.search(r"^ews_ready 1\.0$", text, re.M)
    assert re.search(
        r'^ews_alerts_suppressed_total\{[^}]*reason="comfort_care"[^}]*\} 1\.0$', text, re.M
    )
    assert re.search(r'^ews_pager_failures_total\{[^}]*reason="http_500"[^}]*\} 1\.0$', text, re.M)
    assert re.search(r'^ews_model_info\{risk="infection",version="[^"]+"\} 1\.0$', text, re.M)
    inference = re.search(r"^ews_model_inference_seconds_count (\d+)", text, re.M)
    assert inference is not None and int(inference.group(1)) > 0
    assert re.search(r"^faust_", text, re.M), "Faust's own sensor metrics missing"
    labels = " ".join(re.findall(r"\{([^}]*)\}", text))
    assert not any(p in labels for p in patients), "a patient id appears in a metric label"

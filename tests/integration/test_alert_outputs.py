"""FHIR Bundles, the signed webhook and the alert pictures of real workers on a real broker.

Two worker processes share the partitions; a real HTTP receiver on loopback
(tests/alerts/server.py) verifies the webhook's signatures and answers 500 once, then 400
once (a delivery given up on), then 202. Pictures are fetched from both workers: whichever
worker a request lands on, the worker owning the patient draws it.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from alerts.record import AlertRecord, decode_alert
from alerts.webhook import IDEMPOTENCY_HEADER, verify_webhook
from contract.events import decode_deadletter, decode_record
from faults.oracle import json_message
from simulator.config import CohortConfig
from simulator.stream import Cohort, iter_messages
from streams.broker import EmbeddedBroker
from streams.process import WorkerProcess, read_topics
from streams.publish import Publisher
from tests.alerts.server import Received, ScriptedServer
from tests.integration.conftest import Deployment

pytestmark = [pytest.mark.broker, pytest.mark.slow]

_DAY_MS = 86_400_000
SECRET = "integration-webhook-secret-0123456789"
TOKEN = "integration-picture-token-0123456789"
PUBLIC = "https://ews.hospital.example"


class BackgroundServer:
    """A :class:`ScriptedServer` on its own event loop in a thread (the workers are other
    processes, so the receiver must keep serving while the test blocks)."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self.loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.__aexit__(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _signed(rec: Received) -> int | None:
    return None if verify_webhook(SECRET.encode(), rec.body, rec.headers, time.time()) else 401


def _get(worker: WorkerProcess, path: str, token: str | None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{worker.web_port}{path}")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


def _accounted(dep: Deployment, total: int, timeout_s: float) -> None:
    seen: set[tuple[str, int, int]] = set()

    def count(rows: list[tuple[str, bytes | None, bytes]]) -> bool:
        seen.clear()
        for topic, _, value in rows:
            rec = decode_record(value) if topic.endswith(".canonical") else decode_deadletter(value)
            if rec.input is not None:
                seen.add((rec.input.topic, rec.input.partition, rec.input.offset))
        return len(seen) >= total

    topics = [dep.topic("canonical"), dep.topic("deadletter")]
    read_topics(dep.broker.bootstrap, topics, until=count, timeout_s=timeout_s)
    assert len(seen) >= total, f"{len(seen)} of {total} inputs accounted for"


def _settled(server: ScriptedServer, quiet_s: float = 4.0, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(server.received)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since > quiet_s:
            return
        time.sleep(0.25)


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_fhir_webhook_and_pictures_from_two_workers(broker: EmbeddedBroker, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    config = CohortConfig(n_patients=8, seed=3, start_ms=now - 60 * _DAY_MS, enrollment_days=1.0)
    # All on in.json, so each patient's messages reach the worker in send order (one
    # partition): across three input topics a fast publisher's backlog is read topic by
    # topic, labs days behind the vitals are dead-lettered as too late, and the alerts the
    # test needs depend on timing (faults/oracle.py; CI once saw 1 alert instead of ~119).
    messages = [json_message(m) for m in iter_messages(Cohort(config))]
    patients = {m.key.decode() for m in messages if m.key is not None}
    with BackgroundServer(ScriptedServer(script=[(500, {}), (400, {})], check=_signed)) as hook:
        dep = Deployment(
            broker,
            tmp_path,
            EWS_WEBHOOK_URL=hook.base_url + "/ehr/inbox",
            EWS_WEBHOOK_SECRET=SECRET,
            EWS_WEB_AUTH_TOKEN=TOKEN,
            EWS_WEB_PUBLIC_URL=PUBLIC,
            EWS_PRODUCER_MAX_BATCH_SIZE="1",
        )
        try:
            workers = [dep.start_worker_unready(), dep.start_worker_unready()]
            for w in workers:
                w.wait_ready(timeout_s=120)
            with Publisher(dep.settings) as pub:
                for m in messages:
                    pub.send(m.logical, m.key, m.value)
            _accounted(dep, len(messages), timeout_s=240)
            time.sleep(3)
            _settled(hook)

            def read(name: str) -> list[tuple[str, bytes | None, bytes]]:
                return read_topics(
                    broker.bootstrap, [dep.topic(name)], until=lambda r: False, timeout_s=5
                )

            alerts: list[AlertRecord] = [decode_alert(v) for _, _, v in read("alerts")]
            fhir = read("fhir")
            deadletters = [decode_deadletter(v) for _, _, v in read("deadletter")]
            metrics = "".join(w.get("/metrics")[1].decode() for w in workers)
            assert len(alerts) >= 3, "the cohort produced too few alerts to test"

            # --- pictures: both workers answer for every alert, with the same image ---------
            for w in workers:
                assert w.get("/metrics")[0] == 200 and w.get("/ready")[0] == 200  # open
            sample = list({a.patient_ref: a for a in alerts if a.grade is not None}.values())[:6]
            for alert in sample:
                path = f"/alerts/{alert.alert_id}/picture.png"
                assert alert.picture_url == PUBLIC + path
                images = []
                for w in workers:
                    status, body = _get(w, path, TOKEN)
                    assert status == 200, (status, body[:200])
                    assert body[:8] == b"\x89PNG\r\n\x1a\n"
                    images.append(body)
                assert images[0] == images[1], "both workers should relay the owner's picture"
            one = f"/alerts/{sample[0].alert_id}/picture.png"
            for w in workers:
                assert _get(w, one, None)[0] == 401
                assert _get(w, one, "wrong-token")[0] == 401
                assert _get(w, "/alerts/al-" + "0" * 32 + "/picture.png", TOKEN)[0] == 404
                assert _get(w, "/alerts/MRN-0042317/picture.png", TOKEN)[0] == 404
        finally:
            dep.stop()
        received = list(hook.received)

    # --- FHIR: one valid Bundle per transition, keyed by the incident ------------------------
    by_id = {a.alert_id: a for a in alerts}
    bundles = [json.loads(v) for _, _, v in fhir]
    issue_ids: Counter[str] = Counter()
    for (_, key, _), bundle in zip(fhir, bundles, strict=True):
        Bundle.model_validate(bundle)
        issue = bundle["entry"][0]["resource"]
        assert issue["resourceType"] == "DetectedIssue"
        issue_ids[issue["id"]] += 1
        assert key == by_id[issue["id"]].dedup_key.encode()
    assert set(issue_ids) == set(by_id), "a transition without its FHIR Bundle, or extra"

    # --- webhook: signed, every transition delivered once or dead-lettered, none twice ------
    now_s = time.time()
    assert all(verify_webhook(SECRET.encode(), r.body, r.headers, now_s, 600) for r in received)
    assert len(received) >= len(alerts) + 1
    keys = [r.headers[IDEMPOTENCY_HEADER] for r in received]
    failed_500, failed_400 = keys[0], keys[1]
    delivered = Counter(keys[2:])
    assert all(n == 1 for n in delivered.values()), delivered.most_common(3)
    letters = [d for d in deadletters if d.stage == "webhook"]
    assert [(d.reason, (d.key or b"").decode()) for d in letters] == [
        ("webhook_http_400", failed_400)
    ]
    assert failed_400 not in delivered
    assert set(delivered) | {failed_400} == set(by_id)
    assert failed_500 in delivered or failed_500 == failed_400  # retried after the 500
    for r in received:
        text = r.body.decode()
        assert "patient_ref" not in text
        assert not any(p in text for p in patients), "a patient id left in a webhook body"
    ok = _metric(metrics, "ews_pager_deliveries_total", sink="webhook", outcome="delivered")
    assert ok == len(delivered)
    assert _metric(metrics, "ews_pager_failures_total", sink="webhook", reason="http_500") == 1
    assert _metric(metrics, "ews_pager_failures_total", sink="webhook", reason="http_400") == 1
    assert _metric(metrics, "ews_deadletters_total", stage="webhook") == 1
    labels = " ".join(re.findall(r"\{([^}]*)\}", metrics))
    assert not any(p in labels for p in patients)

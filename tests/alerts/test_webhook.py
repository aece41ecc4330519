"""The signed webhook sink against a real receiver on 127.0.0.1 that verifies signatures."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from alerts.delivery import DeadLetterDelivery, RetrySettings
from alerts.ledger import InMemoryLedger
from alerts.record import decode_alert
from alerts.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSettings,
    WebhookSink,
    signed_headers,
    verify_webhook,
)
from tests.alerts.alert_factory import incident
from tests.alerts.helpers import PATIENT
from tests.alerts.server import Received, ScriptedServer

SECRET = b"shared-webhook-secret-0123456789"


async def receiver_check(rec: Received) -> int | None:
    """What a receiver does: reject anything whose signature or timestamp fails."""
    return None if verify_webhook(SECRET, rec.body, rec.headers, time.time()) else 401


def sink_for(srv: ScriptedServer, dead: list[DeadLetterDelivery], **kw: object) -> WebhookSink:
    settings = WebhookSettings(
        name="ehr-inbox",
        url=srv.base_url + "/hooks/ews",
        secret=kw.pop("secret", SECRET),  # type: ignore[arg-type]
        retry=RetrySettings(timeout_s=0.5, max_attempts=2, backoff_base_s=0.01),
        **kw,  # type: ignore[arg-type]
    )
    return WebhookSink(settings, InMemoryLedger(), dead.append)


def test_receiver_verifies_signed_public_payload() -> None:
    async def main() -> None:
        dead: list[DeadLetterDelivery] = []
        async with ScriptedServer(check=receiver_check) as srv:
            sink = sink_for(srv, dead)
            await sink.start()
            alerts = incident()
            for a in alerts:
                assert sink.submit(a)
            await sink.join()
            await sink.stop()
        assert dead == [] and sink.counters.delivered == 4
        assert [r.headers[IDEMPOTENCY_HEADER] for r in srv.received] == [a.alert_id for a in alerts]
        body = json.loads(srv.received[0].body)
        assert body["alert_id"] == alerts[0].alert_id and body["risk"] == "crs"
        for r in srv.received:
            assert PATIENT not in r.body.decode() and "patient_ref" not in r.body.decode()

    asyncio.run(main())


def test_wrong_secret_is_rejected_by_receiver_and_dead_lettered() -> None:
    async def main() -> None:
        dead: list[DeadLetterDelivery] = []
        async with ScriptedServer(check=receiver_check) as srv:
            sink = sink_for(srv, dead, secret=b"not-the-shared-secret-987654321")
            await sink.start()
            sink.submit(incident()[0])
            await sink.join()
            await sink.stop()
        assert [d.reason for d in dead] == ["http_401"]

    asyncio.run(main())


def test_internal_receiver_gets_full_record() -> None:
    async def main() -> None:
        dead: list[DeadLetterDelivery] = []
        async with ScriptedServer(check=receiver_check) as srv:
            sink = sink_for(srv, dead, include_patient=True, actions_only=True)
            await sink.start()
            a = incident()[0]
            sink.submit(a)
            await sink.join()
            await sink.stop()
        assert decode_alert(srv.received[0].body) == a
        assert a.patient_ref == f"Patient/{PATIENT}"

    asyncio.run(main())


def test_signature_rules() -> None:
    body = b'{"alert_id":"al-1"}'
    now = 1_800_000_000.0
    headers = signed_headers(SECRET, body, now)
    assert headers[SIGNATURE_HEADER].startswith("v1=")
    assert verify_webhook(SECRET, body, headers, now)
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify_webhook(SECRET, body, lower, now + 299)
    assert not verify_webhook(SECRET, body + b" ", headers, now)  # tampered body
    assert not verify_webhook(b"x" * 32, body, headers, now)  # other secret
    assert not verify_webhook(SECRET, body, headers, now + 301)  # replayed later
    moved = {**headers, TIMESTAMP_HEADER: str(int(now) + 100)}
    assert not verify_webhook(SECRET, body, moved, now + 100)  # timestamp is signed
    assert not verify_webhook(SECRET, body, {TIMESTAMP_HEADER: "x"}, now)
    assert not verify_webhook(SECRET, body, {}, now)


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError):
        WebhookSettings(name="x", url="http://127.0.0.1:1/", secret=b"short")

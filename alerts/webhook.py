"""A generic signed webhook sink, and the check a receiver runs.

Each POST carries the alert as JSON and three headers:

- ``X-EWS-Timestamp``: Unix seconds when the attempt was sent;
- ``X-EWS-Signature``: ``v1=`` + hex HMAC-SHA256(shared secret, ``<timestamp>.`` + body).
  The timestamp is inside the signed bytes, so it cannot be changed to replay an old
  request; a receiver rejects timestamps outside its tolerance (default 5 min);
- ``Idempotency-Key``: the alert id; a receiver that sees it twice can drop the repeat.

The body is the public view of the alert (:mod:`alerts.public`) unless ``include_patient``
is set for a receiver inside the hospital (an EHR integration engine), which then gets the
full alert record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import msgspec

from alerts.delivery import (
    DeadLetterCallback,
    DeliveryRequest,
    DeliverySink,
    EventCallback,
    RetrySettings,
    Sleep,
)
from alerts.ledger import DeliveryLedger
from alerts.public import public_details
from alerts.record import AlertRecord, encode_alert

SIGNATURE_HEADER = "X-EWS-Signature"
TIMESTAMP_HEADER = "X-EWS-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300.0


class WebhookSettings(msgspec.Struct, frozen=True, kw_only=True):
    """One webhook receiver."""

    name: str
    """Sink name (ledger namespace and metric label), e.g. ``ehr-inbox``."""
    url: str
    secret: bytes
    include_patient: bool = False
    """Send the full record (patient and encounter references): internal receivers only."""
    actions_only: bool = False
    """Send only transitions with an action (notify, acknowledge, resolve)."""
    retry: RetrySettings = msgspec.field(default_factory=RetrySettings)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("webhook secret must be at least 16 bytes")


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 of ``<timestamp>.<body>``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_SCHEME}={mac.hexdigest()}"


def signed_headers(secret: bytes, body: bytes, now_s: float) -> dict[str, str]:
    """Timestamp and signature headers for one attempt."""
    ts = int(now_s)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature(secret, ts, body)}


def verify_webhook(
    secret: bytes,
    body: bytes,
    headers: Mapping[str, str],
    now_s: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Receiver side: the signature matches the body and timestamp, and the timestamp is
    within ``tolerance_s`` of the receiver's clock. Header names are case-insensitive."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts_text = lower.get(TIMESTAMP_HEADER.lower())
    sig = lower.get(SIGNATURE_HEADER.lower())
    if ts_text is None or sig is None:
        return False
    try:
        ts = int(ts_text)
    except ValueError:
        return False
    if abs(now_s - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sig, signature(secret, ts, body))


def webhook_body(alert: AlertRecord, include_patient: bool) -> bytes:
    """The JSON body for a receiver."""
    if include_patient:
        return encode_alert(alert)
    details: dict[str, Any] = public_details(alert)
    return json.dumps(details, separators=(",", ":")).encode()


class WebhookSink(DeliverySink):
    """Posts alerts to one receiver; idempotent by alert id through the delivery ledger."""

    def __init__(
        self,
        settings: WebhookSettings,
        ledger: DeliveryLedger,
        on_dead_letter: DeadLetterCallback,
        *,
        session: aiohttp.ClientSession | None = None,
        on_event: EventCallback | None = None,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        super().__init__(
            settings.name,
            settings.retry,
            ledger,
            on_dead_letter,
            session=session,
            on_event=on_event,
            rng=rng,
            sleep=sleep,
            clock=clock,
        )

    def request_for(self, alert: AlertRecord) -> DeliveryRequest | None:
        """The signed request for a record (``None`` when filtered out by settings)."""
        if self.settings.actions_only and alert.action is None:
            return None
        secret = self.settings.secret
        body = webhook_body(alert, self.settings.include_patient)
        return DeliveryRequest(
            key=alert.alert_id,
            order_key=alert.dedup_key,
            url=self.settings.url,
            body=body,
            headers={IDEMPOTENCY_HEADER: alert.alert_id},
            sign=lambda b, now: signed_headers(secret, b, now),
        )

    def submit(self, alert: AlertRecord) -> bool:
        """Queue a record without waiting; ``False`` when filtered out, a duplicate already
        queued, or dead-lettered (queue full)."""
        request = self.request_for(alert)
        return False if request is None else self.delivery.submit(request)

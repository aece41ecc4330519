"""PagerDuty Events API v2 sink: trigger, acknowledge and resolve incidents.

``POST {base_url}/v2/enqueue`` with ``routing_key``, ``event_action``, ``dedup_key`` (the
alert's dedup key: one PagerDuty incident per episode) and, for triggers, ``payload`` with
``summary`` (<= 1024 characters), ``source``, ``severity`` from the grade, ``timestamp`` and
``custom_details`` from :func:`alerts.public.public_details` (no patient identifiers).
``202`` is accepted; 429 and 5xx are retried (see :mod:`alerts.delivery`); other 4xx mean a
malformed event or a wrong routing key and go straight to the dead-letter callback.

Routing keys come from settings as a mapping, looked up most specific first:
``"<risk>/<unit>"``, ``"*/<unit>"``, ``"<risk>"``, ``"*"``. A transition with no routing
key is dead-lettered (reason ``no_routing_key``), never dropped silently.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
import msgspec

from alerts.delivery import (
    DeadLetterCallback,
    DeadLetterDelivery,
    DeliveryRequest,
    DeliverySink,
    EventCallback,
    RetrySettings,
    Sleep,
)
from alerts.ledger import DeliveryLedger
from alerts.public import public_details, summary_line
from alerts.record import AlertRecord

PagerAction = Literal["trigger", "acknowledge", "resolve"]
Severity = Literal["critical", "error", "warning", "info"]

MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024

SubmitOutcome = Literal["queued", "not_paged", "rejected"]
"""``queued``: on its way; ``not_paged``: the transition pages no one (suppression records,
a resolution of a never-paged episode); ``rejected``: dead-lettered or a duplicate."""


def _default_severity() -> dict[int, Severity]:
    return {0: "info", 1: "info", 2: "warning", 3: "error", 4: "critical"}


class PagerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how to page."""

    routing_keys: dict[str, str]
    """Integration keys by ``<risk>/<unit>``, ``*/<unit>``, ``<risk>`` or ``*``."""
    base_url: str = "https://events.pagerduty.com"
    source: str = "blina-ews"
    """PagerDuty ``payload.source``: the service, never a patient or a bed."""
    severity_by_grade: dict[int, Severity] = msgspec.field(default_factory=_default_severity)
    unknown_grade_severity: Severity = "warning"
    """Severity when the grade is unknown (a model-only alert)."""
    retry: RetrySettings = msgspec.field(default_factory=RetrySettings)

    @property
    def enqueue_url(self) -> str:
        """The Events API v2 endpoint."""
        return self.base_url.rstrip("/") + "/v2/enqueue"


_ACTIONS: dict[str, PagerAction] = {
    "notify": "trigger",
    "acknowledge": "acknowledge",
    "resolve": "resolve",
}


def pager_action(alert: AlertRecord) -> PagerAction | None:
    """The Events API action for a record (``None``: nothing to send)."""
    return None if alert.action is None else _ACTIONS[alert.action]


def severity(alert: AlertRecord, settings: PagerSettings) -> Severity:
    """PagerDuty severity from the grade."""
    if alert.grade is None:
        return settings.unknown_grade_severity
    return settings.severity_by_grade.get(alert.grade, "critical" if alert.grade > 4 else "info")


def routing_key(routing: Mapping[str, str], risk: str, unit: str | None) -> str | None:
    """The most specific routing key for a risk and care unit, ``None`` if none applies."""
    candidates = [f"{risk}/{unit}", f"*/{unit}"] if unit else []
    candidates += [risk, "*"]
    for name in candidates:
        if name in routing:
            return routing[name]
    return None


def _timestamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def pager_event(
    alert: AlertRecord, action: PagerAction, routing: str, settings: PagerSettings
) -> dict[str, Any]:
    """The Events API v2 body for one record."""
    if len(alert.dedup_key) > MAX_DEDUP_KEY:
        raise ValueError("dedup_key longer than 255 characters")
    event: dict[str, Any] = {
        "routing_key": routing,
        "event_action": action,
        "dedup_key": alert.dedup_key,
    }
    if action != "trigger":
        return event
    event["payload"] = {
        "summary": summary_line(alert, MAX_SUMMARY),
        "source": settings.source,
        "severity": severity(alert, settings),
        "timestamp": _timestamp(alert.event_ms),
        "component": alert.risk,
        "class": alert.transition,
        "custom_details": public_details(alert),
    }
    if alert.picture_url:
        event["links"] = [{"href": alert.picture_url, "text": "Alert timeline (sign-in needed)"}]
    event["client"] = settings.source
    return event


class PagerSink(DeliverySink):
    """Pages through PagerDuty; idempotent by alert id through the delivery ledger."""

    name = "pagerduty"

    def __init__(
        self,
        settings: PagerSettings,
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
            self.name,
            settings.retry,
            ledger,
            on_dead_letter,
            session=session,
            on_event=on_event,
            rng=rng,
            sleep=sleep,
            clock=clock,
        )
        self._on_dead_letter = on_dead_letter

    def request_for(self, alert: AlertRecord, unit: str | None = None) -> DeliveryRequest | None:
        """The HTTP request for a record, ``None`` when the record pages no one.

        Raises ``LookupError`` when no routing key applies.
        """
        action = pager_action(alert)
        if action is None:
            return None
        key = routing_key(self.settings.routing_keys, alert.risk, unit)
        if key is None:
            raise LookupError(f"no PagerDuty routing key for risk {alert.risk!r} unit {unit!r}")
        body = json.dumps(pager_event(alert, action, key, self.settings)).encode()
        return DeliveryRequest(
            key=alert.alert_id,
            order_key=alert.dedup_key,
            url=self.settings.enqueue_url,
            body=body,
            headers={"Idempotency-Key": alert.alert_id},
        )

    def submit(self, alert: AlertRecord, unit: str | None = None) -> SubmitOutcome:
        """Queue a record for paging without waiting (see :class:`SubmitOutcome`)."""
        try:
            request = self.request_for(alert, unit)
        except LookupError as exc:
            self.delivery.counters.failed += 1
            by = self.delivery.counters.failures_by_reason
            by["no_routing_key"] = by.get("no_routing_key", 0) + 1
            self._on_dead_letter(
                DeadLetterDelivery(
                    sink=self.name,
                    key=alert.alert_id,
                    order_key=alert.dedup_key,
                    url=self.settings.enqueue_url,
                    reason="no_routing_key",
                    detail=str(exc),
                )
            )
            return "rejected"
        if request is None:
            return "not_paged"
        return "queued" if self.delivery.submit(request) else "rejected"

"""Alert outputs beside the alerts topic: FHIR Bundles, the picture index, the signed webhook.

Wired into the worker by :func:`install` (called from ``Service._build_app``); the pipeline
agent hands every batch's alert records to :meth:`AlertOutputs.publish`.

- **FHIR** (``EWS_PUBLISH_FHIR``, on by default): one FHIR R4 transaction Bundle per alert
  transition on ``<prefix>.fhir``, keyed by the dedup key (one incident stays in one
  partition, in order). See :func:`alerts.fhir.fhir_alert_bundle`.
- **Picture index** (when ``EWS_WEB_AUTH_TOKEN`` is set, i.e. pictures are served): the alert
  record keyed by alert id on ``<prefix>.alert-index``, sent to the partition of the
  alert's patient; the ``alert-index`` agent stores it in a changelogged table under that
  partition, so the worker that owns a patient's state also owns its alerts' index entries
  (see :mod:`streams.web`).
- **Webhook** (``EWS_WEBHOOK_URL`` + ``EWS_WEBHOOK_SECRET``): its own agent on the alerts
  topic and its own delivery ledger table, exactly like the pager: signed POSTs, retries
  with backoff, dead letters when it gives up, ``ews_pager_deliveries_total{sink="webhook"}``
  and ``ews_pager_failures_total{sink="webhook"}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from faust.streams import current_event

from alerts.delivery import DeadLetterDelivery, RetrySettings
from alerts.fhir import fhir_alert_bundle
from alerts.ledger import DeliveryRecord, ledger_key
from alerts.record import AlertRecord, decode_alert, encode_alert
from alerts.webhook import WebhookSettings, WebhookSink
from contract.events import DeadLetter, encode
from streams.bulk import BulkSender, changelog_written, producer_of
from streams.topics import ALERT_INDEX, FHIR

if TYPE_CHECKING:
    import faust

    from streams.app import Service
    from streams.pipeline import BatchResult

log = logging.getLogger(__name__)

WEBHOOK_SINK = "webhook"
"""The webhook's sink name: ledger namespace, metric label, dead-letter stage suffix."""


class TableLedger:
    """A delivery ledger in a changelogged Faust table (pager and webhook).

    ``put`` is called inside the sink agent's iteration, after a delivery: Faust's current
    event is the alert delivered, and the record goes to that alert's changelog partition (as
    a table write would). It returns once that one record is on the broker. A worker killed
    after a delivery but before its ledger record was written leaves the partition's next
    owner no trace of it, and the alert is delivered again; awaiting only this record (one
    produce round trip, a few ms on loopback) instead of flushing Faust's whole producer
    buffer (50-100 ms behind a batch's alert, audit and FHIR records under load) keeps that
    window as short as the broker allows. What remains is covered by the receivers' own
    idempotency (PagerDuty's dedup_key, the webhook's Idempotency-Key).
    """

    def __init__(self, table: Any, producer: Callable[[], Any]) -> None:
        self.table = table
        self._bulk = BulkSender(producer, on_written=changelog_written(table))

    async def get(self, sink: str, key: str) -> DeliveryRecord | None:
        stored = self.table.get(ledger_key(sink, key).encode())
        return msgspec.json.decode(stored, type=DeliveryRecord) if stored else None

    async def put(self, record: DeliveryRecord) -> None:
        event = current_event()
        if event is None:
            raise RuntimeError("a delivery ledger write outside a sink agent's event")
        key = ledger_key(record.sink, record.key).encode()
        value = msgspec.json.encode(record)
        self.table.data[key] = value  # the store (RocksDB: the current event's partition)
        changelog = self.table.changelog_topic.get_topic_name()
        self._bulk.add(changelog, key, value, partition=event.message.partition)
        await self._bulk.send()


class AlertOutputs:
    """The worker's alert outputs besides the alerts topic (FHIR, picture index, webhook)."""

    def __init__(self, service: Service, app: faust.App) -> None:
        s = service.settings
        self.service = service
        self.fhir: Any = None
        if s.publish_fhir:
            self.fhir = app.topic(s.topic(FHIR), key_serializer="raw", value_serializer="raw")
        self.index_topic: Any = None
        self.index: Any = None
        if s.web_auth_token is not None:
            self.index_topic = app.topic(
                s.topic(ALERT_INDEX),
                partitions=s.topic_partitions,
                key_serializer="raw",
                value_serializer="raw",
            )
            # Alert id -> alert record, in the partition of the alert's patient.
            self.index = app.Table(
                "alert-index", partitions=s.topic_partitions, key_type=bytes, value_type=bytes
            )
            app.agent(self.index_topic, name="alert-index")(self._index_agent)
        self.webhook: WebhookSink | None = None
        if s.webhook_url:
            if s.webhook_secret is None:
                raise ValueError("EWS_WEBHOOK_URL is set but EWS_WEBHOOK_SECRET is not")
            # Deliveries made, by ledger key: a restarted worker never posts a transition twice.
            ledger = app.Table(
                "webhook-ledger", partitions=s.topic_partitions, key_type=bytes, value_type=bytes
            )
            self.webhook = WebhookSink(
                WebhookSettings(
                    name=WEBHOOK_SINK,
                    url=s.webhook_url,
                    secret=s.webhook_secret.get_secret_value().encode(),
                    include_patient=s.webhook_include_patient,
                    retry=RetrySettings(
                        timeout_s=s.webhook_timeout_s, max_attempts=s.webhook_max_attempts
                    ),
                ),
                TableLedger(ledger, producer_of(app)),
                self._dead_letter,
                on_event=self._delivery_event,
            )
            app.agent(service.alerts, name="webhook")(self._webhook_agent)

    # --- FHIR and the picture index (called by the pipeline agent) -------------------------

    def publish(self, result: BatchResult, bulk: BulkSender) -> None:
        """Queue the batch's alert transitions as FHIR Bundles and picture-index entries on
        the pipeline's bulk sender (sent with the alerts, before the state: see
        ``Service.process_batch``)."""
        for alert in result.alerts:
            key = alert.dedup_key.encode()
            if self.fhir is not None:
                bulk.add(self.fhir.get_topic_name(), key, fhir_bundle_bytes(alert))
            if self.index_topic is not None:
                message = result.last_message.get(alert.patient_ref)
                bulk.add(
                    self.index_topic.get_topic_name(),
                    alert.alert_id.encode(),
                    encode_alert(alert),
                    partition=None if message is None else message.ref.partition,
                )

    async def _index_agent(self, stream: Any) -> AsyncIterator[None]:
        async for event in stream.events():
            if isinstance(event.key, bytes) and isinstance(event.value, bytes):
                self.index[event.key] = event.value
            yield None

    def alert_record(self, alert_id: str) -> AlertRecord | None:
        """The indexed alert record, when this worker holds it."""
        if self.index is None:
            return None
        stored = self.index.get(alert_id.encode())
        return decode_alert(stored) if stored else None

    # --- the webhook -------------------------------------------------------------------------

    async def _webhook_agent(self, stream: Any) -> AsyncIterator[None]:
        """Post each alert transition once, in order per partition (see ``_pager_agent``)."""
        assert self.webhook is not None
        async for _ in delivery_loop(stream, self.webhook, self._post, self.service.delivering):
            yield None

    async def _post(self, event: Any) -> None:
        assert self.webhook is not None
        alert = decode_alert(event.value)
        request = self.webhook.request_for(alert)
        if request is not None:
            result = await self.webhook.delivery.deliver(request)
            self.service.metrics.pager_deliveries.labels(WEBHOOK_SINK, result.status).inc()

    def _delivery_event(self, event: str, reason: str) -> None:
        if event in ("retry", "failed"):
            self.service.metrics.pager_failures.labels(WEBHOOK_SINK, reason or event).inc()

    def _dead_letter(self, letter: DeadLetterDelivery) -> None:
        """A delivery given up on: counted and written to the dead-letter topic."""
        record = DeadLetter(
            reason=f"{WEBHOOK_SINK}_{letter.reason}",
            detail=letter.detail[:200],
            stage=WEBHOOK_SINK,
            key=letter.key.encode(),
            original=msgspec.json.encode(letter),
        )
        self.service.metrics.deadletters.labels(WEBHOOK_SINK, record.reason).inc()
        self.service.deadletter.send_soon(key=letter.key.encode(), value=encode(record))


def fhir_bundle_bytes(alert: AlertRecord) -> bytes:
    """The FHIR Bundle of one alert transition as compact JSON."""
    return json.dumps(fhir_alert_bundle(alert), separators=(",", ":")).encode()


def install(service: Service, app: faust.App) -> AlertOutputs:
    """Create the outputs' topics, tables and agents on ``app``."""
    return AlertOutputs(service, app)


class Running:
    """How many deliveries are under way in the worker's sink agents: the stall watch
    (``Service.watch_inputs``) leaves alert partitions alone while a sink is delivering,
    however long its retries take."""

    def __init__(self) -> None:
        self.count = 0


async def delivery_loop(
    stream: Any, sink: Any, deliver: Callable[[Any], Awaitable[None]], running: Running
) -> AsyncIterator[None]:
    """Hand each event of an agent's ``stream`` to ``deliver``, one at a time, between the
    sink's ``start`` and ``stop`` (its HTTP session lives on the agent's event loop)."""
    await sink.start()
    try:
        async for event in stream.events():
            running.count += 1
            try:
                await deliver(event)
            finally:
                running.count -= 1
            yield None
    finally:
        await sink.stop()

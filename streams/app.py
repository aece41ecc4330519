"""The one place that wires the service: settings -> Faust app, topics, tables, agents, web.

``create_app(settings)`` builds everything from the typed settings; the worker CLI, the demo
and the integration tests all run the app it returns, so what is tested is what is deployed.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import faust
import msgspec
from faust import web
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import CollectorRegistry

from contract.codemap import load_codemap
from contract.events import IngestRecord, InputRef, encode
from ews.settings import Settings
from streams import transport
from streams.ingest import Ingestor, IngestResult, limits_from
from streams.metrics import Metrics
from streams.topics import CANONICAL, DEADLETTER, INPUT_TOPICS, InputFormat

log = logging.getLogger(__name__)
_ids_encoder = msgspec.json.Encoder()
_ids_decoder = msgspec.json.Decoder(list[str])


def kafka_credentials(settings: Settings) -> Any:
    """Faust credentials for the configured security protocol (``None`` for PLAINTEXT)."""
    protocol = settings.security_protocol
    context: ssl.SSLContext | None = None
    if protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
        if settings.ssl_certfile:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
            )
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        return faust.SASLCredentials(
            username=settings.sasl_username or "",
            password=password,
            ssl_context=context,
            mechanism=settings.sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


class _App(faust.App):
    """Faust app carrying the fetch wait that :mod:`streams.transport` applies."""

    ews_fetch_max_wait_ms: int | None = None


class Service:
    """The Faust app plus the service's own parts, built from settings."""

    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = Metrics(self.registry)
        codemap = load_codemap(settings.extra_signals_file, settings.extra_codes_file)
        self.ingestor = Ingestor(
            codemap,
            limits_from(settings),
            dedup_window=settings.dedup_window,
            default_tz=settings.hl7_default_tz,
        )
        self.app = self._build_app()

    def _build_app(self) -> faust.App:
        s = self.settings
        transport.register()
        brokers = [f"{transport.SCHEME}://{h.strip()}" for h in s.bootstrap_servers.split(",")]
        app = _App(
            s.app_id,
            broker=brokers,
            broker_credentials=kafka_credentials(s),
            store=s.store,
            datadir=str(s.data_dir),
            topic_partitions=s.topic_partitions,
            topic_replication_factor=s.topic_replication,
            broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=max(0.5, s.session_timeout_s / 5),
            producer_max_batch_size=s.producer_max_batch_size,
            consumer_auto_offset_reset="earliest",
            consumer_group_instance_id=s.group_instance_id,
            web_host=s.web_host,
            web_port=s.web_port,
            web_in_thread=False,
            key_serializer="raw",
            value_serializer="raw",
        )
        app.ews_fetch_max_wait_ms = s.fetch_max_wait_ms  # read by streams.transport
        self.input_formats: dict[str, InputFormat] = {
            s.topic(name): fmt for name, fmt in INPUT_TOPICS.items()
        }
        self.inputs = app.topic(*self.input_formats, key_serializer="raw", value_serializer="raw")
        self.canonical = app.topic(s.topic(CANONICAL), key_serializer="raw", value_serializer="raw")
        self.deadletter = app.topic(
            s.topic(DEADLETTER), key_serializer="raw", value_serializer="raw"
        )
        # Recent delivery ids per patient, for duplicate detection that survives restarts.
        self.recent_ids = app.Table(
            "recent-delivery-ids",
            partitions=s.topic_partitions,
            schema=faust.Schema(
                key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            ),
        )
        app.agent(self.inputs, name="ingest")(self._ingest_agent)
        setup_prometheus_sensors(app, registry=self.registry, name_prefix="faust")
        service = self

        @app.page("/ready")
        async def ready(view: web.View, request: web.Request) -> web.Response:
            is_ready = service.is_ready()
            service.metrics.ready.set(1 if is_ready else 0)
            return view.json({"ready": is_ready}, status=200 if is_ready else 503)

        return app

    def is_ready(self) -> bool:
        """Ready when assigned partitions are recovered and no rebalance is running."""
        app = self.app
        recovery = cast(Any, app.tables).recovery
        return bool(
            not app.rebalancing
            and not getattr(app, "in_recovery", False)
            and recovery.completed.is_set()
        )

    async def _ingest_agent(self, stream: Any) -> AsyncIterator[None]:
        async for event in stream.events():
            msg = event.message
            await self.handle(
                self.input_formats[msg.topic],
                InputRef(msg.topic, msg.partition, msg.offset),
                msg.key,
                event.value,
            )
            yield None

    async def handle(
        self, fmt: InputFormat, ref: InputRef, key: bytes | None, value: bytes | None
    ) -> IngestResult:
        """Ingest one message: normalize, de-duplicate, publish, count."""
        started = time.perf_counter()
        data = value if isinstance(value, bytes) else b""
        patient = key if key and len(key) <= 64 else None
        recent: list[str] | None = None
        if patient is not None:
            stored = self.recent_ids.get(patient)
            recent = _ids_decoder.decode(stored) if stored else []
        result = self.ingestor.ingest(fmt, ref, key, data, int(time.time() * 1000), recent)
        if result.outcome not in ("duplicate", "dead_lettered") and patient and recent:
            self.recent_ids[patient] = _ids_encoder.encode(recent)
        self.metrics.ingest_seconds.observe(time.perf_counter() - started)
        await self._publish(fmt, key, result)
        return result

    async def _publish(self, fmt: InputFormat, key: bytes | None, result: IngestResult) -> None:
        m = self.metrics
        m.ingest_messages.labels(fmt, result.outcome).inc()
        record = result.record
        if record is not None:
            self._count_events(fmt, record)
            if self.settings.publish_canonical:
                await self.canonical.send(key=record.patient_id.encode(), value=encode(record))
        for letter, reason in zip(result.deadletters, result.reasons, strict=True):
            m.events_rejected.labels(fmt, reason).inc()
            m.deadletters.labels("ingest", reason).inc()
            await self.deadletter.send(key=key, value=encode(letter))

    def _count_events(self, fmt: InputFormat, record: IngestRecord) -> None:
        newest = 0
        for ev in record.events:
            self.metrics.events_in.labels(fmt, type(ev).__name__.lower()).inc()
            newest = max(newest, ev.time_ms)
        if newest:
            self.metrics.last_event_ts.labels(fmt).set(newest / 1000)


def create_app(settings: Settings | None = None) -> faust.App:
    """The worker's Faust app built from ``settings`` (default: the environment)."""
    return Service(settings or Settings()).app

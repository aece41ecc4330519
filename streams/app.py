"""The one place that wires the service: settings -> Faust app, topics, tables, agents, web.

``create_app(settings)`` builds everything from the typed settings; the worker CLI, the demo
and the integration tests all run the app it returns, so what is tested is what is deployed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal, cast

import faust
import msgspec
from faust import streams as faust_streams
from faust import web
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import CollectorRegistry

import models as models_package
from alerts.audit import encode_audit
from alerts.config import DEFAULT_POLICY
from alerts.delivery import DeadLetterDelivery, RetrySettings
from alerts.ledger import DeliveryLedger
from alerts.pager import PagerSettings, PagerSink
from alerts.record import decode_alert, encode_alert
from contract.codemap import load_codemap
from contract.events import DeadLetter, InputRef, encode
from ews.settings import Settings
from models.manifest import MANIFEST_SUFFIX
from models.serving import ModelSet
from streams import sinks, transport
from streams import web as web_routes
from streams.alerting import Alerting
from streams.bulk import BulkSender, changelog_written, producer_of
from streams.faust_monitor import use_lean_monitor
from streams.ingest import Ingestor, limits_from
from streams.metrics import Metrics
from streams.pending import PendingRecords
from streams.pipeline import (
    BatchResult,
    InMessage,
    PatientRecord,
    Pipeline,
    ScoringPolicy,
    assessment_record,
)
from streams.pipeline import encode_record as encode_patient
from streams.record_cache import RecordCache
from streams.topics import (
    ACKS,
    ALERTS,
    ASSESSMENTS,
    AUDIT,
    CANONICAL,
    DEADLETTER,
    INPUT_TOPICS,
    InputFormat,
)
from streams.watchdog import ProgressWatch, RewindWatch, input_positions

log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 2.0
"""How often the input watch runs (``Service.watch_inputs``), and how long it waits for the
broker: a broker outage shows on ``/ready`` within about two intervals."""
SHIPPED_MODELS = Path(models_package.__file__).resolve().parent / "artifacts"
"""The models this release ships (trained by ``python -m models train``)."""


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
    """Faust app carrying what :mod:`streams.transport` reads: the fetch wait and the checks
    of a producer flush."""

    ews_fetch_max_wait_ms: int | None = None
    ews_flush_checks: tuple[Callable[[], None], ...] = ()
    """Run after every producer flush (before offsets are committed): streams.transport."""
    ews_stream_topics: frozenset[str] = frozenset()
    """Topics the agents consume (not changelogs): a rebalance seeks their partitions that
    have no committed offset to the beginning (streams.transport)."""
    ews_batched_topics: frozenset[str] = frozenset()
    """Topics whose records reach the agent as runs, one Faust event per partition and
    fetch (streams.transport.FetchedRun)."""
    ews_run_max_records: int = 500
    ews_on_offsets_lost: Callable[[str], None] | None = None
    """Called with the partitions whose committed offsets the broker lost (no commit)."""
    ews_on_offset_gap: Callable[[str, int], None] | None = None
    """Called with the topic and the record count when a skipped range is fetched again."""
    ews_before_commit: Callable[[], Awaitable[bool]] | None = None
    """Awaited right before input offsets are committed; ``False``: do not commit."""


RUN_BUFFER = 64
"""Faust's per-topic stream buffer, in events (runs of input records)."""


def in_fetch_order(events: Sequence[Any]) -> list[tuple[Any, Any]]:
    """``(event, record)`` for every input record of ``events`` (runs of input records,
    ``transport.FetchedRun``), in the order Faust would have delivered the records one by
    one: so a patient's messages on several topics stay interleaved as they were fetched."""
    numbered: list[tuple[int, Any, Any]] = []
    for event in events:
        run: transport.FetchedRun = event.value
        numbered.extend(
            (order, event, record) for order, record in zip(run.order, run.messages, strict=True)
        )
    numbered.sort(key=itemgetter(0))
    return [(event, record) for _, event, record in numbered]


class Service:
    """The Faust app plus the service's own parts, built from settings."""

    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = Metrics(self.registry)
        self.delivering = sinks.Running()
        codemap = load_codemap(settings.extra_signals_file, settings.extra_codes_file)
        self.ingestor = Ingestor(
            codemap,
            limits_from(settings),
            dedup_window=settings.dedup_window,
            default_tz=settings.hl7_default_tz,
        )
        self.models = load_models(settings.models_dir)
        self._show_models()
        self.pipeline = Pipeline(
            self.ingestor,
            scoring=ScoringPolicy(
                interval_ms=int(settings.score_interval_s * 1000),
                abnormal_interval_ms=int(settings.score_abnormal_interval_s * 1000),
            ),
            lateness_ms=int(settings.lateness_h * 3_600_000),
            alerting=Alerting(
                DEFAULT_POLICY,
                models=self.models,
                id_secret=_id_secret(settings),
                link_base=settings.web_public_url,
            ),
        )

        self.app = self._build_app()
        self.bulk = BulkSender(producer_of(self.app))  # the outputs of each batch
        # The patient records, written before each commit (write_pending).
        self.state_bulk = BulkSender(
            producer_of(self.app), on_written=changelog_written(self.patients)
        )
        self.records = RecordCache()  # decoded records of monitored patients between batches
        self.pending = PendingRecords()  # changed records, written right before each commit
        self._batch_lock = asyncio.Lock()  # a batch and the pending-record write never overlap
        self._write_lock = asyncio.Lock()  # one pending-record write at a time
        self._acking: set[asyncio.Future[None]] = set()  # runs waiting for their outputs
        # See transport.CheckedProducer.
        cast(Any, self.app).ews_flush_checks = (self.bulk.check, self.state_bulk.check)

    def _build_app(self) -> faust.App:
        s = self.settings
        transport.register()
        brokers = [f"{transport.SCHEME}://{h.strip()}" for h in s.bootstrap_servers.split(",")]
        # How peers reach this worker's web server (alert pictures, streams/web.py).
        web_url: dict[str, Any] = {}
        if s.web_canonical_url:
            web_url["canonical_url"] = s.web_canonical_url
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
            producer_linger=s.producer_linger_ms / 1000,
            broker_commit_interval=s.commit_interval_s,
            consumer_auto_offset_reset="earliest",
            # Events waiting for an agent: input events are runs of up to
            # ``batch_max_messages`` records (streams.transport), so this bounds the buffered
            # records at 64 runs instead of Faust's 4,096 events.
            stream_buffer_maxsize=RUN_BUFFER,
            consumer_group_instance_id=s.group_instance_id,
            web_host=s.web_host,
            web_port=s.web_port,
            web_in_thread=False,
            **web_url,
            key_serializer="raw",
            value_serializer="raw",
        )
        app.ews_fetch_max_wait_ms = s.fetch_max_wait_ms  # read by streams.transport
        self.input_formats: dict[str, InputFormat | Literal["command"]] = {
            s.topic(name): fmt for name, fmt in INPUT_TOPICS.items()
        }
        self.input_formats[s.topic(ACKS)] = "command"
        self._input_topics = set(self.input_formats)
        self.inputs = app.topic(*self.input_formats, key_serializer="raw", value_serializer="raw")
        self.alerts = app.topic(s.topic(ALERTS), key_serializer="raw", value_serializer="raw")
        self.audit = app.topic(s.topic(AUDIT), key_serializer="raw", value_serializer="raw")
        self.assessments = app.topic(
            s.topic(ASSESSMENTS), key_serializer="raw", value_serializer="raw"
        )
        self.canonical = app.topic(s.topic(CANONICAL), key_serializer="raw", value_serializer="raw")
        self.deadletter = app.topic(
            s.topic(DEADLETTER), key_serializer="raw", value_serializer="raw"
        )
        # One record per patient (feature state, recent delivery ids), changelogged.
        # key_type/value_type bytes make Faust use the raw codec for the changelog (it picks
        # the changelog serializers from these, not from a schema).
        self.patients = app.Table(
            "patients", partitions=s.topic_partitions, key_type=bytes, value_type=bytes
        )
        app.agent(self.inputs, name="pipeline")(self._pipeline_agent)
        self.pager: PagerSink | None = None
        if s.pager_url and s.pager_routing_keys is not None:
            # Pages delivered, by ledger key: a restarted worker never pages a transition twice.
            ledger = app.Table(
                "pager-ledger", partitions=s.topic_partitions, key_type=bytes, value_type=bytes
            )
            self.pager = _pager(
                s,
                sinks.TableLedger(ledger, producer_of(app)),
                self._page_dead_letter,
                self._page_event,
            )
            app.agent(self.alerts, name="pager")(self._pager_agent)
        # FHIR Bundles, the picture index and the signed webhook (streams/sinks.py); the
        # authenticated alert-picture route (streams/web.py).
        self.outputs = sinks.install(self, app)
        streams = {*self._input_topics, self.alerts.get_topic_name()}
        if self.outputs.index_topic is not None:
            streams.add(self.outputs.index_topic.get_topic_name())
        app.ews_stream_topics = frozenset(streams)  # see streams.transport
        app.ews_batched_topics = frozenset(self._input_topics)  # one event per fetched run
        app.ews_run_max_records = s.batch_max_messages
        app.ews_on_offset_gap = self._count_refetched
        app.ews_on_offsets_lost = self._offsets_lost
        app.ews_before_commit = self.write_pending
        web_routes.install(self, app, self.outputs)
        setup_prometheus_sensors(app, registry=self.registry, name_prefix="faust")
        use_lean_monitor(app)  # same faust_* metrics, label children cached per message
        service = self

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def write_before_revoke(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
            # A revoked partition's next owner recovers its patients from the changelog:
            # what this worker changed goes there first, whether or not a commit ran.
            await service.write_pending()

        @app.page("/ready")
        async def ready(view: web.View, request: web.Request) -> web.Response:
            phase = service.readiness()
            service.metrics.ready.set(1 if phase == "ready" else 0)
            body = {"ready": phase == "ready", "phase": phase}
            return view.json(body, status=200 if phase == "ready" else 503)

        if self.models is not None:

            @app.timer(interval=s.model_reload_s)  # type: ignore[untyped-decorator]
            async def reload_models() -> None:
                service._reload_models()

        self._rewinds = RewindWatch()
        self._progress = ProgressWatch(int(s.stall_timeout_s * 1000))
        self._delivery_progress = ProgressWatch(int(s.stall_timeout_s * 1000))
        # The alert partitions the pager and webhook agents read (stall watch only).
        self._delivery_topics = (
            {self.alerts.get_topic_name()} if self.pager or self.outputs.webhook else set()
        )
        self._watch_reason: str | None = None
        """Why the input watch holds the worker not ready (``stalled``, ``broker``)."""

        @app.timer(interval=WATCH_INTERVAL_S)  # type: ignore[untyped-decorator]
        async def watch_inputs() -> None:
            await service.watch_inputs()

        @app.timer(interval=2.0)  # type: ignore[untyped-decorator]
        async def update_ready_gauge() -> None:
            # Prometheus sees readiness even when nothing polls /ready.
            service.metrics.ready.set(1 if service.is_ready() else 0)

        return app

    async def watch_inputs(self) -> None:
        """The input watch (every ``WATCH_INTERVAL_S``): fail loudly instead of silently.

        - An input log that went backwards would be dropped silently by Faust: stop, so the
          restarted worker reads it (streams/watchdog.py, ``RewindWatch``).
        - Input partitions with messages beyond the committed offset and no progress for
          ``EWS_STALL_TIMEOUT_S``: not ready, and stop, so a restart reads them again
          (``ProgressWatch``; the idle-after-rebalance bug of docs/reliability.md).
        - The broker not answering the log-end query: not ready (``broker``) until it
          answers again; the consumer reconnects by itself.
        - The same stall check on the alert partitions the pager and webhook agents read,
          except while a delivery is under way (a pager outage is retried, not a stall).
        """
        app = self.app
        if not self._phase_ready():
            self._progress.reset()
            self._delivery_progress.reset()
            return
        consumer = cast(Any, app.consumer)
        assigned = consumer.assignment()
        tps = [tp for tp in assigned if tp.topic in self._input_topics]
        alert_tps = [tp for tp in assigned if tp.topic in self._delivery_topics]
        try:
            positions, reads, seen_ends = await asyncio.wait_for(
                input_positions(consumer, self._input_topics | self._delivery_topics),
                WATCH_INTERVAL_S,
            )
            ends = await asyncio.wait_for(consumer.highwaters(*tps, *alert_tps), WATCH_INTERVAL_S)
            on_broker = await asyncio.wait_for(consumer.committed_offsets(tps), WATCH_INTERVAL_S)
        except Exception as exc:  # the broker is unreachable or failing: say so, retry
            if self._watch_reason != "broker":
                log.error("input log ends unavailable, not ready until the broker answers: %r", exc)
            self._watch_reason = "broker"
            self.metrics.ready.set(0)
            return
        committed = {
            (tp.topic, tp.partition): consumer._committed_offset.get(tp)
            for tp in (*tps, *alert_tps)
        }
        # The log end: the larger of the broker's answer (ListOffsets) and what the last
        # fetch response said. Tansu answers ListOffsets with the start of the last record
        # batch + 1, short of the true end (broker-notes.md, quirk 1); fetches are right.
        log_ends: dict[tuple[str, int], int | None] = {}
        for tp in (*tps, *alert_tps):
            key = (tp.topic, tp.partition)
            known = [e for e in (ends.get(tp), seen_ends.get(key)) if e is not None]
            log_ends[key] = max(known) if known else None
        inputs = {(tp.topic, tp.partition) for tp in tps}
        went_back = self._rewinds.check(
            {k: v for k, v in positions.items() if k in inputs},
            reads,
            seen_ends,
            committed,
            log_ends,
            {(tp.topic, tp.partition): offset for tp, offset in on_broker.items()},
        )
        if went_back:
            where = ", ".join(f"{t}[{p}] {self._rewinds.sign((t, p))}" for t, p in went_back)
            log.critical(
                "input log went back below the offsets already read (%s): the broker "
                "lost data or a topic was re-created; stopping so a restart reads it",
                where,
            )
            await self._stop_loudly("rewound", f"input log went back: {where}")
            return
        if self._watch_reason == "broker":
            log.info("the broker answers again")
        self._watch_reason = None
        if self._progress.stall_ms <= 0:
            return
        now_ms = int(time.monotonic() * 1000)
        # For the stall check, a partition the consumer has not fetched since it was
        # assigned (no fetch response, so no highwater) counts as waiting: a working
        # consumer fetches every assigned partition within a fetch wait, data or not, and
        # an idle one cannot be judged by ListOffsets on Tansu, whose answer stops short of
        # the last batch (broker-notes.md, quirk 1).
        waiting_ends = {
            key: end if seen_ends.get(key) is not None else max(end or 0, (committed[key] or 0) + 1)
            for key, end in log_ends.items()
        }
        stalled = self._progress.check(
            now_ms,
            {k: v for k, v in committed.items() if k in inputs},
            {k: v for k, v in waiting_ends.items() if k in inputs},
        )
        if self.delivering.count:
            self._delivery_progress.reset()  # delivering (maybe retrying): not a stall
        else:
            stalled += self._delivery_progress.check(
                now_ms,
                {k: v for k, v in committed.items() if k not in inputs},
                {k: v for k, v in waiting_ends.items() if k not in inputs},
            )
        if stalled:
            where = ", ".join(f"{t}[{p}]" for t, p in stalled)
            log.critical(
                "partitions hold unprocessed messages and made no progress for %.0f s "
                "(%s): stopping so a restart reads them",
                self._progress.stall_ms / 1000,
                where,
            )
            await self._stop_loudly("stalled", f"partitions stalled: {where}")

    async def _stop_loudly(self, reason: str, message: str) -> None:
        self._watch_reason = reason
        self.metrics.ready.set(0)
        await self.app.crash(RuntimeError(message))

    def _offsets_lost(self, where: str) -> None:
        """The consumer found committed offsets gone from the broker before a commit."""
        if self._watch_reason == "rewound":
            return  # already stopping
        log.critical(
            "the broker lost the committed offsets of %s (it lost its state): not committing; "
            "stopping so a restart reads from what the broker has",
            where,
        )
        self._watch_reason = "rewound"  # at once: a second commit before the task runs returns
        self._stopping = asyncio.ensure_future(
            self._stop_loudly("rewound", f"committed offsets lost: {where}")
        )

    def _count_refetched(self, topic: str, records: int) -> None:
        self.metrics.input_refetched.labels(topic=topic).inc(records)

    def readiness(self) -> str:
        """``ready``, or why not: ``starting``, ``rebalancing``, ``recovering``; or from the
        input watch: ``broker`` (unreachable), ``stalled`` or ``rewound`` (stopping)."""
        phase = self._phase()
        if phase == "ready" and self._watch_reason is not None:
            return self._watch_reason
        return phase

    def _phase_ready(self) -> bool:
        return self._phase() == "ready"

    def _phase(self) -> str:
        app = self.app
        recovery = cast(Any, app.tables).recovery
        # Faust recovers tables inside a rebalance; name the more specific phase.
        if getattr(app, "in_recovery", False) or recovery.in_recovery:
            return "recovering"
        if app.rebalancing:
            return "rebalancing"
        if not recovery.completed.is_set():
            return "starting"
        return "ready"

    def is_ready(self) -> bool:
        """Ready when assigned partitions are recovered and no rebalance is running."""
        return self.readiness() == "ready"

    def _reload_models(self) -> None:
        """Swap in new model versions found on disk; a bad one keeps the serving model."""
        assert self.models is not None
        report = self.models.maybe_reload()
        for path, error in report.errors.items():
            log.error("model %s not loaded, the serving version stays: %s", path, error)
        if report.reloaded:
            log.info("models reloaded: %s", ", ".join(report.reloaded))
            self._show_models()

    def _show_models(self) -> None:
        self.metrics.model_info.clear()
        if self.models is None:
            return
        for risk in self.models.risks:
            manifest = self.models.manifest(risk)
            self.metrics.model_info.labels(risk, manifest.version).set(1)

    async def _pipeline_agent(self, stream: Any) -> AsyncIterator[None]:
        """Each event is a run of input records (``transport.FetchedRun``); the runs taken
        together are processed in batches of at most ``batch_max_messages`` records."""
        s = self.settings
        size = s.batch_max_messages
        async for events in stream.noack_take(size, s.batch_max_wait_ms / 1000):
            records = in_fetch_order(events)
            written = [
                await self.process_batch(records[start : start + size])
                for start in range(0, len(records), size)
            ]
            # The runs are acknowledged once the broker has every output made from them (at
            # least once), while the agent goes on with the next batch: the produce round
            # trip no longer stalls the pipeline.
            acked = asyncio.ensure_future(self._ack_when_written(stream, events, written))
            self._acking.add(acked)
            acked.add_done_callback(self._acking.discard)
            yield None

    async def _ack_when_written(
        self, stream: Any, events: Sequence[Any], written: Sequence[asyncio.Future[None]]
    ) -> None:
        try:
            for outputs in written:
                await outputs
        except asyncio.CancelledError:
            raise  # stopping: the inputs stay unacknowledged, a restart reads them again
        except Exception as exc:
            log.critical("batch outputs not written, the inputs stay uncommitted: %r", exc)
            await self.app.crash(exc)
            return
        consumer = cast(Any, self.app.consumer)
        for event in events:
            consumer.processed(event.message)  # only processed runs count (TunedConsumer.ack)
            await stream.ack(event)

    async def process_batch(self, records: Sequence[tuple[Any, Any]]) -> asyncio.Future[None]:
        """Run one batch of input records, ``(Faust event, record)`` pairs (the event is the
        record's run), through the pipeline and submit the outputs; returns a future done
        when the broker has them all. The patient records it changed wait in ``pending`` for
        the next commit (:meth:`write_pending`)."""
        async with self._batch_lock:
            try:
                return await self._process_batch(records)
            except BaseException as exc:
                # Records were changed in place and not written: none of them may be reused
                # or written (the pending ones may be the same objects): no commit from now.
                self._discard_changes(f"a batch failed: {exc!r}")
                raise

    async def _process_batch(self, records: Sequence[tuple[Any, Any]]) -> asyncio.Future[None]:
        messages: list[InMessage] = []
        event_of: dict[int, Any] = {}
        formats = self.input_formats
        for event, msg in records:
            value = msg.value if isinstance(msg.value, bytes) else b""
            im = InMessage(
                formats[msg.topic],
                InputRef(msg.topic, msg.partition, msg.offset),
                msg.key,
                value,
            )
            messages.append(im)
            event_of[id(im)] = event
        result = self.pipeline.process(messages, self._load)
        for patient_id in result.loaded.keys() - result.touched.keys():
            self.records.discard(patient_id.encode())  # read, maybe changed, not written
        bulk = self.bulk
        self._publish(result)
        # Outputs, alert transitions among them, are on the broker before the agent
        # acknowledges the inputs (on the returned future), and before any state that
        # records those transitions is written (write_pending waits for every output
        # submitted before it). A worker killed in between leaves the state unwritten, so its
        # successor makes the same transitions again (same alert ids: consumers and the
        # delivery ledgers take them once). The other order lost transitions: the successor
        # found the new state, took the inputs as duplicates, and made none
        # (docs/reliability.md, finding 7).
        written = await bulk.submit()
        pending = self.pending
        for patient_id, record in result.touched.items():
            pending.put(patient_id.encode(), record, event_of[id(result.last_message[patient_id])])
        return written

    async def write_pending(self) -> bool:
        """Write the changed patient records to the table and its changelog and wait for the
        broker: called right before input offsets are committed (``ews_before_commit``,
        streams.transport), so every committed input's effect on the state is on the broker.
        ``False`` (do not commit) once a batch has failed (``PendingRecords.fail``).

        Only the encoding holds up the pipeline agent (the records must not change while
        they are encoded); the waits for the broker do not. One write at a time, so a
        patient's changelog records stay in order.
        """
        async with self._write_lock:
            async with self._batch_lock:
                if self.pending.failed is not None:
                    return False
                if not self.pending:
                    return True
                assigned = self._assigned_inputs()
                if assigned is None:  # cannot tell which are still ours: commit nothing
                    return False
                pending = self.pending.take()
                stale = [k for k, (_, event) in pending.items() if event.message.tp not in assigned]
                for key in stale:
                    # Changed after its partition went to another worker (runs fetched before
                    # the rebalance): the new owner reads those inputs again from the
                    # committed offset; writing here would overwrite its records.
                    del pending[key]
                    self.records.discard(key)
                if stale:
                    log.warning("%d changed records of revoked partitions not written", len(stale))
                if not pending:
                    return True
                started = time.perf_counter()
                encoded: list[tuple[bytes, bytes, int]] = []
                try:
                    for key, (record, event) in pending.items():
                        # The store and the cache get the record at once (the next batch
                        # finds it there), set under the patient's last message as current
                        # event (RocksDB picks its per-partition database from it).
                        value = encode_patient(record)
                        with _current_event(event):
                            self.patients.data[key] = value
                        self.records.stored(key, value, record)
                        encoded.append((key, value, event.message.partition))
                except BaseException as exc:
                    self._discard_changes(f"the state write failed: {exc!r}")
                    raise
                reflected = self.bulk.in_flight()  # the outputs these records reflect
            try:
                # Alert transitions before the state that records them (docs/reliability.md,
                # finding 7), then the records, each to the changelog partition of the
                # patient's last message (as a Faust table write would).
                await self.bulk.wait_for(reflected)
                changelog = self.patients.changelog_topic.get_topic_name()
                for key, value, partition in encoded:
                    self.state_bulk.add(changelog, key, value, partition=partition)
                await self.state_bulk.send()
            except BaseException as exc:
                self._discard_changes(f"the state write failed: {exc!r}")
                raise
            self.metrics.state_writes.inc(len(encoded))
            self.metrics.state_write_seconds.observe(time.perf_counter() - started)
            return True

    def _assigned_inputs(self) -> set[Any] | None:
        """The partitions assigned to this worker now; ``None`` if the consumer cannot say."""
        try:
            return set(cast(Any, self.app.consumer).assignment())
        except Exception:
            return None

    def _discard_changes(self, reason: str) -> None:
        """Changed records may be half written: forget them all, and commit nothing more."""
        self.records.clear()
        self.pending.fail(reason)

    def _load(self, patient_id: str) -> PatientRecord | None:
        key = patient_id.encode()
        pending = self.pending.get(key)
        if pending is not None:
            return pending
        return self.records.load(key, self.patients.get(key))

    def stored_record(self, key: bytes) -> bytes | None:
        """A patient's record as bytes, pending changes included (for the alert pictures)."""
        pending = self.pending.get(key)
        if pending is not None:
            return encode_patient(pending)
        stored = self.patients.get(key)
        return bytes(stored) if stored else None

    def _publish(self, result: BatchResult) -> None:
        """Queue the batch's outputs on the bulk sender (streams/bulk.py): canonical records,
        dead letters, alert transitions, audit records, assessments, FHIR Bundles and the
        picture index. They are on the broker before the batch's inputs are acknowledged
        (at least once), the alerts before the state (``process_batch``)."""
        self.metrics.record_batch(result)
        bulk = self.bulk
        if self.settings.publish_canonical:
            topic = self.canonical.get_topic_name()
            for key, value in result.canonical:
                bulk.add(topic, key, value)
        dead = self.deadletter.get_topic_name()
        for dl_key, value, _, _ in result.deadletters:
            if dl_key:
                bulk.add(dead, dl_key, value)
            else:
                self.deadletter.send_soon(key=dl_key, value=value)
        alerts = self.alerts.get_topic_name()
        for alert in result.alerts:
            bulk.add(alerts, alert.dedup_key.encode(), encode_alert(alert))
        if self.settings.publish_assessments:
            topic = self.assessments.get_topic_name()
            for scored in result.scored:
                key = scored.snapshot.patient_id.encode()
                bulk.add(topic, key, msgspec.json.encode(assessment_record(scored)))
        audit = self.audit.get_topic_name()
        for record in result.audit:
            bulk.add(audit, record.patient_id.encode(), encode_audit(record))
        self.outputs.publish(result, bulk)  # FHIR Bundles, picture index (streams/sinks.py)

    async def _pager_agent(self, stream: Any) -> AsyncIterator[None]:
        """Page each alert transition once, in order per partition.

        Deliveries are awaited here, one at a time: while the pager is down the alerts wait
        in Kafka (durable and bounded by retention) instead of in memory, and the clinical
        pipeline is not slowed, since it runs in its own agent.
        """
        assert self.pager is not None
        async for _ in sinks.delivery_loop(stream, self.pager, self._page, self.delivering):
            yield None

    async def _page(self, event: Any) -> None:
        """Deliver one alert record to the pager (no-op for records that page no one)."""
        assert self.pager is not None
        alert = decode_alert(event.value)
        try:
            request = self.pager.request_for(alert)
        except LookupError as exc:
            self._page_event("failed", "no_routing_key")
            self._page_dead_letter(
                DeadLetterDelivery(
                    sink="pagerduty",
                    key=alert.alert_id,
                    order_key=alert.dedup_key,
                    url=self.pager.settings.enqueue_url,
                    reason="no_routing_key",
                    detail=str(exc)[:200],
                    attempts=0,
                    body=b"",
                )
            )
            return
        if request is not None:
            result = await self.pager.delivery.deliver(request)
            self.metrics.pager_deliveries.labels("pagerduty", result.status).inc()

    def _page_event(self, event: str, reason: str) -> None:
        if event in ("retry", "failed"):
            self.metrics.pager_failures.labels("pagerduty", reason or event).inc()

    def _page_dead_letter(self, letter: DeadLetterDelivery) -> None:
        """A page given up on: counted and written to the dead-letter topic."""
        record = DeadLetter(
            reason=f"pager_{letter.reason}",
            detail=letter.detail[:200],
            stage="pager",
            key=letter.key.encode(),
            original=msgspec.json.encode(letter),
        )
        self.metrics.deadletters.labels("pager", record.reason).inc()
        self.deadletter.send_soon(key=letter.key.encode(), value=encode(record))


def load_models(directory: Path | None) -> ModelSet | None:
    """The deployed models (``None``: rules only, when the folder holds no manifest)."""
    folder = directory or SHIPPED_MODELS
    if not folder.is_dir() or not any(folder.glob(f"*{MANIFEST_SUFFIX}")):
        log.warning("no model manifests in %s: scoring with the rule layers only", folder)
        return None
    return ModelSet.load(folder)


def _id_secret(settings: Settings) -> bytes:
    secret = settings.alert_id_secret
    return (secret.get_secret_value() if secret else settings.app_id).encode()


def _pager(
    settings: Settings,
    ledger: DeliveryLedger,
    on_dead_letter: Callable[[DeadLetterDelivery], None],
    on_event: Callable[[str, str], None],
) -> PagerSink:
    """The PagerDuty sink (the caller checked that a pager URL and routing keys are set)."""
    assert settings.pager_url and settings.pager_routing_keys is not None
    keys = msgspec.json.decode(settings.pager_routing_keys.get_secret_value(), type=dict[str, str])
    pager_settings = PagerSettings(
        routing_keys=keys,
        base_url=settings.pager_url,
        retry=RetrySettings(
            timeout_s=settings.pager_timeout_s, max_attempts=settings.pager_max_attempts
        ),
    )
    return PagerSink(pager_settings, ledger, on_dead_letter, on_event=on_event)


@contextmanager
def _current_event(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's current event for the duration (table partition routing)."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def freeze_startup_objects() -> None:
    """Move every object alive now (models, catalogs, Faust's machinery) out of the garbage
    collector's reach: its full collections then walk only what the stream made since. Run
    once the worker is built. Measured with the pipeline alone on 8-observation frames (500
    patients, loaded machine, two runs each): 75,000-84,000 obs/s without, 95,000-104,000
    with."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> faust.App:
    """The worker's Faust app built from ``settings`` (default: the environment)."""
    return Service(settings or Settings()).app

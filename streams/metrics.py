"""The service's Prometheus metrics (prefix ``ews_``), on an injected registry.

Labels are bounded sets only (source, kind, reason, outcome, risk, grade...): never a patient
id, message id or any other unbounded value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from streams.pipeline import BatchResult

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """All service metrics, registered on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.ingest_messages = Counter(
            "ews_ingest_messages_total",
            "Input messages by source format and outcome "
            "(accepted, corrected, retracted, duplicate, dead_lettered).",
            ["source", "outcome"],
            registry=registry,
        )
        self.events_in = Counter(
            "ews_events_in_total",
            "Canonical events accepted, by source format and event kind.",
            ["source", "kind"],
            registry=registry,
        )
        self.events_rejected = Counter(
            "ews_events_rejected_total",
            "Messages or message parts rejected, by source format and reason.",
            ["source", "reason"],
            registry=registry,
        )
        self.deadletters = Counter(
            "ews_deadletters_total",
            "Dead-letter records written, by pipeline stage and reason.",
            ["stage", "reason"],
            registry=registry,
        )
        self.last_event_ts = Gauge(
            "ews_input_last_event_timestamp_seconds",
            "Event time of the newest accepted event per source; freshness is time() minus it.",
            ["source"],
            registry=registry,
        )
        self.ingest_seconds = Histogram(
            "ews_ingest_seconds",
            "Time to normalize one input message.",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
            registry=registry,
        )
        self.scoring_seconds = Histogram(
            "ews_scoring_seconds",
            "Time to snapshot one patient's features and grade them by every rule.",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1),
            registry=registry,
        )
        self.alerts = Counter(
            "ews_alerts_total",
            'Alert transitions emitted, by risk, grade ("unknown" for model-only) and status.',
            ["risk", "grade", "status"],
            registry=registry,
        )
        self.alerts_suppressed = Counter(
            "ews_alerts_suppressed_total",
            "Suppressions started and notifications they held back, by risk and reason.",
            ["risk", "reason"],
            registry=registry,
        )
        self.event_to_alert = Histogram(
            "ews_event_to_alert_seconds",
            "From the event time of the data behind an alert to the alert's emission.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.pager_deliveries = Counter(
            "ews_pager_deliveries_total",
            "Pager deliveries by sink and outcome (delivered, duplicate, failed).",
            ["sink", "outcome"],
            registry=registry,
        )
        self.pager_failures = Counter(
            "ews_pager_failures_total",
            "Failed pager attempts by sink and reason (retried or dead-lettered).",
            ["sink", "reason"],
            registry=registry,
        )
        self.model_inference_seconds = Histogram(
            "ews_model_inference_seconds",
            "Time for every deployed model to score one batch's snapshots (one ONNX call per "
            "risk for all patients scored in the batch, with explanations).",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=registry,
        )
        self.model_info = Gauge(
            "ews_model_info",
            "1 for each deployed model version, by risk.",
            ["risk", "version"],
            registry=registry,
        )
        self.ready = Gauge(
            "ews_ready",
            "1 when the worker is ready (tables recovered, not rebalancing), else 0.",
            registry=registry,
        )
        self.state_writes = Counter(
            "ews_state_writes_total",
            "Patient records written to the state table and its changelog (once per commit "
            "for each patient changed since the last one, streams/pending.py).",
            registry=registry,
        )
        self.state_write_seconds = Histogram(
            "ews_state_write_seconds",
            "Time to encode the changed patient records and have the broker take them, run "
            "before each input offset commit (the commit waits for it).",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self.input_refetched = Counter(
            "ews_input_refetched_total",
            "Input records Faust fetched but did not deliver, fetched again by topic "
            "(streams.transport.DeliveryGuard; usually during a rebalance).",
            ["topic"],
            registry=registry,
        )

    def record_batch(self, result: BatchResult) -> None:
        """Count what one processed batch did (every label a bounded value)."""
        for (fmt, outcome), n in result.outcomes.items():
            self.ingest_messages.labels(fmt, outcome).inc(n)
        for (fmt, kind), n in result.events_in.items():
            self.events_in.labels(fmt, kind).inc(n)
        for (fmt, reason), n in result.rejected.items():
            self.events_rejected.labels(fmt, reason).inc(n)
        for fmt, newest in result.newest_event_ms.items():
            self.last_event_ts.labels(fmt).set(newest / 1000)
        for seconds in result.scoring_seconds:
            self.scoring_seconds.observe(seconds)
        for seconds in result.model_seconds:
            self.model_inference_seconds.observe(seconds)
        for _, _, stage, reason in result.deadletters:
            self.deadletters.labels(stage, reason).inc()
        for alert in result.alerts:
            grade = "unknown" if alert.grade is None else str(alert.grade)
            if alert.muted or alert.transition == "suppressed":
                # A suppression starting, or a notification it held back.
                self.alerts_suppressed.labels(alert.risk, alert.suppression_reason or "other").inc()
            if not alert.muted:
                self.alerts.labels(alert.risk, grade, alert.status).inc()
            self.event_to_alert.observe(max(0.0, (alert.emit_ms - alert.event_ms) / 1000))

"""The lean Faust monitor reports exactly what Faust's Prometheus monitor reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP
from prometheus_client import CollectorRegistry, generate_latest

from streams.faust_monitor import LeanPrometheusMonitor


@dataclass
class _Message:
    time_in: float | None = None
    time_out: float | None = None
    time_total: float | None = None


class _Owner:
    """A task owner (the monitor keys a weak mapping by it)."""


@dataclass(eq=False)
class _Stream:
    shortlabel: str
    task_owner: Any = field(default_factory=_Owner)

    def __str__(self) -> str:
        return self.shortlabel


def _drive(monitor: PrometheusMonitor) -> None:
    streams = [_Stream("Stream: Topic: ews.in.json"), _Stream("Stream: Topic: ews.alerts")]
    for i in range(60):
        tp = TP(f"ews.in.{('json', 'fhir', 'hl7v2')[i % 3]}", i % 4)
        msg = _Message()
        for end in (100 + i // 7, 100 + i // 7, 90 + i):  # repeated within a fetch, moved
            monitor.track_tp_end_offset(tp, end)
        monitor.on_message_in(tp, i, msg)
        stream = streams[i % 2]
        state = monitor.on_stream_event_in(tp, i, stream, object())
        monitor.on_stream_event_out(tp, i, stream, object(), state)
        monitor.on_message_out(tp, i, msg)


def _exposition(cls: type[PrometheusMonitor]) -> bytes:
    registry = CollectorRegistry()
    monitor = cls(metrics=FaustMetrics.create(registry, "faust"))
    _drive(monitor)
    # Runtimes and creation stamps differ run to run: everything else must be equal.
    lines = generate_latest(registry).splitlines()
    return b"\n".join(x for x in lines if b"events_runtime" not in x and b"_created" not in x)


def test_same_metrics_and_values_as_faust_monitor() -> None:
    lean, faust = _exposition(LeanPrometheusMonitor), _exposition(PrometheusMonitor)
    assert b'topic="ews.in.json"' in lean and b'partition="3"' in lean
    assert b"faust_topic_partition_end_offset{" in lean
    assert lean == faust

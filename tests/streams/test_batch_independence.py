"""The same inputs give the same alerts however the worker happens to batch them.

Batch boundaries depend on timing (load, a restart's backlog, a rebalance), so they must not
change what the pipeline concludes: which snapshots are scored, the alert transitions and
their ids, and the stored patient records. The reference processes one message per batch;
hypothesis cuts the same message sequence (a simulated cohort plus clinicians'
acknowledgements) into arbitrary batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.record import AlertRecord
from contract.events import InputRef
from ews.settings import Settings
from faults.oracle import cohort
from streams.alerting import AlertCommand
from streams.app import Service
from streams.pipeline import InMessage, PatientRecord, Pipeline, encode_record
from streams.topics import INPUT_TOPICS

_NOW_MS = 1_780_000_000_000


@cache
def _pipeline() -> Pipeline:
    # The worker's own pipeline (shipped models, default policy), built as the worker does.
    return Service(Settings(app_id="batch-independence")).pipeline


@cache
def _messages() -> tuple[InMessage, ...]:
    """Three simulated patients (about 1,000 messages, with treatments and alerts), and an
    acknowledgement by a clinician a few messages after each alert that pages."""
    base = [
        InMessage(INPUT_TOPICS[m.logical], InputRef("in.json", 0, i), m.key, m.value)
        for i, m in enumerate(cohort(3, 3, now_ms=_NOW_MS))
    ]
    acks: dict[int, list[InMessage]] = {}
    for alert in _run([[m] for m in base])[0]:
        if alert.action != "notify" or not alert.inputs:
            continue
        patient = alert.patient_ref.removeprefix("Patient/")
        command = AlertCommand(
            kind="acknowledge",
            patient_id=patient,
            risk=alert.risk,
            by="nurse-7",
            at_ms=alert.event_ms + 60_000,
            episode=alert.episode,
        )
        at = alert.inputs[-1].offset + 3
        ref = InputRef("acks", 0, len(acks))
        acks.setdefault(at, []).append(
            InMessage("command", ref, patient.encode(), msgspec.json.encode(command))
        )
    out: list[InMessage] = []
    for i, m in enumerate(base):
        out.append(m)
        out.extend(acks.get(i, ()))
    return tuple(out)


def _run(batches: Sequence[Sequence[InMessage]]) -> tuple[list[AlertRecord], dict[str, bytes]]:
    pipeline = _pipeline()
    records: dict[str, PatientRecord] = {}
    alerts: list[AlertRecord] = []
    for batch in batches:
        result = pipeline.process(batch, records.get)
        records.update(result.touched)
        alerts.extend(result.alerts)
    return alerts, {k: encode_record(v) for k, v in records.items()}


Transitions = dict[str, list[tuple[str, str, str]]]


def _by_patient(alerts: list[AlertRecord]) -> Transitions:
    """Each patient's transitions in order (the order that matters: alerts are keyed by
    patient and risk, so consumers see them per key, not across patients)."""
    out: Transitions = {}
    for a in alerts:
        out.setdefault(a.patient_ref, []).append((a.alert_id, a.transition, a.risk))
    return out


@cache
def _reference() -> tuple[Transitions, dict[str, bytes]]:
    alerts, records = _run([[m] for m in _messages()])
    return _by_patient(alerts), records


def test_the_reference_has_alerts_acknowledgements_and_treatments() -> None:
    alerts, _ = _reference()
    kinds = {kind for steps in alerts.values() for _, kind, _ in steps}
    assert {"triggered", "acknowledged", "resolved"} <= kinds, kinds
    assert sum(m.fmt == "command" for m in _messages()) >= 3


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=40))
def test_any_batching_gives_the_same_alerts_and_records(sizes: list[int]) -> None:
    messages = _messages()
    batches: list[Sequence[InMessage]] = []
    at, i = 0, 0
    while at < len(messages):
        size = sizes[i % len(sizes)]
        batches.append(messages[at : at + size])
        at += size
        i += 1
    alerts, records = _run(batches)
    ref_alerts, ref_records = _reference()
    assert _by_patient(alerts) == ref_alerts
    assert records == ref_records


def test_one_batch_of_everything_gives_the_same_alerts() -> None:
    alerts, records = _run([_messages()])
    assert _by_patient(alerts) == _reference()[0]
    assert records == _reference()[1]

"""The inputs of the fault scenarios and the oracle their alert transitions are checked against.

**Inputs.** A simulated cohort (``simulator``), laid two months in the past as in the demo,
every message sent as canonical JSON on ``in.json`` keyed by patient. One input topic keeps each
patient's messages in one partition, in send order: the order every worker, killed or not,
sees them in. (With FHIR vitals, HL7 labs and JSON events on three topics, the interleaving
of one patient's messages across topics changes from run to run, and with it which snapshots
are scored; the adapters are covered by their own tests and by scenario ``poison``.)

**Oracle.** The service's own :class:`streams.pipeline.Pipeline`, built by
:class:`streams.app.Service` from the same settings as the workers, processes the same
messages in send order, one message per batch, in this process and without faults: an
uninterrupted reference run. Alert ids are deterministic (``alerts.ids``: a keyed hash of
patient, risk, episode and transition number) and the policy runs on event time, so a worker
that loses no input, no state update and no output publishes exactly the reference's
transitions. The workers run with the service's own batching: the pipeline decides scoring
and steps the alert policy message by message, so batch boundaries do not change the
transitions (tests/streams/test_batch_independence.py).
The baseline scenario (no fault) checks the oracle against a real worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from alerts.pager import pager_action
from alerts.record import AlertRecord
from contract.events import InputRef, encode
from ews.settings import Settings
from simulator.config import CohortConfig
from simulator.messages import SimMessage
from simulator.stream import Cohort, iter_messages
from streams.topics import ACKS, INPUT_TOPICS

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Message:
    """One input message: logical topic (``in.json``, ``acks``...), key and bytes."""

    logical: str
    key: bytes | None
    value: bytes
    poison: str = ""
    """Non-empty for an injected bad message: what it is."""


def json_message(msg: SimMessage) -> Message:
    """A simulated message as canonical JSON (the ``in.json`` contract), keyed by patient."""
    patient = msg.events[0].patient_id
    body = b'{"msg_id":"%s","patient_id":"%s","events":[%s]}' % (
        msg.msg_id.encode(),
        patient.encode(),
        b",".join(encode(e) for e in msg.events),
    )
    return Message("in.json", patient.encode(), body)


def cohort(n_patients: int, seed: int, now_ms: int | None = None) -> list[Message]:
    """The cohort's messages in arrival order (enrolled over one day, two months ago)."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    config = CohortConfig(
        n_patients=n_patients, seed=seed, start_ms=now - 60 * _DAY_MS, enrollment_days=1.0
    )
    return [json_message(m) for m in iter_messages(Cohort(config))]


def patients_of(messages: list[Message]) -> set[str]:
    """The patient ids (message keys) of the cohort's messages."""
    return {m.key.decode() for m in messages if m.key is not None and not m.poison}


@dataclass(frozen=True, slots=True)
class Reference:
    """What an uninterrupted run makes of the inputs."""

    transitions: dict[str, AlertRecord]
    """Alert id -> the transition record."""

    @property
    def paging(self) -> set[str]:
        """Alert ids of the transitions that page (trigger, acknowledge, resolve)."""
        return {k for k, a in self.transitions.items() if pager_action(a) is not None}


def reference_run(settings: Settings, messages: list[Message]) -> Reference:
    """Run ``messages`` through the service's pipeline in send order, one per batch."""
    from streams.app import Service  # builds a Faust app object: import late
    from streams.pipeline import InMessage, PatientRecord

    pipeline = Service(settings).pipeline
    records: dict[str, PatientRecord] = {}
    transitions: dict[str, AlertRecord] = {}
    for offset, m in enumerate(messages):
        fmt = "command" if m.logical == ACKS else INPUT_TOPICS[m.logical]
        ref = InputRef(settings.topic(m.logical), 0, offset)
        result = pipeline.process([InMessage(fmt, ref, m.key, m.value)], records.get)
        records.update(result.touched)
        for alert in result.alerts:
            transitions.setdefault(alert.alert_id, alert)
    return Reference(transitions)

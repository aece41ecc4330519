"""The worker's processing of one batch of input messages, free of Faust.

Per batch: every message is ingested (normalized, de-duplicated), its events are applied to
the patient's feature state, and after each message the patient is snapshotted and scored when
something meaningful changed or the scoring cadence is due (event time). The scoring decision
and the alert policy see each patient's messages one at a time, so the alerts do not depend on
how the messages were batched: a worker catching up on an hour of backlog in a few large
batches alerts as the same worker did live. Each patient's record is read once and written
back once per batch, so the changelog gets one write per patient per batch, not one per
observation.

The agent in ``streams/app.py`` supplies the records (a Faust table) and publishes the outputs;
tests drive :class:`Pipeline` directly with a dict.
"""

from __future__ import annotations

import copy
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

import msgspec

from alerts.audit import AuditRecord
from alerts.record import AlertRecord
from alerts.state import AlertState
from contract.events import (
    EVENT_TYPES,
    DeadLetter,
    Event,
    InputRef,
    Observation,
    Treatment,
    encode,
)
from features.compute import snapshot as take_snapshot
from features.series import INCREMENTAL_FROM, Series, msgpack_header
from features.snapshot import Snapshot
from features.state import APPLIED, PatientState
from scoring.api import score_snapshot
from scoring.config import RuleConfig
from scoring.result import Assessment
from scoring.risk import Risk, RiskAssessment
from streams.alerting import AlertCommand, Alerting, decode_command
from streams.ingest import Ingestor
from streams.topics import InputFormat

_MINUTE_MS = 60_000

# Vital signs arrive at monitor cadence; a run of normal values does not need a new score.
VITAL_SIGNALS = frozenset({"hr", "rr", "spo2", "temp", "sbp", "dbp", "map", "etco2"})

# Values outside the NEWS2 zero band (RCP 2017) are "abnormal": they are scored promptly.
_NORMAL_BAND: dict[str, tuple[float, float]] = {
    "hr": (51.0, 90.0),
    "rr": (12.0, 20.0),
    "spo2": (96.0, 100.0),
    "temp": (36.1, 38.0),
    "sbp": (111.0, 219.0),
}


class PatientRecord(msgspec.Struct, kw_only=True):
    """Everything the worker keeps for one patient, stored as one table value."""

    state: PatientState
    recent_ids: list[str] = []
    """Recent delivery ids (oldest first) for duplicate detection."""
    last_scored_ms: int | None = None
    """Event time of the last scored snapshot."""
    unscored_since_ms: int | None = None
    """Event time of the first change not yet scored, while the patient has never been scored
    (a new patient with normal vital signs only is first scored on the cadence)."""
    alerts: dict[str, AlertState] = {}
    """Alert policy state per risk."""


_record_encoder = msgspec.msgpack.Encoder()
_record_decoder = msgspec.msgpack.Decoder(PatientRecord)


def encode_record(record: PatientRecord) -> bytes:
    """Compact bytes of a patient record (msgpack) for the state table.

    Byte for byte what msgspec writes for the record. A monitored patient's record is
    encoded again after every batch that touched it, so when it holds long series, the
    rest of the record is encoded around a placeholder and the series are joined in from
    the encoding each keeps of its columns (:meth:`features.series.Series.encoded_parts`):
    the cost is that of the new points and of one copy, not of the whole history.
    """
    series = record.state.series
    for s in series.values():
        if len(s.t) >= INCREMENTAL_FROM:  # len(s), without a call
            break
    else:  # every series short: msgspec's own encoding is the quickest
        return _record_encoder.encode(record)
    shell_state = copy.copy(record.state)
    shell_state.series = cast("dict[str, Series]", _PLACEHOLDER)
    shell_record = copy.copy(record)
    shell_record.state = shell_state
    shell = _record_encoder.encode(shell_record)
    at = shell.find(_PLACEHOLDER_BYTES)
    if at < 0 or shell.find(_PLACEHOLDER_BYTES, at + 1) >= 0:  # cannot happen; be exact
        return _record_encoder.encode(record)
    view = memoryview(shell)
    parts: list[bytes | bytearray | memoryview] = [view[:at], msgpack_header(len(series), "map")]
    pieces: list[bytes | bytearray] = []
    for name, s in series.items():
        pieces.append(_record_encoder.encode(name))
        s.encoded_parts(pieces)
    parts += pieces
    parts.append(view[at + len(_PLACEHOLDER_BYTES) :])
    return b"".join(parts)


_PLACEHOLDER_BYTES = msgspec.msgpack.encode(os.urandom(16))
"""A msgpack bin value of 16 random bytes, which no other part of a record can contain."""
_PLACEHOLDER = msgspec.Raw(_PLACEHOLDER_BYTES)


def decode_record(data: bytes) -> PatientRecord:
    """Inverse of :func:`encode_record`."""
    return _record_decoder.decode(data)


class RiskOutput(msgspec.Struct, frozen=True, omit_defaults=True):
    """One risk's rule grade and model output in an :class:`AssessmentRecord`."""

    grade: int | None = None
    probability: float | None = None
    model_version: str | None = None
    model_alert: bool = False


class AssessmentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the worker concluded at one scored snapshot (the assessments topic)."""

    patient_id: str
    time_ms: int
    ruleset_version: str
    risks: dict[str, RiskOutput]


def assessment_record(scored: Scored) -> AssessmentRecord:
    """The compact per-snapshot record of a scored snapshot."""
    return AssessmentRecord(
        patient_id=scored.snapshot.patient_id,
        time_ms=scored.snapshot.time_ms,
        ruleset_version=scored.assessment.ruleset_version,
        risks={
            risk: RiskOutput(ra.grade, ra.probability, ra.model_version, ra.model_alert)
            for risk, ra in scored.risks.items()
        },
    )


@dataclass(frozen=True, slots=True)
class InMessage:
    """One input message as the agent received it."""

    fmt: InputFormat | Literal["command"]
    ref: InputRef
    key: bytes | None
    value: bytes


@dataclass(slots=True)
class Scored:
    """A patient scored in this batch."""

    snapshot: Snapshot
    assessment: Assessment
    risks: dict[Risk, RiskAssessment] = field(default_factory=dict)


@dataclass(slots=True)
class Step:
    """What one accepted message did to one patient, in arrival order: the alert policy's
    input (a clinician's command; or treatments first, then the score or, without one, a
    time tick)."""

    ref: InputRef
    at_ms: int | None
    """The patient's newest event time after the message."""
    treatments: list[Treatment] = field(default_factory=list)
    scored: Scored | None = None
    command: AlertCommand | None = None


@dataclass(slots=True)
class BatchResult:
    """What a batch produced: outputs to publish and counts for the metrics."""

    canonical: list[tuple[bytes, bytes]] = field(default_factory=list)
    deadletters: list[tuple[bytes | None, bytes, str, str]] = field(default_factory=list)
    """(key, encoded DeadLetter, stage, reason)."""
    scored: list[Scored] = field(default_factory=list)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(source format, outcome) -> messages."""
    events_in: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(source format, event kind) -> events accepted."""
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(source format, reason) -> rejected messages or parts."""
    state_outcomes: Counter[str] = field(default_factory=Counter)
    """Feature-state apply outcomes (applied, duplicate, corrected, too_late...)."""
    newest_event_ms: dict[str, int] = field(default_factory=dict)
    """Source format -> newest accepted event time (input freshness)."""
    touched: dict[str, PatientRecord] = field(default_factory=dict)
    """Patient id -> record to write back (only patients with an accepted message)."""
    loaded: dict[str, PatientRecord] = field(default_factory=dict)
    """Patient id -> record read in this batch (written back only if touched)."""
    last_message: dict[str, InMessage] = field(default_factory=dict)
    """Patient id -> the last message of the batch for that patient (its partition)."""
    scoring_seconds: list[float] = field(default_factory=list)
    model_seconds: list[float] = field(default_factory=list)
    """Model inference time per batch (all scored snapshots, one ONNX call per risk)."""
    alerts: list[AlertRecord] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    steps: dict[str, list[Step]] = field(default_factory=dict)
    """Patient id -> one step per accepted message of the batch, in arrival order."""


@dataclass(frozen=True, slots=True)
class ScoringPolicy:
    """When a patient is re-scored (event time, not wall time)."""

    interval_ms: int = 15 * _MINUTE_MS
    """Longest gap between scores while only normal vital signs arrive."""
    abnormal_interval_ms: int = _MINUTE_MS
    """Shortest gap between scores driven by abnormal vital signs."""

    def due(
        self,
        last_scored_ms: int | None,
        now_ms: int,
        trigger: str,
        unscored_since_ms: int | None = None,
    ) -> bool:
        """Whether to score now, given what arrived (``trigger``) since the last score.

        ``trigger`` is ``"event"`` (a lab, assessment, treatment, infusion or support change:
        always scored), ``"abnormal"`` (an abnormal vital sign) or ``"vitals"``. A patient
        never scored is scored at once on an event or an abnormal vital sign; on normal vital
        signs only, ``interval_ms`` after its first unscored change (``unscored_since_ms``):
        all-normal vitals grade nothing, and scoring every newly monitored patient on its first
        heartbeat was most of a worker's cost when many patients start at once.
        """
        if trigger == "event":
            return True
        if last_scored_ms is None:
            if trigger == "abnormal":
                return True
            since = now_ms if unscored_since_ms is None else unscored_since_ms
            return now_ms - since >= self.interval_ms
        gap = now_ms - last_scored_ms
        if trigger == "abnormal":
            return gap >= self.abnormal_interval_ms
        return gap >= self.interval_ms


def scoring_trigger(events: Iterable[Event]) -> str:
    """Classify what arrived for a patient: ``event``, ``abnormal`` or ``vitals``."""
    trigger = "vitals"
    for ev in events:
        if not isinstance(ev, Observation):
            return "event"
        band = _VITAL_BANDS.get(ev.signal, _NOT_VITAL)
        if band is _NOT_VITAL:
            return "event"
        if band is not None and not band[0] <= ev.value <= band[1]:
            trigger = "abnormal"
    return trigger


_NOT_VITAL = (0.0, 0.0)
_VITAL_BANDS: dict[str, tuple[float, float] | None] = {
    signal: _NORMAL_BAND.get(signal) for signal in VITAL_SIGNALS
}
"""Vital sign -> its NEWS2 zero band (``None``: no band); any other signal is not here."""


_KIND: dict[type, str] = {t: str(t.__struct_config__.tag) for t in EVENT_TYPES}
_EVENT_KEYS: dict[str, dict[type, tuple[str, str]]] = {
    fmt: {t: (fmt, kind) for t, kind in _KIND.items()} for fmt in get_args(InputFormat)
}
"""Source format -> event type -> its ``BatchResult.events_in`` key (built once, not per
event)."""


class Pipeline:
    """Ingest -> feature state -> snapshot -> rules, for batches of input messages."""

    def __init__(
        self,
        ingestor: Ingestor,
        *,
        rule_config: RuleConfig | None = None,
        scoring: ScoringPolicy | None = None,
        lateness_ms: int | None = None,
        alerting: Alerting | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.alerting = alerting
        self.ingestor = ingestor
        self.rule_config = rule_config or RuleConfig()
        self.scoring = scoring or ScoringPolicy()
        self.lateness_ms = lateness_ms
        self.clock = clock

    def new_record(self, patient_id: str) -> PatientRecord:
        """An empty record for a patient seen for the first time."""
        if self.lateness_ms is None:
            return PatientRecord(state=PatientState(patient_id=patient_id))
        return PatientRecord(
            state=PatientState(patient_id=patient_id, lateness_ms=self.lateness_ms)
        )

    def process(
        self, messages: Iterable[InMessage], load: Callable[[str], PatientRecord | None]
    ) -> BatchResult:
        """Process one batch. ``load`` returns a patient's stored record (``None`` if new)."""
        out = BatchResult()
        received_ms = int(self.clock() * 1000)
        for msg in messages:
            if msg.fmt == "command":
                self._command(msg, received_ms, load, out)
            else:
                self._one(msg, received_ms, load, out)
        if self.alerting is not None:
            self._risks(out)
            self._alerts(out, received_ms)
        return out

    def _risks(self, out: BatchResult) -> None:
        """Model probabilities beside the rule grades, for every patient scored in the batch
        at once (one ONNX call per risk, not one per patient)."""
        alerting = self.alerting
        assert alerting is not None
        if not out.scored:
            return
        started = time.perf_counter()
        risks = alerting.risks_many([(s.assessment, s.snapshot) for s in out.scored])
        if alerting.models is not None:
            out.model_seconds.append(time.perf_counter() - started)
        for item, item_risks in zip(out.scored, risks, strict=True):
            item.risks = item_risks

    def _alerts(self, out: BatchResult, emit_ms: int) -> None:
        """Run the alert policy for every patient whose state changed in this batch."""
        alerting = self.alerting
        assert alerting is not None
        for patient_id, steps in out.steps.items():
            states = out.touched[patient_id].alerts
            for step in steps:
                inputs = [step.ref]
                item = step.scored
                timeline = item.snapshot.timeline if item else None
                results = []
                if step.command is not None:
                    results.append(alerting.on_command(states, step.command, None, inputs, emit_ms))
                if step.treatments:
                    results.append(
                        alerting.on_treatments(
                            states, patient_id, step.treatments, timeline, inputs, emit_ms
                        )
                    )
                if item is not None:
                    results.append(
                        alerting.on_scored(states, item.snapshot, item.risks, inputs, emit_ms)
                    )
                elif step.at_ms is not None and step.command is None and states:
                    results.append(alerting.on_tick(states, step.at_ms, timeline, emit_ms))
                for r in results:
                    out.alerts.extend(r.alerts)
                    out.audit.extend(r.audit)

    def _command(
        self,
        msg: InMessage,
        received_ms: int,
        load: Callable[[str], PatientRecord | None],
        out: BatchResult,
    ) -> None:
        """A clinician's command from the acks topic: validated, then applied after the batch."""
        patient = _patient_key(msg.key)
        try:
            command = decode_command(msg.value)
            if patient is None or command.patient_id != patient:
                raise ValueError("the command's patient_id does not match the message key")
            if command.kind in ("suppress", "snooze") and (
                command.until_ms is None or command.until_ms <= command.at_ms
            ):
                raise ValueError(f"{command.kind} needs until_ms after at_ms")
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            reason = "schema" if not isinstance(exc, msgspec.DecodeError) else "malformed"
            letter = DeadLetter(
                reason=reason,
                detail=str(exc)[:200],
                stage="commands",
                input=msg.ref,
                key=msg.key,
                original=msg.value,
                received_ms=received_ms,
            )
            out.outcomes[("command", "dead_lettered")] += 1
            out.rejected[("command", reason)] += 1
            out.deadletters.append((msg.key, encode(letter), "commands", reason))
            return
        assert patient is not None
        record = self._record(patient, load, out)
        out.touched[patient] = record
        out.last_message[patient] = msg
        out.steps.setdefault(patient, []).append(Step(msg.ref, None, command=command))
        out.outcomes[("command", "accepted")] += 1

    def _record(
        self, patient_id: str, load: Callable[[str], PatientRecord | None], out: BatchResult
    ) -> PatientRecord:
        record = out.loaded.get(patient_id)
        if record is None:
            record = load(patient_id) or self.new_record(patient_id)
            out.loaded[patient_id] = record
        return record

    def _one(
        self,
        msg: InMessage,
        received_ms: int,
        load: Callable[[str], PatientRecord | None],
        out: BatchResult,
    ) -> None:
        fmt = msg.fmt
        assert fmt != "command"  # commands go to _command
        patient = _patient_key(msg.key)
        record = self._record(patient, load, out) if patient is not None else None
        result = self.ingestor.ingest(
            fmt,
            msg.ref,
            msg.key,
            msg.value,
            received_ms,
            record.recent_ids if record is not None else None,
        )
        out.outcomes[(msg.fmt, result.outcome)] += 1
        for letter, reason in zip(result.deadletters, result.reasons, strict=True):
            out.rejected[(msg.fmt, reason)] += 1
            out.deadletters.append((msg.key, encode(letter), "ingest", reason))
        ingest_record = result.record
        if ingest_record is None:
            return
        out.canonical.append((ingest_record.patient_id.encode(), encode(ingest_record)))
        if record is None or patient is None or result.outcome == "duplicate":
            return
        # Accepted: the delivery id was recorded, so the record must be written back.
        out.touched[patient] = record
        out.last_message[patient] = msg
        step = Step(msg.ref, None)
        steps = out.steps.get(patient)
        if steps is None:
            out.steps[patient] = [step]
        else:
            steps.append(step)
        applied: list[Event] = []
        apply = record.state.apply
        events_in = out.events_in
        event_keys = _EVENT_KEYS[fmt]
        state_outcomes = out.state_outcomes
        newest = start_newest = out.newest_event_ms.get(fmt, 0)
        for index, event in enumerate(ingest_record.events):
            events_in[event_keys[type(event)]] += 1
            newest = max(newest, event.time_ms)
            res = apply(event)
            state_outcomes[res.kind] += 1
            if res is APPLIED:  # the common outcome (changed, nothing to dead-letter)
                applied.append(event)
                if isinstance(event, Treatment):
                    step.treatments.append(event)
            elif res.kind == "too_late":
                late = res.dead_letter_reason
                # A correction of an unknown observation is kept by the state (so a late
                # original cannot revive a wrong value) and counted, not dead-lettered.
                letter = DeadLetter(
                    reason=str(late),
                    detail=res.reason,
                    stage="features",
                    input=msg.ref,
                    key=msg.key,
                    original=msg.value,
                    item=index,
                    received_ms=received_ms,
                )
                out.rejected[(msg.fmt, str(late))] += 1
                out.deadletters.append((msg.key, encode(letter), "features", str(late)))
            elif res.changed:
                applied.append(event)
                if isinstance(event, Treatment):
                    step.treatments.append(event)
        if newest > start_newest:
            out.newest_event_ms[fmt] = newest
        step.at_ms = record.state.newest_ms
        step.scored = self._maybe_score(record, applied, out)

    def _maybe_score(
        self, record: PatientRecord, events: list[Event], out: BatchResult
    ) -> Scored | None:
        """Score the patient after one message's ``events`` when the policy says so."""
        state = record.state
        if not events or state.newest_ms is None:
            return None
        at_ms = state.newest_ms
        trigger = scoring_trigger(events)
        if not self.scoring.due(record.last_scored_ms, at_ms, trigger, record.unscored_since_ms):
            if record.last_scored_ms is None and record.unscored_since_ms is None:
                record.unscored_since_ms = min(e.time_ms for e in events)
            return None
        started = time.perf_counter()
        snap = take_snapshot(state, at_ms)
        assessment = score_snapshot(snap, self.rule_config)
        out.scoring_seconds.append(time.perf_counter() - started)
        record.last_scored_ms = at_ms
        record.unscored_since_ms = None
        scored = Scored(snap, assessment)  # risks: see _risks, for the whole batch at once
        out.scored.append(scored)
        return scored


def _patient_key(key: bytes | None) -> str | None:
    """The message key as a patient id, when it can be one (non-empty, bounded, UTF-8)."""
    if not key or len(key) > 64:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None

"""The audit trail: every policy call that changed anything, with what it was given.

Each record names the operation (an assessment, a clinician's acknowledgement, suppression or
snooze, or the clock), the exact inputs the policy read (the assessment summary, the
acknowledgement, the suppression), the input offsets behind them, the configuration
fingerprint, the transitions made (each with its cause and actor) and a digest of the state
after. Calls that changed nothing (most assessments while a grade holds) are not recorded:
the policy is a pure function, so skipping a call that returned its input state leaves the
sequence of states, and hence every later decision, unchanged. Clinician actions are always
recorded, even when they change nothing (an acknowledgement of an incident already resolved).

:func:`replay_audit` applies the recorded inputs through the policy again and checks that
every transition and every state digest comes out the same: the trail is its own proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

import msgspec

from alerts.config import PolicyConfig, SuppressionReason, config_fingerprint
from alerts.policy import acknowledge, snooze, step_summary, suppress, tick, unsuppress
from alerts.state import (
    Acknowledgement,
    AlertState,
    AssessmentSummary,
    Transition,
    encode_state,
    summarize,
)
from contract.events import InputRef
from scoring.risk import Risk, RiskAssessment

AUDIT_SCHEMA_VERSION = "1"

Operation = Literal["assessment", "acknowledge", "suppress", "unsuppress", "tick"]


class SuppressCommand(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The arguments of a suppression (a snooze is recorded with its breakthrough grade)."""

    reason: SuppressionReason
    until_ms: int
    by: str = "system"
    breakthrough_grade: int | None = None
    note: str = ""


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One recorded policy call."""

    schema: str = AUDIT_SCHEMA_VERSION
    patient_id: str
    risk: Risk
    operation: Operation
    now_ms: int
    config: str
    """Fingerprint of the policy configuration (``alerts.config.config_fingerprint``)."""
    assessment: AssessmentSummary | None = None
    ack: Acknowledgement | None = None
    suppression: SuppressCommand | None = None
    actor: str | None = None
    """Who made a clinician call (acknowledge, suppress, unsuppress)."""
    inputs: tuple[InputRef, ...] = ()
    transitions: tuple[Transition, ...] = ()
    state_digest: str
    """SHA-256 (first 16 bytes, hex) of the state after the call."""


class Audited(NamedTuple):
    """The result of an audited call."""

    state: AlertState
    transitions: list[Transition]
    record: AuditRecord | None
    """``None`` when the call changed nothing and needs no record."""


class AuditReplayError(AssertionError):
    """Replaying the trail did not reproduce what was recorded."""


def state_digest(state: AlertState) -> str:
    """A short digest of a state's JSON (what the replay compares)."""
    return hashlib.sha256(encode_state(state)).hexdigest()[:32]


def _record(
    before: AlertState | None,
    after: AlertState,
    transitions: list[Transition],
    *,
    operation: Operation,
    now_ms: int,
    config: PolicyConfig,
    always: bool = False,
    assessment: AssessmentSummary | None = None,
    ack: Acknowledgement | None = None,
    suppression: SuppressCommand | None = None,
    actor: str | None = None,
    inputs: Sequence[InputRef] = (),
) -> Audited:
    if not (always or transitions or before != after):
        return Audited(after, transitions, None)
    record = AuditRecord(
        patient_id=after.patient_id,
        risk=after.risk,
        operation=operation,
        now_ms=now_ms,
        config=config_fingerprint(config),
        assessment=assessment,
        ack=ack,
        suppression=suppression,
        actor=actor,
        inputs=tuple(inputs),
        transitions=tuple(transitions),
        state_digest=state_digest(after),
    )
    return Audited(after, transitions, record)


def audited_step(
    state: AlertState | None,
    assessment: RiskAssessment,
    now_ms: int,
    config: PolicyConfig,
    inputs: Sequence[InputRef] = (),
) -> Audited:
    """:func:`alerts.policy.step` with its audit record (``inputs``: offsets behind it)."""
    summary = summarize(assessment)
    after, transitions = step_summary(state, summary, now_ms, config)
    return _record(
        state,
        after,
        transitions,
        operation="assessment",
        now_ms=now_ms,
        config=config,
        assessment=summary,
        inputs=inputs,
    )


def audited_tick(state: AlertState, now_ms: int, config: PolicyConfig) -> Audited:
    """:func:`alerts.policy.tick` with its audit record."""
    after, transitions = tick(state, now_ms, config)
    return _record(state, after, transitions, operation="tick", now_ms=now_ms, config=config)


def audited_acknowledge(
    state: AlertState,
    ack: Acknowledgement,
    now_ms: int,
    config: PolicyConfig,
    inputs: Sequence[InputRef] = (),
) -> Audited:
    """:func:`alerts.policy.acknowledge` with its audit record (always recorded)."""
    after, transitions = acknowledge(state, ack, now_ms, config)
    return _record(
        state,
        after,
        transitions,
        operation="acknowledge",
        now_ms=now_ms,
        config=config,
        always=True,
        ack=ack,
        actor=ack.by,
        inputs=inputs,
    )


def audited_suppress(
    state: AlertState,
    command: SuppressCommand,
    now_ms: int,
    config: PolicyConfig,
    inputs: Sequence[InputRef] = (),
) -> Audited:
    """:func:`alerts.policy.suppress` with its audit record (always recorded)."""
    after, transitions = suppress(
        state,
        command.reason,
        command.until_ms,
        now_ms,
        config,
        by=command.by,
        breakthrough_grade=command.breakthrough_grade,
        note=command.note,
    )
    return _record(
        state,
        after,
        transitions,
        operation="suppress",
        now_ms=now_ms,
        config=config,
        always=True,
        suppression=command,
        actor=command.by,
        inputs=inputs,
    )


def audited_snooze(
    state: AlertState, until_ms: int, now_ms: int, config: PolicyConfig, *, by: str
) -> Audited:
    """:func:`alerts.policy.snooze`, recorded as the suppression it amounts to."""
    after, transitions = snooze(state, until_ms, now_ms, config, by=by)
    sup = after.suppression
    command = SuppressCommand(
        reason="snooze",
        until_ms=until_ms,
        by=by,
        breakthrough_grade=None if sup is None else sup.breakthrough_grade,
    )
    return _record(
        state,
        after,
        transitions,
        operation="suppress",
        now_ms=now_ms,
        config=config,
        always=True,
        suppression=command,
        actor=by,
    )


def audited_unsuppress(state: AlertState, now_ms: int, config: PolicyConfig, *, by: str) -> Audited:
    """:func:`alerts.policy.unsuppress` with its audit record (always recorded)."""
    after, transitions = unsuppress(state, now_ms, config, by=by)
    return _record(
        state,
        after,
        transitions,
        operation="unsuppress",
        now_ms=now_ms,
        config=config,
        always=True,
        actor=by,
    )


def _apply(
    state: AlertState | None, rec: AuditRecord, config: PolicyConfig
) -> tuple[AlertState, list[Transition]]:
    if rec.operation == "assessment":
        if rec.assessment is None:
            raise AuditReplayError("assessment record without its assessment")
        return step_summary(state, rec.assessment, rec.now_ms, config)
    if state is None:
        raise AuditReplayError(f"{rec.operation} before any state for {rec.risk}")
    if rec.operation == "tick":
        return tick(state, rec.now_ms, config)
    if rec.operation == "acknowledge":
        if rec.ack is None:
            raise AuditReplayError("acknowledge record without its acknowledgement")
        return acknowledge(state, rec.ack, rec.now_ms, config)
    if rec.operation == "suppress":
        cmd = rec.suppression
        if cmd is None:
            raise AuditReplayError("suppress record without its command")
        return suppress(
            state,
            cmd.reason,
            cmd.until_ms,
            rec.now_ms,
            config,
            by=cmd.by,
            breakthrough_grade=cmd.breakthrough_grade,
            note=cmd.note,
        )
    return unsuppress(state, rec.now_ms, config, by=rec.actor or "system")


def replay_audit(
    records: Iterable[AuditRecord], config: PolicyConfig
) -> dict[tuple[str, Risk], AlertState]:
    """Replay a complete trail (in recorded order) from no state; the final state of every
    (patient, risk). Raises :class:`AuditReplayError` at the first record whose transitions
    or state digest differ, or that was made under another configuration."""
    fingerprint = config_fingerprint(config)
    states: dict[tuple[str, Risk], AlertState] = {}
    for i, rec in enumerate(records):
        if rec.config != fingerprint:
            raise AuditReplayError(
                f"record {i} was made under configuration {rec.config}, not {fingerprint}"
            )
        key = (rec.patient_id, rec.risk)
        after, transitions = _apply(states.get(key), rec, config)
        if tuple(transitions) != rec.transitions:
            raise AuditReplayError(
                f"record {i} ({rec.operation} at {rec.now_ms}): replay made "
                f"{[t.kind for t in transitions]}, trail has {[t.kind for t in rec.transitions]}"
            )
        if state_digest(after) != rec.state_digest:
            raise AuditReplayError(f"record {i} ({rec.operation}): state differs after replay")
        states[key] = after
    return states


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AuditRecord)


def encode_audit(record: AuditRecord) -> bytes:
    """JSON bytes of an audit record."""
    return _encoder.encode(record)


def decode_audit(data: bytes | str) -> AuditRecord:
    """Parse and validate an audit record."""
    return _decoder.decode(data)

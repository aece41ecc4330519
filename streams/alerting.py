"""From scored snapshots and clinician commands to alert records, inside the pipeline.

Per patient the pipeline keeps one :class:`~alerts.state.AlertState` per risk in its record;
this module runs the audited policy calls on them and turns each transition into the alert
record of interfaces.md. It does no I/O: the agent publishes what it returns.

Clock: the policy's ``now`` is event time (the snapshot's time, the command's time, or the
patient's newest event time for time-driven transitions), so a replay at any speed gives the
same alerts as the live stream did.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from alerts.audit import (
    Audited,
    AuditRecord,
    SuppressCommand,
    audited_acknowledge,
    audited_snooze,
    audited_step,
    audited_suppress,
    audited_tick,
    audited_unsuppress,
)
from alerts.config import PolicyConfig, SuppressionReason, config_fingerprint
from alerts.record import AlertRecord, build_alert_record
from alerts.state import Acknowledgement, AlertState, new_state
from contract.events import InputRef, Treatment
from features.snapshot import Snapshot, Timeline
from models.combine import assess_many
from models.serving import ModelSet
from scoring.result import Assessment
from scoring.risk import RISKS, Risk, RiskAssessment

CommandKind = Literal["acknowledge", "suppress", "snooze", "unsuppress"]


class AlertCommand(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A clinician's command on the ``acks`` topic (JSON, keyed by patient id).

    ``by`` is a staff identifier, never a patient's. ``at_ms`` is when it was given.
    """

    kind: CommandKind
    patient_id: str
    risk: Risk
    by: str
    at_ms: int
    episode: int | None = None
    until_ms: int | None = None
    """End of a suppression or snooze."""
    reason: SuppressionReason = "other"
    breakthrough_grade: int | None = None
    note: str = ""


_command_decoder = msgspec.json.Decoder(AlertCommand)


def decode_command(data: bytes) -> AlertCommand:
    """Parse and validate one command (raises ``msgspec.ValidationError`` / ``DecodeError``)."""
    return _command_decoder.decode(data)


@dataclass(slots=True)
class AlertOutput:
    """Alert records and audit records produced for one patient."""

    alerts: list[AlertRecord] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)


class Alerting:
    """Runs the alert policy for one worker."""

    def __init__(
        self,
        policy: PolicyConfig,
        *,
        models: ModelSet | None,
        id_secret: bytes,
        link_base: str | None = None,
    ) -> None:
        self.policy = policy
        self.policy_version = config_fingerprint(policy)
        self.models = models
        self.id_secret = id_secret
        self.link_base = link_base

    def risks_many(
        self, items: Sequence[tuple[Assessment, Snapshot]]
    ) -> list[dict[Risk, RiskAssessment]]:
        """Rule grades and model probabilities per risk of each snapshot (one model call per
        risk for all of them)."""
        return assess_many(items, self.models)

    def on_scored(
        self,
        states: MutableMapping[str, AlertState],
        snapshot: Snapshot,
        risks: dict[Risk, RiskAssessment],
        inputs: Sequence[InputRef],
        emit_ms: int,
    ) -> AlertOutput:
        """Step every risk's policy with a new assessment."""
        out = AlertOutput()
        for risk in RISKS:
            ra = risks.get(risk)
            if ra is None:
                continue
            done = audited_step(states.get(risk), ra, snapshot.time_ms, self.policy, inputs)
            self._keep(states, risk, done, out, emit_ms, ra, snapshot.timeline, inputs)
        return out

    def on_treatments(
        self,
        states: MutableMapping[str, AlertState],
        patient_id: str,
        treatments: Iterable[Treatment],
        timeline: Timeline | None,
        inputs: Sequence[InputRef],
        emit_ms: int,
    ) -> AlertOutput:
        """Start the suppressions the policy ties to treatments (tocilizumab for CRS...)."""
        out = AlertOutput()
        for tx in treatments:
            reason: SuppressionReason = (
                tx.treatment if tx.treatment in ("tocilizumab", "corticosteroid") else "other"
            )
            for sup in self.policy.treatment_suppressions.get(tx.treatment, ()):
                command = SuppressCommand(
                    reason=reason,
                    until_ms=tx.time_ms + sup.duration_ms,
                    by=f"treatment:{tx.treatment}",
                    breakthrough_grade=sup.breakthrough_grade,
                )
                state = states.get(sup.risk) or new_state(patient_id, sup.risk)
                done = audited_suppress(state, command, tx.time_ms, self.policy, inputs)
                self._keep(states, sup.risk, done, out, emit_ms, None, timeline, inputs)
        return out

    def on_tick(
        self,
        states: MutableMapping[str, AlertState],
        now_ms: int,
        timeline: Timeline | None,
        emit_ms: int,
    ) -> AlertOutput:
        """Time-driven transitions (resolve, re-notify, suppression end) at event time."""
        out = AlertOutput()
        for risk, state in list(states.items()):
            if state.open or state.suppression is not None:
                done = audited_tick(state, now_ms, self.policy)
                self._keep(states, risk, done, out, emit_ms, None, timeline, ())
        return out

    def on_command(
        self,
        states: MutableMapping[str, AlertState],
        command: AlertCommand,
        timeline: Timeline | None,
        inputs: Sequence[InputRef],
        emit_ms: int,
    ) -> AlertOutput:
        """Apply a clinician's acknowledgement, suppression, snooze or unsuppression."""
        out = AlertOutput()
        state = states.get(command.risk) or new_state(command.patient_id, command.risk)
        now = command.at_ms
        if command.kind == "acknowledge":
            ack = Acknowledgement(
                by=command.by, at_ms=now, episode=command.episode, note=command.note
            )
            done = audited_acknowledge(state, ack, now, self.policy, inputs)
        elif command.kind == "unsuppress":
            done = audited_unsuppress(state, now, self.policy, by=command.by)
        else:
            if command.until_ms is None or command.until_ms <= now:
                raise ValueError(f"{command.kind} needs until_ms after at_ms")
            if command.kind == "snooze":
                done = audited_snooze(state, command.until_ms, now, self.policy, by=command.by)
            else:
                sup = SuppressCommand(
                    reason=command.reason,
                    until_ms=command.until_ms,
                    by=command.by,
                    breakthrough_grade=command.breakthrough_grade,
                    note=command.note,
                )
                done = audited_suppress(state, sup, now, self.policy, inputs)
        self._keep(states, command.risk, done, out, emit_ms, None, timeline, inputs)
        return out

    def _keep(
        self,
        states: MutableMapping[str, AlertState],
        risk: str,
        done: Audited,
        out: AlertOutput,
        emit_ms: int,
        assessment: RiskAssessment | None,
        timeline: Timeline | None,
        inputs: Sequence[InputRef],
    ) -> None:
        states[risk] = done.state
        if done.record is not None:
            out.audit.append(done.record)
        for transition in done.transitions:
            out.alerts.append(
                build_alert_record(
                    transition,
                    done.state,
                    patient_ref=done.state.patient_id,
                    emit_ms=emit_ms,
                    id_secret=self.id_secret,
                    policy_version=self.policy_version,
                    assessment=assessment,
                    timeline=timeline,
                    inputs=inputs,
                    link_base=self.link_base,
                )
            )

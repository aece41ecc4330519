"""Values of the alert policy: its per (patient, risk) state, its inputs and its transitions.

All are msgspec structs, so the worker stores the state in a table and publishes the
transitions as they are. The state changes only when something decision-relevant changes
(the grade, the condition, a deadline), not on every assessment: a no-op call returns an
equal state, which keeps the table and the audit trail small.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from alerts.config import SuppressionReason
from scoring.risk import Risk, RiskAssessment

STATE_VERSION = "1"

TransitionKind = Literal[
    "triggered", "escalated", "renotified", "acknowledged", "resolved", "suppressed", "unsuppressed"
]
AlertStatus = Literal["triggered", "escalated", "acknowledged", "resolved", "suppressed"]
"""Status of an incident after a transition (interfaces.md). ``resolved`` also stands for
"no incident open" after an ``unsuppressed`` transition outside an episode."""
Cause = Literal["rule", "model", "rule_and_model", "acknowledgement", "suppression", "time"]
"""What caused a transition: the rule grade, the model probability, both, a clinician's
acknowledgement, a suppression or snooze being set or lifted (``actor`` says by whom), or the
passing of time (quiet period, acknowledgement deadline, end of a suppression)."""
NotifyAction = Literal["notify", "acknowledge", "resolve"]
"""What a sink does with a transition: page a person, mark the page acknowledged, resolve it."""
Condition = Literal["active", "holding", "clear"]
"""``active``: at or above trigger; ``clear``: known to be below (a model below threshold
minus margin); ``holding``: neither (grade unknown, or the model inside its margin). Only
``clear`` runs the quiet-period clock: missing data never resolves an incident."""


class AssessmentSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The fields of a :class:`~scoring.risk.RiskAssessment` the policy reads, and no more.

    The policy decides on this summary only, so the audit trail that records it can replay
    every decision exactly.
    """

    risk: Risk
    patient_id: str
    time_ms: int
    ruleset_version: str
    grade: int | None
    criteria: tuple[str, ...] = ()
    probability: float | None = None
    model_version: str | None = None
    model_threshold: float | None = None


def summarize(assessment: RiskAssessment) -> AssessmentSummary:
    """The policy-relevant summary of an assessment."""
    return AssessmentSummary(
        risk=assessment.risk,
        patient_id=assessment.patient_id,
        time_ms=assessment.time_ms,
        ruleset_version=assessment.ruleset_version,
        grade=assessment.grade,
        criteria=assessment.criteria,
        probability=assessment.probability,
        model_version=assessment.model_version,
        model_threshold=assessment.model_threshold,
    )


class Acknowledgement(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A clinician took note of an incident (staff id, never a patient identifier)."""

    by: str
    at_ms: int
    episode: int | None = None
    """Episode the acknowledgement is for; an acknowledgement of an earlier, already
    resolved episode is ignored (``None``: whatever is open)."""
    note: str = ""


class Suppression(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Notifications of one risk held back until ``until_ms``, and why."""

    reason: SuppressionReason
    since_ms: int
    until_ms: int
    by: str = "system"
    breakthrough_grade: int | None = None
    """Grades at or above this still notify (``None``: nothing breaks through)."""
    note: str = ""


class Transition(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One change of an incident, in the order the policy made them (``seq``)."""

    kind: TransitionKind
    seq: int
    """Sequence number of the transition for this (patient, risk), from 1; with the dedup
    key it makes the alert id, so a replay produces the same ids."""
    episode: int
    time_ms: int
    status: AlertStatus
    cause: Cause
    reason: str
    """Plain-language reason, for the alert and the pager summary."""
    action: NotifyAction | None = None
    """What a sink does with it; ``None`` for transitions no one is paged about."""
    grade: int | None = None
    previous_grade: int | None = None
    """For an escalation: the grade notified before."""
    probability: float | None = None
    model_threshold: float | None = None
    model_version: str | None = None
    criteria: tuple[str, ...] = ()
    actor: str | None = None
    """Staff id of the clinician who acknowledged or suppressed."""
    suppression_reason: SuppressionReason | None = None
    suppressed_until_ms: int | None = None
    muted: bool = False
    """A trigger or escalation that an active suppression held back (kind ``suppressed``)."""


class AlertState(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Everything the policy remembers about one risk of one patient."""

    patient_id: str
    risk: Risk
    version: str = STATE_VERSION
    seq: int = 0
    """Transitions emitted so far."""
    episode: int = 0
    """Number of the current or last episode (0: none yet)."""
    open: bool = False
    opened_ms: int | None = None
    grade: int | None = None
    """Latest rule grade (``None``: unknown)."""
    condition: Condition = "clear"
    trigger_cause: Cause | None = None
    peak_grade: int | None = None
    """Highest grade seen in the open episode."""
    notified: bool = False
    """Someone was paged in the open episode."""
    notified_grade: int | None = None
    """Highest grade notified in the open episode (the baseline for escalation)."""
    muted_grade: int | None = None
    """Highest grade recorded as muted by a suppression in the open episode (-1: a muted
    trigger whose grade was unknown)."""
    escalated: bool = False
    last_active_ms: int | None = None
    """Last time the open episode was at alert level (for ``expire_after_ms``)."""
    below_since_ms: int | None = None
    """Start of the current ``clear`` stretch (the quiet-period clock)."""
    pending_since_ms: int | None = None
    """Start of the current active stretch while no episode is open and the risk's
    ``confirm_ms`` has not yet passed (the persistence clock)."""
    renotify_due_ms: int | None = None
    renotifications: int = 0
    ack: Acknowledgement | None = None
    ack_grade: int | None = None
    review_due_ms: int | None = None
    suppression: Suppression | None = None


def new_state(patient_id: str, risk: Risk) -> AlertState:
    """The state of a risk no assessment has reached yet."""
    return AlertState(patient_id=patient_id, risk=risk)


def status_of(state: AlertState) -> AlertStatus:
    """The incident status the state stands for (``resolved``: nothing open)."""
    if state.suppression is not None:
        return "suppressed"
    if not state.open:
        return "resolved"
    if state.ack is not None:
        return "acknowledged"
    return "escalated" if state.escalated else "triggered"


_state_encoder = msgspec.json.Encoder()
_state_decoder = msgspec.json.Decoder(AlertState)
_transition_decoder = msgspec.json.Decoder(Transition)


def encode_state(state: AlertState) -> bytes:
    """JSON bytes of a state (what the worker stores in its table)."""
    return _state_encoder.encode(state)


def decode_state(data: bytes | str) -> AlertState:
    """Parse and validate a stored state."""
    return _state_decoder.decode(data)


def decode_transition(data: bytes | str) -> Transition:
    """Parse and validate a transition."""
    return _transition_decoder.decode(data)

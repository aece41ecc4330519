"""The alert record: one per policy transition, on the internal alerts topic (JSON).

Schema version ``ALERT_SCHEMA_VERSION``; fields per /work/shared/interfaces.md and documented
in docs/alerts.md. The record is internal: it carries the patient and encounter references
so the EHR side can act on it. What leaves the hospital (pager, external webhooks) is built
from it by :mod:`alerts.pager` and :mod:`alerts.webhook` without those references.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Annotated

import msgspec

from alerts.config import SuppressionReason
from alerts.ids import alert_id, dedup_key
from alerts.state import (
    AlertState,
    AlertStatus,
    Cause,
    NotifyAction,
    Transition,
    TransitionKind,
)
from contract.codemap import LOINC, default_codemap
from contract.events import InputRef
from features.snapshot import Timeline
from scoring.risk import Risk, RiskAssessment

ALERT_SCHEMA_VERSION = "1.0"
PICTURE_PATH = "/alerts/{alert_id}/picture.png"
"""Path of an alert's picture on the worker's web server (the lead serves it, behind auth)."""


class EvidenceItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One observation or feature value behind an alert, and the rule it hit."""

    feature: str
    """Feature the rule read (``temp_max_24h``)."""
    value: float
    rule: str
    """The rule hit, as the rule layer wrote it (``temp_max_24h 38.6 Cel >= 38: fever``)."""
    signal: str | None = None
    code: str | None = None
    """``system|code`` of the signal (LOINC where one exists, else the local system)."""
    observed_value: float | None = None
    """The observation's own value (may differ from the feature, e.g. a mean)."""
    unit: str | None = None
    time_ms: int | None = None
    source_msg_id: str | None = None


class SuggestedAction(msgspec.Struct, frozen=True, kw_only=True):
    """A label action for a clinician to consider; the service never performs it."""

    text: str
    source: str


class AlertRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One transition of one incident, with everything needed to read and replay it."""

    schema: str = ALERT_SCHEMA_VERSION
    alert_id: str
    """Deterministic from the dedup key and the transition number: a replay gives the same."""
    dedup_key: str
    """One per (patient, risk, episode); opaque (keyed hash)."""
    seq: int
    episode: int
    transition: TransitionKind
    status: AlertStatus
    action: NotifyAction | None = None
    """What sinks do: ``notify`` (page), ``acknowledge``, ``resolve``; ``None``: nothing."""
    patient_ref: str
    """FHIR-style patient reference (``Patient/123``): internal topic only."""
    encounter_ref: str | None = None
    cycle: int | None = None
    infusion_day: int | None = None
    risk: Risk
    grade: int | None = None
    previous_grade: int | None = None
    criteria: tuple[str, ...] = ()
    """Criteria (and their versions) behind the grade, e.g. ``ASTCT-CRS-2019``."""
    probability: float | None = None
    model_version: str | None = None
    model_threshold: float | None = None
    ruleset_version: str | None = None
    policy_version: str
    cause: Cause
    reason: str
    """Plain-language reason: the transition, then the rule layer's own reasons."""
    evidence: tuple[EvidenceItem, ...] = ()
    suggested_actions: tuple[SuggestedAction, ...] = ()
    suppression_reason: SuppressionReason | None = None
    suppressed_until_ms: int | None = None
    muted: bool = False
    actor: str | None = None
    """Staff id behind an acknowledgement or suppression."""
    event_ms: Annotated[int, msgspec.Meta(ge=0)]
    """When the transition happened (event time of the input, or the deadline)."""
    emit_ms: Annotated[int, msgspec.Meta(ge=0)]
    """When the worker emitted the record (processing time, for latency)."""
    inputs: tuple[InputRef, ...] = ()
    """Topic/partition/offset of the input messages behind it, so it can be replayed."""
    picture_url: str | None = None


@lru_cache(maxsize=1)
def default_signal_codes() -> dict[str, str]:
    """Signal -> ``system|code`` from the shipped code map, LOINC preferred."""
    out: dict[str, str] = {}
    for system, code, signal in default_codemap().codes():
        if signal not in out or (system == LOINC and not out[signal].startswith(LOINC)):
            out[signal] = f"{system}|{code}"
    return out


def evidence_items(
    assessment: RiskAssessment, codes: Mapping[str, str] | None = None
) -> tuple[EvidenceItem, ...]:
    """The assessment's rule evidence as alert evidence, with signal codes."""
    table = default_signal_codes() if codes is None else codes
    items: list[EvidenceItem] = []
    for ev in assessment.evidence:
        src = ev.source
        items.append(
            EvidenceItem(
                feature=ev.feature,
                value=ev.value,
                rule=ev.rule,
                signal=None if src is None else src.signal,
                code=None if src is None else table.get(src.signal),
                observed_value=None if src is None else src.value,
                unit=None if src is None else src.unit,
                time_ms=None if src is None else src.time_ms,
                source_msg_id=None if src is None else src.source_msg_id,
            )
        )
    return tuple(items)


def picture_link(base_url: str, alert: str) -> str:
    """The URL of an alert's picture under the worker's public base URL."""
    return base_url.rstrip("/") + PICTURE_PATH.format(alert_id=alert)


def build_alert_record(
    transition: Transition,
    state: AlertState,
    *,
    patient_ref: str,
    emit_ms: int,
    id_secret: bytes,
    policy_version: str,
    assessment: RiskAssessment | None = None,
    encounter_ref: str | None = None,
    timeline: Timeline | None = None,
    inputs: Sequence[InputRef] = (),
    link_base: str | None = None,
    codes: Mapping[str, str] | None = None,
    max_reasons: int = 4,
) -> AlertRecord:
    """The record of one transition.

    ``assessment`` is the assessment that caused it, or the latest one for time-driven and
    clinician transitions (its evidence and suggestions describe the current state);
    ``timeline`` places the alert in the infusion course; ``inputs`` are the input offsets
    behind it.
    """
    key = dedup_key(state.patient_id, state.risk, transition.episode, id_secret)
    aid = alert_id(key, transition.seq)
    reason = transition.reason
    evidence: tuple[EvidenceItem, ...] = ()
    suggestions: tuple[SuggestedAction, ...] = ()
    ruleset: str | None = None
    if assessment is not None:
        if (assessment.patient_id, assessment.risk) != (state.patient_id, state.risk):
            raise ValueError("assessment and state are for different patients or risks")
        evidence = evidence_items(assessment, codes)
        ruleset = assessment.ruleset_version
        extra = [r for r in assessment.reasons[:max_reasons] if r not in reason]
        if extra:
            reason = reason.rstrip(".") + ". " + "; ".join(extra)
        if transition.action == "notify":
            suggestions = tuple(
                SuggestedAction(text=s.text, source=s.source) for s in assessment.suggestions
            )
    tl = timeline or Timeline()
    return AlertRecord(
        alert_id=aid,
        dedup_key=key,
        seq=transition.seq,
        episode=transition.episode,
        transition=transition.kind,
        status=transition.status,
        action=transition.action,
        patient_ref=patient_ref,
        encounter_ref=encounter_ref,
        cycle=tl.cycle,
        infusion_day=tl.infusion_day,
        risk=state.risk,
        grade=transition.grade,
        previous_grade=transition.previous_grade,
        criteria=transition.criteria or (assessment.criteria if assessment else ()),
        probability=transition.probability
        if transition.probability is not None
        else (assessment.probability if assessment else None),
        model_version=transition.model_version
        or (assessment.model_version if assessment else None),
        model_threshold=transition.model_threshold
        if transition.model_threshold is not None
        else (assessment.model_threshold if assessment else None),
        ruleset_version=ruleset,
        policy_version=policy_version,
        cause=transition.cause,
        reason=reason,
        evidence=evidence,
        suggested_actions=suggestions,
        suppression_reason=transition.suppression_reason,
        suppressed_until_ms=transition.suppressed_until_ms,
        muted=transition.muted,
        actor=transition.actor,
        event_ms=transition.time_ms,
        emit_ms=emit_ms,
        inputs=tuple(inputs),
        picture_url=None if link_base is None else picture_link(link_base, aid),
    )


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AlertRecord)


def encode_alert(record: AlertRecord) -> bytes:
    """JSON bytes of an alert record (defaults omitted)."""
    return _encoder.encode(record)


def decode_alert(data: bytes | str) -> AlertRecord:
    """Parse and validate an alert record (raises ``msgspec.ValidationError``)."""
    return _decoder.decode(data)

"""THE entry point the stream calls: raw bytes of one input message -> :class:`Normalized`.

``normalize`` never raises on any input. Checks run in a fixed order and the first failing
whole-message check rejects the message: size (``OVERSIZED``) -> UTF-8 (``NOT_UTF8``) ->
parse (``MALFORMED``) -> complexity (``TOO_COMPLEX``) -> adapter (``SCHEMA``,
``UNSUPPORTED``) -> patient id present and valid (``MISSING_PATIENT_ID``) and equal to the
Kafka key (``PATIENT_MISMATCH``). Then each item is checked on its own (code, unit, number,
plausibility, time; see :mod:`adapters.items`): a bad item rejects only itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from adapters.canonical_json import parse_json_text
from adapters.fhir import parse_fhir
from adapters.hl7v2 import parse_hl7v2
from adapters.items import ItemContext
from adapters.limits import Limits, load_json_bounded
from adapters.result import AdapterResult, MessageError, Reject
from adapters.timeparse import zone
from contract.codemap import CodeMap
from contract.events import CORRECTION_STATUSES, Event, Observation, Retraction
from contract.reasons import Reason

Format = Literal["fhir", "hl7v2", "json"]
NormalizedOutcome = Literal["accepted", "corrected", "retracted", "rejected"]

# Same rule as contract.events.PatientId (checked here so a bad id is a reject, not a crash
# when the record is encoded later).
_PATIENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Normalized:
    """The result for one input message: what to emit and what to dead-letter."""

    outcome: NormalizedOutcome
    patient_id: str | None
    source_msg_id: str
    events: tuple[Event, ...]
    rejects: tuple[Reject, ...]


def _rejected(
    reason: Reason, detail: str, msg_id: str, patient_id: str | None = None
) -> Normalized:
    return Normalized("rejected", patient_id, msg_id, (), (Reject(reason, detail, None),))


def outcome_of(events: tuple[Event, ...]) -> NormalizedOutcome:
    """``retracted`` if any retraction, else ``corrected`` if any correction, else ``accepted``."""
    if not events:
        return "rejected"
    corrected = False
    for e in events:  # one pass (this runs for every message)
        if type(e) is Observation:  # the common case first (not a Retraction)
            if e.status in CORRECTION_STATUSES:
                corrected = True
        elif isinstance(e, Retraction):
            return "retracted"
        elif isinstance(e, Observation) and e.status in CORRECTION_STATUSES:
            corrected = True
    return "corrected" if corrected else "accepted"


def normalize(
    fmt: Format,
    data: bytes,
    *,
    key: bytes | None,
    received_ms: int,
    codemap: CodeMap,
    limits: Limits,
    fallback_msg_id: str,
    default_tz: str = "UTC",
) -> Normalized:
    """Turn one raw message into canonical events and rejects; never raises on input.

    ``key`` is the Kafka message key (the patient id) or ``None``; ``received_ms`` bounds
    event times (``limits.max_future_skew_ms`` ahead, ``limits.max_event_age_ms`` back);
    ``fallback_msg_id`` names the message when its body names none (e.g. unparseable);
    ``default_tz`` is the zone of HL7 timestamps without an offset. Only configuration
    errors raise (an unknown ``default_tz`` raises ``ValueError``).
    """
    tz = zone(default_tz)
    try:
        return _normalize(fmt, data, key, received_ms, codemap, limits, fallback_msg_id, tz)
    except Exception as exc:
        # The one catch-all of the ingest path, on purpose: whatever an adapter did not
        # foresee (a library raising something undocumented on hostile input) must become a
        # dead letter, never a crashed stream partition. The type names the bug to fix.
        return _rejected(
            Reason.MALFORMED, f"unexpected {type(exc).__name__} in adapter", fallback_msg_id
        )


def _normalize(
    fmt: Format,
    data: bytes,
    key: bytes | None,
    received_ms: int,
    codemap: CodeMap,
    limits: Limits,
    fallback_msg_id: str,
    tz: ZoneInfo,
) -> Normalized:
    if len(data) > limits.max_message_bytes:
        return _rejected(
            Reason.OVERSIZED, f"{len(data)} bytes > {limits.max_message_bytes}", fallback_msg_id
        )
    try:
        text = data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        return _rejected(Reason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}", fallback_msg_id)
    ctx = _item_context(codemap, limits, received_ms)
    try:
        result = _adapt(fmt, text, ctx, fallback_msg_id, tz)
    except MessageError as exc:
        return _rejected(exc.reason, exc.detail, fallback_msg_id)
    msg_id = result.source_msg_id or fallback_msg_id
    patient_id = result.patient_id
    if patient_id is None or _PATIENT_ID.match(patient_id) is None:
        return _rejected(Reason.MISSING_PATIENT_ID, "body names no valid patient id", msg_id)
    if key is not None and key != patient_id.encode("utf-8"):
        return _rejected(
            Reason.PATIENT_MISMATCH, "Kafka key names another patient", msg_id, patient_id
        )
    rejects = result.rejects
    if not result.events and not rejects:
        # An ORU without OBX, an empty Bundle or batch: valid, but nothing to ingest. It is
        # still dead-lettered with a reason, so every input is accounted for.
        rejects = (Reject(Reason.SCHEMA, "message carries no observations or events", None),)
    return Normalized(outcome_of(result.events), patient_id, msg_id, result.events, rejects)


_last_context: list[ItemContext] = []
"""The context of the last message: the messages of one batch share their receive time."""


def _item_context(codemap: CodeMap, limits: Limits, received_ms: int) -> ItemContext:
    """``ItemContext(codemap, limits, received_ms)``, the last one again when it is equal."""
    if _last_context:
        ctx = _last_context[0]
        if ctx.received_ms == received_ms and ctx.codemap is codemap and ctx.limits is limits:
            return ctx
    ctx = ItemContext(codemap, limits, received_ms)
    _last_context[:] = [ctx]
    return ctx


def _adapt(fmt: Format, text: str, ctx: ItemContext, msg_id: str, tz: ZoneInfo) -> AdapterResult:
    if fmt == "hl7v2":
        return parse_hl7v2(text, ctx, fallback_msg_id=msg_id, default_tz=tz)
    if fmt == "fhir":
        return parse_fhir(load_json_bounded(text, ctx.limits), ctx, fallback_msg_id=msg_id)
    if fmt == "json":
        return parse_json_text(text, ctx, fallback_msg_id=msg_id)
    raise MessageError(Reason.UNSUPPORTED, f"unknown format {str(fmt)[:20]!r}")

"""HL7 v2 ORU^R01 (lab and device results) and ADT (admissions) -> canonical events, parsed with
python-hl7.

Mapped: MSH-9 (ORU^R01, or ADT^A01/A04/A06/A08), MSH-10 control id (``source_msg_id``), PID-3 first
identifier (patient id). For an ORU: OBR-2/OBR-3 order numbers and OBR-7 collection time, and
per OBX: OBX-2 value type, OBX-3 code (``code^text^system``, alternate ``^code^text^system`` in
components 4-6; ``LN`` is LOINC), OBX-4 sub-id, OBX-5 value (comparator prefixes ``<``,
``<=``, ``>``, ``>=`` and the SN type), OBX-6 units, OBX-7 reference range (``10-40``, ``<5``,
``>3.5``), OBX-11 result status and OBX-14 observation time (overrides OBR-7).

``obs_id`` is ``<OBR-3 filler number, else OBR-2 placer number, else MSH-10>:<OBX-3 code>:
<OBX-4 sub-id>``, so a corrected result sent later in a new message (new MSH-10) replaces
the original. OBX-11: F final, P preliminary, C corrected, D/W retraction, X ``MISSING_VALUE``;
any other status is ``UNSUPPORTED`` and an empty one is ``SCHEMA``.

An ADT^A01 (admit), A04 (register), A06 (outpatient to inpatient) or A08 (update) is one
item, a :class:`~contract.events.PatientContext` (contract 1.1), or one reject with item 0:
- ``hospital_admission_ms`` is PV1-44 (admit date/time) when PV1-2 (patient class) is ``I``
  (for an A06, the new class: the outpatient who is being admitted);
  any other class (E, O, P, R, B...) is no hospital admission and carries none, and an
  inpatient without PV1-44 simply has no admission time;
- ``sex`` from PID-8 (HL7 table 0001): F female, M male, O other and A (ambiguous) other;
  U, N (not applicable) and empty unknown; any other code ``SCHEMA``;
- ``age_years`` from PID-7, calendar-correct (whole years plus the elapsed fraction of the
  year of life, 29 February birthdays on 28 February in common years) on the calendar date of
  the context's timestamp as written. A birth date needs the day (``YYYYMMDD``, a time and
  offset may follow and are not used): a year or month alone leaves the age unknown; one that
  is no date is ``SCHEMA``, one after the context or over 120 years before it ``IMPLAUSIBLE``;
- ``time_ms`` is the first present of PV1-44, EVN-2 (recorded date/time) and MSH-7, parsed and
  checked like an ORU time (``BAD_TIME``); a malformed one is not skipped for the next;
- every other field keeps its default, so the context erases nothing other feeds sent; an ADT
  with no age, sex or inpatient admission time is ``UNSUPPORTED`` (counted, not dropped).
OBX segments in an ADT are not read. Other ADT events are ``UNSUPPORTED``; the detail says
why: A03 (discharge) and A07 (inpatient to outpatient) because the end of an admission is
not modelled; A11 (cancel admit) because a context cannot be retracted (an admission time
already sent stays until a later ADT replaces it), like a cancelled FHIR Encounter. Reject
details name the field, never its value: PID-7 is a birth date and PID-3 the MRN.

Time zones: an HL7 timestamp with an offset (``20240101120000+0100``) is exact; one without
an offset is local time in ``default_tz`` (an IANA zone name, default ``UTC``; set it to the
sending system's zone). Timestamps must be precise to the minute at least.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import hl7
import hl7.util

from adapters.items import (
    ItemContext,
    build_observation,
    build_retraction,
    check_time,
    lookup_coding,
)
from adapters.result import AdapterResult, ItemError, MessageError, Reject
from adapters.timeparse import parse_hl7_ts
from contract.events import Event, ObsStatus, PatientContext, Sex, Source
from contract.reasons import Reason

# python-hl7 logs the raw text of a field it cannot unescape at WARNING level: that can be a
# patient's MRN or name. Invalid escapes are reported here as reject reasons instead.
logging.getLogger(hl7.util.__file__).disabled = True

SOURCE: Source = "hl7v2"

_STATUSES: dict[str, ObsStatus] = {"F": "final", "P": "preliminary", "C": "corrected"}
MAX_ESCAPE_REPEAT = 1000
"""Largest repeat count of an HL7 ``\\.sp<n>\\``-style escape (2.10.6) that is expanded: python-hl7
builds the repeated text in memory, and a fuzzed count of ten digits raised MemoryError."""
_RETRACTION_STATUSES = frozenset({"D", "W"})
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"^\s*(?P<low>{_NUMBER})\s*(?:-|–|to)\s*(?P<high>{_NUMBER})\s*$")
_BOUND = re.compile(rf"^\s*(?P<cmp><=|>=|<|>)\s*(?P<num>{_NUMBER})\s*$")
_ADT_TAKEN = frozenset({"A01", "A04", "A06", "A08"})
_END_OF_ADMISSION = "the end of an admission is not modelled"
_ADT_NOT_TAKEN = {
    "A11": (
        "cancel admit",
        "a context cannot be retracted; a later ADT replaces the admission time",
    ),
    "A02": ("transfer", "a transfer starts a ward or ICU stay, not the hospital admission"),
    "A03": ("discharge", _END_OF_ADMISSION),
    "A07": ("inpatient to outpatient", _END_OF_ADMISSION),
    "A05": ("pre-admit", "the patient is not admitted yet"),
}
"""ADT events not taken, with what they are and why they give no context."""
_ADT_OTHER = (
    "only A01 admit, A04 register, A06 outpatient to inpatient and A08 update are mapped to a "
    "patient context"
)
# HL7 table 0001 administrative sex. A (ambiguous) is a sex other than F or M; N (not
# applicable) says nothing about the patient's sex, so it stays unknown.
_SEXES: dict[str, Sex] = {
    "F": "female",
    "M": "male",
    "O": "other",
    "A": "other",
    "U": "unknown",
    "N": "unknown",
    "": "unknown",
}
_INPATIENT = "I"
"""PV1-2 patient class of a hospital admission (table 0004); E, O, P, R, B... are not one."""
# HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; the day is group 3 when given.
_DTM = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?)?)?(?:[+-]\d{4})?"
)
MAX_AGE_YEARS = 120
"""Upper bound of ``PatientContext.age_years`` in the contract (inclusive)."""


def _repeat_counts_bounded(raw: str, esc: str) -> bool:
    """Whether every repetition escape (``.sp``, ``.in``, ... with a count) in ``raw`` asks for
    at most ``MAX_ESCAPE_REPEAT`` copies. Escape sequences are the odd pieces between escape
    characters, as python-hl7 reads them; counts are parsed as it does (``int``)."""
    if not esc or esc not in raw:
        return True
    for sequence in raw.split(esc)[1::2]:
        if sequence.startswith(".") and len(sequence) > 3:
            try:
                count = int(sequence[3:])
            except ValueError:
                continue  # python-hl7 raises ValueError itself: malformed, handled by the caller
            if abs(count) > MAX_ESCAPE_REPEAT:
                return False
    return True


@dataclass(frozen=True, slots=True)
class _Order:
    """The OBR context an OBX belongs to."""

    key: str
    time_ms: int | ItemError | None


class _Segment:
    """Raw field and component access on one python-hl7 segment."""

    def __init__(self, segment: Any, message: Any) -> None:
        self._segment = segment
        self._message = message
        self._repetition = message.separators[2]
        self._component = message.separators[3]

    def field(self, number: int) -> str:
        """Raw text of field ``number`` (HL7 numbering), ``""`` when absent."""
        return str(self._segment[number]) if number < len(self._segment) else ""

    def first_repetition(self, number: int) -> str:
        """Raw text of the first repetition of field ``number``."""
        return self.field(number).split(self._repetition, 1)[0]

    def has_components(self, number: int) -> bool:
        """True when the first repetition of the field has more than one component."""
        return self._component in self.first_repetition(number)

    def component(self, number: int, component: int) -> str:
        """Unescaped component (1-based) of the first repetition of a field.

        Raises ``ItemError`` (malformed) for an invalid escape sequence.
        """
        parts = self.first_repetition(number).split(self._component)
        raw = parts[component - 1] if component <= len(parts) else ""
        if not raw:
            return ""
        if not _repeat_counts_bounded(raw, self._message.esc):
            raise ItemError(
                Reason.MALFORMED, f"escape sequence repeat count over {MAX_ESCAPE_REPEAT}"
            )
        try:
            return str(self._message.unescape(raw)).strip()
        except ValueError:
            raise ItemError(
                Reason.MALFORMED, f"invalid escape sequence in field {number}"
            ) from None


def split_segments(text: str) -> str:
    """Accept ``\\r``, ``\\n`` and ``\\r\\n`` segment separators; drop blank lines."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    return "\r".join(line for line in lines if line.strip())


def parse_hl7v2(
    text: str, ctx: ItemContext, *, fallback_msg_id: str, default_tz: ZoneInfo
) -> AdapterResult:
    """Events from one HL7 v2 message. Raises ``MessageError`` for whole-message problems."""
    cleaned = split_segments(text)
    if not cleaned.startswith("MSH"):
        raise MessageError(Reason.MALFORMED, "HL7 message does not start with MSH")
    if cleaned.count("\r") + 1 > ctx.limits.max_hl7_segments:
        raise MessageError(Reason.TOO_COMPLEX, "too many HL7 segments")
    _check_encoding_characters(cleaned)
    try:
        message = hl7.parse(cleaned)
    except (hl7.ParseException, IndexError, ValueError, AssertionError) as exc:
        # python-hl7 asserts on some malformed headers; that is bad input, not a bug here.
        raise MessageError(Reason.MALFORMED, f"HL7 parse error: {str(exc)[:80]}") from None
    try:
        return _events(message, ctx, fallback_msg_id=fallback_msg_id, default_tz=default_tz)
    except ItemError as exc:
        # An invalid escape outside an OBX (MSH, PID, OBR) spoils the whole message.
        raise MessageError(exc.reason, exc.detail) from None


def _check_encoding_characters(text: str) -> None:
    """MSH-1/MSH-2 must declare five distinct, non-alphanumeric separator characters."""
    separator = text[3:4]
    encoding = text[4:].split(separator, 1)[0] if separator else ""
    declared = separator + encoding[:4]
    if (
        len(encoding) < 4
        or len(set(declared)) != len(declared)
        or any(c.isalnum() or c.isspace() for c in declared)
    ):
        raise MessageError(Reason.MALFORMED, "invalid MSH-1/MSH-2 separator characters")


def _events(
    message: Any, ctx: ItemContext, *, fallback_msg_id: str, default_tz: ZoneInfo
) -> AdapterResult:
    segments = [_Segment(s, message) for s in message]
    msh = segments[0]
    kind = (msh.component(9, 1), msh.component(9, 2))
    is_adt = kind[0] == "ADT" and kind[1] in _ADT_TAKEN
    if kind != ("ORU", "R01") and not is_adt:
        raise MessageError(Reason.UNSUPPORTED, _not_taken(kind))
    msg_id = msh.component(10, 1)
    if not msg_id or len(msg_id) > 200:
        raise MessageError(Reason.SCHEMA, "MSH-10 message control id missing")
    pid = _first(segments, "PID")
    patient_id = (pid.component(3, 1) or None) if pid is not None else None
    if is_adt:
        return _adt_result(segments, pid, patient_id, msg_id, ctx, default_tz)
    obx_count = sum(1 for s in segments if s.field(0) == "OBX")
    if obx_count > ctx.limits.max_items_per_message:
        raise MessageError(Reason.TOO_COMPLEX, f"{obx_count} OBX segments")
    if patient_id is None:
        return AdapterResult((), (), None, msg_id)
    events: list[Event] = []
    rejects: list[Reject] = []
    order = _Order(msg_id, None)
    index = 0
    for segment in segments:
        name = segment.field(0)
        if name == "OBR":
            order = _order(segment, msg_id, default_tz)
        elif name == "OBX":
            try:
                events.append(_obx_event(segment, order, ctx, patient_id, msg_id, default_tz))
            except ItemError as exc:
                rejects.append(Reject(exc.reason, exc.detail, index))
            index += 1
    return AdapterResult(tuple(events), tuple(rejects), patient_id, msg_id)


def _not_taken(kind: tuple[str, str]) -> str:
    """The detail of an ``UNSUPPORTED`` message type: for an ADT event, why it is not taken."""
    shown = f"message type {'^'.join(kind)[:20]}"
    if kind[0] != "ADT":
        return f"{shown} not taken"
    if kind[1] in _ADT_NOT_TAKEN:
        name, why = _ADT_NOT_TAKEN[kind[1]]
        return f"{shown} ({name}) not taken: {why}"
    return f"{shown} not taken: {_ADT_OTHER}"


def _first(segments: list[_Segment], name: str) -> _Segment | None:
    return next((s for s in segments if s.field(0) == name), None)


def _adt_result(
    segments: list[_Segment],
    pid: _Segment | None,
    patient_id: str | None,
    msg_id: str,
    ctx: ItemContext,
    default_tz: ZoneInfo,
) -> AdapterResult:
    """The one item of an ADT: its context, or the reject saying why not (item 0)."""
    if pid is None or patient_id is None:
        return AdapterResult((), (), None, msg_id)
    try:
        context = _adt_context(segments, pid, patient_id, msg_id, ctx, default_tz)
    except ItemError as exc:
        return AdapterResult((), (Reject(exc.reason, exc.detail, 0),), patient_id, msg_id)
    return AdapterResult((context,), (), patient_id, msg_id)


def _adt_context(
    segments: list[_Segment],
    pid: _Segment,
    patient_id: str,
    msg_id: str,
    ctx: ItemContext,
    default_tz: ZoneInfo,
) -> PatientContext:
    """Age, sex and inpatient admission time of an ADT as a context, or ``ItemError``.

    Details name the field, never its value: these fields are a birth date and dates of care.
    """
    pv1 = _first(segments, "PV1")
    admit = _text(pv1, 44)
    if admit:
        text, label = admit, "PV1-44 admit date/time"
    elif text := _text(_first(segments, "EVN"), 2):
        label = "EVN-2 recorded date/time"
    elif text := segments[0].component(7, 1):
        label = "MSH-7 message date/time"
    else:
        raise ItemError(Reason.BAD_TIME, "no PV1-44, EVN-2 or MSH-7 time")
    time_ms = _checked_time(text, label, ctx, default_tz)
    inpatient = pv1 is not None and pv1.component(2, 1).upper() == _INPATIENT
    admitted_ms = time_ms if inpatient and admit else None
    sex = _SEXES.get(pid.component(8, 1).upper())
    if sex is None:
        raise ItemError(Reason.SCHEMA, "PID-8 administrative sex not a code of HL7 table 0001")
    # The timestamp's own calendar date, as written: the birth date is a local date too.
    age = _age(pid.component(7, 1), date(int(text[:4]), int(text[4:6]), int(text[6:8])))
    if age is None and sex == "unknown" and admitted_ms is None:
        raise ItemError(Reason.UNSUPPORTED, "ADT carries no age, sex or inpatient admission time")
    return PatientContext(
        patient_id=patient_id,
        time_ms=time_ms,
        source=SOURCE,
        source_msg_id=msg_id,
        age_years=age,
        sex=sex,
        hospital_admission_ms=admitted_ms,
    )


def _text(segment: _Segment | None, number: int) -> str:
    return segment.component(number, 1) if segment is not None else ""


def _checked_time(text: str, label: str, ctx: ItemContext, default_tz: ZoneInfo) -> int:
    """``text`` parsed and checked like an ORU time; details name ``label``, not the value."""
    try:
        parsed = parse_hl7_ts(text, default_tz)
    except ItemError:
        raise ItemError(Reason.BAD_TIME, f"{label} not an HL7 timestamp to the minute") from None
    try:
        return check_time(ctx, parsed)
    except ItemError as exc:
        raise ItemError(exc.reason, f"{label}: {exc.detail}") from None


def _age(birth_text: str, on: date) -> float | None:
    """Age in years on ``on`` from a PID-7 birth date; ``None`` without one or without a day.

    Calendar-correct: whole years since birth plus the elapsed fraction of the current year
    of life (days since the last birthday over the days between it and the next), so the age
    is a whole number on each birthday. A 29 February birthday falls on 28 February in other
    years.
    """
    if not birth_text:
        return None
    match = _DTM.fullmatch(birth_text)
    if match is None:
        raise ItemError(Reason.SCHEMA, "PID-7 birth date not a date")
    if match[3] is None:
        return None  # a year or month alone: no age to the precision the features need
    try:
        birth = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ItemError(Reason.SCHEMA, "PID-7 birth date not a date") from None
    if birth > on:
        raise ItemError(Reason.IMPLAUSIBLE, "PID-7 birth date after the context")
    years = on.year - birth.year
    if _birthday(birth, on.year) > on:
        years -= 1
    last = _birthday(birth, birth.year + years)
    following = _birthday(birth, birth.year + years + 1)
    age = years + (on - last).days / (following - last).days
    if age > MAX_AGE_YEARS:
        raise ItemError(
            Reason.IMPLAUSIBLE, f"PID-7 birth date over {MAX_AGE_YEARS} years before the context"
        )
    return age


def _birthday(birth: date, year: int) -> date:
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def _time(text: str, default_tz: ZoneInfo) -> int | ItemError | None:
    if not text:
        return None
    try:
        return parse_hl7_ts(text, default_tz)
    except ItemError as exc:
        return exc


def _order(segment: _Segment, msg_id: str, default_tz: ZoneInfo) -> _Order:
    key = segment.component(3, 1) or segment.component(2, 1) or msg_id
    return _Order(key, _time(segment.component(7, 1), default_tz))


def _obx_value(segment: _Segment) -> str:
    """OBX-5 as text; the SN type (``>^12.5``) is folded into ``>12.5``."""
    if segment.component(2, 1).upper() == "SN":
        comparator, number = segment.component(5, 1), segment.component(5, 2)
        separator, second = segment.component(5, 3), segment.component(5, 4)
        if separator or second:
            raise ItemError(Reason.NON_NUMERIC, "SN range or ratio where a number was expected")
        return ("" if comparator == "=" else comparator) + number
    if segment.has_components(5):
        raise ItemError(Reason.NON_NUMERIC, "OBX-5 has components where a number was expected")
    return segment.component(5, 1)


def reference_range(text: str) -> tuple[str | None, str | None]:
    """(low, high) from an OBX-7 range: ``10-40``, ``-2-3``, ``<5``, ``>=3.5``; else Nones."""
    match = _RANGE.match(text)
    if match is not None:
        return match["low"], match["high"]
    bound = _BOUND.match(text)
    if bound is not None:
        if bound["cmp"].startswith("<"):
            return None, bound["num"]
        return bound["num"], None
    return None, None


def _obx_event(
    segment: _Segment,
    order: _Order,
    ctx: ItemContext,
    patient_id: str,
    msg_id: str,
    default_tz: ZoneInfo,
) -> Event:
    status_code = segment.component(11, 1).upper()
    if not status_code:
        raise ItemError(Reason.SCHEMA, "OBX-11 result status missing")
    retract = status_code in _RETRACTION_STATUSES
    if not retract and status_code not in _STATUSES and status_code != "X":
        raise ItemError(Reason.UNSUPPORTED, f"OBX-11 status {status_code[:5]} not taken")
    code = segment.component(3, 1)
    codings = [(segment.component(3, 3) or None, code)] if code else []
    alternate = segment.component(3, 4)
    if alternate:
        codings.append((segment.component(3, 6) or None, alternate))
    if not codings:
        raise ItemError(Reason.SCHEMA, "OBX-3 observation identifier missing")
    spec, received_code = lookup_coding(ctx, codings)
    obs_id = f"{order.key}:{code}:{segment.component(4, 1)}"
    if len(obs_id) > 200:
        raise ItemError(Reason.SCHEMA, "observation id longer than 200 characters")
    observed = _time(segment.component(14, 1), default_tz)
    time_ms = observed if observed is not None else order.time_ms
    if time_ms is None:
        time_ms = ItemError(Reason.BAD_TIME, "no OBX-14 or OBR-7 time")
    if retract:
        return build_retraction(
            ctx,
            spec=spec,
            time_ms=time_ms,
            patient_id=patient_id,
            source=SOURCE,
            source_msg_id=msg_id,
            obs_id=obs_id,
        )
    if status_code == "X":
        raise ItemError(Reason.MISSING_VALUE, f"OBX-11 X: no result for {spec.signal}")
    low, high = reference_range(segment.component(7, 1))
    return build_observation(
        ctx,
        spec=spec,
        code=received_code,
        value=_obx_value(segment),
        units=[segment.component(6, 1) or segment.component(6, 2)],
        time_ms=time_ms,
        patient_id=patient_id,
        source=SOURCE,
        source_msg_id=msg_id,
        obs_id=obs_id,
        status=_STATUSES[status_code],
        ref_low=low,
        ref_high=high,
    )

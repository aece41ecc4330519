"""HL7 v2 ORU^R01 (lab and device results) -> canonical events, parsed with python-hl7.

Mapped: MSH-9 (must be ORU^R01), MSH-10 control id (``source_msg_id``), PID-3 first
identifier (patient id), OBR-2/OBR-3 order numbers and OBR-7 collection time, and per OBX:
OBX-2 value type, OBX-3 code (``code^text^system``, alternate ``^code^text^system`` in
components 4-6; ``LN`` is LOINC), OBX-4 sub-id, OBX-5 value (comparator prefixes ``<``,
``<=``, ``>``, ``>=`` and the SN type), OBX-6 units, OBX-7 reference range (``10-40``, ``<5``,
``>3.5``), OBX-11 result status and OBX-14 observation time (overrides OBR-7).

``obs_id`` is ``<OBR-3 filler number, else OBR-2 placer number, else MSH-10>:<OBX-3 code>:
<OBX-4 sub-id>``, so a corrected result sent later in a new message (new MSH-10) replaces
the original. OBX-11: F final, P preliminary, C corrected, D/W retraction, X ``MISSING_VALUE``;
any other status is ``UNSUPPORTED`` and an empty one is ``SCHEMA``.

Time zones: an HL7 timestamp with an offset (``20240101120000+0100``) is exact; one without
an offset is local time in ``default_tz`` (an IANA zone name, default ``UTC``; set it to the
sending system's zone). Timestamps must be precise to the minute at least.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import hl7
import hl7.util

from adapters.items import ItemContext, build_observation, build_retraction, lookup_coding
from adapters.result import AdapterResult, ItemError, MessageError, Reject
from adapters.timeparse import parse_hl7_ts
from contract.events import Event, ObsStatus, Source
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
    if kind != ("ORU", "R01"):
        raise MessageError(Reason.UNSUPPORTED, f"message type {'^'.join(kind)[:20]} not taken")
    msg_id = msh.component(10, 1)
    if not msg_id or len(msg_id) > 200:
        raise MessageError(Reason.SCHEMA, "MSH-10 message control id missing")
    pids = [s for s in segments if s.field(0) == "PID"]
    patient_id = (pids[0].component(3, 1) or None) if pids else None
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

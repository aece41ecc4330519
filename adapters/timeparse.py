"""Event-time parsing for the feeds: FHIR ``dateTime``/``instant`` and HL7 v2 ``TS``/``DTM``.

Both return milliseconds since the Unix epoch (UTC) and raise ``ItemError(BAD_TIME)``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.result import ItemError
from contract.reasons import Reason

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

# FHIR dateTime with a time part; FHIR requires the offset whenever a time is given.
_FHIR_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?P<tz>Z|[+-]\d{2}:\d{2})?$"
)
# HL7 v2 TS/DTM: YYYYMMDDHHMM[SS[.S[S[S[S]]]]][+/-ZZZZ]; minute precision at least, since a
# date alone cannot place a lab value against an hourly early-warning window.
_HL7_TS = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?P<h>\d{2})(?P<mi>\d{2})"
    r"(?:(?P<s>\d{2})(?:\.(?P<frac>\d{1,4}))?)?(?P<tz>[+-]\d{4})?$"
)


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (exact integer arithmetic)."""
    return (moment - _EPOCH) // _ONE_MS


def parse_fhir_datetime(text: object) -> int:
    """Epoch ms of a FHIR ``dateTime``/``instant``; no time or no offset is ``BAD_TIME``."""
    if not isinstance(text, str):
        raise ItemError(Reason.BAD_TIME, "event time missing or not a string")
    match = _FHIR_DATETIME.match(text)
    if match is None:
        raise ItemError(Reason.BAD_TIME, f"not an ISO 8601 date-time: {text[:40]!r}")
    if match["tz"] is None:
        raise ItemError(Reason.BAD_TIME, f"date-time without timezone: {text[:40]!r}")
    try:
        return to_epoch_ms(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise ItemError(Reason.BAD_TIME, f"invalid date-time: {text[:40]!r}") from None


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises ``ValueError`` for an unknown one (configuration)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def parse_hl7_ts(text: str, default_tz: ZoneInfo) -> int:
    """Epoch ms of an HL7 v2 timestamp.

    An explicit ``+HHMM``/``-HHMM`` offset wins; without one the time is local time in
    ``default_tz``. A local time that occurs twice (autumn DST change) takes the first
    occurrence; one that does not exist (spring gap) is read with the offset before the gap.
    """
    match = _HL7_TS.match(text.strip())
    if match is None:
        raise ItemError(Reason.BAD_TIME, f"not an HL7 timestamp to the minute: {text[:40]!r}")
    frac = match["frac"] or ""
    micro = int((frac + "000000")[:6]) if frac else 0
    try:
        if match["tz"]:
            sign = 1 if match["tz"][0] == "+" else -1
            hours, minutes = int(match["tz"][1:3]), int(match["tz"][3:5])
            tzinfo: timezone | ZoneInfo = timezone(sign * timedelta(hours=hours, minutes=minutes))
        else:
            tzinfo = default_tz
        moment = datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"] or 0),
            micro,
            tzinfo=tzinfo,
        )
        return to_epoch_ms(moment)
    except (ValueError, OverflowError):
        raise ItemError(Reason.BAD_TIME, f"invalid HL7 timestamp: {text[:40]!r}") from None

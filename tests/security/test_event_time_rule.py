"""Clock skew and far-future / far-past event times are handled by one rule, in every feed.

Rule (``adapters.items.check_time``, documented in docs/security.md): an event time later
than receive time + ``max_future_skew`` or earlier than receive time - ``max_event_age`` is
rejected ``bad_time``; both bounds are inclusive. Checked for FHIR (``Z`` and offsets), HL7
v2 (with an offset, and without one in the configured ``EWS_HL7_DEFAULT_TZ``) and JSON
(epoch ms).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from adapters.limits import Limits
from adapters.normalize import Normalized
from contract.reasons import Reason
from ews.settings import Settings
from streams.ingest import limits_from
from tests.adapters import samples

RECEIVED_MS = samples.RECEIVED_MS  # 2024-03-01T11:00:00Z
SKEW_MS = 300_000
AGE_MS = 7 * 86_400_000
LIMITS = Limits(max_future_skew_ms=SKEW_MS, max_event_age_ms=AGE_MS)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _moment(ms: int, tz: timezone | ZoneInfo = UTC) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz)


def fhir_at(ms: int, offset: timedelta) -> Normalized:
    text = _moment(ms, timezone(offset)).isoformat(timespec="milliseconds")
    text = text.replace("+00:00", "Z") if offset == timedelta(0) else text
    data = samples.encode(samples.fhir_observation(effective=text))
    return cast(Normalized, samples.run("fhir", data, limits=LIMITS))


def hl7_at(ms: int, offset: timedelta | None, zone: str = "UTC") -> Normalized:
    if offset is None:  # local wall time of the sending system, no offset in the message
        text = _moment(ms, ZoneInfo(zone)).strftime("%Y%m%d%H%M%S")
    else:
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        text = _moment(ms, timezone(offset)).strftime("%Y%m%d%H%M%S")
        text += f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    data = samples.hl7_oru(obr_time=text)
    return cast(Normalized, samples.run("hl7v2", data, limits=LIMITS, default_tz=zone))


def json_at(ms: int) -> Normalized:
    data = samples.encode(samples.json_observation(time_ms=ms))
    return cast(Normalized, samples.run("json", data, limits=LIMITS))


FEEDS: dict[str, Callable[[int], Normalized]] = {
    "fhir Z": lambda ms: fhir_at(ms, timedelta(0)),
    "fhir +05:30": lambda ms: fhir_at(ms, timedelta(hours=5, minutes=30)),
    "fhir -08:00": lambda ms: fhir_at(ms, timedelta(hours=-8)),
    "hl7 +0000": lambda ms: hl7_at(ms, timedelta(0)),
    "hl7 -0500": lambda ms: hl7_at(ms, timedelta(hours=-5)),
    "hl7 +1245": lambda ms: hl7_at(ms, timedelta(hours=12, minutes=45)),
    "hl7 no zone, UTC": lambda ms: hl7_at(ms, None, "UTC"),
    "hl7 no zone, New York": lambda ms: hl7_at(ms, None, "America/New_York"),
    "hl7 no zone, Kolkata": lambda ms: hl7_at(ms, None, "Asia/Kolkata"),
    "json epoch ms": json_at,
}
SECOND = 1000
CASES = {
    "on time": (0, True),
    "at the future bound": (SKEW_MS, True),
    "past the future bound": (SKEW_MS + SECOND, False),
    "at the age bound": (-AGE_MS, True),
    "past the age bound": (-AGE_MS - SECOND, False),
    "year 2999": (int(datetime(2999, 6, 1, tzinfo=UTC).timestamp() * 1000) - RECEIVED_MS, False),
    "year 1971": (int(datetime(1971, 6, 1, tzinfo=UTC).timestamp() * 1000) - RECEIVED_MS, False),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("feed", FEEDS)
def test_event_time_bounds(feed: str, case: str) -> None:
    delta, accepted = CASES[case]
    event_ms = RECEIVED_MS + delta
    result = FEEDS[feed](event_ms)
    if accepted:
        assert result.outcome == "accepted", result.rejects
        assert [e.time_ms for e in result.events] == [event_ms]
    else:
        assert result.outcome == "rejected" and not result.events
        assert [r.reason for r in result.rejects] == [Reason.BAD_TIME], result.rejects


def test_a_zoneless_hl7_time_read_in_the_wrong_zone_is_skew() -> None:
    """A sender in Kolkata without offsets, read as UTC, lands 5.5 h in the future: rejected
    (``EWS_HL7_DEFAULT_TZ`` must name the sender's zone)."""
    wall = _moment(RECEIVED_MS, ZoneInfo("Asia/Kolkata")).strftime("%Y%m%d%H%M%S")
    wrong = samples.run("hl7v2", samples.hl7_oru(obr_time=wall), limits=LIMITS)
    right = samples.run(
        "hl7v2", samples.hl7_oru(obr_time=wall), limits=LIMITS, default_tz="Asia/Kolkata"
    )
    assert [r.reason for r in wrong.rejects] == [Reason.BAD_TIME]
    assert right.outcome == "accepted"


def test_settings_set_the_bounds() -> None:
    limits = limits_from(Settings(max_future_skew_s=60, max_event_age_days=2))
    assert limits.max_future_skew_ms == 60_000
    assert limits.max_event_age_ms == 2 * 86_400_000
    defaults = limits_from(Settings())
    assert defaults.max_future_skew_ms == 300_000
    assert defaults.max_event_age_ms == 3650 * 86_400_000


def test_the_rule_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for needle in ("EWS_MAX_FUTURE_SKEW_S", "EWS_MAX_EVENT_AGE_DAYS", "bad_time"):
        assert needle in text, f"docs/security.md does not mention {needle}"

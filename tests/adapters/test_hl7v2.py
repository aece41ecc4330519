"""HL7 v2 ORU^R01 adapter, through normalize."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from adapters.hl7v2 import reference_range
from contract.events import Observation, Retraction
from contract.reasons import Reason
from tests.adapters.samples import EVENT_MS, PATIENT, Obx, hl7_oru, run


def hl7(*obx: Obx, **kwargs: Any) -> Any:
    run_kwargs = {k: kwargs.pop(k) for k in ("default_tz", "received_ms", "key") if k in kwargs}
    return run("hl7v2", hl7_oru(obx or (Obx(),), **kwargs), **run_kwargs)


def only(result: Any) -> Observation:
    assert result.rejects == ()
    (event,) = result.events
    assert isinstance(event, Observation)
    return event


def test_crp_result() -> None:
    result = hl7(Obx(sub_id="1", ref_range="0-10"))
    obs = only(result)
    assert (result.outcome, result.patient_id, result.source_msg_id) == (
        "accepted",
        PATIENT,
        "MSG0001",
    )
    assert (obs.signal, obs.value, obs.unit, obs.time_ms) == ("crp", 12.5, "mg/L", EVENT_MS)
    assert obs.obs_id == "FIL123:1988-5:1"
    assert obs.code == "http://loinc.org|1988-5"
    assert (obs.ref_low, obs.ref_high, obs.source) == (0.0, 10.0, "hl7v2")


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n"])
def test_segment_separators(separator: str) -> None:
    assert only(hl7(separator=separator)).value == 12.5


def test_twenty_obx_one_bad() -> None:
    obx = [Obx(code="8867-4", value=str(60 + i), unit="/min", sub_id=str(i)) for i in range(20)]
    obx[13] = replace(obx[13], value="-5")
    result = hl7(*obx)
    assert result.outcome == "accepted"
    assert len(result.events) == 19
    assert [(r.reason, r.item) for r in result.rejects] == [(Reason.IMPLAUSIBLE, 13)]


@pytest.mark.parametrize(
    ("status", "outcome", "expected"),
    [("F", "accepted", "final"), ("P", "accepted", "preliminary"), ("C", "corrected", "corrected")],
)
def test_statuses(status: str, outcome: str, expected: str) -> None:
    result = hl7(Obx(status=status))
    assert result.outcome == outcome
    assert only(result).status == expected


@pytest.mark.parametrize("status", ["D", "W"])
def test_deleted_or_wrong_is_a_retraction(status: str) -> None:
    result = hl7(Obx(status=status, sub_id="1"), msg_id="MSG0002")
    assert result.outcome == "retracted"
    (event,) = result.events
    assert isinstance(event, Retraction)
    assert (event.obs_id, event.signal, event.source_msg_id) == (
        "FIL123:1988-5:1",
        "crp",
        "MSG0002",
    )


def test_correction_in_a_new_message_keeps_the_obs_id() -> None:
    first = only(hl7(Obx(sub_id="1"), msg_id="A1"))
    second = only(hl7(Obx(sub_id="1", status="C", value="15"), msg_id="A2"))
    assert first.obs_id == second.obs_id and second.value == 15.0


def test_x_status_is_missing_value() -> None:
    assert hl7(Obx(status="X", value="")).rejects[0].reason is Reason.MISSING_VALUE


@pytest.mark.parametrize("status", ["I", "R", "Z"])
def test_other_statuses_unsupported(status: str) -> None:
    assert hl7(Obx(status=status)).rejects[0].reason is Reason.UNSUPPORTED


def test_empty_status_is_schema() -> None:
    assert hl7(Obx(status="")).rejects[0].reason is Reason.SCHEMA


@pytest.mark.parametrize(
    ("value", "comparator", "number"),
    [
        (">16500", ">", 16500.0),
        ("<0.5", "<", 0.5),
        ("<=3", "<=", 3.0),
        (">= 2.5", ">=", 2.5),
        ("7", None, 7.0),
    ],
)
def test_comparators(value: str, comparator: str | None, number: float) -> None:
    obs = only(hl7(Obx(code="2276-4", value=value, unit="ng/mL")))
    assert (obs.comparator, obs.value) == (comparator, number)


def test_structured_numeric() -> None:
    obs = only(hl7(Obx(value_type="SN", value=">^100")))
    assert (obs.comparator, obs.value) == (">", 100.0)
    assert hl7(Obx(value_type="SN", value="^1^-^5")).rejects[0].reason is Reason.NON_NUMERIC


@pytest.mark.parametrize("value", ["pos", "NaN", "inf", "1,5", "12 mg"])
def test_non_numeric(value: str) -> None:
    assert hl7(Obx(value=value)).rejects[0].reason is Reason.NON_NUMERIC


def test_empty_value_is_missing_value() -> None:
    assert hl7(Obx(value="")).rejects[0].reason is Reason.MISSING_VALUE


def test_units_with_escapes_and_conversion() -> None:
    obs = only(hl7(Obx(code="777-3", value="150000", unit="/uL", ref_range="150000-400000")))
    assert (obs.value, obs.ref_low, obs.ref_high) == (150.0, 150.0, 400.0)
    obs = only(hl7(Obx(code="6690-2", value="4.2", unit="10\\S\\9/L")))
    assert (obs.signal, obs.value) == ("wbc", 4.2)


def test_missing_unit() -> None:
    assert hl7(Obx(unit="")).rejects[0].reason is Reason.MISSING_UNIT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10-40", ("10", "40")),
        ("3.5 - 5.0", ("3.5", "5.0")),
        ("-2-3", ("-2", "3")),
        ("<5", (None, "5")),
        ("<=5", (None, "5")),
        (">3.5", ("3.5", None)),
        ("normal", (None, None)),
        ("", (None, None)),
    ],
)
def test_reference_range_parsing(text: str, expected: tuple[str | None, str | None]) -> None:
    assert reference_range(text) == expected


def test_reference_range_converted_to_canonical_unit() -> None:
    obs = only(hl7(Obx(code="2160-0", value="88.4", unit="umol/L", ref_range="<119")))
    assert obs.value == pytest.approx(1.0)
    assert obs.ref_low is None and obs.ref_high == pytest.approx(119 / 88.4)


def test_obx14_overrides_obr7() -> None:
    assert only(hl7(Obx(time="20240301093000+0000"))).time_ms == EVENT_MS - 1_800_000


@pytest.mark.parametrize(
    ("stamp", "tz", "expected"),
    [
        ("20240301100000", "UTC", EVENT_MS),
        ("20240301110000", "Europe/Paris", EVENT_MS),  # CET, UTC+1 in March
        ("20240301050000", "America/New_York", EVENT_MS),  # EST, UTC-5
        ("20240301110000+0100", "America/New_York", EVENT_MS),  # explicit offset wins
        ("202403011000", "UTC", EVENT_MS),
        ("20240301100000.25", "UTC", EVENT_MS + 250),
    ],
)
def test_time_zones(stamp: str, tz: str, expected: int) -> None:
    assert only(hl7(obr_time=stamp, default_tz=tz)).time_ms == expected


def test_summer_time_in_default_zone() -> None:
    # 2024-07-01 12:00 in Paris is CEST (UTC+2) = 10:00Z.
    result = hl7(
        obr_time="20240701120000", default_tz="Europe/Paris", received_ms=1_719_835_200_000
    )
    assert only(result).time_ms == 1_719_828_000_000


@pytest.mark.parametrize("stamp", ["20240301", "2024-03-01T10:00", "20241301100000", ""])
def test_bad_or_missing_times(stamp: str) -> None:
    assert hl7(obr_time=stamp).rejects[0].reason is Reason.BAD_TIME


def test_unknown_default_tz_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="time zone"):
        hl7(default_tz="Mars/Olympus")


def test_obs_id_falls_back_to_placer_then_control_id() -> None:
    assert only(hl7(filler="")).obs_id == "PLA123:1988-5:"
    assert only(hl7(filler="", placer="", msg_id="M9")).obs_id == "M9:1988-5:"


def test_other_message_types_are_unsupported() -> None:
    result = hl7(message_type="ADT^A01")
    assert result.outcome == "rejected"
    assert result.rejects[0].reason is Reason.UNSUPPORTED


def test_missing_control_id_is_schema() -> None:
    result = hl7(msg_id="")
    assert result.rejects[0].reason is Reason.SCHEMA
    assert result.source_msg_id == "topic:0:0"


def test_missing_pid_is_missing_patient_id() -> None:
    assert hl7(with_pid=False).rejects[0].reason is Reason.MISSING_PATIENT_ID


def test_unknown_code_and_alternate_coding() -> None:
    assert hl7(Obx(code="99999", system="L")).rejects[0].reason is Reason.UNKNOWN_CODE
    segment = "OBX|1|NM|CRP^C-reactive protein^99LOCAL^1988-5^CRP^LN||12.5|mg/L|||||F"
    data = hl7_oru(()).decode() + "\r" + segment
    obs = only(run("hl7v2", data.encode()))
    assert obs.signal == "crp" and obs.obs_id == "FIL123:CRP:"


def test_not_hl7_is_malformed() -> None:
    assert run("hl7v2", b"hello").rejects[0].reason is Reason.MALFORMED
    assert run("hl7v2", b"MSH").rejects[0].reason is Reason.MALFORMED


def test_too_many_obx() -> None:
    result = hl7(*[Obx(sub_id=str(i)) for i in range(501)])
    assert result.rejects[0].reason is Reason.TOO_COMPLEX


def test_escape_repeat_counts_are_bounded() -> None:
    # python-hl7 expands "\.sp<n>\" into n spaces in memory; a fuzzed ten-digit count raised
    # MemoryError (fuzz/corpus/hl7v2/crash-unescape-repeat-count). Up to the bound the
    # escape is expanded as usual; above it the item is rejected as malformed.
    ok = hl7(Obx(unit="mg\\.sp1000\\/L"))
    assert ok.rejects == () or ok.rejects[0].reason is not Reason.MALFORMED
    too_many = hl7(Obx(unit="mg\\.sp1001\\/L"))
    assert [r.reason for r in too_many.rejects] == [Reason.MALFORMED]
    huge = hl7(Obx(unit="mg\\.sp9999999999\\/L"))
    assert [r.reason for r in huge.rejects] == [Reason.MALFORMED]

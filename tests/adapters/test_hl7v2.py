"""HL7 v2 ORU^R01 and ADT adapter, through normalize."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import msgspec.inspect
import pytest

from adapters.hl7v2 import MAX_AGE_YEARS, reference_range
from adapters.limits import Limits
from contract.events import Observation, PatientContext, Retraction
from contract.reasons import Reason
from tests.adapters.samples import (
    ADMIT_MS,
    EVENT_MS,
    PATIENT,
    RECORDED_MS,
    Obx,
    hl7_adt,
    hl7_oru,
    run,
)


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


@pytest.mark.parametrize("message_type", ["ORM^O01", "ORU^R30", "ORU", "MDM^T02"])
def test_other_message_types_are_unsupported(message_type: str) -> None:
    result = hl7(message_type=message_type)
    assert result.outcome == "rejected"
    assert [(r.reason, r.item) for r in result.rejects] == [(Reason.UNSUPPORTED, None)]


def test_oru_maps_exactly_as_before_and_ignores_pid_demographics() -> None:
    # The ORU's PID carries a birth date and sex: they are not mapped from an ORU.
    result = hl7(Obx(sub_id="1", ref_range="0-10"))
    assert result.events == (
        Observation(
            patient_id=PATIENT,
            time_ms=EVENT_MS,
            source="hl7v2",
            source_msg_id="MSG0001",
            signal="crp",
            value=12.5,
            unit="mg/L",
            obs_id="FIL123:1988-5:1",
            status="final",
            code="http://loinc.org|1988-5",
            ref_low=0.0,
            ref_high=10.0,
        ),
    )


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


# --- ADT: the patient context --------------------------------------------------------------

DOB = "19761123"
MRN = "MRN-48213"


def adt(**kwargs: Any) -> Any:
    run_kwargs = {
        k: kwargs.pop(k) for k in ("default_tz", "received_ms", "key", "limits") if k in kwargs
    }
    return run("hl7v2", hl7_adt(**kwargs), **run_kwargs)


def context(result: Any) -> PatientContext:
    assert result.rejects == ()
    (event,) = result.events
    assert isinstance(event, PatientContext)
    return event


def rejected(result: Any) -> tuple[Reason, int | None]:
    """The one item reject of an ADT whose context was not accepted."""
    assert result.outcome == "rejected" and result.events == ()
    (reject,) = result.rejects
    return reject.reason, reject.item


def test_adt_a01_inpatient_admission() -> None:
    result = adt()
    event = context(result)
    assert (result.outcome, result.patient_id, result.source_msg_id) == (
        "accepted",
        PATIENT,
        "ADT0001",
    )
    assert (event.patient_id, event.source, event.source_msg_id) == (PATIENT, "hl7v2", "ADT0001")
    assert event.time_ms == event.hospital_admission_ms == ADMIT_MS
    assert event.sex == "female"
    # Born 1980-01-01, admitted 2024-02-28: 44 years and 58 of the 366 days to the next birthday.
    assert event.age_years == pytest.approx(44 + 58 / 366)
    # Every other field keeps its default, so the context erases nothing known from other feeds.
    assert event == PatientContext(
        patient_id=PATIENT,
        time_ms=ADMIT_MS,
        source="hl7v2",
        source_msg_id="ADT0001",
        age_years=event.age_years,
        sex="female",
        hospital_admission_ms=ADMIT_MS,
    )


@pytest.mark.parametrize("event", ["A01", "A04", "A06", "A08"])
def test_taken_adt_events(event: str) -> None:
    assert context(adt(event=event)).hospital_admission_ms == ADMIT_MS


def test_message_type_without_structure_and_newline_separators() -> None:
    assert context(adt(message_type="ADT^A08")).hospital_admission_ms == ADMIT_MS
    assert context(adt(separator="\n")).hospital_admission_ms == ADMIT_MS


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ("A11", "a context cannot be retracted; a later ADT replaces the admission time"),
        ("A03", "not modelled"),
        ("A07", "(inpatient to outpatient) not taken: the end of an admission is not modelled"),
        ("A02", "not the hospital admission"),
        ("A05", "not admitted yet"),
        ("A13", "only A01 admit, A04 register, A06 outpatient to inpatient and A08 update"),
        ("A99", "only A01 admit, A04 register, A06 outpatient to inpatient and A08 update"),
        ("", "only A01 admit, A04 register, A06 outpatient to inpatient and A08 update"),
    ],
)
def test_other_adt_events_are_unsupported_and_say_why(event: str, why: str) -> None:
    result = adt(message_type=f"ADT^{event}^ADT_A01")
    (reject,) = result.rejects
    assert (result.outcome, reject.reason, reject.item) == ("rejected", Reason.UNSUPPORTED, None)
    assert f"ADT^{event}" in reject.detail and why in reject.detail


@pytest.mark.parametrize("patient_class", ["E", "O", "P", "R", "B", "N", "U", ""])
def test_only_an_inpatient_carries_an_admission_time(patient_class: str) -> None:
    event = context(adt(patient_class=patient_class))
    assert event.hospital_admission_ms is None
    assert event.time_ms == ADMIT_MS  # PV1-44 still dates the registration
    assert event.sex == "female" and event.age_years is not None


def test_lower_case_inpatient_class() -> None:
    assert context(adt(patient_class="i")).hospital_admission_ms == ADMIT_MS


@pytest.mark.parametrize(
    ("code", "sex"),
    [
        ("F", "female"),
        ("M", "male"),
        ("O", "other"),
        ("A", "other"),
        ("N", "unknown"),
        ("U", "unknown"),
        ("", "unknown"),
        ("m", "male"),
    ],
)
def test_sex_codes(code: str, sex: str) -> None:
    assert context(adt(sex=code)).sex == sex


@pytest.mark.parametrize("code", ["X", "Female", "1"])
def test_sex_outside_table_0001_is_schema(code: str) -> None:
    result = adt(sex=code)
    assert rejected(result) == (Reason.SCHEMA, 0)
    assert "PID-8" in result.rejects[0].detail


@pytest.mark.parametrize(
    ("birth_date", "age"),
    [
        ("19800228", 44.0),  # birthday on the admit day: a whole number of years
        ("19800229", 43 + 365 / 366),  # the day before a 29 February birthday in a leap year
        ("20240228", 0.0),  # born on the admit day
        ("20230301", 364 / 366),  # the day before the first birthday (2024 is a leap year)
        ("19040228", 120.0),  # the contract's upper bound, inclusive
        ("198002281230", 44.0),  # a time of birth is allowed and not used
        ("19800228+0100", 44.0),
        ("19800228083000.5-0500", 44.0),
    ],
)
def test_age_at_the_admission(birth_date: str, age: float) -> None:
    assert context(adt(birth_date=birth_date)).age_years == pytest.approx(age)


def test_leap_day_birthday_falls_on_28_february_in_a_common_year() -> None:
    # Born 2000-02-29; the context on 2023-02-28 (a common year) is the 23rd birthday.
    event = context(
        adt(birth_date="20000229", admit_time="20230228120000+0000", received_ms=1_677_600_000_000)
    )
    assert event.age_years == 23.0


@pytest.mark.parametrize("birth_date", ["", "1980", "198002"])
def test_birth_date_without_a_day_leaves_the_age_unknown(birth_date: str) -> None:
    event = context(adt(birth_date=birth_date))
    assert event.age_years is None and event.sex == "female"


@pytest.mark.parametrize(
    ("birth_date", "reason"),
    [
        ("19040227", Reason.IMPLAUSIBLE),  # 120 years and a day
        ("18000101", Reason.IMPLAUSIBLE),
        ("20240229", Reason.IMPLAUSIBLE),  # the day after the admission
        ("20300101", Reason.IMPLAUSIBLE),
        ("19801301", Reason.SCHEMA),
        ("19800230", Reason.SCHEMA),
        ("00000101", Reason.SCHEMA),
        ("1980-02-28", Reason.SCHEMA),
        ("1980022", Reason.SCHEMA),
        ("unknown", Reason.SCHEMA),
    ],
)
def test_bad_birth_dates(birth_date: str, reason: Reason) -> None:
    result = adt(birth_date=birth_date)
    assert rejected(result) == (reason, 0)
    assert result.rejects[0].detail.startswith("PID-7 birth date")


def test_age_is_taken_at_the_context_time() -> None:
    # Without PV1-44 the context is dated by EVN-2 (2024-03-01): the 44th birthday.
    event = context(adt(admit_time="", birth_date="19800301"))
    assert (event.time_ms, event.age_years) == (RECORDED_MS, 44.0)


def test_time_precedence_pv1_44_then_evn_2_then_msh_7() -> None:
    assert context(adt()).time_ms == ADMIT_MS
    no_admit = context(adt(admit_time=""))
    assert (no_admit.time_ms, no_admit.hospital_admission_ms) == (RECORDED_MS, None)
    assert context(adt(admit_time="", recorded_time="")).time_ms == EVENT_MS
    assert context(adt(admit_time="", with_evn=False)).time_ms == EVENT_MS
    assert context(adt(with_pv1=False)).time_ms == RECORDED_MS


def test_a_used_time_is_not_skipped_when_malformed() -> None:
    # EVN-2 is not read when PV1-44 is there; a broken PV1-44 is a reject, not a fall-back.
    assert context(adt(recorded_time="garbage")).time_ms == ADMIT_MS
    assert rejected(adt(admit_time="garbage")) == (Reason.BAD_TIME, 0)


def test_admit_time_in_the_default_zone() -> None:
    event = context(adt(admit_time="20240228093000", default_tz="Europe/Paris"))
    assert event.hospital_admission_ms == ADMIT_MS


def test_inpatient_without_admit_time_is_no_error() -> None:
    event = context(adt(patient_class="I", admit_time=""))
    assert event.hospital_admission_ms is None and event.age_years is not None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"admit_time": "20240228"}, "PV1-44"),  # a date alone: not to the minute
        ({"admit_time": "20241328093000"}, "PV1-44"),
        ({"admit_time": "20240302093000+0000"}, "PV1-44"),  # in the future
        ({"admit_time": "20000101000000+0000"}, "PV1-44"),  # older than the maximum age
        ({"admit_time": "", "recorded_time": "2024030109"}, "EVN-2"),
        ({"admit_time": "", "recorded_time": "", "message_time": "yesterday"}, "MSH-7"),
        ({"admit_time": "", "recorded_time": "", "message_time": ""}, "no PV1-44, EVN-2 or MSH-7"),
    ],
)
def test_adt_bad_or_missing_times(kwargs: dict[str, str], field: str) -> None:
    result = adt(**kwargs)
    assert rejected(result) == (Reason.BAD_TIME, 0)
    assert field in result.rejects[0].detail


@pytest.mark.parametrize(
    "kwargs",
    [
        {"birth_date": "", "sex": "U", "patient_class": "O"},
        {"birth_date": "1980", "sex": "", "patient_class": "I", "admit_time": ""},
        {"birth_date": "", "sex": "N", "with_pv1": False},
    ],
)
def test_an_adt_carrying_nothing_usable_is_counted(kwargs: dict[str, Any]) -> None:
    result = adt(**kwargs)
    assert rejected(result) == (Reason.UNSUPPORTED, 0)
    assert result.rejects[0].detail == "ADT carries no age, sex or inpatient admission time"
    assert result.patient_id == PATIENT


def test_admission_time_alone_is_enough() -> None:
    event = context(adt(birth_date="", sex="U"))
    assert (event.age_years, event.sex, event.hospital_admission_ms) == (None, "unknown", ADMIT_MS)


def test_adt_header_checks_as_for_an_oru() -> None:
    missing_id = adt(msg_id="")
    assert [(r.reason, r.item) for r in missing_id.rejects] == [(Reason.SCHEMA, None)]
    assert missing_id.source_msg_id == "topic:0:0"
    assert adt(with_pid=False).rejects[0].reason is Reason.MISSING_PATIENT_ID
    assert adt(patient="").rejects[0].reason is Reason.MISSING_PATIENT_ID
    assert adt(key=b"p-002").rejects[0].reason is Reason.PATIENT_MISMATCH
    too_many = adt(limits=Limits(max_hl7_segments=3))
    assert [(r.reason, r.item) for r in too_many.rejects] == [(Reason.TOO_COMPLEX, None)]


def test_obx_segments_in_an_adt_are_not_mapped() -> None:
    data = hl7_adt() + b"\r" + Obx(code="8867-4", value="80", unit="/min").segment(1).encode()
    assert context(run("hl7v2", data)).hospital_admission_ms == ADMIT_MS


@pytest.mark.parametrize(
    "kwargs",
    [{"birth_date": "1980\\.spU\\0101"}, {"sex": "\\.spU\\"}, {"admit_time": "\\.sp9999\\"}],
)
def test_invalid_escape_in_a_context_field_rejects_the_item(kwargs: dict[str, str]) -> None:
    assert rejected(adt(**kwargs)) == (Reason.MALFORMED, 0)


def test_invalid_escape_in_the_patient_id_rejects_the_message() -> None:
    result = adt(patient="p\\.spU\\1")
    assert [(r.reason, r.item) for r in result.rejects] == [(Reason.MALFORMED, None)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"birth_date": "19761323"},
        {"birth_date": "2076112"},
        {"birth_date": "20761123"},
        {"birth_date": "18761123"},
        {"birth_date": "1976\\.spU\\1123"},
        {"sex": "X"},
        {"admit_time": DOB},
        {"admit_time": "", "recorded_time": DOB + "99"},
        {"admit_time": "", "recorded_time": "", "message_time": DOB},
        {"birth_date": "", "sex": "U", "patient_class": "O"},
        {"event": "A11"},
        {"msg_id": ""},
        {"patient": MRN + "\\.spU\\"},
        {"key": b"p-002"},
    ],
)
def test_no_birth_date_or_mrn_in_rejects_or_logs(
    kwargs: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fields = {"birth_date": DOB, "patient": MRN, **kwargs}
    if "event" in fields:
        fields["message_type"] = f"ADT^{fields['event']}"
    result = adt(**fields)
    assert result.rejects
    shown = [fields["birth_date"], DOB, MRN, "Doe", "Jane"]
    for reject in result.rejects:
        assert not any(text and text in reject.detail for text in shown), reject.detail
    assert not any(text and text in caplog.text for text in shown)


def test_age_bound_is_the_contracts() -> None:
    info = msgspec.inspect.type_info(PatientContext)
    assert isinstance(info, msgspec.inspect.StructType)
    (age,) = [f.type for f in info.fields if f.name == "age_years"]
    assert isinstance(age, msgspec.inspect.UnionType)
    bounds = [(t.ge, t.le) for t in age.types if isinstance(t, msgspec.inspect.FloatType)]
    assert bounds == [(0, MAX_AGE_YEARS)]

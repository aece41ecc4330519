"""FHIR R4 Observation / Encounter / Bundle adapter, through normalize (fixtures validated
with R4B)."""

from __future__ import annotations

import contextlib
from typing import Any, TypeVar

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.observation import Observation as FhirObservation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.fhir import parse_fhir
from adapters.items import ItemContext
from adapters.limits import Limits
from adapters.result import MessageError
from contract.codemap import default_codemap
from contract.events import Observation, PatientContext, Retraction
from contract.reasons import Reason
from tests.adapters.samples import (
    ABSENT,
    ACT_CODE,
    EVENT_MS,
    PATIENT,
    RECEIVED_MS,
    encode,
    fhir_bp_panel,
    fhir_bundle,
    fhir_encounter,
    fhir_lab,
    fhir_observation,
    run,
)


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """Assert the fixture is valid FHIR R4(B) before using it."""
    models = {"Bundle": Bundle, "Encounter": Encounter, "Observation": FhirObservation}
    models[resource["resourceType"]].model_validate(resource)
    return resource


E = TypeVar("E")


def fhir(resource: dict[str, Any], **kwargs: Any) -> Any:
    return run("fhir", encode(resource), **kwargs)


def only_event(result: Any, kind: type[E]) -> E:
    """The one event of a result without rejects, of ``kind``."""
    assert result.rejects == ()
    assert len(result.events) == 1
    event = result.events[0]
    assert isinstance(event, kind)
    return event


def only_observation(result: Any) -> Observation:
    return only_event(result, Observation)


def test_heart_rate_observation() -> None:
    result = fhir(valid(fhir_observation()))
    obs = only_observation(result)
    assert result.outcome == "accepted"
    assert result.patient_id == PATIENT
    assert result.source_msg_id == "obs-1"
    assert (obs.signal, obs.value, obs.unit, obs.time_ms) == ("hr", 80.0, "/min", EVENT_MS)
    assert (obs.obs_id, obs.source, obs.status) == ("obs-1", "fhir", "final")
    assert obs.code == "http://loinc.org|8867-4"


def test_lab_with_unit_conversion_and_reference_range() -> None:
    resource = valid(fhir_lab("1988-5", 2.5, "mg/dL", ref_high=1.0, ref_low=0.0))
    obs = only_observation(fhir(resource))
    assert obs.signal == "crp"
    assert obs.value == pytest.approx(25.0)
    assert obs.ref_low == 0.0
    assert obs.ref_high == pytest.approx(10.0)


def test_reference_range_in_its_own_unit() -> None:
    resource = valid(fhir_lab("1975-2", 34.2, "umol/L", ref_high=1.2, ref_unit="mg/dL"))
    obs = only_observation(fhir(resource))
    assert obs.value == pytest.approx(2.0)
    assert obs.ref_high == pytest.approx(1.2)


def test_unconvertible_reference_range_is_none_not_a_reject() -> None:
    resource = valid(fhir_lab("1988-5", 12, "mg/L", ref_high=5, ref_unit="mmol/L"))
    obs = only_observation(fhir(resource))
    assert obs.ref_high is None and obs.value == 12


@pytest.mark.parametrize(
    ("codings", "signal"),
    [
        ((("http://loinc.org", "2708-6"), ("http://loinc.org", "59408-5")), "spo2"),
        ((("http://local", "xyz"), ("http://loinc.org", "59408-5")), "spo2"),
        ((("http://loinc.org", "59408-5"), ("http://loinc.org", "8867-4")), "spo2"),
    ],
)
def test_several_codings_first_known_wins(codings: Any, signal: str) -> None:
    (system, code), *rest = codings
    resource = valid(
        fhir_observation(system=system, code=code, extra_codings=rest, value=97, unit="%")
    )
    assert only_observation(fhir(resource)).signal == signal


def test_unknown_code() -> None:
    result = fhir(valid(fhir_observation(code="0000-0")))
    assert result.outcome == "rejected"
    assert [(r.reason, r.item) for r in result.rejects] == [(Reason.UNKNOWN_CODE, 0)]


@pytest.mark.parametrize("status", ["preliminary", "final"])
def test_plain_statuses(status: str) -> None:
    result = fhir(valid(fhir_observation(status=status)))
    assert result.outcome == "accepted"
    assert only_observation(result).status == status


@pytest.mark.parametrize("status", ["amended", "corrected"])
def test_correction_statuses_keep_the_resource_id(status: str) -> None:
    result = fhir(valid(fhir_observation(status=status, value=95)))
    assert result.outcome == "corrected"
    obs = only_observation(result)
    assert (obs.status, obs.obs_id, obs.value) == (status, "obs-1", 95.0)


def test_entered_in_error_is_a_retraction() -> None:
    result = fhir(valid(fhir_observation(status="entered-in-error")))
    assert result.outcome == "retracted"
    (event,) = result.events
    assert isinstance(event, Retraction)
    assert (event.obs_id, event.signal, event.time_ms) == ("obs-1", "hr", EVENT_MS)


@pytest.mark.parametrize("status", ["registered", "cancelled", "unknown"])
def test_unsupported_statuses(status: str) -> None:
    result = fhir(valid(fhir_observation(status=status)))
    assert result.outcome == "rejected"
    assert result.rejects[0].reason is Reason.UNSUPPORTED


@pytest.mark.parametrize("comparator", ["<", "<=", ">", ">="])
def test_comparators(comparator: str) -> None:
    resource = valid(fhir_lab("2276-4", 16500, "ng/mL", comparator=comparator))
    obs = only_observation(fhir(resource))
    assert (obs.comparator, obs.value) == (comparator, 16500.0)


def test_data_absent_reason_is_missing_value() -> None:
    result = fhir(valid(fhir_observation(data_absent=True)))
    assert result.rejects[0].reason is Reason.MISSING_VALUE


def test_no_value_is_missing_value() -> None:
    result = fhir(valid(fhir_observation(value=None)))
    assert result.rejects[0].reason is Reason.MISSING_VALUE


def test_value_string_is_non_numeric() -> None:
    resource = fhir_observation(value=None)
    resource["valueString"] = "high"
    result = fhir(valid(resource))
    assert result.rejects[0].reason is Reason.NON_NUMERIC


def test_value_integer_for_a_score() -> None:
    resource = fhir_observation(code="9269-2", value=None)
    resource["valueInteger"] = 14
    obs = only_observation(fhir(valid(resource)))
    assert (obs.signal, obs.value, obs.unit) == ("gcs", 14.0, "{score}")


def test_missing_and_wrong_units() -> None:
    assert fhir(fhir_observation(unit=None)).rejects[0].reason is Reason.MISSING_UNIT
    resource = valid(fhir_observation(unit="mg/dL"))
    assert fhir(resource).rejects[0].reason is Reason.WRONG_UNIT


def test_ucum_code_wins_over_display_unit() -> None:
    resource = valid(fhir_observation(code="8310-5", value=98.6, unit="deg F", ucum_code="[degF]"))
    assert only_observation(fhir(resource)).value == pytest.approx(37.0)


def test_display_unit_is_a_fallback_for_an_unknown_code() -> None:
    resource = valid(fhir_observation(code="8310-5", value=98.6, unit="degF", ucum_code="XYZ"))
    assert only_observation(fhir(resource)).value == pytest.approx(37.0)


@pytest.mark.parametrize(
    ("effective", "expected"),
    [
        ("2024-03-01T10:00:00Z", EVENT_MS),
        ("2024-03-01T11:00:00+01:00", EVENT_MS),
        ("2024-03-01T05:00:00-05:00", EVENT_MS),
        ("2024-03-01T10:00:00.250Z", EVENT_MS + 250),
    ],
)
def test_time_zones(effective: str, expected: int) -> None:
    assert only_observation(fhir(valid(fhir_observation(effective=effective)))).time_ms == expected


@pytest.mark.parametrize("effective", ["2024-03-01T10:00:00", "2024-03-01", "yesterday", None])
def test_time_without_zone_or_time_is_bad_time(effective: str | None) -> None:
    result = fhir(fhir_observation(effective=effective))
    assert result.rejects[0].reason is Reason.BAD_TIME


def test_effective_period_start() -> None:
    resource = fhir_observation(effective=None)
    resource["effectivePeriod"] = {"start": "2024-03-01T10:00:00Z", "end": "2024-03-01T11:00:00Z"}
    assert only_observation(fhir(valid(resource))).time_ms == EVENT_MS


def test_bp_panel_components() -> None:
    result = fhir(valid(fhir_bp_panel(systolic=118, diastolic=76, mean=90)))
    assert result.rejects == ()
    got = {(e.signal, e.value, e.obs_id) for e in result.events if isinstance(e, Observation)}
    assert got == {
        ("sbp", 118.0, "bp-1#8480-6"),
        ("dbp", 76.0, "bp-1#8462-4"),
        ("map", 90.0, "bp-1#8478-0"),
    }


def test_bp_panel_in_kpa_and_one_bad_component() -> None:
    result = fhir(valid(fhir_bp_panel(systolic=16, diastolic=0.5, unit="kPa")))
    (event,) = result.events
    assert isinstance(event, Observation)
    assert event.signal == "sbp" and event.value == pytest.approx(120.00992)
    assert [(r.reason, r.item) for r in result.rejects] == [(Reason.IMPLAUSIBLE, 0)]
    assert "8462-4" in result.rejects[0].detail


def test_bp_panel_entered_in_error_retracts_each_component() -> None:
    result = fhir(valid(fhir_bp_panel(status="entered-in-error")))
    assert result.outcome == "retracted"
    assert {e.obs_id for e in result.events} == {"bp-1#8480-6", "bp-1#8462-4"}


def test_bundle_with_one_bad_entry() -> None:
    bundle = valid(
        fhir_bundle(
            [
                fhir_observation(id="a", value=80),
                fhir_observation(id="b", code="2708-6", value=140, unit="%"),
                fhir_lab("1988-5", 12, "mg/L", id="c"),
                fhir_bp_panel(id="d"),
            ]
        )
    )
    result = fhir(bundle)
    assert result.outcome == "accepted"
    assert result.source_msg_id == "bundle-1"
    assert [e.obs_id for e in result.events] == ["a", "c", "d#8480-6", "d#8462-4"]
    assert all(e.source_msg_id == "bundle-1" for e in result.events)
    assert [(r.reason, r.item) for r in result.rejects] == [(Reason.IMPLAUSIBLE, 1)]


def test_bundle_entries_for_other_patients_or_resources() -> None:
    patient = {"resourceType": "Patient", "id": PATIENT}
    bundle = valid(
        fhir_bundle(
            [
                fhir_observation(id="a"),
                fhir_observation(id="b", patient="someone-else"),
                patient,
                fhir_observation(id="c", patient=None),
            ]
        )
    )
    result = fhir(bundle)
    assert [e.obs_id for e in result.events] == ["a"]
    assert [(r.reason, r.item) for r in result.rejects] == [
        (Reason.PATIENT_MISMATCH, 1),
        (Reason.UNSUPPORTED, 2),
        (Reason.MISSING_PATIENT_ID, 3),
    ]


def test_bundle_subject_resolved_through_full_url() -> None:
    bundle = fhir_bundle([{"resourceType": "Patient", "id": "p-77"}, fhir_observation(id="a")])
    bundle["entry"][1]["resource"]["subject"] = {"reference": bundle["entry"][0]["fullUrl"]}
    result = fhir(valid(bundle))
    assert result.patient_id == "p-77"
    assert [e.obs_id for e in result.events] == ["a"]


def test_bundle_without_id_uses_the_fallback() -> None:
    result = fhir(valid(fhir_bundle([fhir_observation()], id=None)), fallback_msg_id="t:1:9")
    assert result.source_msg_id == "t:1:9"


def test_bundle_too_many_entries() -> None:
    entries = [fhir_observation(id=f"o{i}") for i in range(501)]
    result = fhir(fhir_bundle(entries))
    assert result.rejects[0].reason is Reason.TOO_COMPLEX


def test_non_observation_resource_is_unsupported() -> None:
    result = fhir({"resourceType": "Patient", "id": PATIENT})
    assert result.outcome == "rejected"
    assert result.rejects == (result.rejects[0],) and result.rejects[0].reason is Reason.UNSUPPORTED


def test_absolute_and_versioned_patient_reference() -> None:
    resource = fhir_observation()
    resource["subject"] = {"reference": f"https://ehr.example/fhir/Patient/{PATIENT}/_history/3"}
    assert fhir(valid(resource)).patient_id == PATIENT


def test_future_event_is_bad_time() -> None:
    result = fhir(fhir_observation(), received_ms=EVENT_MS - 300_001)
    assert result.rejects[0].reason is Reason.BAD_TIME
    assert fhir(fhir_observation(), received_ms=EVENT_MS - 300_000).outcome == "accepted"
    assert RECEIVED_MS > EVENT_MS


# --- Encounter: an inpatient admission becomes a PatientContext(hospital_admission_ms) ---

ADMIT_MS = EVENT_MS - 2 * 86_400_000 - 5_400_000


def only_context(result: Any) -> PatientContext:
    return only_event(result, PatientContext)


def rejects_of(result: Any) -> list[tuple[Reason, int | None]]:
    return [(r.reason, r.item) for r in result.rejects]


@pytest.mark.parametrize(
    ("class_code", "class_system"),
    [("IMP", ACT_CODE), ("ACUTE", ACT_CODE), ("NONAC", ACT_CODE), ("IMP", None)],
)
def test_inpatient_encounter_becomes_a_patient_context(
    class_code: str, class_system: str | None
) -> None:
    result = fhir(valid(fhir_encounter(class_code=class_code, class_system=class_system)))
    assert result.outcome == "accepted"
    assert (result.patient_id, result.source_msg_id) == (PATIENT, "enc-1")
    context = only_context(result)
    assert context == PatientContext(
        patient_id=PATIENT,
        time_ms=ADMIT_MS,
        source="fhir",
        source_msg_id="enc-1",
        hospital_admission_ms=ADMIT_MS,
    )
    # Every other field keeps its default, so the context erases nothing known downstream.
    assert context.age_years is None and context.sex == "unknown"
    assert context.weight_kg is None and context.disease_status == "unknown"


def test_encounter_in_a_bundle_beside_observations() -> None:
    bundle = valid(
        fhir_bundle(
            [
                fhir_observation(id="a", value=80),
                fhir_encounter(),
                fhir_observation(id="b", code="2708-6", value=140, unit="%"),
                fhir_encounter(id="enc-2", class_code="AMB"),
            ]
        )
    )
    result = fhir(bundle)
    assert result.outcome == "accepted"
    assert (result.patient_id, result.source_msg_id) == (PATIENT, "bundle-1")
    obs, context = result.events
    assert isinstance(obs, Observation) and obs.obs_id == "a"
    assert context == PatientContext(
        patient_id=PATIENT,
        time_ms=ADMIT_MS,
        source="fhir",
        source_msg_id="bundle-1",
        hospital_admission_ms=ADMIT_MS,
    )
    assert rejects_of(result) == [(Reason.IMPLAUSIBLE, 2), (Reason.UNSUPPORTED, 3)]


@pytest.mark.parametrize("resource_type", [{"code": "IMP"}, ["Encounter"], 7])
def test_a_resource_type_that_is_no_string_is_a_schema_error(resource_type: Any) -> None:
    """Found by fuzzing: an object resourceType raised TypeError (unhashable) in the check."""
    single = fhir({**fhir_encounter(), "resourceType": resource_type})
    assert single.outcome == "rejected" and single.rejects[0].reason is Reason.SCHEMA
    in_bundle = fhir(fhir_bundle([fhir_observation(), {"resourceType": resource_type}]))
    assert rejects_of(in_bundle) == [(Reason.UNSUPPORTED, 1)]


def test_bundle_of_encounters_only_names_its_patient() -> None:
    result = fhir(valid(fhir_bundle([fhir_encounter()])))
    assert result.patient_id == PATIENT
    assert only_context(result).hospital_admission_ms == ADMIT_MS


def test_bundle_encounter_subjects_checked_like_observations() -> None:
    bundle = fhir_bundle(
        [
            {"resourceType": "Patient", "id": "p-77"},
            fhir_encounter(id="e0"),
            fhir_encounter(id="e1", patient="someone-else"),
            fhir_encounter(id="e2", patient=None),
            fhir_observation(id="a", patient="p-77"),
        ]
    )
    local = bundle["entry"][0]["fullUrl"]
    bundle["entry"][1]["resource"]["subject"] = {"reference": local}
    result = fhir(valid(bundle))
    assert result.patient_id == "p-77"
    assert [type(e).__name__ for e in result.events] == ["PatientContext", "Observation"]
    assert rejects_of(result) == [
        (Reason.UNSUPPORTED, 0),
        (Reason.PATIENT_MISMATCH, 2),
        (Reason.MISSING_PATIENT_ID, 3),
    ]


@pytest.mark.parametrize("class_code", ["AMB", "EMER", "OBSENC", "PRENC", "SS", "HH", "VR"])
def test_encounter_class_that_is_not_an_admission_is_unsupported(class_code: str) -> None:
    result = fhir(valid(fhir_encounter(class_code=class_code)))
    assert result.outcome == "rejected" and result.events == ()
    assert rejects_of(result) == [(Reason.UNSUPPORTED, 0)]
    assert f"Encounter class {class_code} is not a hospital admission" in result.rejects[0].detail


@pytest.mark.parametrize("klass", [ABSENT, {}, {"system": ACT_CODE}, {"code": ""}, None])
def test_encounter_without_a_class_is_unsupported(klass: Any) -> None:
    resource = fhir_encounter()
    if klass is ABSENT:
        del resource["class"]
    else:
        resource["class"] = klass
    result = fhir(resource)
    assert rejects_of(result) == [(Reason.UNSUPPORTED, 0)]
    assert "class" in result.rejects[0].detail


@pytest.mark.parametrize("klass", [[{"system": ACT_CODE, "code": "IMP"}], "IMP", {"code": 7}])
def test_encounter_class_that_is_not_a_coding_is_schema(klass: Any) -> None:
    resource = fhir_encounter()
    resource["class"] = klass
    assert rejects_of(fhir(resource)) == [(Reason.SCHEMA, 0)]


@pytest.mark.parametrize(
    "system",
    [
        "http://example.org/encounter-class",
        "urn:oid:2.16.840.1.113883.5.4",  # v3 ActCode by OID: not the R4 URI, so not taken
        "http://hl7.org/fhir/v3/ActCode",  # the DSTU2 URI
    ],
)
def test_encounter_class_from_another_system_is_unsupported(system: str) -> None:
    result = fhir(valid(fhir_encounter(class_system=system)))
    assert rejects_of(result) == [(Reason.UNSUPPORTED, 0)]
    assert "system" in result.rejects[0].detail


@pytest.mark.parametrize("status", ["planned", "cancelled", "unknown", "entered-in-error"])
def test_encounter_statuses_not_taken(status: str) -> None:
    result = fhir(valid(fhir_encounter(status=status)))
    assert result.outcome == "rejected" and result.events == ()
    assert rejects_of(result) == [(Reason.UNSUPPORTED, 0)]
    assert status in result.rejects[0].detail


@pytest.mark.parametrize("status", [None, 3, "admitted", ""])
def test_encounter_invalid_status_is_schema(status: Any) -> None:
    resource = fhir_encounter()
    resource["status"] = status
    assert rejects_of(fhir(resource)) == [(Reason.SCHEMA, 0)]


@pytest.mark.parametrize("status", ["arrived", "triaged", "in-progress", "onleave", "finished"])
def test_encounter_statuses_taken(status: str) -> None:
    result = fhir(valid(fhir_encounter(status=status)))
    assert result.outcome == "accepted"
    assert only_context(result).hospital_admission_ms == ADMIT_MS


def test_finished_encounter_keeps_its_admission_and_ignores_the_end() -> None:
    resource = fhir_encounter(status="finished")
    resource["period"]["end"] = "2024-03-01T09:00:00Z"
    context = only_context(fhir(valid(resource)))
    assert (context.time_ms, context.hospital_admission_ms) == (ADMIT_MS, ADMIT_MS)


@pytest.mark.parametrize("period", [ABSENT, {}, {"end": "2024-03-01T09:00:00Z"}, "x", None])
def test_encounter_without_period_start_is_bad_time(period: Any) -> None:
    resource = fhir_encounter(start=ABSENT)
    if period is not ABSENT:
        resource["period"] = period
    result = fhir(resource)
    assert rejects_of(result) == [(Reason.BAD_TIME, 0)]


@pytest.mark.parametrize(
    "start", ["yesterday", "2024-02-28", "2024-02-28T08:30:00", "2024-02-30T08:30:00Z", 1, None]
)
def test_encounter_unparseable_period_start_is_bad_time(start: Any) -> None:
    result = fhir(fhir_encounter(start=start))
    assert rejects_of(result) == [(Reason.BAD_TIME, 0)]


def test_encounter_period_start_checked_like_an_observation_time() -> None:
    assert fhir(fhir_encounter(), received_ms=ADMIT_MS - 300_000).outcome == "accepted"
    result = fhir(fhir_encounter(), received_ms=ADMIT_MS - 300_001)
    assert rejects_of(result) == [(Reason.BAD_TIME, 0)]
    assert "future" in result.rejects[0].detail
    old = fhir(fhir_encounter(start="1969-12-31T23:59:59Z"))
    assert rejects_of(old) == [(Reason.BAD_TIME, 0)]


def test_encounter_without_subject_is_handled_like_an_observation_without_one() -> None:
    encounter = fhir(valid(fhir_encounter(patient=None)))
    observation = fhir(valid(fhir_observation(patient=None)))
    assert rejects_of(encounter) == rejects_of(observation) == [(Reason.MISSING_PATIENT_ID, None)]
    assert encounter.outcome == observation.outcome == "rejected"
    group = fhir_encounter()
    group["subject"] = {"reference": "Group/ward-7"}
    assert rejects_of(fhir(valid(group))) == [(Reason.MISSING_PATIENT_ID, None)]


@pytest.mark.parametrize("rid", [None, "has space", "x" * 65])
def test_encounter_without_a_usable_id_is_schema_like_an_observation(rid: str | None) -> None:
    encounter = fhir(fhir_encounter(id=rid), fallback_msg_id="t:0:1")
    observation = fhir(fhir_observation(id=rid), fallback_msg_id="t:0:1")  # type: ignore[arg-type]
    assert rejects_of(encounter) == rejects_of(observation) == [(Reason.SCHEMA, 0)]
    assert encounter.source_msg_id == observation.source_msg_id == "t:0:1"


def test_encounter_part_of_another_encounter_is_unsupported() -> None:
    # A ward or ICU stay inside an admission: its start is a transfer, not the admission.
    resource = fhir_encounter()
    resource["partOf"] = {"reference": "Encounter/hospital-stay-1"}
    result = fhir(valid(resource))
    assert rejects_of(result) == [(Reason.UNSUPPORTED, 0)]
    assert "partOf" in result.rejects[0].detail


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["code", "system", "start", "reference"]), st.text()),
)
_ENCOUNTER_KEYS = ["id", "status", "class", "subject", "period", "partOf"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replaced=st.dictionaries(st.sampled_from(_ENCOUNTER_KEYS), _JUNK, max_size=3),
    dropped=st.sets(st.sampled_from(_ENCOUNTER_KEYS), max_size=2),
    in_bundle=st.booleans(),
)
def test_malformed_encounters_are_counted_rejects_never_exceptions(
    replaced: dict[str, Any], dropped: set[str], in_bundle: bool
) -> None:
    resource = fhir_encounter()
    resource.update(replaced)
    for key in dropped:
        resource.pop(key, None)
    document = fhir_bundle([fhir_observation(id="a"), resource]) if in_bundle else resource
    ctx = ItemContext(default_codemap(), Limits(), RECEIVED_MS)
    with contextlib.suppress(MessageError):  # the adapter itself raises nothing else
        parse_fhir(document, ctx, fallback_msg_id="t:0:0")
    result = fhir(document)
    assert not any(r.detail.startswith("unexpected") for r in result.rejects)
    entries = [type(e).__name__ for e in result.events]
    if in_bundle:
        # The Encounter entry (1) is either a context or exactly one reject; never lost.
        assert entries[0] == "Observation"
        took = entries.count("PatientContext") + sum(1 for r in result.rejects if r.item == 1)
        assert took == 1
    else:
        assert len(result.events) + len(result.rejects) == 1

"""Property tests: normalize never raises, whatever the bytes or the structure."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.normalize import Normalized
from contract.events import PatientContext
from contract.events import encode as encode_event
from contract.reasons import Reason
from tests.adapters.samples import (
    Obx,
    encode,
    fhir_bp_panel,
    fhir_bundle,
    fhir_observation,
    hl7_adt,
    hl7_oru,
    json_batch,
    json_observation,
    run,
)

FORMATS = st.sampled_from(["fhir", "hl7v2", "json"])


def check(result: Any) -> None:
    """Invariants of every Normalized, whatever the input."""
    assert isinstance(result, Normalized)
    assert isinstance(result.source_msg_id, str) and result.source_msg_id
    if result.outcome == "rejected":
        assert result.events == ()
        assert result.rejects, "a rejected message always says why"
    else:
        assert result.events
        assert result.patient_id is not None
        for event in result.events:
            assert event.patient_id == result.patient_id
            encode_event(event)  # every accepted event serializes under the contract
    for reject in result.rejects:
        assert isinstance(reject.reason, Reason)
        # The catch-all in normalize is a safety net; reaching it means an adapter bug.
        assert not reject.detail.startswith("unexpected"), reject.detail


@given(fmt=FORMATS, data=st.binary(max_size=2000))
def test_arbitrary_bytes(fmt: str, data: bytes) -> None:
    check(run(fmt, data))


@given(fmt=FORMATS, text=st.text(max_size=500))
def test_arbitrary_text(fmt: str, text: str) -> None:
    check(run(fmt, text.encode("utf-8")))


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
weird = json_values | st.sampled_from(
    [
        "",
        " ",
        "Patient/",
        "2024-03-01T10:00:00",
        "2024-13-45T99:99:99Z",
        "1e999",
        ">",
        "NaN",
        "mg/L FEU",
        "[degF]",
        "entered-in-error",
        -1,
        10**30,
        1e308,
    ]
)

FHIR_KEYS = [
    "id",
    "status",
    "code",
    "subject",
    "effectiveDateTime",
    "effectivePeriod",
    "valueQuantity",
    "valueInteger",
    "valueString",
    "component",
    "referenceRange",
    "dataAbsentReason",
]


@st.composite
def weird_fhir(draw: st.DrawFn) -> dict[str, Any]:
    base = draw(
        st.sampled_from(
            [fhir_observation(), fhir_bp_panel(), fhir_observation(code="1988-5", unit="mg/dL")]
        )
    )
    for key in draw(st.lists(st.sampled_from(FHIR_KEYS), max_size=4)):
        base[key] = draw(weird)
    if draw(st.booleans()):
        base["valueQuantity"] = {
            "value": draw(weird),
            "unit": draw(weird),
            "code": draw(weird),
            "system": draw(weird),
            "comparator": draw(weird),
        }
    return base


@given(resource=weird_fhir(), bundled=st.booleans())
@settings(max_examples=300)
def test_weird_fhir(resource: dict[str, Any], bundled: bool) -> None:
    document = fhir_bundle([resource, fhir_observation(id="ok")]) if bundled else resource
    check(run("fhir", encode(document)))


hl7_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n|", blacklist_categories=("Cs",)), max_size=25
)


@given(
    obx=st.lists(
        st.builds(
            Obx,
            code=hl7_text | st.sampled_from(["8867-4", "1988-5", "2708-6"]),
            value=hl7_text | st.sampled_from(["<5", ">=1e3", "-0", "1.", ".5"]),
            unit=hl7_text | st.sampled_from(["mg/L", "/min", "%", "10\\S\\9/L"]),
            ref_range=hl7_text,
            status=st.sampled_from(["F", "P", "C", "D", "W", "X", "", "?"]),
            time=hl7_text
            | st.sampled_from(["20240301093000", "20240301093000+1400", "99999999999999"]),
            sub_id=hl7_text,
            value_type=st.sampled_from(["NM", "SN", "ST", "CE", ""]),
        ),
        max_size=6,
    ),
    obr_time=hl7_text,
    patient=hl7_text,
    separator=st.sampled_from(["\r", "\n", "\r\n"]),
    tz=st.sampled_from(["UTC", "Europe/Paris", "Pacific/Kiritimati"]),
)
@settings(max_examples=300)
def test_weird_hl7(obx: list[Obx], obr_time: str, patient: str, separator: str, tz: str) -> None:
    data = hl7_oru(obx, obr_time=obr_time, patient=patient, separator=separator)
    check(run("hl7v2", data, default_tz=tz))


hl7_stamp = st.datetimes().map(lambda d: d.strftime("%Y%m%d%H%M%S"))
hl7_date = st.dates().map(lambda d: d.strftime("%Y%m%d"))


@given(
    event=st.sampled_from(["A01", "A04", "A06", "A08", "A11", "A03", "A07"]) | hl7_text,
    birth_date=hl7_date | hl7_date.map(lambda d: d[:6]) | hl7_text,
    sex=st.sampled_from(["F", "M", "O", "U", "A", "N", ""]) | hl7_text,
    patient_class=st.sampled_from(["I", "O", "E", ""]) | hl7_text,
    admit_time=hl7_stamp | st.sampled_from(["", "20240228093000+0100"]) | hl7_text,
    recorded_time=hl7_stamp | st.just("") | hl7_text,
    with_pv1=st.booleans(),
    tz=st.sampled_from(["UTC", "Europe/Paris", "Pacific/Kiritimati"]),
)
@settings(max_examples=300)
def test_weird_hl7_adt(
    event: str,
    birth_date: str,
    sex: str,
    patient_class: str,
    admit_time: str,
    recorded_time: str,
    with_pv1: bool,
    tz: str,
) -> None:
    data = hl7_adt(
        event=event,
        message_type=f"ADT^{event}",
        birth_date=birth_date,
        sex=sex,
        patient_class=patient_class,
        admit_time=admit_time,
        recorded_time=recorded_time,
        with_pv1=with_pv1,
    )
    result = run("hl7v2", data, default_tz=tz)
    check(result)
    if any(r.item is None for r in result.rejects):
        return
    # A taken ADT is one item: its context or one reject, item 0, that never shows the birth
    # date. Only an inpatient (PV1-2 I, perhaps escaped) with a PV1-44 carries an admission
    # time, and it is the context time; a context always carries something.
    assert len(result.events) + len(result.rejects) == 1
    for reject in result.rejects:
        assert reject.item == 0
        assert len(birth_date) < 6 or birth_date not in reject.detail
    for context in result.events:
        assert isinstance(context, PatientContext)
        if context.hospital_admission_ms is not None:
            assert with_pv1 and ("I" in patient_class.upper() or "\\" in patient_class)
            assert context.hospital_admission_ms == context.time_ms
        assert (context.age_years, context.sex, context.hospital_admission_ms) != (
            None,
            "unknown",
            None,
        )


@st.composite
def weird_json(draw: st.DrawFn) -> Any:
    event = json_observation()
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "kind",
                    "signal",
                    "code",
                    "value",
                    "unit",
                    "time_ms",
                    "obs_id",
                    "status",
                    "comparator",
                    "ref_low",
                    "patient_id",
                    "source",
                ]
            ),
            max_size=4,
        )
    ):
        event[key] = draw(weird)
    other = {
        "kind": draw(
            st.sampled_from(
                [
                    "infusion",
                    "neuro",
                    "respiratory",
                    "vasopressor",
                    "treatment",
                    "context",
                    "retraction",
                    "nope",
                ]
            )
        )
    }
    for key in draw(
        st.lists(
            st.text(max_size=12)
            | st.sampled_from(
                ["action", "cycle", "device", "count", "ice_score", "time_ms", "signal"]
            ),
            max_size=4,
        )
    ):
        other[key] = draw(weird)
    return json_batch([event, other]) if draw(st.booleans()) else event


@given(document=weird_json())
@settings(max_examples=300)
def test_weird_json(document: Any) -> None:
    check(run("json", encode(document)))

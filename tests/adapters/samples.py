"""Reusable example messages for the adapter tests and the lead's integration tests.

Every builder returns a fresh, valid message for the defaults (the FHIR ones validate with
``fhir.resources.R4B``); keyword arguments vary one thing at a time. ``EVENT_ISO`` /
``EVENT_MS`` is the default event time and ``RECEIVED_MS`` a receive time one hour later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT = "p-001"
EVENT_ISO = "2024-03-01T10:00:00Z"
EVENT_MS = 1_709_287_200_000  # 2024-03-01T10:00:00Z
RECEIVED_MS = EVENT_MS + 3_600_000
HL7_EVENT = "20240301100000+0000"


def encode(document: Any) -> bytes:
    """JSON bytes of a builder's dict."""
    return msgspec.json.encode(document)


def quantity(
    value: Any, unit: str | None, *, code: str | None = None, comparator: str | None = None
) -> dict[str, Any]:
    """A FHIR Quantity; ``code`` defaults to ``unit`` with the UCUM system."""
    q: dict[str, Any] = {"value": value}
    if comparator is not None:
        q["comparator"] = comparator
    if unit is not None:
        q["unit"] = unit
        q["system"] = UCUM
        q["code"] = code if code is not None else unit
    return q


def fhir_observation(
    *,
    id: str = "obs-1",
    patient: str | None = PATIENT,
    code: str = "8867-4",
    system: str = LOINC,
    extra_codings: Sequence[tuple[str, str]] = (),
    value: Any = 80,
    unit: str | None = "/min",
    ucum_code: str | None = None,
    comparator: str | None = None,
    status: str = "final",
    effective: str | None = EVENT_ISO,
    category: str = "vital-signs",
    ref_low: float | None = None,
    ref_high: float | None = None,
    ref_unit: str | None = None,
    data_absent: bool = False,
) -> dict[str, Any]:
    """A FHIR R4 Observation with one valueQuantity (heart rate 80/min by default)."""
    codings = [{"system": system, "code": code}] + [
        {"system": s, "code": c} for s, c in extra_codings
    ]
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"coding": codings},
    }
    if patient is not None:
        obs["subject"] = {"reference": f"Patient/{patient}"}
    if effective is not None:
        obs["effectiveDateTime"] = effective
    if data_absent:
        obs["dataAbsentReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "error",
                }
            ]
        }
    elif value is not None:
        obs["valueQuantity"] = quantity(value, unit, code=ucum_code, comparator=comparator)
    if ref_low is not None or ref_high is not None:
        rng: dict[str, Any] = {}
        if ref_low is not None:
            rng["low"] = quantity(ref_low, ref_unit or unit)
        if ref_high is not None:
            rng["high"] = quantity(ref_high, ref_unit or unit)
        obs["referenceRange"] = [rng]
    return obs


def fhir_lab(
    code: str, value: Any, unit: str, *, id: str = "lab-1", **kwargs: Any
) -> dict[str, Any]:
    """A laboratory-category Observation (e.g. ``fhir_lab("1988-5", 12, "mg/L")``)."""
    return fhir_observation(
        id=id, code=code, value=value, unit=unit, category="laboratory", **kwargs
    )


def fhir_bp_panel(
    *,
    id: str = "bp-1",
    patient: str = PATIENT,
    systolic: float | None = 120,
    diastolic: float | None = 80,
    mean: float | None = None,
    unit: str = "mm[Hg]",
    status: str = "final",
    effective: str = EVENT_ISO,
) -> dict[str, Any]:
    """Blood pressure panel 85354-9 with systolic/diastolic (and mean) components."""
    components = []
    for code, value in (("8480-6", systolic), ("8462-4", diastolic), ("8478-0", mean)):
        if value is not None:
            components.append(
                {
                    "code": {"coding": [{"system": LOINC, "code": code}]},
                    "valueQuantity": quantity(value, unit),
                }
            )
    return {
        "resourceType": "Observation",
        "id": id,
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": effective,
        "component": components,
    }


ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ADMIT_ISO = "2024-02-28T09:30:00+01:00"  # 08:30Z, two days and 90 minutes before EVENT_MS
ABSENT = object()


def fhir_encounter(
    *,
    id: str | None = "enc-1",
    patient: str | None = PATIENT,
    status: str = "in-progress",
    class_code: str = "IMP",
    class_system: str | None = ACT_CODE,
    start: Any = ADMIT_ISO,
) -> dict[str, Any]:
    """An R4 Encounter: an inpatient admission by default (``start=ABSENT``: no period)."""
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": status,
        "class": {"code": class_code},
    }
    if id is not None:
        resource["id"] = id
    if class_system is not None:
        resource["class"]["system"] = class_system
    if patient is not None:
        resource["subject"] = {"reference": f"Patient/{patient}"}
    if start is not ABSENT:
        resource["period"] = {"start": start}
    return resource


def fhir_bundle(
    resources: Sequence[dict[str, Any]], *, id: str | None = "bundle-1"
) -> dict[str, Any]:
    """A collection Bundle holding ``resources`` as entries."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}", "resource": r}
            for i, r in enumerate(resources)
        ],
    }
    if id is not None:
        bundle["id"] = id
    return bundle


@dataclass(frozen=True)
class Obx:
    """One OBX segment's fields (HL7 numbering in the comments)."""

    code: str = "1988-5"  # OBX-3.1
    value: str = "12.5"  # OBX-5
    unit: str = "mg/L"  # OBX-6
    text: str = "CRP"  # OBX-3.2
    system: str = "LN"  # OBX-3.3
    ref_range: str = ""  # OBX-7
    status: str = "F"  # OBX-11
    time: str = ""  # OBX-14
    sub_id: str = ""  # OBX-4
    value_type: str = "NM"  # OBX-2
    flag: str = ""  # OBX-8

    def segment(self, set_id: int) -> str:
        """The OBX segment text with set id ``set_id``."""
        fields = [
            "OBX",
            str(set_id),
            self.value_type,
            f"{self.code}^{self.text}^{self.system}",
            self.sub_id,
            self.value,
            self.unit,
            self.ref_range,
            self.flag,
            "",
            "",
            self.status,
            "",
            "",
            self.time,
        ]
        return "|".join(fields)


def hl7_oru(
    obx: Sequence[Obx] = (Obx(),),
    *,
    msg_id: str = "MSG0001",
    patient: str = PATIENT,
    obr_time: str = HL7_EVENT,
    filler: str = "FIL123",
    placer: str = "PLA123",
    message_type: str = "ORU^R01^ORU_R01",
    separator: str = "\r",
    with_pid: bool = True,
) -> bytes:
    """An HL7 v2.5.1 ORU^R01 with one OBR and the given OBX segments."""
    segments = [
        f"MSH|^~\\&|LAB|HOSP|EWS|HOSP|{HL7_EVENT}||{message_type}|{msg_id}|P|2.5.1",
    ]
    if with_pid:
        segments.append(f"PID|1||{patient}^^^HOSP^MR||Doe^Jane||19800101|F")
    segments.append(f"OBR|1|{placer}|{filler}|24323-8^CMP^LN|||{obr_time}")
    segments.extend(o.segment(i + 1) for i, o in enumerate(obx))
    return separator.join(segments).encode("utf-8")


ADMIT_HL7 = "20240228093000+0100"  # ADMIT_ISO as an HL7 timestamp
ADMIT_MS = EVENT_MS - 2 * 86_400_000 - 5_400_000  # 2024-02-28T08:30Z (2024 is a leap year)
RECORDED_HL7 = "20240301094500+0000"  # EVN-2 default: 15 minutes before EVENT_MS
RECORDED_MS = EVENT_MS - 900_000


def hl7_adt(
    *,
    event: str = "A01",
    message_type: str | None = None,
    msg_id: str = "ADT0001",
    patient: str = PATIENT,
    birth_date: str = "19800101",
    sex: str = "F",
    patient_class: str = "I",
    admit_time: str = ADMIT_HL7,
    recorded_time: str = RECORDED_HL7,
    message_time: str = HL7_EVENT,
    with_evn: bool = True,
    with_pid: bool = True,
    with_pv1: bool = True,
    separator: str = "\r",
) -> bytes:
    """An HL7 v2.5.1 ADT (A01 admit of an inpatient by default) with EVN, PID and PV1.

    ``message_type`` replaces the whole MSH-9 (default ``ADT^<event>^ADT_A01``); PV1-44 is
    the admit date/time, EVN-2 the recorded date/time and MSH-7 the message time.
    """
    kind = message_type if message_type is not None else f"ADT^{event}^ADT_A01"
    segments = [f"MSH|^~\\&|ADT|HOSP|EWS|HOSP|{message_time}||{kind}|{msg_id}|P|2.5.1"]
    if with_evn:
        segments.append(f"EVN|{event}|{recorded_time}")
    if with_pid:
        segments.append(f"PID|1||{patient}^^^HOSP^MR||Doe^Jane||{birth_date}|{sex}")
    if with_pv1:
        # PV1-3 assigned location, PV1-4 to PV1-43 empty, PV1-44 admit date/time.
        segments.append("|".join(["PV1", "1", patient_class, "WARD^101^1", *[""] * 40, admit_time]))
    return separator.join(segments).encode("utf-8")


def json_observation(
    *,
    signal: str | None = "hr",
    code: str | None = None,
    value: Any = 80.0,
    unit: str | None = "/min",
    patient: str | None = PATIENT,
    time_ms: Any = EVENT_MS,
    obs_id: str = "j-obs-1",
    source_msg_id: str | None = "j-msg-1",
    status: str = "final",
    **extra: Any,
) -> dict[str, Any]:
    """A canonical JSON observation (``kind`` observation), heart rate 80/min by default."""
    event: dict[str, Any] = {
        "kind": "observation",
        "time_ms": time_ms,
        "value": value,
        "obs_id": obs_id,
        "status": status,
        "source": "json",
    }
    if signal is not None:
        event["signal"] = signal
    if code is not None:
        event["code"] = code
    if unit is not None:
        event["unit"] = unit
    if patient is not None:
        event["patient_id"] = patient
    if source_msg_id is not None:
        event["source_msg_id"] = source_msg_id
    event.update(extra)
    return event


def json_event(kind: str, **fields: Any) -> dict[str, Any]:
    """Any canonical event kind, with patient, time, source and message id filled in."""
    event: dict[str, Any] = {
        "kind": kind,
        "patient_id": PATIENT,
        "time_ms": EVENT_MS,
        "source": "json",
        "source_msg_id": "j-msg-1",
    }
    event.update(fields)
    return event


def json_batch(
    events: Sequence[dict[str, Any]], *, msg_id: str = "batch-1", patient: str = PATIENT
) -> dict[str, Any]:
    """A canonical JSON batch; events may leave out patient_id/source/source_msg_id."""
    return {"msg_id": msg_id, "patient_id": patient, "events": list(events)}


def run(
    fmt: str,
    data: bytes,
    *,
    key: bytes | None = None,
    received_ms: int = RECEIVED_MS,
    default_tz: str = "UTC",
    limits: Any = None,
    fallback_msg_id: str = "topic:0:0",
) -> Any:
    """``adapters.normalize.normalize`` with the shipped code map and default limits."""
    from adapters.limits import Limits
    from adapters.normalize import normalize
    from contract.codemap import default_codemap

    return normalize(
        fmt,  # type: ignore[arg-type]
        data,
        key=key,
        received_ms=received_ms,
        codemap=default_codemap(),
        limits=limits or Limits(),
        fallback_msg_id=fallback_msg_id,
        default_tz=default_tz,
    )

"""FHIR R4 Observation, Encounter and Bundles of them (JSON) -> canonical events.

Parsed straight from the decoded JSON (``fhir.resources`` validates every field through
pydantic and is far too slow for the hot path; the tests use it to check the fixtures).

Mapped: ``code.coding`` (the first coding the code map knows wins), ``valueQuantity``
(value, comparator, UCUM ``code`` then ``unit``), ``valueInteger`` for dimensionless
signals, ``effectiveDateTime``/``effectiveInstant``/``effectivePeriod.start`` (with an
offset), ``subject.reference`` ``Patient/<id>``, ``referenceRange[0]``, ``dataAbsentReason``
and, for panels such as blood pressure 85354-9, each ``component[]`` as its own observation
with ``obs_id`` ``<resource id>#<component code>``.

Statuses: ``preliminary``/``final`` and ``amended``/``corrected`` become observations with
that status (the resource id is the ``obs_id``, so a correction replaces the earlier value);
``entered-in-error`` becomes a :class:`~contract.events.Retraction`; ``registered``,
``cancelled`` and ``unknown`` are ``UNSUPPORTED``.

An Encounter that is a hospital admission becomes a :class:`~contract.events.PatientContext`
with ``time_ms`` and ``hospital_admission_ms`` both ``period.start`` (contract 1.1) and every
other field left at its default, so it erases no age or sex known downstream. Its
``source_msg_id`` follows the Observations' (resource id, or the Bundle id in a Bundle); its
subject and id are checked as theirs are. Checks, in order: usable ``id`` (``SCHEMA``);
``status`` ``arrived``/``triaged``/``in-progress``/``onleave``/``finished`` (a finished stay
was still admitted; discharge is not modelled), while ``planned``, ``cancelled``, ``unknown``
and ``entered-in-error`` are ``UNSUPPORTED`` (a context cannot be retracted: an admission
time already sent stays until a later Encounter replaces it) and any other value ``SCHEMA``;
``class`` a Coding with code ``IMP``, ``ACUTE`` or ``NONAC`` and no system or the v3 ActCode
system (anything else, or no class, ``UNSUPPORTED``; a class that is no Coding ``SCHEMA``);
no ``partOf`` (a ward or ICU stay inside an admission starts at a transfer, not the
admission: ``UNSUPPORTED``); ``period.start`` parsed and checked like an Observation's time
(``BAD_TIME``).
"""

from __future__ import annotations

import re
from typing import Any

from adapters.items import (
    COMPARATORS,
    Comparator,
    ItemContext,
    build_observation,
    build_retraction,
    check_time,
    lookup_coding,
)
from adapters.result import AdapterResult, ItemError, MessageError, Reject
from adapters.timeparse import parse_fhir_datetime
from contract.events import Event, ObsStatus, PatientContext, Source
from contract.reasons import Reason

UCUM_SYSTEM = "http://unitsofmeasure.org"
BP_PANEL_CODE = "85354-9"
SOURCE: Source = "fhir"

_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_STATUSES: dict[str, ObsStatus] = {
    "preliminary": "preliminary",
    "final": "final",
    "amended": "amended",
    "corrected": "corrected",
}
_UNSUPPORTED_STATUSES = frozenset({"registered", "cancelled", "unknown"})
_RETRACTED = "entered-in-error"
# Encounter.class (R4: one Coding) codes that are a hospital admission, v3 ActCode.
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_ADMISSION_CLASSES = frozenset({"IMP", "ACUTE", "NONAC"})
_ENCOUNTER_STATUSES = frozenset({"arrived", "triaged", "in-progress", "onleave", "finished"})
_ENCOUNTER_NOT_TAKEN = {
    "planned": "not admitted yet",
    "cancelled": "it did not take place",
    "unknown": "it may not have taken place",
    "entered-in-error": "a context cannot be retracted",
}
_TAKEN = ("Observation", "Encounter")
"""Resource types taken (a tuple: ``in`` compares, so an unhashable value is simply not one)."""
_NON_NUMERIC_VALUES = (
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


def parse_fhir(document: Any, ctx: ItemContext, *, fallback_msg_id: str) -> AdapterResult:
    """Events from one decoded FHIR JSON document (an Observation, Encounter or Bundle).

    Raises ``MessageError`` for a document that is none of them.
    """
    if not isinstance(document, dict):
        raise MessageError(Reason.SCHEMA, "FHIR document is not a JSON object")
    resource_type = document.get("resourceType")
    if resource_type in _TAKEN:
        return _single(document, ctx, fallback_msg_id)
    if resource_type == "Bundle":
        return _bundle(document, ctx, fallback_msg_id)
    if isinstance(resource_type, str):
        raise MessageError(Reason.UNSUPPORTED, f"resourceType {resource_type[:40]} not taken")
    raise MessageError(Reason.SCHEMA, "no resourceType")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# FHIR R4 id datatype: [A-Za-z0-9\-\.]{1,64}. Holding to it also keeps derived ids (a BP
# component's ``<id>#<code>``) inside the contract's 200-character limit.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)


def _resource_id(resource: dict[str, Any]) -> str | None:
    rid = _text(resource.get("id"))
    return rid if rid is not None and _FHIR_ID.fullmatch(rid) else None


def patient_from_reference(
    subject: Any, local_patients: dict[str, str] | None = None
) -> str | None:
    """The patient id named by a FHIR ``subject`` reference (``Patient/<id>``).

    ``local_patients`` maps Bundle ``fullUrl`` values (``urn:uuid:...``) to Patient ids so
    that references inside a transaction Bundle resolve too.
    """
    reference = _text(_dict(subject).get("reference"))
    if reference is None:
        return None
    if local_patients and reference in local_patients:
        return local_patients[reference]
    match = _PATIENT_REFERENCE.search(reference)
    return match["id"] if match else None


def _single(resource: dict[str, Any], ctx: ItemContext, fallback_msg_id: str) -> AdapterResult:
    msg_id = _resource_id(resource) or fallback_msg_id
    patient_id = patient_from_reference(resource.get("subject"))
    events: list[Event] = []
    rejects: list[Reject] = []
    if patient_id is not None:
        if resource.get("resourceType") == "Observation":
            _check_size(resource, ctx)
        _collect(resource, 0, ctx, patient_id, msg_id, events, rejects)
    return AdapterResult(tuple(events), tuple(rejects), patient_id, msg_id)


def _check_size(resource: dict[str, Any], ctx: ItemContext) -> None:
    if len(_list(resource.get("component"))) > ctx.limits.max_items_per_message:
        raise MessageError(Reason.TOO_COMPLEX, "too many components")


def _bundle(bundle: dict[str, Any], ctx: ItemContext, fallback_msg_id: str) -> AdapterResult:
    msg_id = _resource_id(bundle) or fallback_msg_id
    entries = _list(bundle.get("entry"))
    resources = [_dict(_dict(entry).get("resource")) for entry in entries]
    items = len(entries) + sum(len(_list(r.get("component"))) for r in resources)
    if items > ctx.limits.max_items_per_message:
        raise MessageError(Reason.TOO_COMPLEX, f"{items} observations in one Bundle")
    local_patients = {
        full_url: rid
        for entry, resource in zip(entries, resources, strict=True)
        if resource.get("resourceType") == "Patient"
        and (full_url := _text(_dict(entry).get("fullUrl"))) is not None
        and (rid := _resource_id(resource)) is not None
    }
    patient_id: str | None = None
    for resource in resources:
        if resource.get("resourceType") in _TAKEN:
            patient_id = patient_from_reference(resource.get("subject"), local_patients)
            if patient_id is not None:
                break
    events: list[Event] = []
    rejects: list[Reject] = []
    if patient_id is None:
        return AdapterResult((), (), None, msg_id)
    for index, resource in enumerate(resources):
        resource_type = resource.get("resourceType")
        if resource_type not in _TAKEN:
            shown = resource_type[:40] if isinstance(resource_type, str) else "no resourceType"
            rejects.append(Reject(Reason.UNSUPPORTED, f"entry is {shown}", index))
            continue
        subject = patient_from_reference(resource.get("subject"), local_patients)
        if subject is None:
            rejects.append(Reject(Reason.MISSING_PATIENT_ID, "entry names no patient", index))
        elif subject != patient_id:
            rejects.append(Reject(Reason.PATIENT_MISMATCH, "entry names another patient", index))
        else:
            _collect(resource, index, ctx, patient_id, msg_id, events, rejects)
    return AdapterResult(tuple(events), tuple(rejects), patient_id, msg_id)


def _collect(
    resource: dict[str, Any],
    index: int,
    ctx: ItemContext,
    patient_id: str,
    msg_id: str,
    events: list[Event],
    rejects: list[Reject],
) -> None:
    """Append the events of one Observation or Encounter, or its rejects, tagged ``index``."""
    try:
        if resource.get("resourceType") == "Encounter":
            built: list[Event] = [_encounter_context(resource, ctx, patient_id, msg_id)]
            failures: list[ItemError] = []
        else:
            built, failures = _observation_events(resource, ctx, patient_id, msg_id)
    except ItemError as exc:
        rejects.append(Reject(exc.reason, exc.detail, index))
        return
    events.extend(built)
    rejects.extend(Reject(f.reason, f.detail, index) for f in failures)


def _codings(element: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [
        (_text(c.get("system")), code)
        for c in _list(_dict(element.get("code")).get("coding"))
        if isinstance(c, dict) and (code := _text(c.get("code"))) is not None
    ]


def _event_time(resource: dict[str, Any]) -> int | ItemError:
    try:
        if "effectiveDateTime" in resource:
            return parse_fhir_datetime(resource["effectiveDateTime"])
        if "effectiveInstant" in resource:
            return parse_fhir_datetime(resource["effectiveInstant"])
        if "effectivePeriod" in resource:
            return parse_fhir_datetime(_dict(resource["effectivePeriod"]).get("start"))
    except ItemError as exc:
        return exc
    return ItemError(Reason.BAD_TIME, "no effectiveDateTime, effectiveInstant or period start")


def _status(resource: dict[str, Any]) -> ObsStatus | None:
    """The observation status, ``None`` for entered-in-error; raises for the others."""
    status = resource.get("status")
    if not isinstance(status, str):
        raise ItemError(Reason.SCHEMA, "missing or invalid status")
    if status == _RETRACTED:
        return None
    if status in _STATUSES:
        return _STATUSES[status]
    if status in _UNSUPPORTED_STATUSES:
        raise ItemError(Reason.UNSUPPORTED, f"status {status} not taken")
    raise ItemError(Reason.SCHEMA, "missing or invalid status")


def _encounter_context(
    resource: dict[str, Any], ctx: ItemContext, patient_id: str, msg_id: str
) -> PatientContext:
    """The admission time of an inpatient Encounter as a context, or ``ItemError``."""
    if _resource_id(resource) is None:
        raise ItemError(Reason.SCHEMA, "Encounter without a usable id")
    status = resource.get("status")
    if not isinstance(status, str):
        raise ItemError(Reason.SCHEMA, "missing or invalid status")
    if status in _ENCOUNTER_NOT_TAKEN:
        why = _ENCOUNTER_NOT_TAKEN[status]
        raise ItemError(Reason.UNSUPPORTED, f"Encounter status {status} not taken: {why}")
    if status not in _ENCOUNTER_STATUSES:
        raise ItemError(Reason.SCHEMA, "missing or invalid status")
    _check_admission_class(resource.get("class"))
    if resource.get("partOf") is not None:
        raise ItemError(Reason.UNSUPPORTED, "Encounter partOf another: a stay within an admission")
    period = resource.get("period")
    if not isinstance(period, dict) or period.get("start") is None:
        raise ItemError(Reason.BAD_TIME, "Encounter without period.start")
    admitted_ms = check_time(ctx, parse_fhir_datetime(period["start"]))
    return PatientContext(
        patient_id=patient_id,
        time_ms=admitted_ms,
        source=SOURCE,
        source_msg_id=msg_id,
        hospital_admission_ms=admitted_ms,
    )


def _check_admission_class(coding: Any) -> None:
    """Raise unless ``coding`` (R4 ``Encounter.class``) is an inpatient v3 ActCode."""
    no_class = "Encounter without a class code is not known to be a hospital admission"
    if coding is None:
        raise ItemError(Reason.UNSUPPORTED, no_class)
    if not isinstance(coding, dict):
        raise ItemError(Reason.SCHEMA, "Encounter.class is not a Coding")
    system, code = coding.get("system"), coding.get("code")
    if (system is not None and not isinstance(system, str)) or (
        code is not None and not isinstance(code, str)
    ):
        raise ItemError(Reason.SCHEMA, "Encounter.class is not a Coding")
    if not code:
        raise ItemError(Reason.UNSUPPORTED, no_class)
    if system is not None and system != ACT_CODE_SYSTEM:
        raise ItemError(Reason.UNSUPPORTED, f"Encounter class system {system[:60]} not taken")
    if code not in _ADMISSION_CLASSES:
        raise ItemError(
            Reason.UNSUPPORTED, f"Encounter class {code[:40]} is not a hospital admission"
        )


def _has_value(element: dict[str, Any]) -> bool:
    return any(key.startswith("value") for key in element)


def _observation_events(
    resource: dict[str, Any], ctx: ItemContext, patient_id: str, msg_id: str
) -> tuple[list[Event], list[ItemError]]:
    rid = _resource_id(resource)
    if rid is None:
        raise ItemError(Reason.SCHEMA, "Observation without a usable id")
    status = _status(resource)
    time_ms = _event_time(resource)
    codings = _codings(resource)
    components = [c for c in _list(resource.get("component")) if isinstance(c, dict)]
    is_panel = any(code == BP_PANEL_CODE for _, code in codings) or (
        bool(components) and not _has_value(resource) and "dataAbsentReason" not in resource
    )
    elements: list[tuple[dict[str, Any], str | None]]
    if is_panel:
        if not components:
            raise ItemError(Reason.MISSING_VALUE, "panel without components")
        elements = [(component, rid) for component in components]
    else:
        elements = [(resource, None)]
    events: list[Event] = []
    failures: list[ItemError] = []
    for element, panel_id in elements:
        try:
            events.append(
                _element_event(
                    element,
                    panel_id or rid,
                    panel_id is not None,
                    status,
                    time_ms,
                    ctx,
                    patient_id,
                    msg_id,
                )
            )
        except ItemError as exc:
            if not is_panel:
                raise
            # A code is no identifier, but it is the sender's text: bounded like every detail.
            shown = "|".join(code for _, code in _codings(element)[:1])[:40] or "?"
            failures.append(ItemError(exc.reason, f"component {shown}: {exc.detail}"))
    return events, failures


def _element_event(
    element: dict[str, Any],
    rid: str,
    is_component: bool,
    status: ObsStatus | None,
    time_ms: int | ItemError,
    ctx: ItemContext,
    patient_id: str,
    msg_id: str,
) -> Event:
    spec, code = lookup_coding(ctx, _codings(element))
    obs_id = f"{rid}#{code.rsplit('|', 1)[1]}" if is_component else rid
    if status is None:
        return build_retraction(
            ctx,
            spec=spec,
            time_ms=time_ms,
            patient_id=patient_id,
            source=SOURCE,
            source_msg_id=msg_id,
            obs_id=obs_id,
        )
    if "dataAbsentReason" in element:
        raise ItemError(Reason.MISSING_VALUE, f"dataAbsentReason for {spec.signal}")
    value, units, comparator = _value(element)
    low, high, ref_units = _reference_range(element)
    return build_observation(
        ctx,
        spec=spec,
        code=code,
        value=value,
        units=units,
        time_ms=time_ms,
        patient_id=patient_id,
        source=SOURCE,
        source_msg_id=msg_id,
        obs_id=obs_id,
        status=status,
        comparator=comparator,
        ref_low=low,
        ref_high=high,
        ref_units=ref_units,
    )


def _quantity_units(quantity: dict[str, Any]) -> list[str | None]:
    code, unit = _text(quantity.get("code")), _text(quantity.get("unit"))
    # A UCUM code is exact; the display ``unit`` is free text and only a fallback.
    if quantity.get("system") in (UCUM_SYSTEM, None):
        return [code, unit]
    return [unit, code]


def _value(element: dict[str, Any]) -> tuple[object, list[str | None], Comparator | None]:
    if "valueQuantity" in element:
        quantity = _dict(element["valueQuantity"])
        raw_comparator = quantity.get("comparator")
        comparator: Comparator | None = None
        if raw_comparator is not None:
            if not isinstance(raw_comparator, str) or raw_comparator not in COMPARATORS:
                raise ItemError(Reason.SCHEMA, "invalid valueQuantity.comparator")
            comparator = COMPARATORS[raw_comparator]
        value = quantity.get("value")
        if isinstance(value, str):
            # FHIR JSON numbers are JSON numbers; numeric text is a schema error, not a value.
            raise ItemError(Reason.NON_NUMERIC, "valueQuantity.value is text")
        return value, _quantity_units(quantity), comparator
    if "valueInteger" in element:
        value = element["valueInteger"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ItemError(Reason.NON_NUMERIC, "valueInteger is not an integer")
        return value, [], None
    for key in _NON_NUMERIC_VALUES:
        if key in element:
            raise ItemError(Reason.NON_NUMERIC, f"{key} where a quantity was expected")
    raise ItemError(Reason.MISSING_VALUE, "no value[x]")


def _reference_range(element: dict[str, Any]) -> tuple[object, object, list[str | None]]:
    ranges = _list(element.get("referenceRange"))
    if not ranges:
        return None, None, []
    first = _dict(ranges[0])
    low, high = _dict(first.get("low")), _dict(first.get("high"))
    units = _quantity_units(low) + _quantity_units(high)
    return low.get("value"), high.get("value"), units

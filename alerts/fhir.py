"""FHIR R4 outputs for EHR consumers: ``DetectedIssue`` for an alert, ``RiskAssessment`` for
a score.

Plain JSON-ready dicts (no FHIR library at run time; the tests validate them with
``fhir.resources.R4B``). Internal: they reference the patient, so they go to the hospital's
own FHIR server, never outside.

- DetectedIssue: ``severity`` high (grade >= 3), moderate (grade 2), low (otherwise);
  ``evidence[]`` names each observation behind the alert by its source message id;
  ``mitigation[]`` records an acknowledgement (who, when). ``status`` is ``preliminary``
  while the incident is open (it may still escalate) and ``final`` once resolved.
- RiskAssessment: ``prediction[].probabilityDecimal`` (the model's probability, when a model
  is deployed) and ``qualitativeRisk`` from the rule grade; ``basis[]`` the observations.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from alerts.record import AlertRecord, EvidenceItem, evidence_items
from alerts.state import Acknowledgement
from alerts.wording import RISK_NAMES
from scoring.risk import Risk, RiskAssessment

RISK_SYSTEM = "urn:ews:alert-risk"
"""Local code system of the alert risks (``crs``, ``icans``, ``hlh``, ``infection``,
``hepatotoxicity``); no standard code covers "risk of CRS on blinatumomab"."""
ALERT_ID_SYSTEM = "urn:ews:alert-id"
SOURCE_MSG_SYSTEM = "urn:ews:source-msg-id"
STAFF_SYSTEM = "urn:ews:staff-id"
MITIGATION_SYSTEM = "urn:ews:mitigation"
RISK_PROBABILITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/risk-probability"
DECISION_SUPPORT_NOTE = (
    "Decision support for clinician review; the service does not act on the patient or the "
    "infusion."
)


def fhir_datetime(ms: int) -> str:
    """An epoch-millisecond time as a FHIR ``dateTime`` in UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def patient_reference(ref: str) -> str:
    """A FHIR reference for the record's patient: ``Patient/<id>`` when the record carries
    a bare id (the worker keys patients by the id of the input messages)."""
    return ref if "/" in ref else f"Patient/{ref}"


def severity_for_grade(grade: int | None) -> str:
    """DetectedIssue severity: high for grade >= 3, moderate for 2, low otherwise."""
    if grade is not None and grade >= 3:
        return "high"
    if grade == 2:
        return "moderate"
    return "low"


def qualitative_risk(grade: int | None) -> str | None:
    """risk-probability code for a rule grade (``None`` when the grade is unknown)."""
    if grade is None:
        return None
    return {0: "negligible", 1: "low", 2: "moderate"}.get(grade, "high")


def _risk_concept(risk: Risk) -> dict[str, Any]:
    name = RISK_NAMES[risk]
    return {
        "coding": [{"system": RISK_SYSTEM, "code": risk, "display": f"Risk of {name}"}],
        "text": f"Risk of {name}",
    }


def _evidence_reference(item: EvidenceItem) -> dict[str, Any]:
    unit = f" {item.unit}" if item.unit else ""
    value = item.observed_value if item.observed_value is not None else item.value
    display = f"{item.signal or item.feature} {value:g}{unit}"
    if item.time_ms is not None:
        display += f" at {fhir_datetime(item.time_ms)}"
    ref: dict[str, Any] = {"type": "Observation", "display": display}
    if item.source_msg_id:
        ref["identifier"] = {"system": SOURCE_MSG_SYSTEM, "value": item.source_msg_id}
    return ref


def _evidence_concept(item: EvidenceItem) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": item.rule}
    if item.code and "|" in item.code:
        system, code = item.code.split("|", 1)
        concept["coding"] = [{"system": system, "code": code, "display": item.signal}]
    return concept


def fhir_detected_issue(
    alert: AlertRecord, *, acknowledgement: Acknowledgement | None = None
) -> dict[str, Any]:
    """A FHIR R4 ``DetectedIssue`` for an alert record.

    ``acknowledgement`` adds a mitigation; an ``acknowledged`` record adds its own.
    """
    # Every rule hit is evidence; only those backed by one observation reference it (a
    # derived feature such as hours of fever has no single observation to point at).
    evidence: list[dict[str, Any]] = []
    for item in alert.evidence:
        entry: dict[str, Any] = {"code": [_evidence_concept(item)]}
        if item.source_msg_id:
            entry["detail"] = [_evidence_reference(item)]
        evidence.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": alert.alert_id,
        "identifier": [{"system": ALERT_ID_SYSTEM, "value": alert.alert_id}],
        "status": "final" if alert.status == "resolved" else "preliminary",
        "code": _risk_concept(alert.risk),
        "severity": severity_for_grade(alert.grade),
        "patient": {"reference": patient_reference(alert.patient_ref)},
        "identifiedDateTime": fhir_datetime(alert.event_ms),
        "detail": alert.reason,
    }
    if evidence:
        resource["evidence"] = evidence
    acks: list[tuple[str, int]] = []
    if acknowledgement is not None:
        acks.append((acknowledgement.by, acknowledgement.at_ms))
    if alert.transition == "acknowledged" and alert.actor:
        acks.append((alert.actor, alert.event_ms))
    mitigations = [
        {
            "action": {
                "coding": [
                    {"system": MITIGATION_SYSTEM, "code": "acknowledged", "display": "Acknowledged"}
                ],
                "text": "Alert acknowledged by a clinician",
            },
            "date": fhir_datetime(at),
            "author": {"identifier": {"system": STAFF_SYSTEM, "value": by}},
        }
        for by, at in dict.fromkeys(acks)
    ]
    if mitigations:
        resource["mitigation"] = mitigations
    return resource


def fhir_risk_assessment(
    assessment: RiskAssessment,
    *,
    patient_ref: str,
    encounter_ref: str | None = None,
    resource_id: str | None = None,
) -> dict[str, Any]:
    """A FHIR R4 ``RiskAssessment`` for one risk's assessment (rule grade and model)."""
    prediction: dict[str, Any] = {"outcome": _risk_concept(assessment.risk)}
    if assessment.probability is not None:
        prediction["probabilityDecimal"] = assessment.probability
    qual = qualitative_risk(assessment.grade)
    if qual is not None:
        prediction["qualitativeRisk"] = {
            "coding": [{"system": RISK_PROBABILITY_SYSTEM, "code": qual}],
            "text": f"rule grade {assessment.grade}",
        }
    if assessment.reasons:
        prediction["rationale"] = "; ".join(assessment.reasons)
    methods = [f"rules {assessment.ruleset_version}", *assessment.criteria]
    if assessment.model_version:
        methods.append(f"model {assessment.model_version}")
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": patient_ref},
        "occurrenceDateTime": fhir_datetime(assessment.time_ms),
        "code": _risk_concept(assessment.risk),
        "method": {"text": ", ".join(methods)},
        "prediction": [prediction],
        "note": [{"text": DECISION_SUPPORT_NOTE}],
    }
    if resource_id is not None:
        resource["id"] = resource_id
    if encounter_ref is not None:
        resource["encounter"] = {"reference": encounter_ref}
    basis = _basis(evidence_items(assessment))
    if basis:
        resource["basis"] = basis
    return resource


def _basis(items: Iterable[EvidenceItem]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for item in items:
        if not item.source_msg_id:
            continue
        ref = _evidence_reference(item)
        key = repr(sorted(ref.items()))
        if key not in seen:
            seen.add(key)
            out.append(ref)
    return out


INCIDENT_SYSTEM = "urn:ews:incident"
"""Identifier system of the incident (the alert's dedup key): every transition of one
incident carries the same value, so an EHR can group them."""
FHIR_BUNDLE_VERSION = "1"
"""Version of the FHIR output record (a Bundle per alert transition, see
:func:`fhir_alert_bundle`); bump when its layout changes."""


def risk_assessment_id(alert: AlertRecord) -> str:
    """The FHIR id of the RiskAssessment behind an alert transition (<= 64 characters)."""
    return f"{alert.alert_id}-ra"


def fhir_risk_assessment_for_alert(alert: AlertRecord) -> dict[str, Any]:
    """The FHIR R4 ``RiskAssessment`` behind one alert transition, from the record alone.

    The record carries the assessment's grade, criteria, probability, model and rule-set
    versions and evidence, so this is what the policy saw when it made the transition (for
    time-driven and clinician transitions: the latest assessment the record describes).
    """
    prediction: dict[str, Any] = {"outcome": _risk_concept(alert.risk)}
    if alert.probability is not None:
        prediction["probabilityDecimal"] = alert.probability
    qual = qualitative_risk(alert.grade)
    if qual is not None:
        prediction["qualitativeRisk"] = {
            "coding": [{"system": RISK_PROBABILITY_SYSTEM, "code": qual}],
            "text": f"rule grade {alert.grade}",
        }
    prediction["rationale"] = alert.reason
    methods = [f"rules {alert.ruleset_version}"] if alert.ruleset_version else []
    methods += list(alert.criteria)
    if alert.model_version:
        methods.append(f"model {alert.model_version}")
    methods.append(f"policy {alert.policy_version}")
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": risk_assessment_id(alert),
        "identifier": [{"system": ALERT_ID_SYSTEM, "value": alert.alert_id}],
        "status": "final",
        "subject": {"reference": patient_reference(alert.patient_ref)},
        "occurrenceDateTime": fhir_datetime(alert.event_ms),
        "code": _risk_concept(alert.risk),
        "method": {"text": ", ".join(methods)},
        "prediction": [prediction],
        "note": [{"text": DECISION_SUPPORT_NOTE}],
    }
    if alert.encounter_ref is not None:
        resource["encounter"] = {"reference": alert.encounter_ref}
    basis = _basis(alert.evidence)
    if basis:
        resource["basis"] = basis
    return resource


def fhir_alert_bundle(alert: AlertRecord) -> dict[str, Any]:
    """One FHIR R4 ``Bundle`` (type ``transaction``) per alert transition.

    Entries: the ``DetectedIssue`` of the transition and, when the record carries a grade
    or a probability, the ``RiskAssessment`` behind it, which the DetectedIssue cites in its
    ``evidence``. Each entry is a ``PUT`` by id (ids derive from the alert id), so posting
    the Bundle to a FHIR server twice, as an at-least-once topic may deliver it, stores each
    resource once. Identifiers: the patient and encounter references the alert record
    carries, opaque alert and incident ids, source message ids, staff ids; no names or MRNs.
    """
    issue = fhir_detected_issue(alert)
    issue["identifier"].append({"system": INCIDENT_SYSTEM, "value": alert.dedup_key})
    issue["meta"] = {"tag": [{"system": "urn:ews:fhir-bundle", "code": FHIR_BUNDLE_VERSION}]}
    entries: list[dict[str, Any]] = []
    if alert.grade is not None or alert.probability is not None:
        ra = fhir_risk_assessment_for_alert(alert)
        ra_ref = f"RiskAssessment/{ra['id']}"
        issue.setdefault("evidence", []).insert(
            0,
            {
                "code": [{"text": "risk assessment behind the alert"}],
                "detail": [{"reference": ra_ref}],
            },
        )
        entries.append(_put(ra))
    entries.insert(0, _put(issue))
    return {
        "resourceType": "Bundle",
        "id": f"{alert.alert_id}-b",
        "type": "transaction",
        "timestamp": fhir_datetime(alert.emit_ms),
        "entry": entries,
    }


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url}}

"""The FHIR output record: one transaction Bundle per alert transition, validated with
fhir.resources (R4B), carrying the DetectedIssue and the RiskAssessment behind it."""

from __future__ import annotations

import json

import msgspec
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.riskassessment import RiskAssessment

from alerts.fhir import (
    INCIDENT_SYSTEM,
    fhir_alert_bundle,
    fhir_risk_assessment_for_alert,
    patient_reference,
    risk_assessment_id,
)
from streams.sinks import fhir_bundle_bytes
from tests.alerts.alert_factory import incident
from tests.alerts.helpers import PATIENT


def _resources(bundle: dict[str, object]) -> dict[str, dict[str, object]]:
    entries = bundle["entry"]
    assert isinstance(entries, list)
    return {e["resource"]["resourceType"]: e["resource"] for e in entries}


def test_every_transition_gives_a_valid_transaction_bundle() -> None:
    alerts = incident()
    for alert in alerts:
        bundle = fhir_alert_bundle(alert)
        parsed = Bundle.model_validate(bundle)
        assert parsed.type == "transaction"
        res = _resources(bundle)
        issue = DetectedIssue.model_validate(res["DetectedIssue"])
        assert issue.patient.reference == f"Patient/{PATIENT}"
        ids = {(i.system, i.value) for i in issue.identifier}
        assert ("urn:ews:alert-id", alert.alert_id) in ids
        assert (INCIDENT_SYSTEM, alert.dedup_key) in ids
        # Each entry is an idempotent PUT by id: a redelivered Bundle stores nothing twice.
        for entry in bundle["entry"]:  # type: ignore[attr-defined]
            r = entry["resource"]
            assert entry["request"] == {
                "method": "PUT",
                "url": f"{r['resourceType']}/{r['id']}",
            }
            assert len(r["id"]) <= 64
    # One incident: every transition names the same incident, each its own alert id.
    assert len({a.dedup_key for a in alerts}) == 1
    bundles = [fhir_alert_bundle(a) for a in alerts]
    assert len({b["id"] for b in bundles}) == len(alerts)


def test_risk_assessment_behind_the_alert_is_cited_and_carries_grade_model_and_evidence() -> None:
    trig, esc, _ack, res = incident()
    bundle = fhir_alert_bundle(esc)
    resources = _resources(bundle)
    ra = RiskAssessment.model_validate(resources["RiskAssessment"])
    assert ra.id == risk_assessment_id(esc)
    assert ra.subject.reference == f"Patient/{PATIENT}"
    assert ra.encounter is not None and ra.encounter.reference == "Encounter/E-991"
    pred = ra.prediction[0]
    assert pred.qualitativeRisk.coding[0].code == "high"  # grade 3
    assert pred.rationale == esc.reason
    assert "ASTCT-CRS-2019" in ra.method.text and esc.policy_version in ra.method.text
    assert [b.identifier.value for b in ra.basis if b.identifier] == ["m-17", "m-18"]
    issue = resources["DetectedIssue"]
    cited = issue["evidence"][0]["detail"][0]["reference"]  # type: ignore[index]
    assert cited == f"RiskAssessment/{ra.id}"
    assert issue["severity"] == "high"
    # The resolution closes the DetectedIssue.
    assert _resources(fhir_alert_bundle(res))["DetectedIssue"]["status"] == "final"
    assert _resources(fhir_alert_bundle(trig))["DetectedIssue"]["severity"] == "moderate"


def test_a_transition_without_grade_or_probability_has_no_risk_assessment() -> None:
    trig = incident()[0]
    bare = msgspec.structs.replace(trig, grade=None, probability=None, evidence=())
    res = _resources(fhir_alert_bundle(bare))
    assert set(res) == {"DetectedIssue"}
    assert "evidence" not in res["DetectedIssue"]


def test_model_probability_is_carried() -> None:
    trig = incident()[0]
    with_model = msgspec.structs.replace(
        trig, probability=0.42, model_version="crs-2", model_threshold=0.3
    )
    ra = RiskAssessment.model_validate(fhir_risk_assessment_for_alert(with_model))
    assert float(ra.prediction[0].probabilityDecimal) == 0.42
    assert "model crs-2" in ra.method.text


def test_minimal_identifiers_only() -> None:
    """Patient and encounter references, opaque ids, message and staff ids: nothing else
    that identifies a person (no name, birth date, address, MRN identifier block)."""
    for alert in incident():
        text = fhir_bundle_bytes(alert).decode()
        doc = json.loads(text)
        assert doc["resourceType"] == "Bundle"
        for banned in ('"name"', "birthDate", "address", "telecom", '"Patient"'):
            assert banned not in text
        # The patient appears only as the reference of the DetectedIssue and RiskAssessment.
        assert text.count(PATIENT) == len(doc["entry"])


def test_patient_reference_of_a_bare_id() -> None:
    assert patient_reference("sim-00001") == "Patient/sim-00001"
    assert patient_reference("Patient/x") == "Patient/x"

"""Alert record schema, deterministic ids, and FHIR outputs validated with fhir.resources."""

from __future__ import annotations

from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.riskassessment import RiskAssessment as FhirRiskAssessment

from alerts.fhir import fhir_detected_issue, fhir_risk_assessment, severity_for_grade
from alerts.ids import alert_id, dedup_key
from alerts.record import ALERT_SCHEMA_VERSION, decode_alert, encode_alert
from alerts.state import Acknowledgement
from tests.alerts.alert_factory import SECRET, incident
from tests.alerts.helpers import PATIENT, assess


def test_record_roundtrip_and_fields() -> None:
    trig, esc, ack, res = incident()
    assert decode_alert(encode_alert(trig)) == trig
    assert trig.schema == ALERT_SCHEMA_VERSION
    assert trig.patient_ref == f"Patient/{PATIENT}" and trig.encounter_ref == "Encounter/E-991"
    assert (trig.cycle, trig.infusion_day) == (1, 2)
    assert trig.status == "triggered" and esc.status == "escalated"
    assert ack.status == "acknowledged" and ack.actor == "rn-204"
    assert res.status == "resolved" and res.action == "resolve"
    assert trig.ruleset_version == "blina-ews-rules-1.0.0"
    assert trig.criteria == ("ASTCT-CRS-2019",)
    assert trig.inputs[0].topic == "ews.events"
    assert trig.picture_url == f"https://ews.hospital.example/alerts/{trig.alert_id}/picture.png"
    ev = trig.evidence[0]
    assert (ev.signal, ev.code, ev.unit, ev.source_msg_id) == (
        "temp",
        "http://loinc.org|8310-5",
        "Cel",
        "m-17",
    )
    assert trig.evidence[2].signal is None  # derived feature without one observation
    assert "hypotension column" in trig.reason
    assert trig.suggested_actions and "suggestion, not an order" in trig.suggested_actions[0].text
    assert ack.suggested_actions == ()  # suggestions travel with pages only


def test_ids_are_deterministic_and_opaque() -> None:
    a, b = incident(), incident()
    assert [x.alert_id for x in a] == [x.alert_id for x in b]  # a replay gives the same ids
    assert len({x.alert_id for x in a}) == 4
    assert len({x.dedup_key for x in a}) == 1  # one incident, grade in the payload
    key = a[0].dedup_key
    assert PATIENT not in key and len(key) <= 255
    assert key == dedup_key(PATIENT, "crs", 1, SECRET)
    assert dedup_key(PATIENT, "crs", 2, SECRET) != key
    assert dedup_key(PATIENT, "crs", 1, b"other-site") != key
    assert a[1].alert_id == alert_id(key, 2)


def test_detected_issue_validates() -> None:
    trig, esc, ack, res = incident()
    for alert in (trig, esc, ack, res):
        resource = fhir_detected_issue(alert)
        parsed = DetectedIssue.model_validate(resource)
        assert parsed.patient.reference == f"Patient/{PATIENT}"
    di = fhir_detected_issue(esc)
    assert di["severity"] == "high" and di["status"] == "preliminary"
    assert len(di["evidence"]) == 3
    assert di["evidence"][0]["detail"][0]["identifier"]["value"] == "m-17"
    assert fhir_detected_issue(res)["status"] == "final"
    mitigated = fhir_detected_issue(ack)
    assert mitigated["mitigation"][0]["author"]["identifier"]["value"] == "rn-204"
    extra = fhir_detected_issue(
        trig, acknowledgement=Acknowledgement(by="md-1", at_ms=trig.event_ms)
    )
    assert DetectedIssue.model_validate(extra).mitigation[0].author.identifier.value == "md-1"
    assert [severity_for_grade(g) for g in (None, 0, 1, 2, 3, 4)] == [
        "low",
        "low",
        "low",
        "moderate",
        "high",
        "high",
    ]


def test_risk_assessment_validates() -> None:
    a = assess(0, 2, probability=0.42, threshold=0.3, evidence=True)
    resource = fhir_risk_assessment(
        a, patient_ref=f"Patient/{PATIENT}", encounter_ref="Encounter/E-1", resource_id="ra-1"
    )
    parsed = FhirRiskAssessment.model_validate(resource)
    pred = parsed.prediction[0]
    assert float(pred.probabilityDecimal) == 0.42
    assert pred.qualitativeRisk.coding[0].code == "moderate"
    assert len(parsed.basis) == 2  # two observations; the derived feature has none
    unknown = fhir_risk_assessment(assess(0, None), patient_ref="Patient/x")
    parsed2 = FhirRiskAssessment.model_validate(unknown)
    assert parsed2.prediction[0].probabilityDecimal is None
    assert parsed2.prediction[0].qualitativeRisk is None

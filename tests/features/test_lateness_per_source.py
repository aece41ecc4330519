"""The lateness bound is measured per source feed (one topic per feed may lag another)."""

from __future__ import annotations

from contract.events import Observation
from features.state import PatientState

H = 3_600_000
T0 = 1_767_225_600_000


def _obs(source: str, hours: float, signal: str = "hr", value: float = 80.0) -> Observation:
    return Observation(
        patient_id="p1",
        time_ms=T0 + int(hours * H),
        source=source,  # type: ignore[arg-type]
        source_msg_id=f"{source}-{hours}-{signal}",
        obs_id=f"{source}-{hours}-{signal}",
        signal=signal,
        value=value,
        unit="/min" if signal == "hr" else "mg/L",
    )


def test_a_feed_lagging_days_behind_another_is_not_late() -> None:
    state = PatientState(patient_id="p1", lateness_ms=48 * H)
    assert state.apply(_obs("fhir", 200)).kind == "applied"
    # HL7 labs from days earlier: behind the FHIR vitals, but the HL7 feed is in order.
    assert state.apply(_obs("hl7v2", 10, "crp", 12.0)).kind == "applied"
    assert state.apply(_obs("hl7v2", 34, "crp", 20.0)).kind == "applied"


def test_late_within_its_own_feed_is_too_late_at_the_bound() -> None:
    state = PatientState(patient_id="p1", lateness_ms=48 * H)
    state.apply(_obs("hl7v2", 100, "crp", 12.0))
    assert state.apply(_obs("hl7v2", 52, "crp", 9.0)).kind == "applied"  # exactly 48 h
    late = state.apply(_obs("hl7v2", 51.9, "crp", 9.5))
    assert late.kind == "too_late"
    assert late.dead_letter_reason == "too_late"
    assert "hl7v2" in late.reason

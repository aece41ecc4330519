"""The lateness bound is measured per source feed (one topic per feed may lag another)."""

from __future__ import annotations

from contract.events import InfusionEvent, NeuroAssessment, Observation
from features.compute import snapshot
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


def _start(hours: float, cycle: int = 1) -> InfusionEvent:
    return InfusionEvent(
        patient_id="p1",
        time_ms=T0 + int(hours * H),
        source="json",
        source_msg_id=f"start-{cycle}-{hours}",
        action="start",
        cycle=cycle,
        dose_ug_per_day=9.0,
    )


def _labs_then_start(start_first: bool) -> PatientState:
    """CRP every 6 h on HL7 for 300 h (baseline 10 mg/L before the start, then 30 mg/L)
    and the infusion start at hour 3 on the JSON feed, before or after all the labs."""
    state = PatientState(patient_id="p1", lateness_ms=48 * H)
    labs = [_obs("hl7v2", h, "crp", 10.0 if h < 3 else 30.0) for h in range(0, 301, 6)]
    events = [_start(3), *labs] if start_first else [*labs, _start(3)]
    for event in events:
        assert state.apply(event).kind == "applied"
    return state


def test_a_start_from_a_lagging_feed_finds_the_baseline_the_labs_gave() -> None:
    """The JSON feed can lag the HL7 feed by more than the lateness bound (the bound is per
    feed), so the labs before a start it has not delivered yet must not be pruned."""
    in_order, lagging = _labs_then_start(True), _labs_then_start(False)
    at = in_order.newest_ms
    assert at is not None and lagging.newest_ms == at
    want = snapshot(in_order, at)
    assert want.values["crp_fold_from_baseline"] == 3.0
    assert snapshot(lagging, at) == want


def test_a_lagging_feed_redelivering_an_event_still_gets_a_duplicate() -> None:
    """Dedup keys (and tombstones) are pruned by the slowest feed's bound, not the fastest's:
    a JSON assessment redelivered while the HL7 feed is days ahead is still a duplicate."""
    state = PatientState(patient_id="p1", lateness_ms=48 * H)
    assessment = NeuroAssessment(
        patient_id="p1", time_ms=T0 + 10 * H, source="json", source_msg_id="neuro-1", ice_score=9
    )
    assert state.apply(assessment).kind == "applied"
    for h in range(0, 301, 6):
        state.apply(_obs("hl7v2", h, "crp", 10.0))
    # Within the JSON feed's own bound (its newest event is at hour 10).
    assert state.apply(assessment).kind == "duplicate"

"""Every generated event satisfies the canonical contract and the code map."""

from __future__ import annotations

from collections import Counter

from contract.codemap import default_codemap
from contract.events import (
    NeuroAssessment,
    Observation,
    Retraction,
    decode_event,
    encode,
)
from simulator.patient import SimPatient


def _all(patients: list[SimPatient]) -> list[tuple[str | None, str, Observation | object]]:
    return [(m.artifact, m.msg_id, e) for p in patients for m in p.messages for e in m.events]


def test_round_trip_and_source(
    default_patients: list[SimPatient], severe_patients: list[SimPatient]
) -> None:
    n = 0
    for _, _, event in _all(default_patients + severe_patients):
        data = encode(event)  # type: ignore[arg-type]
        assert decode_event(data) == event
        assert event.source == "simulator"  # type: ignore[attr-defined]
        n += 1
    assert n > 10_000


def test_values_plausible_except_injected_errors(
    default_patients: list[SimPatient], severe_patients: list[SimPatient]
) -> None:
    codemap = default_codemap()
    error_ids = {
        m.msg_id
        for p in default_patients + severe_patients
        for m in p.messages
        if m.artifact == "charting_error"
    }
    assert error_ids, "the cohort should contain injected charting errors"
    for artifact, msg_id, e in _all(default_patients + severe_patients):
        if not isinstance(e, Observation):
            continue
        spec = codemap.signal(e.signal)
        assert e.unit == spec.unit
        if not spec.plausible(e.value):
            assert msg_id in error_ids, (artifact, e)
    for p in default_patients + severe_patients:
        for m in p.messages:
            if m.artifact == "charting_error":
                bad = [
                    e
                    for e in m.events
                    if isinstance(e, Observation)
                    and not codemap.signal(e.signal).plausible(e.value)
                ]
                assert len(bad) == 1


def test_corrections_and_retractions_refer_to_earlier_observations(
    default_patients: list[SimPatient], severe_patients: list[SimPatient]
) -> None:
    codemap = default_codemap()
    seen = 0
    for p in default_patients + severe_patients:
        originals = {
            e.obs_id: (m, e)
            for m in p.messages
            if m.artifact not in ("correction",)
            for e in m.events
            if isinstance(e, Observation)
        }
        for m in p.messages:
            for e in m.events:
                if m.artifact == "correction":
                    assert isinstance(e, Observation) and e.status == "corrected"
                    orig_msg, orig = originals[e.obs_id]
                    assert orig.time_ms == e.time_ms and orig_msg.arrival_ms < m.arrival_ms
                    assert codemap.signal(e.signal).plausible(e.value)
                    seen += 1
                if isinstance(e, Retraction):
                    orig_msg, orig = originals[e.obs_id]
                    assert orig_msg.artifact == "entered_in_error"
                    assert orig.time_ms == e.time_ms and orig_msg.arrival_ms < m.arrival_ms
                    seen += 1
    assert seen > 0


def test_ids_unique_except_duplicates(
    default_patients: list[SimPatient], severe_patients: list[SimPatient]
) -> None:
    for p in default_patients + severe_patients:
        by_id: dict[str, list[object]] = {}
        for m in p.messages:
            by_id.setdefault(m.msg_id, []).append(m)
        for msg_id, msgs in by_id.items():
            if len(msgs) > 1:
                firsts = [m for m in msgs if m.artifact != "duplicate"]  # type: ignore[attr-defined]
                assert len(firsts) == 1, msg_id
                assert all(m.events == firsts[0].events for m in msgs)  # type: ignore[attr-defined]
        source_ids = Counter(
            e.source_msg_id for m in p.messages if m.artifact != "duplicate" for e in m.events
        )
        assert max(source_ids.values()) == 1


def test_labs_carry_reference_ranges_and_ice_items_sum(
    default_patients: list[SimPatient],
) -> None:
    labs = 0
    for p in default_patients:
        for m in p.messages:
            for e in m.events:
                if isinstance(e, Observation) and m.channel.startswith("lab."):
                    assert e.ref_high is not None or e.ref_low is not None
                    assert e.code is not None and e.code.startswith("http://loinc.org|")
                    labs += 1
                if isinstance(e, NeuroAssessment) and e.ice_items is not None:
                    assert e.ice_items.total == e.ice_score
    assert labs > 1000

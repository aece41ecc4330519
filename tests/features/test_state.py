"""Apply outcomes: duplicates, corrections, retractions, lateness, serialization, bounds."""

from __future__ import annotations

from contract.reasons import Reason
from features.compute import snapshot
from features.state import PatientState
from tests.features.factory import MIN, PID, T0, H, context, infusion, neuro, obs, retract


def test_outcomes_of_versions() -> None:
    s = PatientState(patient_id=PID)
    o = obs("crp", 50, T0, obs_id="c1", status="preliminary")
    assert s.apply(o).kind == "applied"
    assert s.apply(o).kind == "duplicate"
    final = obs("crp", 55, T0, obs_id="c1", status="final")
    r = s.apply(final)
    assert r.kind == "corrected" and "55" in r.reason
    assert s.apply(o).kind == "duplicate"  # a preliminary never replaces a final
    assert s.apply(obs("crp", 60, T0, obs_id="c1", status="corrected")).kind == "corrected"
    assert snapshot(s, T0 + H).get("crp_last") == 60
    assert s.apply(retract(final)).kind == "retracted"
    assert snapshot(s, T0 + H).get("crp_last") is None
    assert s.apply(retract(final)).kind == "duplicate"
    assert s.apply(final).kind == "duplicate"  # a retracted obs_id stays retracted


def test_correction_before_original() -> None:
    s = PatientState(patient_id=PID)
    r = s.apply(obs("alt", 90, T0, obs_id="a1", status="amended"))
    assert r.kind == "unknown_correction" and r.dead_letter_reason is Reason.UNKNOWN_CORRECTION
    assert s.apply(obs("alt", 300, T0, obs_id="a1")).kind == "duplicate"
    assert snapshot(s, T0 + H).get("alt_last") == 90


def test_retraction_before_original() -> None:
    s = PatientState(patient_id=PID)
    o = obs("alt", 300, T0, obs_id="a2")
    assert s.apply(retract(o)).kind == "unknown_correction"
    assert s.apply(o).kind == "duplicate"
    assert snapshot(s, T0 + H).get("alt_last") is None


def test_too_late_and_context_exemption() -> None:
    s = PatientState(patient_id=PID, lateness_ms=48 * H)
    s.apply(obs("hr", 80, T0))
    edge = s.apply(obs("hr", 81, T0 - 48 * H))
    assert edge.kind == "applied"  # exactly at the bound: accepted
    late = s.apply(obs("hr", 82, T0 - 48 * H - 1))
    assert late.kind == "too_late" and late.dead_letter_reason is Reason.TOO_LATE
    assert s.apply(context(T0 - 400 * H, age_years=40.0)).kind == "applied"
    assert snapshot(s, T0).get("age_years") == 40.0


def test_duplicate_non_observation_events() -> None:
    s = PatientState(patient_id=PID)
    n = neuro(T0, ice_score=7)
    assert s.apply(n).kind == "applied"
    assert s.apply(n).kind == "duplicate"
    start = infusion("start", T0, dose=9.0)
    assert s.apply(start).kind == "applied"
    assert s.apply(start).kind == "duplicate"
    assert len(s.infusions) == 1


def test_state_stays_bounded_over_days_of_minute_vitals() -> None:
    s = PatientState(patient_id=PID)
    s.apply(infusion("start", T0, dose=9.0))
    for k in range(5 * 24 * 60):
        s.apply(obs("hr", 80 + k % 7, T0 + k * MIN))
    s.prune()
    # 24 h window + newest kept, not five days
    assert len(s.series["hr"]) <= 24 * 60 + 3
    assert len(s.seen) <= 1
    blob = s.to_bytes()
    assert PatientState.from_bytes(blob) == s


def test_wrong_patient_is_an_error() -> None:
    s = PatientState(patient_id="someone-else")
    try:
        s.apply(obs("hr", 80, T0))
    except ValueError:
        return
    raise AssertionError("expected ValueError")


def test_unknown_signal_is_accepted_without_change() -> None:
    s = PatientState(patient_id=PID)
    # D-dimer in DDU: the catalog reads only the FEU series (the two calibrators differ).
    r = s.apply(obs("ddimer_ddu", 100, T0))
    assert r.kind == "applied" and not r.changed and "ddimer_ddu" in r.reason


def test_hours_since_first_event_is_order_free_and_survives_pruning() -> None:
    events = [
        context(T0 - 400 * H, age_years=40.0),  # patient context does not start the record
        obs("hr", 80, T0 + 2 * H),
        obs("temp", 37.0, T0 + 5 * H),
        infusion("start", T0 + 3 * H, dose=9.0),
    ] + [obs("hr", 80 + k % 5, T0 + 6 * H + k * H) for k in range(96)]
    forward = PatientState(patient_id=PID)
    backward = PatientState(patient_id=PID, lateness_ms=500 * H)
    for e in events:
        forward.apply(e)
    for e in reversed(events):
        backward.apply(e)
    forward.prune()
    assert forward.first_ms == backward.first_ms == T0 + 2 * H
    assert forward.series["hr"].t[0] > T0 + 2 * H  # the first point itself is pruned
    at = T0 + 102 * H
    assert snapshot(forward, at).get("hours_since_first_event") == 100.0
    assert snapshot(backward, at).get("hours_since_first_event") == 100.0
    assert snapshot(forward, T0 + H).get("hours_since_first_event") is None  # before it
    # a retracted first observation still started the record
    s = PatientState(patient_id=PID)
    first = obs("crp", 10, T0)
    s.apply(first)
    s.apply(retract(first))
    s.apply(obs("crp", 12, T0 + H))
    assert snapshot(s, T0 + 4 * H).get("hours_since_first_event") == 4.0


def test_hospital_admission_durations_and_their_edges() -> None:
    s = PatientState(patient_id=PID)
    s.apply(context(T0 - 400 * H, hospital_admission_ms=T0 - 30 * H))  # context: any time
    assert snapshot(s, T0).get("hours_since_admission") == 30.0
    assert snapshot(s, T0).get("hours_admitted_before_first_event") is None  # no event yet
    assert snapshot(s, T0 - 30 * H).get("hours_since_admission") == 0.0  # the admission itself
    assert snapshot(s, T0 - 30 * H - 1).get("hours_since_admission") is None  # before it
    s.apply(obs("hr", 80, T0 + 2 * H))
    s.apply(context(T0 + 2 * H, age_years=40.0))  # a later context without it keeps it
    snap = snapshot(s, T0 + 10 * H)
    assert (snap.get("hours_since_admission"), snap.get("hours_admitted_before_first_event")) == (
        40.0,
        32.0,
    )
    assert snap.evidence_for("hours_since_admission") is not None
    # events before the admission (outpatient labs): time since admission only
    s.apply(context(T0 + 4 * H, hospital_admission_ms=T0 + 5 * H))
    snap = snapshot(s, T0 + 10 * H)
    assert snap.get("hours_since_admission") == 5.0
    assert snap.get("hours_admitted_before_first_event") is None


def test_a_series_only_a_newer_version_knows_is_kept_untouched() -> None:
    """Rolling upgrades and rollbacks hand a worker states a newer version stored: a series
    it has no catalog entry for is neither pruned, read nor lost (the 1.1 admission series
    would have stopped a 1.0 worker's pruning with a KeyError)."""
    import msgspec

    s = PatientState(patient_id=PID)
    s.apply(obs("hr", 80, T0))
    raw = msgspec.msgpack.decode(s.to_bytes())
    raw["series"]["from_a_newer_version"] = {"t": [T0 - 900 * H], "v": [1.0], "obs": [None],
                                             "msg": ["m"], "st": [1], "lo": [None],
                                             "hi": [None]}  # fmt: skip
    restored = PatientState.from_bytes(msgspec.msgpack.encode(raw))
    for k in range(1, 200):
        restored.apply(obs("hr", 80 + k % 3, T0 + k * H))  # runs prune() many times
    restored.prune()
    assert restored.series["from_a_newer_version"].t == [T0 - 900 * H]
    assert restored.first_ms == T0 and restored.earliest_held_ms() is not None
    assert restored.earliest_held_ms() > T0 - 900 * H  # not an event series of this version
    assert snapshot(restored, T0 + 200 * H).get("hr_last") is not None
    again = PatientState.from_bytes(restored.to_bytes())
    assert again.series["from_a_newer_version"] == restored.series["from_a_newer_version"]


def test_state_stored_before_first_ms_decodes_with_earliest_held_time() -> None:
    import msgspec

    s = PatientState(patient_id=PID)
    s.apply(context(T0 - 400 * H, age_years=40.0))
    s.apply(obs("hr", 80, T0 + 2 * H))
    s.apply(obs("crp", 10, T0 + 7 * H))
    old = msgspec.msgpack.decode(s.to_bytes())
    del old["first_ms"]  # the layout of records written before the field existed
    restored = PatientState.from_bytes(msgspec.msgpack.encode(old))
    assert restored.first_ms == T0 + 2 * H  # context points (T0 - 400 h) do not count
    assert PatientState.from_bytes(s.to_bytes()) == s
    empty = msgspec.msgpack.decode(PatientState(patient_id=PID).to_bytes())
    del empty["first_ms"]
    assert PatientState.from_bytes(msgspec.msgpack.encode(empty)).first_ms is None

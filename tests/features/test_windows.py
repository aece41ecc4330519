"""Window edges (half-open (at - w, at]), staleness edges, fever features, baselines."""

from __future__ import annotations

import pytest

from features.compute import snapshot
from features.state import PatientState
from tests.features.factory import MIN, PID, T0, H, infusion, neuro, obs, treatment


def _state(*events) -> PatientState:  # type: ignore[no-untyped-def]
    s = PatientState(patient_id=PID)
    for e in events:
        assert s.apply(e).kind == "applied"
    return s


@pytest.mark.parametrize("hours", [1, 6, 24])
def test_point_exactly_window_old_is_out(hours: int) -> None:
    s = _state(obs("temp", 39.0, T0), obs("temp", 37.0, T0 + hours * H))
    at = T0 + hours * H
    assert snapshot(s, at).get(f"temp_max_{hours}h") == 37.0  # 39.0 is exactly w old: out
    assert snapshot(s, at - 1).get(f"temp_max_{hours}h") == 39.0  # 1 ms younger: in


def test_point_at_snapshot_time_is_in_and_future_is_out() -> None:
    s = _state(obs("hr", 100, T0), obs("hr", 140, T0 + MIN))
    assert snapshot(s, T0).get("hr_max_1h") == 100
    assert snapshot(s, T0).get("hr_last") == 100
    assert snapshot(s, T0 + MIN).get("hr_max_1h") == 140


@pytest.mark.parametrize(
    ("signal", "stale_h"), [("hr", 4), ("temp", 6), ("crp", 72), ("anc", 48), ("pao2", 12)]
)
def test_last_value_goes_stale_at_exactly_its_staleness(signal: str, stale_h: int) -> None:
    s = _state(obs(signal, 10.0, T0))
    assert snapshot(s, T0 + stale_h * H - 1).get(f"{signal}_last") == 10.0
    stale = snapshot(s, T0 + stale_h * H)
    assert stale.get(f"{signal}_last") is None
    assert f"{signal}_last" in stale.missing
    assert stale.get(f"{signal}_age_h") == stale_h  # the age stays known


def test_ice_from_neuro_and_from_observation_are_one_series() -> None:
    s = _state(neuro(T0, ice_score=9), obs("ice_score", 4, T0 + H))
    snap = snapshot(s, T0 + 2 * H)
    assert snap.get("ice_last") == 4 and snap.get("ice_min_12h") == 4
    ev = snap.evidence_for("ice_min_12h")
    assert ev is not None and ev.signal == "ice_score" and ev.obs_id is not None


def test_min_evidence_names_the_observation() -> None:
    low = obs("sbp", 82, T0 + 10 * MIN)
    s = _state(obs("sbp", 110, T0), low, obs("sbp", 100, T0 + 20 * MIN))
    ev = snapshot(s, T0 + 30 * MIN).evidence_for("sbp_min_1h")
    assert ev is not None
    assert (ev.value, ev.time_ms, ev.obs_id, ev.source_msg_id) == (
        82.0, low.time_ms, low.obs_id, low.source_msg_id,
    )  # fmt: skip


def test_fever_hours_count_one_hour_slices() -> None:
    at = T0 + 24 * H
    s = _state(
        obs("temp", 38.0, at - 24 * H),  # exactly 24 h old: outside the window
        obs("temp", 38.5, at - 23 * H - 30 * MIN),  # slice 23
        obs("temp", 38.2, at - 2 * H),  # exactly 2 h old: slice 2
        obs("temp", 38.3, at - 2 * H + MIN),  # slice 1
        obs("temp", 37.2, at - 90 * MIN),  # slice 1, afebrile
        obs("temp", 38.1, at - 20 * MIN),  # slice 0
    )
    assert snapshot(s, at).get("fever_hours_24h") == 4


def test_fever_onset_and_sustained() -> None:
    s = _state(
        obs("temp", 37.5, T0),
        obs("temp", 38.0, T0 + H),
        obs("temp", 38.4, T0 + 90 * MIN),
        obs("temp", 38.1, T0 + 2 * H),
    )
    snap = snapshot(s, T0 + 2 * H)
    assert snap.get("hours_since_fever_onset") == 1.0
    assert snap.get("fever_sustained_1h") == 0.0  # exactly 1 h: not more than 1 h
    s.apply(obs("temp", 38.0, T0 + 2 * H + MIN))
    assert snapshot(s, T0 + 2 * H + MIN).get("fever_sustained_1h") == 1.0
    s.apply(obs("temp", 37.9, T0 + 3 * H))
    after = snapshot(s, T0 + 3 * H)
    assert after.get("hours_since_fever_onset") is None and after.get("fever_sustained_1h") == 0


def test_fever_run_breaks_on_a_long_gap() -> None:
    s = _state(obs("temp", 38.5, T0), obs("temp", 38.6, T0 + 6 * H + 1))
    assert snapshot(s, T0 + 7 * H).get("hours_since_fever_onset") == pytest.approx((H - 1) / H)


def test_baseline_last_before_start_else_first_after() -> None:
    s = _state(
        obs("crp", 5, T0 - 30 * H),
        obs("crp", 8, T0 - H),
        infusion("start", T0, dose=9.0),
        obs("crp", 80, T0 + 10 * H),
    )
    assert snapshot(s, T0 + 11 * H).get("crp_fold_from_baseline") == 10.0
    s2 = _state(
        infusion("start", T0, dose=9.0),
        obs("crp", 4, T0 + 23 * H),
        obs("crp", 40, T0 + 30 * H),
    )
    assert snapshot(s2, T0 + 31 * H).get("crp_fold_from_baseline") == 10.0
    s3 = _state(infusion("start", T0, dose=9.0), obs("crp", 4, T0 + 24 * H))
    assert snapshot(s3, T0 + 25 * H).get("crp_fold_from_baseline") is None


def test_cycle_features_and_seizure_counts() -> None:
    s = _state(
        neuro(T0 - H, seizure=True),  # before the cycle: not counted in the cycle
        infusion("start", T0, dose=9.0),
        neuro(T0 + H, seizure=True),
        neuro(T0 + 30 * H, seizure=False),
        obs("ferritin", 900, T0 + 2 * H),
        obs("ferritin", 700, T0 + 26 * H),
    )
    snap = snapshot(s, T0 + 31 * H)
    assert snap.get("seizure_count_cycle") == 1
    assert snap.get("seizure_count_24h") == 0  # an assessment without seizure in 24 h
    assert snap.get("ferritin_max_cycle") == 900 and snap.get("ferritin_max_24h") == 700


def test_no_assessment_in_window_is_missing_not_zero() -> None:
    s = _state(neuro(T0, seizure=False))
    assert snapshot(s, T0 + 25 * H).get("seizure_count_24h") is None


def test_hours_since_treatment_lookback() -> None:
    s = _state(treatment("tocilizumab", T0))
    assert snapshot(s, T0 + 336 * H - 1).get("hours_since_tocilizumab") is not None
    assert snapshot(s, T0 + 336 * H).get("hours_since_tocilizumab") is None
    assert snapshot(s, T0 + H).get("hours_since_antibiotic") is None


def test_slope_per_hour() -> None:
    s = _state(obs("crp", 10, T0), obs("crp", 30, T0 + 10 * H), obs("crp", 50, T0 + 20 * H))
    assert snapshot(s, T0 + 20 * H).get("crp_slope_24h") == pytest.approx(2.0)
    # one point in the window: no slope
    assert snapshot(s, T0 + 20 * H).get("crp_slope_48h") == pytest.approx(2.0)
    single = _state(obs("temp", 38.0, T0))
    assert snapshot(single, T0 + H).get("temp_slope_6h") is None

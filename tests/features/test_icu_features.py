"""The ICU-panel features of issue #6: new lab series, lab deltas, reading counts, 6 h vital
slopes and the BUN/creatinine ratio. Window edges (half-open ``(at - w, at]``), staleness
edges, and missing input -> ``None`` (never 0)."""

from __future__ import annotations

import pytest

from features.catalog import (
    FEATURES,
    LAB_DELTAS_H,
    READINGS_LABS,
    READINGS_VITALS,
    SERIES_BY_SIGNAL,
    VITAL_SLOPES,
    series_lookback_h,
)
from features.compute import snapshot
from features.state import PatientState
from tests.features.factory import MIN, PID, T0, H, obs

ICU_PANEL = (
    "etco2", "ph", "base_excess", "sao2", "hco3", "bun", "glucose", "potassium", "chloride",
    "calcium", "magnesium", "phosphate", "alk_phos", "bilirubin_direct", "troponin_i", "ptt",
    "hct",
)  # fmt: skip


def _state(*events) -> PatientState:  # type: ignore[no-untyped-def]
    s = PatientState(patient_id=PID)
    for e in events:
        assert s.apply(e).kind == "applied"
    return s


# --- the 17 PhysioNet signals that no feature read before --------------------------------


@pytest.mark.parametrize("signal", ICU_PANEL)
def test_every_icu_panel_signal_has_last_and_age(signal: str) -> None:
    assert f"{signal}_last" in FEATURES and f"{signal}_age_h" in FEATURES
    stale_h = SERIES_BY_SIGNAL[signal].stale_h
    assert stale_h is not None
    s = _state(obs(signal, 7.25, T0))
    fresh = snapshot(s, T0 + int(stale_h * H) - 1)
    assert fresh.get(f"{signal}_last") == 7.25
    assert fresh.evidence_for(f"{signal}_last") is not None
    stale = snapshot(s, T0 + int(stale_h * H))
    assert stale.get(f"{signal}_last") is None  # exactly stale_h old: stale
    assert stale.get(f"{signal}_age_h") == stale_h  # the age stays known


@pytest.mark.parametrize(("signal", "stale_h"), [("ph", 12), ("hco3", 72), ("hct", 48)])
def test_staleness_follows_the_lab_family(signal: str, stale_h: int) -> None:
    """Blood gases 12 h, chemistry 72 h, blood count 48 h (the catalog's convention)."""
    assert SERIES_BY_SIGNAL[signal].stale_h == stale_h


def test_icu_panel_signals_are_stored_by_the_state() -> None:
    s = PatientState(patient_id=PID)
    result = s.apply(obs("glucose", 140, T0))
    assert result.kind == "applied" and result.changed


# --- deltas: latest minus earliest reading in the window ---------------------------------


def test_creatinine_delta_is_latest_minus_earliest_in_48h() -> None:
    s = _state(
        obs("creatinine", 0.9, T0),
        obs("creatinine", 1.4, T0 + 20 * H),
        obs("creatinine", 1.3, T0 + 40 * H),
    )
    assert snapshot(s, T0 + 40 * H).get("creatinine_delta_48h") == pytest.approx(0.4)
    # The first reading exactly 48 h old is out of (at - 48 h, at]: 1.3 - 1.4.
    assert snapshot(s, T0 + 48 * H).get("creatinine_delta_48h") == pytest.approx(-0.1)
    # 1 ms younger it is still in.
    assert snapshot(s, T0 + 48 * H - 1).get("creatinine_delta_48h") == pytest.approx(0.4)


def test_delta_needs_two_readings_and_is_never_zero_for_missing() -> None:
    s = _state(obs("lactate", 3.1, T0))
    snap = snapshot(s, T0 + H)
    assert snap.get("lactate_delta_24h") is None
    assert "lactate_delta_24h" in snap.missing
    assert snapshot(PatientState(patient_id=PID), T0).get("lactate_delta_24h") is None


def test_delta_of_two_readings_that_moved_back_is_zero_not_none() -> None:
    s = _state(obs("ph", 7.30, T0), obs("ph", 7.21, T0 + 2 * H), obs("ph", 7.30, T0 + 4 * H))
    assert snapshot(s, T0 + 4 * H).get("ph_delta_24h") == pytest.approx(0.0)


def test_delta_reads_points_after_the_last_value_went_stale() -> None:
    """A delta describes the window, not the current value: it holds while both readings
    are in it, even once the latest is stale (lactate: 12 h staleness, 24 h window)."""
    s = _state(obs("lactate", 1.5, T0), obs("lactate", 4.0, T0 + 3 * H))
    at = T0 + 20 * H
    snap = snapshot(s, at)
    assert snap.get("lactate_last") is None
    assert snap.get("lactate_delta_24h") == pytest.approx(2.5)


def test_every_declared_delta_exists_with_its_window() -> None:
    for signal, window_h in LAB_DELTAS_H:
        spec = FEATURES[f"{SERIES_BY_SIGNAL[signal].prefix}_delta_{window_h:g}h"]
        assert spec.aggregate == "delta" and spec.window_h == window_h
        assert series_lookback_h(signal) >= window_h  # the state keeps the window's points


# --- reading counts ----------------------------------------------------------------------


def test_reading_count_window_edges() -> None:
    s = _state(
        obs("temp", 37.0, T0), obs("temp", 37.5, T0 + 12 * H), obs("temp", 38.2, T0 + 23 * H)
    )
    assert snapshot(s, T0 + 23 * H).get("temp_readings_24h") == 3.0
    assert snapshot(s, T0 + 24 * H - 1).get("temp_readings_24h") == 3.0
    assert snapshot(s, T0 + 24 * H).get("temp_readings_24h") == 2.0  # T0 exactly 24 h old
    assert snapshot(s, T0 + 47 * H - 1).get("temp_readings_24h") == 1.0


def test_no_readings_in_the_window_is_none_not_zero() -> None:
    s = _state(obs("wbc", 9.0, T0))
    assert snapshot(s, T0 + 71 * H).get("wbc_readings_72h") == 1.0
    snap = snapshot(s, T0 + 72 * H)
    assert snap.get("wbc_readings_72h") is None
    assert snapshot(PatientState(patient_id=PID), T0).get("hr_readings_24h") is None


def test_readings_count_every_point_not_just_distinct_values() -> None:
    s = _state(*(obs("hr", 80, T0 + k * 5 * MIN) for k in range(12)))
    assert snapshot(s, T0 + H).get("hr_readings_24h") == 12.0


def test_readings_declared_for_vitals_and_labs() -> None:
    for signal in READINGS_VITALS:
        assert FEATURES[f"{signal}_readings_24h"].unit == "{count}"
    for signal in READINGS_LABS:
        assert FEATURES[f"{signal}_readings_72h"].window_h == 72.0


# --- 6 h vital slopes --------------------------------------------------------------------


@pytest.mark.parametrize("signal", VITAL_SLOPES)
def test_vital_slope_6h(signal: str) -> None:
    s = _state(obs(signal, 90, T0), obs(signal, 100, T0 + 2 * H), obs(signal, 110, T0 + 4 * H))
    assert snapshot(s, T0 + 4 * H).get(f"{signal}_slope_6h") == pytest.approx(5.0)
    # At T0 + 6 h the first reading is exactly 6 h old (out): two points left, same slope.
    assert snapshot(s, T0 + 6 * H).get(f"{signal}_slope_6h") == pytest.approx(5.0)
    # At T0 + 8 h only the last reading is in the window: no slope.
    assert snapshot(s, T0 + 8 * H).get(f"{signal}_slope_6h") is None


# --- BUN / creatinine --------------------------------------------------------------------


def test_bun_creatinine_ratio() -> None:
    s = _state(obs("bun", 42.0, T0), obs("creatinine", 1.5, T0 + H))
    assert snapshot(s, T0 + 2 * H).get("bun_creatinine_ratio") == pytest.approx(28.0)
    # Both chemistry: stale at 72 h; the BUN goes stale first.
    assert snapshot(s, T0 + 72 * H).get("bun_creatinine_ratio") is None


@pytest.mark.parametrize("creatinine", [None, 0.0])
def test_bun_creatinine_ratio_missing_or_zero_creatinine_is_none(creatinine: float | None) -> None:
    events = [obs("bun", 20.0, T0)]
    if creatinine is not None:
        events.append(obs("creatinine", creatinine, T0))
    assert snapshot(_state(*events), T0 + H).get("bun_creatinine_ratio") is None

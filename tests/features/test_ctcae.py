"""CTCAE v5 grade boundaries, own and default limits, EASIX and P/F ratio."""

from __future__ import annotations

import math

import pytest

from features.compute import snapshot
from features.ctcae import grade
from features.state import PatientState
from tests.features.factory import PID, T0, H, context, infusion, obs


@pytest.mark.parametrize(
    ("signal", "x", "expected"),
    [
        ("alt", 1.0, 0), ("alt", 1.0001, 1), ("alt", 3.0, 1), ("alt", 3.0001, 2),
        ("alt", 5.0, 2), ("alt", 5.0001, 3), ("alt", 20.0, 3), ("alt", 20.0001, 4),
        ("ast", 3.0, 1), ("ast", 20.5, 4),
        ("bilirubin", 1.0, 0), ("bilirubin", 1.5, 1), ("bilirubin", 1.5001, 2),
        ("bilirubin", 3.0, 2), ("bilirubin", 3.0001, 3), ("bilirubin", 10.0, 3),
        ("bilirubin", 10.0001, 4),
    ],
)  # fmt: skip
def test_increase_bands(signal: str, x: float, expected: int) -> None:
    assert grade(signal, x * 40.0, 40.0) == expected


@pytest.mark.parametrize(
    ("signal", "value", "lln", "expected"),
    [
        ("anc", 1.8, 1.8, 0), ("anc", 1.79, 1.8, 1), ("anc", 1.5, 1.8, 1), ("anc", 1.49, 1.8, 2),
        ("anc", 1.0, 1.8, 2), ("anc", 0.99, 1.8, 3), ("anc", 0.5, 1.8, 3), ("anc", 0.49, 1.8, 4),
        ("anc", 1.49, 1.2, 2),  # absolute thresholds win over a low LLN
        ("anc", 1.7, None, None),  # grade 0 or 1 needs the LLN
        ("platelets", 150, 150, 0), ("platelets", 149, 150, 1), ("platelets", 75, 150, 1),
        ("platelets", 74.9, 150, 2), ("platelets", 50, 150, 2), ("platelets", 49, 150, 3),
        ("platelets", 25, 150, 3), ("platelets", 24.9, 150, 4),
        ("hgb", 12.0, 12.0, 0), ("hgb", 11.9, 12.0, 1), ("hgb", 10.0, 12.0, 1),
        ("hgb", 9.99, 12.0, 2), ("hgb", 8.0, 12.0, 2), ("hgb", 7.99, None, 3),
        ("hgb", 3.0, 12.0, 3),
    ],
)  # fmt: skip
def test_decrease_bands(signal: str, value: float, lln: float | None, expected: int | None) -> None:
    assert grade(signal, value, lln) == expected


@pytest.mark.parametrize(
    ("x_baseline", "expected"),
    [(1.49, 0), (1.5, 1), (3.0, 1), (3.01, 2), (5.0, 2), (5.01, 3), (20.0, 3), (20.01, 4)],
)
def test_alt_abnormal_baseline_grades_on_baseline(x_baseline: float, expected: int) -> None:
    assert grade("alt", 100.0 * x_baseline, 40.0, baseline=100.0) == expected


def _state(*events) -> PatientState:  # type: ignore[no-untyped-def]
    s = PatientState(patient_id=PID)
    for e in events:
        s.apply(e)
    return s


def test_own_limit_beats_default_and_is_reported() -> None:
    s = _state(obs("alt", 100, T0, ref_high=50.0), obs("ast", 100, T0))
    snap = snapshot(s, T0 + H)
    assert snap.get("alt_uln") == 50.0 and snap.get("alt_x_uln") == 2.0
    assert snap.get("alt_ctcae_grade") == 1
    assert snap.evidence_for("alt_uln") is not None
    assert snap.get("ast_uln") == 40.0 and snap.get("ast_x_uln") == 2.5
    assert snap.get("ast_ctcae_grade") == 1
    assert snap.evidence_for("ast_uln") is None  # a default cites no observation


def test_abnormal_baseline_used_in_snapshot() -> None:
    s = _state(
        obs("alt", 120, T0 - 10 * H),  # baseline 3x the default ULN of 40
        infusion("start", T0, dose=9.0),
        obs("alt", 200, T0 + 10 * H),  # 5x ULN but only 1.67x baseline
    )
    snap = snapshot(s, T0 + 11 * H)
    assert snap.get("alt_x_uln") == 5.0
    assert snap.get("alt_ctcae_grade") == 1
    assert snap.get("alt_fold_from_baseline") == pytest.approx(200 / 120)


def test_sex_specific_defaults_need_the_sex() -> None:
    unknown = snapshot(_state(obs("creatinine", 1.2, T0), obs("hgb", 11.0, T0)), T0 + H)
    assert unknown.get("creatinine_uln") is None and unknown.get("creatinine_x_uln") is None
    assert unknown.get("hgb_lln") is None and unknown.get("hgb_ctcae_grade") is None
    female = snapshot(
        _state(context(T0 - H, sex="female"), obs("creatinine", 1.2, T0), obs("hgb", 11.0, T0)),
        T0 + H,
    )
    assert female.get("creatinine_uln") == 1.04 and female.get("hgb_lln") == 12.0
    assert female.get("hgb_ctcae_grade") == 1


def test_easix_and_m_easix() -> None:
    s = _state(obs("ldh", 400, T0), obs("creatinine", 1.5, T0), obs("platelets", 50, T0),
               obs("crp", 80, T0))  # fmt: skip
    snap = snapshot(s, T0 + H)
    assert snap.get("easix_log2") == pytest.approx(math.log2(400 * 1.5 / 50))
    assert snap.get("m_easix_log2") == pytest.approx(math.log2(400 * 8.0 / 50))


@pytest.mark.parametrize("drop", ["ldh", "creatinine", "platelets"])
def test_easix_with_a_missing_input_is_none(drop: str) -> None:
    values = {"ldh": 400, "creatinine": 1.5, "platelets": 50}
    s = _state(*(obs(k, v, T0) for k, v in values.items() if k != drop))
    assert snapshot(s, T0 + H).get("easix_log2") is None


def test_easix_with_a_stale_input_is_none() -> None:
    s = _state(obs("ldh", 400, T0), obs("creatinine", 1.5, T0), obs("platelets", 50, T0))
    assert snapshot(s, T0 + 48 * H - 1).get("easix_log2") is not None
    assert snapshot(s, T0 + 48 * H).get("easix_log2") is None  # platelets stale at 48 h


def test_pf_ratio_uses_fio2_at_the_blood_gas() -> None:
    s = _state(obs("fio2", 40, T0 - 2 * H), obs("pao2", 80, T0), obs("fio2", 60, T0 + H))
    snap = snapshot(s, T0 + 2 * H)
    assert snap.get("pf_ratio") == pytest.approx(200.0)
    assert snapshot(_state(obs("pao2", 80, T0)), T0 + H).get("pf_ratio") is None

"""Ground-truth labels agree with the signals a grader would see (ASTCT / CTCAE)."""

from __future__ import annotations

from contract.events import (
    InfusionEvent,
    NeuroAssessment,
    Observation,
    RespiratorySupport,
    Treatment,
    VasopressorState,
)
from simulator.config import HOUR_MS
from simulator.labels import Label
from simulator.patient import SimPatient

LOW_FLOW = {"nasal_cannula", "blow_by"}
HIGH_FLOW = {"high_flow_nasal_cannula", "simple_facemask", "non_rebreather", "venturi_mask"}
POSITIVE = {"cpap", "bipap", "mechanical_ventilation"}
MASKING = {"antipyretic", "corticosteroid", "tocilizumab"}


def _clean_events(p: SimPatient) -> list[object]:
    """Events without injected artifacts (what the truth looks like)."""
    return [e for m in p.messages if m.artifact is None for e in m.events]


def _obs(p: SimPatient, signal: str, lo: int, hi: int) -> list[Observation]:
    return [
        e
        for e in _clean_events(p)
        if isinstance(e, Observation) and e.signal == signal and lo <= e.time_ms <= hi
    ]


def _labels(patients: list[SimPatient], kind: str) -> list[tuple[SimPatient, Label]]:
    return [(p, r) for p in patients for r in p.labels if r.complication == kind]


def _hypoxia_column(device: str) -> int:
    if device in POSITIVE:
        return 4
    if device in HIGH_FLOW:
        return 3
    return 2 if device in LOW_FLOW else 0


def _crs_support_grade(p: SimPatient, lo: int, hi: int) -> int:
    """Worst ASTCT hypotension/hypoxia column from support events in [lo, hi]."""
    worst = 0
    for e in _clean_events(p):
        if not lo <= e.time_ms <= hi:  # type: ignore[attr-defined]
            continue
        if isinstance(e, VasopressorState) and e.count:
            worst = max(worst, 4 if e.count >= 2 else 3)
        if isinstance(e, RespiratorySupport):
            worst = max(worst, _hypoxia_column(e.device))
    return worst


def test_crs_labels_match_fever_and_astct_support(severe_patients: list[SimPatient]) -> None:
    rows = _labels(severe_patients, "crs")
    assert {r.peak_grade for _, r in rows} == {1, 2, 3, 4}
    for p, r in rows:
        temps = _obs(p, "temp", r.onset_ms, r.resolution_ms)
        masked = any(
            isinstance(e, Treatment)
            and e.treatment in MASKING
            and r.onset_ms - 24 * HOUR_MS <= e.time_ms <= r.resolution_ms
            for e in _clean_events(p)
        )
        assert max(t.value for t in temps) >= 38.0 or masked, r
        support = _crs_support_grade(p, r.onset_ms, r.resolution_ms)
        if r.peak_grade >= 3:
            assert support == r.peak_grade, (r, support)
        elif r.peak_grade == 2:
            sbp = _obs(p, "sbp", r.onset_ms, r.resolution_ms)
            mean_ap = _obs(p, "map", r.onset_ms, r.resolution_ms)
            hypotension = any(o.value < 90 for o in sbp) or any(o.value < 65 for o in mean_ap)
            assert hypotension or support == 2, r
            assert support <= 2


def test_crs_grade3_interrupts_and_restarts_low(severe_patients: list[SimPatient]) -> None:
    checked = 0
    for p, r in _labels(severe_patients, "crs"):
        if r.peak_grade != 3:
            continue
        infusion = [e for e in _clean_events(p) if isinstance(e, InfusionEvent)]
        holds = [e for e in infusion if e.action in ("interruption", "stop")]
        assert any(r.onset_ms <= e.time_ms <= r.resolution_ms for e in holds), r
        restarts = [e for e in infusion if e.action == "restart" and e.time_ms > r.resolution_ms]
        low = p.plan.baseline.dose_ug_per_day(False)
        if restarts and not any(
            e.action == "stop" and e.time_ms < restarts[0].time_ms for e in infusion
        ):
            assert restarts[0].dose_ug_per_day == low
        checked += 1
    assert checked


def _icans_grade(a: NeuroAssessment) -> int:
    """ASTCT ICANS grade of one assessment (worst domain)."""
    grade = 0
    if a.ice_score is not None:
        s = a.ice_score
        grade = 1 if 7 <= s <= 9 else 2 if 3 <= s <= 6 else 3 if s <= 2 else 0
    conscious = {"alert": 0, "drowsy": 1, "voice": 2, "pain": 3, "unresponsive": 4}
    grade = max(grade, conscious[a.consciousness or "alert"])
    if a.seizure:
        grade = max(grade, 4 if a.seizure_prolonged else 3)
    if a.motor_weakness == "deep_focal":
        grade = 4
    return grade


def test_icans_labels_match_assessments(severe_patients: list[SimPatient]) -> None:
    rows = _labels(severe_patients, "icans")
    assert {r.peak_grade for _, r in rows} >= {1, 2, 3, 4}
    for p, r in rows:
        assessments = [
            e
            for e in _clean_events(p)
            if isinstance(e, NeuroAssessment) and r.onset_ms <= e.time_ms <= r.resolution_ms
        ]
        assert max(_icans_grade(a) for a in assessments) == r.peak_grade, r
        if r.peak_grade >= 3:
            worst = [a for a in assessments if _icans_grade(a) >= 3]
            assert all(
                (a.ice_score is not None and a.ice_score <= 2)
                or a.seizure
                or a.consciousness in ("pain", "unresponsive")
                for a in worst
            )
    outside = [
        _icans_grade(e)
        for p in severe_patients
        for e in _clean_events(p)
        if isinstance(e, NeuroAssessment)
        and not any(
            r.onset_ms <= e.time_ms <= r.resolution_ms
            for r in p.labels
            if r.complication == "icans"
        )
    ]
    assert max(outside) == 0


def test_hlh_labels_show_ferritin_and_fibrinogen(severe_patients: list[SimPatient]) -> None:
    rows = _labels(severe_patients, "hlh")
    assert rows
    for p, r in rows:
        ferritin = _obs(p, "ferritin", r.onset_ms, r.resolution_ms)
        fibrinogen = _obs(p, "fibrinogen", r.onset_ms, r.resolution_ms)
        assert max(o.value for o in ferritin) > 10_000, r
        assert min(o.value for o in fibrinogen) < 200, r


def test_febrile_neutropenia_has_low_anc_fever_and_prompt_antibiotics(
    severe_patients: list[SimPatient],
) -> None:
    rows = _labels(severe_patients, "febrile_neutropenia")
    assert rows
    for p, r in rows:
        anc = _obs(p, "anc", r.onset_ms - 48 * HOUR_MS, r.onset_ms + 48 * HOUR_MS)
        assert min(o.value for o in anc) < 0.5, r
        abx = [
            e
            for e in _clean_events(p)
            if isinstance(e, Treatment)
            and e.treatment == "antibiotic"
            and r.onset_ms <= e.time_ms <= r.onset_ms + 2 * HOUR_MS
        ]
        assert abx, r


def test_hepatotoxicity_grade_matches_transaminases(severe_patients: list[SimPatient]) -> None:
    rows = _labels(severe_patients, "hepatotoxicity")
    assert rows
    for p, r in rows:
        alt = _obs(p, "alt", r.onset_ms - 24 * HOUR_MS, r.resolution_ms)
        ratio = max(o.value / (o.ref_high or 40.0) for o in alt)
        # Daily draws can miss the exact peak: the observed peak reaches the grade's band
        # or the one below it.
        floor = {1: 0.8, 2: 1.0, 3: 3.0, 4: 5.0}[r.peak_grade]
        assert ratio > floor, (r, ratio)

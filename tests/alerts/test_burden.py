"""Alert burden evaluation on hand-made sequences with known answers."""

from __future__ import annotations

from alerts.burden import BurdenSettings, LabelRow, evaluate_burden, format_report, read_labels
from alerts.config import HOUR_MS, PolicyConfig, RiskPolicy
from scoring.risk import RiskAssessment
from tests.alerts.helpers import T0, assess

CONFIG = PolicyConfig(
    risks={"crs": RiskPolicy(trigger_grade=2, quiet_period_ms=2 * HOUR_MS)},
    ack_timeout_ms=None,
    ack_review_ms=None,
)


def hourly(patient: str, grades: list[int | None]) -> list[RiskAssessment]:
    return [assess(h * 60, g, patient=patient) for h, g in enumerate(grades)]


def label(patient: str, onset_h: float, end_h: float, peak: int) -> LabelRow:
    return LabelRow(
        patient_id=patient,
        complication="crs",
        onset_ms=T0 + int(onset_h * HOUR_MS),
        peak_grade=peak,
        resolution_ms=T0 + int(end_h * HOUR_MS),
        cycle=1,
    )


def test_ppv_sensitivity_lead_time_and_burden() -> None:
    # p1: alert at h3, CRS labelled from h5 (peak 2): true, 2 h early.
    # p2: alert at h2 (no CRS labelled): false positive; then a second incident at h10.
    # p3: labelled CRS grade 1 never alerted: missed.
    data = {
        "p1": hourly("p1", [0, 0, 0, 2, 2, 3, 2, 0, 0, 0, 0, 0, 0]),
        "p2": hourly("p2", [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0]),
        "p3": hourly("p3", [0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    }
    labels = [label("p1", 5, 9, 2), label("p3", 1, 4, 1), label("p9", 1, 2, 3)]
    report = evaluate_burden(data, labels, CONFIG, BurdenSettings(early_window_ms=6 * HOUR_MS))
    crs = report.risks["crs"]
    assert crs.incidents == 3  # p1 once (escalation inside), p2 twice
    assert crs.notifications == 4  # + p1's escalation
    assert (crs.ppv.numerator, crs.ppv.denominator) == (1, 3)
    assert (crs.sensitivity.numerator, crs.sensitivity.denominator) == (1, 2)  # p9 unobserved
    assert crs.sensitivity_by_grade[2].value == 1.0 and crs.sensitivity_by_grade[1].value == 0.0
    assert crs.median_lead_time_h == 2.0
    assert crs.alerted_before_onset.value == 1.0
    assert crs.ppv_by_grade["2"].denominator == 3 and crs.ppv_by_grade["3"].numerator == 1
    assert crs.ppv_significant.numerator == 1
    assert report.patients == 3 and report.patient_days == 3 * 12 / 24
    assert abs(report.incidents_per_patient_day - 3 / 1.5) < 1e-9
    assert report.policy["risks"]["crs"]["trigger_grade"] == 2
    assert report.settings["early_window_ms"] == 6 * HOUR_MS
    text = format_report(report)
    assert "| crs |" in text and "33% (1/3)" in text


def test_early_window_decides_true_or_false() -> None:
    data = {"p1": hourly("p1", [2, 2, 0, 0, 0, 0, 0, 0, 0, 0])}
    labels = [label("p1", 8, 9, 2)]
    tight = evaluate_burden(data, labels, CONFIG, BurdenSettings(early_window_ms=HOUR_MS))
    loose = evaluate_burden(data, labels, CONFIG, BurdenSettings(early_window_ms=12 * HOUR_MS))
    assert tight.risks["crs"].ppv.value == 0.0
    assert loose.risks["crs"].ppv.value == 1.0 and loose.risks["crs"].median_lead_time_h == 8.0


def test_read_labels_csv(tmp_path: object) -> None:
    text = (
        "patient_id,complication,onset_ms,peak_grade,resolution_ms,cycle,onset_day,peak_ms\n"
        "sim-1,crs,1000,2,5000,1,2,3000\n"
        "sim-2,icans,2000,3,9000,1,8,\n"
    )
    rows = read_labels(text)
    assert rows[0] == LabelRow(
        patient_id="sim-1",
        complication="crs",
        onset_ms=1000,
        peak_grade=2,
        resolution_ms=5000,
        cycle=1,
        onset_day=2,
        peak_ms=3000,
    )
    assert rows[1].peak_ms is None

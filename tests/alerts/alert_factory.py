"""Alert records made the way the worker makes them: policy transitions + record builder."""

from __future__ import annotations

from alerts.config import config_fingerprint
from alerts.policy import acknowledge, step, tick
from alerts.record import AlertRecord, build_alert_record
from alerts.state import Acknowledgement, AlertState, Transition
from contract.events import InputRef
from features.snapshot import Timeline
from tests.alerts.helpers import PATIENT, TEST_CONFIG, assess, at

SECRET = b"site-secret-for-tests-0123456789"


def record(t: Transition, st: AlertState, minutes: float, grade: int | None) -> AlertRecord:
    return build_alert_record(
        t,
        st,
        patient_ref=f"Patient/{PATIENT}",
        encounter_ref="Encounter/E-991",
        emit_ms=t.time_ms + 250,
        id_secret=SECRET,
        policy_version=config_fingerprint(TEST_CONFIG),
        assessment=assess(minutes, grade, evidence=True),
        timeline=Timeline(cycle=1, infusion_day=2, on_infusion=True, dose_ug_per_day=9.0),
        inputs=(InputRef("ews.events", 3, 1200 + t.seq),),
        link_base="https://ews.hospital.example/",
    )


def incident() -> list[AlertRecord]:
    """Trigger (grade 2), escalation (grade 3), acknowledgement, resolution of one episode."""
    out: list[AlertRecord] = []
    st, tr = step(None, assess(0, 2, evidence=True), at(0), TEST_CONFIG)
    out += [record(t, st, 0, 2) for t in tr]
    st, tr = step(st, assess(10, 3, evidence=True), at(10), TEST_CONFIG)
    out += [record(t, st, 10, 3) for t in tr]
    st, tr = acknowledge(st, Acknowledgement(by="rn-204", at_ms=at(15)), at(15), TEST_CONFIG)
    out += [record(t, st, 15, 3) for t in tr]
    st, tr = step(st, assess(20, 0), at(20), TEST_CONFIG)
    st, tr = tick(st, at(100), TEST_CONFIG)
    out += [record(t, st, 100, 0) for t in tr]
    return out

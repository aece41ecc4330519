"""An alert's picture drawn from the patient's stored state (what the worker serves)."""

from __future__ import annotations

import io

import pytest
from matplotlib import image as mpimg

from alerts.config import DEFAULT_POLICY
from alerts.picture import picture_history, render_from_state
from alerts.record import AlertRecord
from contract.codemap import default_codemap
from contract.events import InputRef, Observation
from ews.demo import encode_message
from ews.settings import Settings
from features.snapshot import Snapshot
from scoring.risk import RiskAssessment
from simulator.config import CohortConfig
from simulator.stream import Cohort
from streams.alerting import Alerting
from streams.ingest import Ingestor, limits_from
from streams.pipeline import InMessage, PatientRecord, Pipeline, decode_record, encode_record
from streams.topics import INPUT_TOPICS


def _simulated_alert() -> tuple[PatientRecord, PatientRecord, AlertRecord]:
    """Stream simulated patients through the worker's pipeline until one alerts with a
    grade; the patient's stored record just after the alert and 12 h later."""
    clock = [0.0]
    pipeline = Pipeline(
        Ingestor(default_codemap(), limits_from(Settings())),
        alerting=Alerting(DEFAULT_POLICY, models=None, id_secret=b"picture-test"),
        clock=lambda: clock[0],
    )
    cohort = Cohort(CohortConfig(n_patients=6, seed=3))
    for index in range(6):
        patient = cohort.patient(index)
        records: dict[str, PatientRecord] = {}
        alert: AlertRecord | None = None
        at_alert = b""
        for n, msg in enumerate(patient.messages):
            topic, key, body = encode_message(msg)
            clock[0] = msg.arrival_ms / 1000
            ref = InputRef(topic, 0, n)
            out = pipeline.process(
                [InMessage(INPUT_TOPICS[topic], ref, key.encode(), body)], records.get
            )
            records.update(out.touched)
            for a in out.alerts:
                if alert is None and a.transition == "triggered" and a.grade:
                    alert = a
                    at_alert = encode_record(records[patient.patient_id])
            if alert is not None and msg.arrival_ms > alert.event_ms + 12 * 3_600_000:
                break
        if alert is not None:
            # The records as the table stores them.
            later = decode_record(encode_record(records[patient.patient_id]))
            return decode_record(at_alert), later, alert
    pytest.fail("no simulated patient alerted")


def test_picture_is_drawn_from_the_stored_state() -> None:
    record, later, alert = _simulated_alert()
    history, infusion = picture_history(record.state, alert)
    observations = [h for h in history if isinstance(h, Observation)]
    snapshots = [h for h in history if isinstance(h, Snapshot)]
    grades = [h for h in history if isinstance(h, RiskAssessment)]
    assert observations and snapshots and infusion
    assert all(alert.event_ms - 48 * 3_600_000 <= h.time_ms for h in history)
    # The grade line is the rule grade recomputed from the state by the stream's own code:
    # at the alert's time it is the alert's grade, before it below the trigger.
    at = {g.time_ms: g.grade for g in grades}
    assert at[alert.event_ms] == alert.grade
    trigger = DEFAULT_POLICY.risks[alert.risk].trigger_grade or 0
    assert min(g or 0 for t, g in at.items() if t < alert.event_ms) < trigger
    assert {g.risk for g in grades} == {alert.risk}
    png = render_from_state(record.state, alert)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    assert pixels.shape[0] > 400 and pixels.shape[1] > 800
    # Later the state has moved on (and may hold corrected values): still drawn.
    assert render_from_state(later.state, alert)[:4] == b"\x89PNG"
    # No patient identifier is drawn: the text on the image is built from the alert record
    # without its patient reference (checked on the record fields the title uses).
    assert record.state.patient_id not in alert.reason

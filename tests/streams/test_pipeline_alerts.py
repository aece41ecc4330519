"""The pipeline turns scored snapshots and clinician commands into alert records."""

from __future__ import annotations

import msgspec

from adapters.limits import Limits
from alerts.config import DEFAULT_POLICY
from contract.codemap import default_codemap
from contract.events import InputRef, decode_deadletter
from streams.alerting import AlertCommand, Alerting
from streams.ingest import Ingestor
from streams.pipeline import InMessage, PatientRecord, Pipeline
from tests.adapters import samples as s

H = 3_600_000
P = s.PATIENT


def _pipeline() -> Pipeline:
    alerting = Alerting(DEFAULT_POLICY, models=None, id_secret=b"test-secret")
    return Pipeline(
        Ingestor(default_codemap(), Limits()),
        alerting=alerting,
        clock=lambda: (s.EVENT_MS + 30 * H) / 1000,
    )


def _crs_grade3_course() -> list[bytes]:
    t0 = s.EVENT_MS
    events = [
        s.json_event("infusion", action="start", cycle=1, dose_ug_per_day=9.0, time_ms=t0),
        s.json_observation(signal="temp", value=39.1, unit="Cel", obs_id="t1", time_ms=t0 + 20 * H),
        s.json_observation(signal="sbp", value=82, unit="mm[Hg]", obs_id="b1", time_ms=t0 + 21 * H),
        s.json_event("vasopressor", count=1, time_ms=t0 + 21 * H + 60_000),
    ]  # fmt: skip
    return [s.encode(s.json_batch([e], msg_id=f"m{i}")) for i, e in enumerate(events)]


def _run(pipeline: Pipeline, records: dict[str, PatientRecord], msgs: list[InMessage]):  # type: ignore[no-untyped-def]
    out = pipeline.process(msgs, records.get)
    records.update(out.touched)
    return out


def test_a_crs_course_triggers_at_grade_2_and_escalates_at_grade_3() -> None:
    pipeline, records = _pipeline(), {}
    alerts = []
    for i, body in enumerate(_crs_grade3_course()):
        out = _run(
            pipeline, records, [InMessage("json", InputRef("in.json", 0, i), P.encode(), body)]
        )
        alerts.extend(out.alerts)
    crs = [a for a in alerts if a.risk == "crs"]
    # Fever alone is grade 1; hypotension makes it 2 (trigger); a vasopressor 3 (escalation).
    assert [(a.transition, a.grade) for a in crs] == [("triggered", 2), ("escalated", 3)]
    assert crs[0].dedup_key == crs[1].dedup_key  # same incident
    alert = crs[1]
    assert any("ASTCT" in c for c in alert.criteria)
    assert alert.cycle == 1 and alert.infusion_day is not None
    assert alert.inputs  # the offsets behind it, for replay
    assert P not in alert.dedup_key  # opaque


def test_an_acknowledgement_on_the_acks_topic_acknowledges_the_open_alert() -> None:
    pipeline, records = _pipeline(), {}
    for i, body in enumerate(_crs_grade3_course()):
        _run(pipeline, records, [InMessage("json", InputRef("in.json", 0, i), P.encode(), body)])
    ack = AlertCommand(
        kind="acknowledge",
        patient_id=P,
        risk="crs",
        by="nurse-17",
        at_ms=s.EVENT_MS + 21 * H + 600_000,
    )
    msg = InMessage("command", InputRef("acks", 0, 0), P.encode(), msgspec.json.encode(ack))
    out = _run(pipeline, records, [msg])
    assert [(a.risk, a.transition, a.status) for a in out.alerts] == [
        ("crs", "acknowledged", "acknowledged")
    ]
    assert out.audit and out.audit[0].actor == "nurse-17"


def test_a_bad_command_is_dead_lettered_with_its_reason() -> None:
    pipeline, records = _pipeline(), {}
    wrong_patient = msgspec.json.encode(
        AlertCommand(kind="acknowledge", patient_id="other", risk="crs", by="x", at_ms=1)
    )
    out = _run(
        pipeline,
        records,
        [
            InMessage("command", InputRef("acks", 0, 0), P.encode(), b"{not json"),
            InMessage("command", InputRef("acks", 0, 1), P.encode(), wrong_patient),
        ],
    )
    reasons = [decode_deadletter(v).reason for _, v, _, _ in out.deadletters]
    assert reasons == ["malformed", "schema"]
    assert out.alerts == [] and records == {}

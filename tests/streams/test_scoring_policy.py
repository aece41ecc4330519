"""When a patient is re-scored: the cadence rules of ``ScoringPolicy`` at their edges."""

from __future__ import annotations

import pytest

from adapters.limits import Limits
from contract.codemap import default_codemap
from contract.events import InputRef, Observation
from streams.ingest import Ingestor
from streams.pipeline import InMessage, PatientRecord, Pipeline, ScoringPolicy, scoring_trigger
from tests.adapters import samples as s

MIN = 60_000
POLICY = ScoringPolicy(interval_ms=15 * MIN, abnormal_interval_ms=MIN)


def _vital(signal: str, value: float) -> Observation:
    return Observation(
        patient_id="p",
        time_ms=0,
        source="json",
        source_msg_id="m",
        signal=signal,
        value=value,
        unit="x",
        obs_id=f"{signal}{value}",
    )


@pytest.mark.parametrize(
    ("signal", "value", "trigger"),
    [
        ("hr", 90.0, "vitals"),  # NEWS2 zero band 51-90: edges are normal
        ("hr", 51.0, "vitals"),
        ("hr", 91.0, "abnormal"),
        ("hr", 50.0, "abnormal"),
        ("temp", 38.0, "vitals"),
        ("temp", 38.1, "abnormal"),
        ("spo2", 96.0, "vitals"),
        ("spo2", 95.0, "abnormal"),
        ("sbp", 110.0, "abnormal"),
        ("map", 40.0, "vitals"),  # no NEWS2 band: a vital sign, scored on the cadence
        ("crp", 5.0, "event"),  # any non-vital observation is scored at once
    ],
)
def test_trigger_of_one_observation(signal: str, value: float, trigger: str) -> None:
    assert scoring_trigger([_vital(signal, value)]) == trigger


def test_any_non_vital_event_makes_the_batch_an_event() -> None:
    assert scoring_trigger([_vital("hr", 70.0), _vital("hr", 120.0)]) == "abnormal"
    assert scoring_trigger([_vital("hr", 120.0), _vital("wbc", 12.0)]) == "event"


def test_known_patient_cadence_edges() -> None:
    assert POLICY.due(0, 15 * MIN, "vitals")
    assert not POLICY.due(0, 15 * MIN - 1, "vitals")
    assert POLICY.due(0, MIN, "abnormal")
    assert not POLICY.due(0, MIN - 1, "abnormal")
    assert POLICY.due(0, 1, "event")


def test_new_patient_scored_at_once_on_an_event_or_abnormal_vital() -> None:
    assert POLICY.due(None, 0, "event")
    assert POLICY.due(None, 0, "abnormal")


def test_new_patient_with_normal_vitals_waits_for_the_cadence_from_its_first_change() -> None:
    assert not POLICY.due(None, 0, "vitals")  # nothing unscored recorded yet
    assert not POLICY.due(None, 15 * MIN - 1, "vitals", unscored_since_ms=0)
    assert POLICY.due(None, 15 * MIN, "vitals", unscored_since_ms=0)


def _message(i: int, signal: str, value: float, unit: str, minute: float) -> InMessage:
    obs = s.json_observation(
        signal=signal,
        value=value,
        unit=unit,
        obs_id=f"o{i}",
        time_ms=s.EVENT_MS + int(minute * MIN),
    )
    body = s.encode(s.json_batch([obs], msg_id=f"m{i}"))
    return InMessage("json", InputRef("ews.in.json", 0, i), s.PATIENT.encode(), body)


def test_pipeline_defers_a_new_patients_normal_vitals_and_scores_abnormal_ones_at_once() -> None:
    pipeline = Pipeline(
        Ingestor(default_codemap(), Limits()),
        scoring=POLICY,
        clock=lambda: (s.EVENT_MS + 3_600_000) / 1000,
    )
    records: dict[str, PatientRecord] = {}

    def run(msg: InMessage) -> list[int]:
        out = pipeline.process([msg], records.get)
        records.update(out.touched)
        return [x.snapshot.time_ms - s.EVENT_MS for x in out.scored]

    assert run(_message(0, "hr", 72, "/min", 0)) == []  # normal: waits for the cadence
    assert records[s.PATIENT].unscored_since_ms == s.EVENT_MS
    assert run(_message(1, "hr", 75, "/min", 14.99)) == []
    assert run(_message(2, "hr", 74, "/min", 15)) == [15 * MIN]  # cadence from the first change
    assert records[s.PATIENT].unscored_since_ms is None

    other = Pipeline(Ingestor(default_codemap(), Limits()), scoring=POLICY)
    fresh: dict[str, PatientRecord] = {}
    out = other.process([_message(0, "hr", 130, "/min", 0)], fresh.get)
    assert [x.snapshot.time_ms for x in out.scored] == [s.EVENT_MS]  # abnormal: at once


def test_a_zero_interval_scores_every_change_as_offline_replay_needs() -> None:
    every = ScoringPolicy(interval_ms=0, abnormal_interval_ms=0)
    assert every.due(None, 0, "vitals")
    assert every.due(0, 0, "vitals")

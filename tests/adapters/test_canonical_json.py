"""The service's own JSON: single events and batches, through normalize."""

from __future__ import annotations

from typing import Any

import pytest

from contract.events import (
    InfusionEvent,
    NeuroAssessment,
    Observation,
    PatientContext,
    Retraction,
)
from contract.events import (
    encode as encode_event,
)
from contract.reasons import Reason
from tests.adapters.samples import (
    EVENT_MS,
    PATIENT,
    encode,
    json_batch,
    json_event,
    json_observation,
    run,
)


def js(document: Any, **kwargs: Any) -> Any:
    return run("json", encode(document), **kwargs)


def test_single_observation_by_signal() -> None:
    result = js(json_observation())
    assert (result.outcome, result.patient_id, result.source_msg_id) == (
        "accepted",
        PATIENT,
        "j-msg-1",
    )
    (obs,) = result.events
    assert isinstance(obs, Observation)
    assert (obs.signal, obs.value, obs.unit, obs.obs_id, obs.time_ms) == (
        "hr",
        80.0,
        "/min",
        "j-obs-1",
        EVENT_MS,
    )


def test_round_trip_of_an_encoded_event() -> None:
    event = Observation(
        patient_id=PATIENT,
        time_ms=EVENT_MS,
        source="simulator",
        source_msg_id="s-1",
        signal="temp",
        value=38.4,
        unit="Cel",
        obs_id="o-1",
        status="amended",
        comparator=">",
        code="http://loinc.org|8310-5",
        ref_low=36.0,
        ref_high=38.0,
    )
    result = run("json", encode_event(event))
    assert result.events == (event,)
    assert result.outcome == "corrected"


def test_observation_by_code_with_conversion() -> None:
    result = js(
        json_observation(signal=None, code="http://loinc.org|8310-5", value=100.4, unit="[degF]")
    )
    (obs,) = result.events
    assert obs.signal == "temp" and obs.value == pytest.approx(38.0)
    assert obs.code == "http://loinc.org|8310-5"


def test_signal_and_code_must_agree() -> None:
    result = js(json_observation(signal="rr", code="http://loinc.org|8867-4"))
    assert result.rejects[0].reason is Reason.SCHEMA


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"signal": "nope"}, Reason.UNKNOWN_CODE),
        ({"signal": None, "code": "http://loinc.org|0000-0"}, Reason.UNKNOWN_CODE),
        ({"signal": None}, Reason.SCHEMA),
        ({"unit": None}, Reason.MISSING_UNIT),
        ({"unit": "kg"}, Reason.WRONG_UNIT),
        ({"value": "80"}, Reason.NON_NUMERIC),
        ({"value": True}, Reason.NON_NUMERIC),
        ({"value": None}, Reason.MISSING_VALUE),
        ({"value": 301}, Reason.IMPLAUSIBLE),
        ({"value": 9.99}, Reason.IMPLAUSIBLE),
        ({"time_ms": "noon"}, Reason.BAD_TIME),
        ({"time_ms": EVENT_MS + 3_600_000 + 300_001}, Reason.BAD_TIME),
        ({"status": "entered-in-error"}, Reason.SCHEMA),
        ({"comparator": "~"}, Reason.SCHEMA),
        ({"source": "fax"}, Reason.SCHEMA),
    ],
)
def test_observation_rejects(change: dict[str, Any], reason: Reason) -> None:
    result = js(json_observation(**change))
    assert result.outcome == "rejected"
    assert [(r.reason, r.item) for r in result.rejects] == [(reason, 0)]


def test_plausible_bounds_are_inclusive() -> None:
    assert js(json_observation(value=10)).outcome == "accepted"
    assert js(json_observation(value=300)).outcome == "accepted"


def test_batch_fills_patient_source_and_message_id() -> None:
    batch = json_batch(
        [
            {
                "kind": "observation",
                "signal": "temp",
                "value": 38.9,
                "unit": "Cel",
                "obs_id": "t1",
                "time_ms": EVENT_MS,
            },
            {
                "kind": "infusion",
                "action": "start",
                "cycle": 1,
                "dose_ug_per_day": 9,
                "time_ms": EVENT_MS,
            },
            {"kind": "neuro", "ice_score": 7, "consciousness": "drowsy", "time_ms": EVENT_MS},
            {"kind": "context", "age_years": 44, "sex": "female", "time_ms": EVENT_MS},
            {"kind": "retraction", "signal": "temp", "obs_id": "t0", "time_ms": EVENT_MS},
        ]
    )
    result = js(batch)
    assert result.rejects == ()
    assert result.outcome == "retracted"
    assert [type(e) for e in result.events] == [
        Observation,
        InfusionEvent,
        NeuroAssessment,
        PatientContext,
        Retraction,
    ]
    assert all(
        e.patient_id == PATIENT and e.source == "json" and e.source_msg_id == "batch-1"
        for e in result.events
    )


def test_batch_item_rejects_keep_their_index() -> None:
    batch = json_batch(
        [
            {
                "kind": "observation",
                "signal": "hr",
                "value": 70,
                "unit": "/min",
                "obs_id": "a",
                "time_ms": EVENT_MS,
            },
            {"kind": "infusion", "action": "explode", "cycle": 1, "time_ms": EVENT_MS},
            {
                "kind": "observation",
                "signal": "hr",
                "value": 70,
                "unit": "/min",
                "obs_id": "c",
                "time_ms": EVENT_MS,
                "patient_id": "other",
            },
            "not an object",
            {"kind": "retraction", "signal": "zzz", "obs_id": "x", "time_ms": EVENT_MS},
            {"kind": "neuro", "ice_score": 11, "time_ms": EVENT_MS},
        ]
    )
    result = js(batch)
    assert [e.obs_id for e in result.events if isinstance(e, Observation)] == ["a"]
    assert [(r.reason, r.item) for r in result.rejects] == [
        (Reason.SCHEMA, 1),
        (Reason.PATIENT_MISMATCH, 2),
        (Reason.SCHEMA, 3),
        (Reason.UNKNOWN_CODE, 4),
        (Reason.SCHEMA, 5),
    ]
    assert "action" in result.rejects[0].detail  # msgspec's message names the field


def test_other_kind_time_window() -> None:
    event = json_event("vasopressor", count=1, time_ms=EVENT_MS + 10 * 3_600_000)
    assert js(event).rejects[0].reason is Reason.BAD_TIME


def test_batch_shape_errors() -> None:
    assert js({"events": []}).rejects[0].reason is Reason.SCHEMA
    assert (
        js({"msg_id": "m", "patient_id": PATIENT, "events": {}}).rejects[0].reason is Reason.SCHEMA
    )
    assert js({"hello": 1}).rejects[0].reason is Reason.SCHEMA
    assert js([1, 2]).rejects[0].reason is Reason.SCHEMA
    empty = js(json_batch([]))
    assert empty.outcome == "rejected" and empty.rejects[0].reason is Reason.SCHEMA


def test_batch_without_patient() -> None:
    result = js({"msg_id": "m", "events": []})
    assert result.rejects[0].reason is Reason.MISSING_PATIENT_ID
    assert result.source_msg_id == "m"


def test_too_many_batch_events() -> None:
    events = [json_observation(obs_id=f"o{i}") for i in range(501)]
    assert js(json_batch(events)).rejects[0].reason is Reason.TOO_COMPLEX

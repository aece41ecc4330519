"""The pipeline's fast paths change nothing it produces, end to end.

Three shortcuts serve the monitor-frame workload: the JSON adapter's frame decoder
(``adapters.canonical_json.parse_frame``), ``PatientState.apply``'s in-order observation
path and the snapshot's plan without absent signals (``features.compute._plan_without``).
Each has its own test against its general path; this one runs whole batches twice, with
the shortcuts and with all three routed to their general paths, and compares every output:
canonical records, dead letters, counters, scored assessments, alerts, audit records and
the stored patient records, byte for byte.

The inputs are a simulated cohort (JSON, FHIR and HL7 feeds with labs, treatments and
alerts) and the load test's monitor frames, with frames mixed in that the shortcuts must
leave to the general paths: corrections, late and out-of-order frames, duplicates,
retractions of what was sent, frames with a bad item, and other patients' events.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache
from typing import Any

import msgspec
import pytest

import adapters.canonical_json as canonical_json
import features.compute as compute
import features.state as state_module
from contract.events import InputRef
from ews.settings import Settings
from faults.oracle import cohort
from load_tests.workload import Workload, iter_messages, template_frames
from streams.app import Service
from streams.pipeline import BatchResult, InMessage, PatientRecord, Pipeline, encode_record
from streams.topics import INPUT_TOPICS

_NOW_MS = 1_780_000_000_000


@cache
def _pipeline() -> Pipeline:
    pipeline = Service(Settings(app_id="fast-paths")).pipeline
    pipeline.clock = lambda: _NOW_MS / 1000  # the same receive time in both runs
    return pipeline


def _cohort_messages() -> list[InMessage]:
    return [
        InMessage(INPUT_TOPICS[m.logical], InputRef("in.json", 0, i), m.key, m.value)
        for i, m in enumerate(cohort(3, 5, now_ms=_NOW_MS))
    ]


def _frame_messages(seed: int) -> list[InMessage]:
    """Monitor frames of 6 patients (1 Hz, 20 minutes), with the exceptions mixed in."""
    rng = random.Random(seed)
    workload = Workload(patients=6, messages=6 * 1200, obs_per_message=8)
    start = _NOW_MS - 1_300_000
    frames = list(iter_messages(workload, template_frames(), start_ms=start))
    out: list[tuple[str, bytes]] = []
    for key, value in frames:
        roll = rng.random()
        if roll < 0.01:  # a redelivery (a duplicate) a little later
            out.append((key, value))
        elif roll < 0.02:  # an amended copy of this frame (corrections take the long way)
            amended = value.replace(b'"source":"json"', b'"status":"amended","source":"json"')
            out.append((key, amended))
        elif roll < 0.03 and out:  # a frame sent again out of order
            out.insert(rng.randrange(len(out)), (key, value))
        elif roll < 0.035:  # a frame two days late (too late for the lateness bound)
            doc = msgspec.json.decode(value)
            for event in doc["events"]:
                event["time_ms"] -= 49 * 3_600_000
            out.append((key, msgspec.json.encode(doc)))
        elif roll < 0.04:  # one item bad (implausible) or naming another patient
            doc = msgspec.json.decode(value)
            event = rng.choice(doc["events"])
            if rng.random() < 0.5:
                event["value"] = 1e6
            else:
                event["patient_id"] = "someone-else"
            out.append((key, msgspec.json.encode(doc)))
        elif roll < 0.045:  # a retraction of one of the frame's observations
            doc = msgspec.json.decode(value)
            event = rng.choice(doc["events"])
            retraction = {
                "kind": "retraction",
                "signal": event["signal"],
                "obs_id": event["obs_id"],
                "time_ms": event["time_ms"],
            }
            doc["events"] = [*doc["events"], retraction]
            out.append((key, msgspec.json.encode(doc)))
        out.append((key, value))
    return [
        InMessage("json", InputRef("in.json", 1, i), key.encode(), value)
        for i, (key, value) in enumerate(out)
    ]


def _run(messages: Sequence[InMessage], batch: int) -> dict[str, Any]:
    pipeline = _pipeline()
    table: dict[str, bytes] = {}
    records: dict[str, PatientRecord] = {}
    summary: dict[str, Any] = {
        k: [] for k in ("canonical", "deadletters", "counters", "scored", "alerts", "audit")
    }
    for i in range(0, len(messages), batch):
        result: BatchResult = pipeline.process(messages[i : i + batch], records.get)
        summary["canonical"].append(result.canonical)
        summary["deadletters"].append(result.deadletters)
        summary["counters"].append(
            (
                list(result.outcomes.items()),
                list(result.events_in.items()),
                list(result.rejected.items()),
                list(result.state_outcomes.items()),
                result.newest_event_ms,
                [
                    (p, [(s.ref, s.at_ms, s.treatments) for s in steps])
                    for p, steps in result.steps.items()
                ],
            )
        )
        summary["scored"].append(
            [msgspec.msgpack.encode((s.snapshot, s.assessment, s.risks)) for s in result.scored]
        )
        summary["alerts"].append([msgspec.msgpack.encode(a) for a in result.alerts])
        summary["audit"].append([msgspec.msgpack.encode(a) for a in result.audit])
        for patient, record in result.touched.items():
            table[patient] = encode_record(record)
            records[patient] = msgspec.msgpack.decode(table[patient], type=PatientRecord)
    summary["table"] = table
    return summary


def _general_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canonical_json, "parse_frame", lambda text, ctx: None)
    monkeypatch.setattr(state_module, "_IN_ORDER_STATUSES", frozenset())
    monkeypatch.setattr(compute, "_PLAN_SIGNALS", frozenset())


@pytest.mark.parametrize("inputs", ["cohort", "frames"])
def test_the_fast_paths_change_no_output(inputs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = _cohort_messages() if inputs == "cohort" else _frame_messages(seed=7)
    fast = _run(messages, batch=50)
    assert fast["scored"] and any(fast["scored"])  # snapshots were scored on the way
    _general_paths(monkeypatch)
    slow = _run(messages, batch=50)
    for key in fast:
        assert fast[key] == slow[key], key


def test_the_frames_take_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above means something: the shortcuts are taken for most frames."""
    calls = {"frame": 0, "frame_taken": 0}
    parse_frame = canonical_json.parse_frame

    def counting(text: str, ctx: Any) -> Any:
        result = parse_frame(text, ctx)
        calls["frame"] += 1
        calls["frame_taken"] += result is not None
        return result

    monkeypatch.setattr(canonical_json, "parse_frame", counting)
    messages = _frame_messages(seed=7)
    _run(messages, batch=50)
    assert calls["frame"] == len(messages)
    assert calls["frame_taken"] > 0.9 * len(messages)
    assert calls["frame_taken"] < len(messages)  # and the exceptions went the long way

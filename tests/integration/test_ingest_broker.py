"""Ingestion through the real broker and a real worker process.

Valid FHIR, HL7 v2 and JSON messages must arrive canonical on the canonical topic; every kind
of bad input must land in the dead-letter topic with its reason, while valid messages on the
same partition (same patient key) behind it still get through.
"""

from __future__ import annotations

import re

import pytest

from contract.events import decode_deadletter, decode_record
from streams.process import read_topics
from streams.publish import Publisher
from tests.adapters import samples as s
from tests.integration.conftest import Deployment

pytestmark = [pytest.mark.broker, pytest.mark.slow]

P = s.PATIENT
KEY = P.encode()


def _messages() -> list[tuple[str, bytes | None, bytes, str]]:
    """(input topic, key, bytes, expected outcome or dead-letter reason), in send order."""
    oversized = s.encode(s.json_batch([s.json_observation(obs_id=f"o{i}") for i in range(200)]))
    assert len(oversized) > 4096
    fhir, js, hl7 = "in.fhir", "in.json", "in.hl7v2"
    enc = s.encode
    return [
        (fhir, KEY, enc(s.fhir_observation(id="ok-fhir-1")), "accepted"),
        (js, KEY, b'{"kind": "observation", "patient_id": ', "malformed"),
        (hl7, KEY, s.hl7_oru(msg_id="HL7-1"), "accepted"),
        (fhir, KEY, enc(s.fhir_observation(id="bad-code", code="99999-9")), "unknown_code"),
        (js, KEY, enc(s.json_observation(signal="spo2", value=140, unit="%")), "implausible"),
        (js, KEY, enc(s.json_observation(obs_id="hr-neg", value=-5)), "implausible"),
        (fhir, KEY, enc(s.fhir_observation(id="bad-unit", unit="mg/L")), "wrong_unit"),
        (fhir, KEY, enc(s.fhir_observation(id="no-unit", unit=None)), "missing_unit"),
        (js, KEY, enc(s.json_observation(patient=None, obs_id="nop")), "missing_patient_id"),
        (js, KEY, oversized, "oversized"),
        (js, KEY, b"\xff\xfe\x00garbage\xc3\x28", "not_utf8"),
        (js, KEY, enc(s.json_batch([s.json_observation(obs_id="b1")])), "accepted"),
        (hl7, KEY, s.hl7_oru(msg_id="HL7-1"), "duplicate"),
        (fhir, KEY, enc(s.fhir_bp_panel(id="bp-ok")), "accepted"),
        (
            fhir,
            KEY,
            enc(s.fhir_observation(id="ok-fhir-1", status="entered-in-error")),
            "retracted",
        ),
        (js, None, enc(s.json_observation(obs_id="nokey")), "missing_key"),
        (fhir, KEY, enc(s.fhir_observation(id="ok-fhir-2", value=95)), "accepted"),
    ]


def test_inputs_arrive_canonical_or_dead_lettered(deployment: Deployment) -> None:
    worker = deployment.start_worker()
    messages = _messages()
    with Publisher(deployment.settings) as pub:
        for topic, key, data, _ in messages:
            pub.send(topic, key, data)

    records = read_topics(
        deployment.broker.bootstrap,
        [deployment.topic("canonical"), deployment.topic("deadletter")],
        until=lambda rs: len(rs) >= len(messages),
        timeout_s=90,
    )
    canonical = [decode_record(v) for t, _, v in records if t.endswith(".canonical")]
    letters = [decode_deadletter(v) for t, _, v in records if t.endswith(".deadletter")]
    assert len(canonical) + len(letters) == len(messages)

    # Each input message is accounted for exactly once, identified by its input offset.
    outcome_at: dict[tuple[str, int, int], str] = {}
    for rec in canonical:
        assert rec.input is not None
        outcome_at[(rec.input.topic, rec.input.partition, rec.input.offset)] = rec.outcome
    for dl in letters:
        assert dl.input is not None
        outcome_at[(dl.input.topic, dl.input.partition, dl.input.offset)] = dl.reason
    assert len(outcome_at) == len(messages)

    expected = sorted(e for *_, e in messages)
    assert sorted(outcome_at.values()) == expected

    # Dead letters carry the original bytes and a readable detail.
    by_reason = {dl.reason: dl for dl in letters}
    assert by_reason["not_utf8"].original == b"\xff\xfe\x00garbage\xc3\x28"
    assert by_reason["implausible"].detail
    assert by_reason["missing_key"].key is None

    # Valid messages behind bad ones on the same partition still got through, canonical.
    accepted = [r for r in canonical if r.outcome == "accepted"]
    assert {r.source for r in accepted} == {"fhir", "hl7v2", "json"}
    bp = next(r for r in accepted if r.source_msg_id == "bp-ok")
    assert sorted(e.signal for e in bp.events) == ["dbp", "sbp"]  # type: ignore[union-attr]
    last = next(r for r in accepted if r.source_msg_id == "ok-fhir-2")
    assert last.events[0].value == 95  # type: ignore[union-attr]
    assert all(r.patient_id == P for r in canonical)

    # The worker counted every outcome on its metrics endpoint, with no patient labels.
    status, body = worker.get("/metrics")
    assert status == 200
    text = body.decode()
    total = sum(
        float(v)
        for v in re.findall(r"^ews_ingest_messages_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
    )
    assert total == len(messages)
    assert P not in text

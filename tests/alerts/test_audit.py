"""The audit trail records causes and inputs, serializes, and detects tampering on replay."""

from __future__ import annotations

import msgspec
import pytest

from alerts.audit import (
    AuditRecord,
    AuditReplayError,
    SuppressCommand,
    audited_acknowledge,
    audited_step,
    audited_suppress,
    audited_tick,
    decode_audit,
    encode_audit,
    replay_audit,
)
from alerts.state import Acknowledgement, AlertState
from contract.events import InputRef
from tests.alerts.helpers import PATIENT, TEST_CONFIG, assess, at

C = TEST_CONFIG


def trail() -> tuple[list[AuditRecord], AlertState]:
    records: list[AuditRecord] = []
    st: AlertState | None = None
    for m, g in [(0, 0), (5, 0), (10, 2), (15, 2), (20, 3)]:
        res = audited_step(st, assess(m, g), at(m), C, inputs=(InputRef("ews.events", 0, m),))
        st = res.state
        if res.record is not None:
            records.append(res.record)
    assert st is not None
    res = audited_acknowledge(st, Acknowledgement(by="rn-3", at_ms=at(25)), at(25), C)
    assert res.record is not None
    records.append(res.record)
    res = audited_suppress(
        res.state, SuppressCommand(reason="icu_transfer", until_ms=at(300), by="md-2"), at(30), C
    )
    assert res.record is not None
    records.append(res.record)
    res = audited_tick(res.state, at(301), C)
    assert res.record is not None
    records.append(res.record)
    return records, res.state


def test_records_name_causes_and_inputs() -> None:
    records, final = trail()
    ops = [r.operation for r in records]
    # (5, 0) changed nothing and is not recorded; (15, 2) moved the last-active time.
    assert ops == [
        "assessment",
        "assessment",
        "assessment",
        "assessment",
        "acknowledge",
        "suppress",
        "tick",
    ]
    trig = records[1]
    assert trig.assessment is not None and trig.assessment.grade == 2
    assert trig.inputs == (InputRef("ews.events", 0, 10),)
    assert [t.kind for t in trig.transitions] == ["triggered"]
    assert trig.transitions[0].cause == "rule"
    assert records[2].transitions == ()
    assert records[4].actor == "rn-3" and records[4].transitions[0].cause == "acknowledgement"
    assert records[5].transitions[0].cause == "suppression"
    assert records[5].transitions[0].actor == "md-2"
    # the suppression ends; the review reminder it held back (no improvement) fires then
    assert [(t.kind, t.cause) for t in records[6].transitions] == [
        ("unsuppressed", "time"),
        ("renotified", "time"),
    ]
    assert all(r.patient_id == PATIENT and r.risk == "crs" for r in records)
    decoded = [decode_audit(encode_audit(r)) for r in records]
    assert decoded == records
    assert replay_audit(decoded, C) == {(PATIENT, "crs"): final}


def test_replay_detects_tampering() -> None:
    records, _ = trail()
    forged = list(records)
    a = forged[1].assessment
    assert a is not None
    forged[1] = msgspec.structs.replace(forged[1], assessment=msgspec.structs.replace(a, grade=4))
    with pytest.raises(AuditReplayError, match="record 1"):
        replay_audit(forged, C)
    dropped = records[:1] + records[2:]
    with pytest.raises(AuditReplayError):
        replay_audit(dropped, C)
    other = msgspec.structs.replace(C, max_renotifications=5)
    with pytest.raises(AuditReplayError, match="configuration"):
        replay_audit(records, other)

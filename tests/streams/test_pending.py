"""Changed patient records wait for the next commit (streams/pending.py)."""

from __future__ import annotations

from features.state import PatientState
from streams.pending import PendingRecords
from streams.pipeline import PatientRecord


def _record(patient: str) -> PatientRecord:
    return PatientRecord(state=PatientState(patient_id=patient))


def test_the_newest_change_of_a_patient_is_written_once() -> None:
    pending = PendingRecords()
    first, second = _record("p1"), _record("p1")
    pending.put(b"p1", first, "event-1")
    pending.put(b"p1", second, "event-2")
    pending.put(b"p2", _record("p2"), "event-3")
    assert len(pending) == 2
    assert pending.get(b"p1") is second and pending.get(b"p3") is None
    taken = pending.take()
    assert taken[b"p1"] == (second, "event-2")  # the event of the patient's last message
    assert len(pending) == 0 and pending.get(b"p1") is None
    assert pending.failed is None


def test_a_failed_batch_drops_every_pending_record_and_keeps_the_first_reason() -> None:
    pending = PendingRecords()
    pending.put(b"p1", _record("p1"), "event-1")
    pending.fail("a batch failed: boom")
    pending.fail("the state write failed: later")
    assert len(pending) == 0 and pending.take() == {}
    assert pending.failed == "a batch failed: boom"

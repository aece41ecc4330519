"""The ingestion step without a broker: outcomes, dead letters and duplicate handling."""

from __future__ import annotations

from adapters.limits import Limits
from contract.codemap import default_codemap
from contract.events import InputRef, Observation
from streams.ingest import Ingestor, dedup_key
from tests.adapters import samples as s

REF = InputRef("ews.in.fhir", 2, 41)
KEY = s.PATIENT.encode()


def _ingestor(**kwargs: object) -> Ingestor:
    return Ingestor(default_codemap(), Limits(), **kwargs)  # type: ignore[arg-type]


def test_accepted_message_becomes_one_record_with_its_input_offset() -> None:
    result = _ingestor().ingest("fhir", REF, KEY, s.encode(s.fhir_observation()), s.RECEIVED_MS, [])
    assert result.outcome == "accepted"
    assert result.record is not None
    assert result.record.input == REF
    assert result.deadletters == []
    (event,) = result.record.events
    assert isinstance(event, Observation)
    assert (event.signal, event.value, event.unit) == ("hr", 80.0, "/min")


def test_rejected_message_is_dead_lettered_with_reason_and_original_bytes() -> None:
    data = s.encode(s.fhir_observation(code="99999-9"))
    result = _ingestor().ingest("fhir", REF, KEY, data, s.RECEIVED_MS, [])
    assert result.outcome == "dead_lettered"
    assert result.record is None
    (letter,) = result.deadletters
    assert letter.reason == "unknown_code"
    assert letter.original == data
    assert letter.input == REF
    assert letter.key == KEY
    assert result.reasons == ["unknown_code"]


def test_partly_bad_message_keeps_good_parts_and_dead_letters_each_bad_one() -> None:
    obx = [s.Obx(), s.Obx(code="99999-9"), s.Obx(code="751-8", value="0.4", unit="10*3/uL")]
    result = _ingestor().ingest("hl7v2", REF, KEY, s.hl7_oru(obx), s.RECEIVED_MS, [])
    assert result.outcome == "accepted"
    assert result.record is not None
    assert result.record.rejected == 1
    assert [e.signal for e in result.record.events] == ["crp", "anc"]  # type: ignore[union-attr]
    assert [(d.reason, d.item) for d in result.deadletters] == [("unknown_code", 1)]


def test_missing_key_is_dead_lettered_in_the_stream_but_allowed_offline() -> None:
    data = s.encode(s.fhir_observation())
    streamed = _ingestor().ingest("fhir", REF, None, data, s.RECEIVED_MS, [])
    assert [d.reason for d in streamed.deadletters] == ["missing_key"]
    offline = _ingestor(require_key=False).ingest("fhir", REF, None, data, s.RECEIVED_MS)
    assert offline.outcome == "accepted"


def test_hl7_redelivery_with_same_control_id_is_a_duplicate() -> None:
    ingestor = _ingestor()
    recent: list[str] = []
    first = ingestor.ingest("hl7v2", REF, KEY, s.hl7_oru(msg_id="M1"), s.RECEIVED_MS, recent)
    again = s.hl7_oru(msg_id="M1", obr_time="20240301110000+0000")
    second = ingestor.ingest("hl7v2", REF, KEY, again, s.RECEIVED_MS, recent)
    assert (first.outcome, second.outcome) == ("accepted", "duplicate")
    assert second.record is not None and second.record.events == ()


def test_fhir_correction_with_same_id_is_not_a_duplicate() -> None:
    ingestor = _ingestor()
    recent: list[str] = []
    ingestor.ingest("fhir", REF, KEY, s.encode(s.fhir_observation(id="o1")), s.RECEIVED_MS, recent)
    amended = s.encode(s.fhir_observation(id="o1", value=91, status="amended"))
    result = ingestor.ingest("fhir", REF, KEY, amended, s.RECEIVED_MS, recent)
    assert result.outcome == "corrected"
    replay = ingestor.ingest("fhir", REF, KEY, amended, s.RECEIVED_MS, recent)
    assert replay.outcome == "duplicate"


def test_recent_ids_are_bounded_by_the_window() -> None:
    ingestor = _ingestor(dedup_window=8)
    recent: list[str] = []
    for i in range(20):
        ingestor.ingest("hl7v2", REF, KEY, s.hl7_oru(msg_id=f"M{i}"), s.RECEIVED_MS, recent)
    assert len(recent) == 8
    assert recent[-1] == dedup_key("hl7v2", "M19", b"")

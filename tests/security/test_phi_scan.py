"""No patient identifier in logs or metrics: the real ingestion over a simulated cohort.

The cohort's messages are encoded as the demo sends them (FHIR Bundles, HL7 v2 ORU^R01,
canonical JSON) and run through the worker's own :class:`streams.pipeline.Pipeline` and the
metric counting of ``streams.app.Service._publish``, with every log record captured at DEBUG.
The Prometheus exposition text and the log text must name none of the cohort's patients.
Positive controls prove the scanner sees an identifier planted in each kind of text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from contract.codemap import default_codemap
from contract.events import InputRef
from ews.demo import encode_message
from ews.settings import Settings
from simulator.config import CohortConfig
from simulator.stream import Cohort, iter_messages
from streams.ingest import Ingestor, limits_from
from streams.metrics import Metrics
from streams.pipeline import BatchResult, InMessage, PatientRecord, Pipeline
from tests.adapters import samples
from tests.security.phi_scan import Finding, scan

_FORMAT = {"in.fhir": "fhir", "in.hl7v2": "hl7v2", "in.json": "json"}


class _Capture(logging.Handler):
    """Every record, formatted with its arguments and traceback, as the worker would log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Iterator[_Capture]:
    """Capture all logging at DEBUG for the duration of a test."""
    root = logging.getLogger()
    handler = _Capture()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _publish(metrics: Metrics, result: BatchResult) -> None:
    """Count a batch exactly as the worker does (``Service._publish``), without Kafka."""
    metrics.record_batch(result)


def _run_cohort(metrics: Metrics) -> tuple[set[str], int]:
    """Ingest, apply and score a 20-patient cohort; returns (patient ids, messages)."""
    config = CohortConfig(n_patients=20)
    messages = list(iter_messages(Cohort(config)))
    newest_arrival = max(m.arrival_ms for m in messages)
    settings = Settings()
    ingestor = Ingestor(default_codemap(), limits_from(settings))
    pipeline = Pipeline(ingestor, clock=lambda: newest_arrival / 1000 + 60)
    records: dict[str, PatientRecord] = {}
    patients: set[str] = set()
    batch: list[InMessage] = []
    for offset, msg in enumerate(messages):
        topic, key, body = encode_message(msg)
        patients.add(key)
        fmt = _FORMAT[topic]
        batch.append(InMessage(fmt, InputRef(f"ews.{topic}", 0, offset), key.encode(), body))  # type: ignore[arg-type]
        if len(batch) == 500 or offset == len(messages) - 1:
            result = pipeline.process(batch, records.get)
            records.update(result.touched)
            _publish(metrics, result)
            batch = []
    return patients, len(messages)


def _accepted(metrics_text: str, source: str) -> float:
    total = 0.0
    for line in metrics_text.splitlines():
        if (
            line.startswith("ews_ingest_messages_total{")
            and f'source="{source}"' in line
            and 'outcome="dead_lettered"' not in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_cohort_ingestion_logs_and_metrics_carry_no_patient_id(
    captured_logs: _Capture,
) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    logging.getLogger("tests.security").debug("cohort run starts")  # the capture works
    patients, count = _run_cohort(metrics)
    exposition = generate_latest(registry).decode()
    assert len(patients) == 20 and count > 1000
    for source in ("fhir", "hl7v2", "json"):
        assert _accepted(exposition, source) > 0, f"no {source} message was accepted"
    assert captured_logs.lines, "the log capture saw nothing"

    findings = scan(
        {"metrics": exposition, "log": "\n".join(captured_logs.lines)}, identifiers=patients
    )
    assert not findings, "\n".join(map(str, findings))


def test_planted_identifiers_are_found_in_logs_labels_and_payloads(
    captured_logs: _Capture,
) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.events_rejected.labels("fhir", "sim0-00007").inc()  # a patient id as a label
    logging.getLogger("streams.app").warning("dropped message for %s", "sim0-00003")
    payload = json.dumps(
        {
            "routing_key": "r",
            "payload": {"summary": "CRS grade 2", "custom_details": {"p": "sim0-00011"}},
        }
    )
    escaped = '{"payload": {"summary": "\\u0073im0-00012 has fever"}}'
    findings = scan(
        {
            "metrics": generate_latest(registry).decode(),
            "log": "\n".join(captured_logs.lines),
            "pager": payload,
            "webhook": escaped,
        },
        identifiers=["sim0-00007", "sim0-00003", "sim0-00011", "sim0-00012"],
    )
    by_source = {
        (f.source.split(" ")[0], f.match.lower()) for f in findings if f.kind == "identifier"
    }
    assert ("metrics", "sim0-00007") in by_source
    assert ("log", "sim0-00003") in by_source
    assert ("pager", "sim0-00011") in by_source
    assert ("webhook", "sim0-00012") in by_source


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("lookup failed for MRN: 00123456", "mrn"),
        ('{"medical_record_number": "A1234567"}', "mrn"),
        ("PID|1||778899^^^HOSP^MR||Doe^Jane||19800101|F", "mrn"),
        ("PID|1||778899^^^HOSP^MR||Doe^Jane||19800101|F", "hl7_name"),
        ("PID|1||778899^^^HOSP^MR||Doe^Jane||19800101|F", "dob"),
        ("patient Smith^John admitted", "hl7_name"),
        ("DOB=1980-01-01", "dob"),
        ('{"birthDate": "1980-01-01"}', "dob"),
        ("subject Patient/p-001 rejected", "patient_reference"),
    ],
)
def test_generic_patterns(text: str, kind: str) -> None:
    assert kind in {f.kind for f in scan([text])}


def test_identifier_is_a_whole_token_and_positions_are_reported() -> None:
    findings = scan({"log": "ok\nseen p-10 and P-1."}, identifiers=["p-1"])
    assert [(f.line, f.column, f.kind) for f in findings] == [(2, 15, "identifier")]
    assert "p-1" not in str(findings[0]), "str() must mask the identifier"


def test_clean_operational_text_has_no_findings() -> None:
    text = (
        'ews_events_rejected_total{source="hl7v2",reason="bad_time"} 3.0\n'
        "INFO streams.app: partition 3 offset 1709287200 processed 500 messages\n"
        "OBX-3 code 1988-5^CRP^LN unknown; ORU^R01 accepted"
    )
    assert scan({"t": text}, identifiers=["sim0-00001"]) == []


def test_hl7_escape_errors_do_not_log_the_mrn(captured_logs: _Capture) -> None:
    """python-hl7 logs a field it cannot unescape (PID-3 here); adapters/hl7v2 silences it."""
    mrn = "MRN4455667"
    data = samples.hl7_oru(patient=mrn + "\\\\")
    ingestor = Ingestor(default_codemap(), limits_from(Settings()), require_key=False)
    ingestor.ingest("hl7v2", InputRef("ews.in.hl7v2", 0, 0), None, data, samples.RECEIVED_MS)
    findings: list[Finding] = scan({"log": "\n".join(captured_logs.lines)}, identifiers=[mrn])
    assert not findings, "\n".join(map(str, findings))

"""Logical topic names. Every full name is ``<EWS_TOPIC_PREFIX>.<logical>``.

Inputs are keyed by patient id (interfaces.md), so one patient's events stay in one partition
and therefore with one worker and its table partition.
"""

from __future__ import annotations

from typing import Literal

InputFormat = Literal["fhir", "hl7v2", "json"]

#: Input topics and the format each carries.
INPUT_TOPICS: dict[str, InputFormat] = {
    "in.fhir": "fhir",
    "in.hl7v2": "hl7v2",
    "in.json": "json",
}
CANONICAL = "canonical"
"""One :class:`contract.events.IngestRecord` per accepted input message (JSON)."""
ACKS = "acks"
"""Clinicians' commands (acknowledge, suppress, snooze, unsuppress), keyed by patient id."""
ALERTS = "alerts"
"""One :class:`alerts.record.AlertRecord` per alert transition (JSON), keyed by dedup key."""
ASSESSMENTS = "assessments"
"""One :class:`streams.pipeline.AssessmentRecord` per scored snapshot, if enabled."""
AUDIT = "audit"
"""One :class:`alerts.audit.AuditRecord` per policy call that changed something."""
DEADLETTER = "deadletter"
"""One :class:`contract.events.DeadLetter` per rejected message or message part (JSON)."""
FHIR = "fhir"
"""One FHIR R4 transaction Bundle per alert transition (DetectedIssue + the RiskAssessment
behind it, :func:`alerts.fhir.fhir_alert_bundle`), keyed by the alert's dedup key."""
ALERT_INDEX = "alert-index"
"""Alert id -> alert record, written in the partition of the alert's patient, so the worker
that owns the patient can draw the alert's picture (:mod:`streams.web`). Internal."""

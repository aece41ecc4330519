"""Ingestion step: one raw input message in, its accounted-for outcome out.

This is the pure heart of the ingest agent: it takes the bytes and Kafka coordinates of one
message and returns what to publish (one canonical record, dead letters) and how to count it.
It never raises, so the partition always keeps moving. Kafka I/O and metrics stay in
``streams/app.py``; duplicate tracking is handed in as a mutable per-patient id list that the
agent keeps in a Faust table.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from typing import Literal

from adapters.limits import Limits
from adapters.normalize import normalize
from adapters.result import Reject
from contract.codemap import CodeMap
from contract.events import DeadLetter, IngestRecord, InputRef, Source
from contract.reasons import Reason
from ews.settings import Settings
from streams.topics import InputFormat

MessageOutcome = Literal["accepted", "corrected", "retracted", "duplicate", "dead_lettered"]

_SOURCE_OF_FORMAT: dict[InputFormat, Source] = {"fhir": "fhir", "hl7v2": "hl7v2", "json": "json"}


@dataclass(slots=True)
class IngestResult:
    """What became of one input message."""

    outcome: MessageOutcome
    patient_id: str | None
    record: IngestRecord | None = None
    deadletters: list[DeadLetter] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    """Reason codes of every dead letter (for the rejected-by-reason counter)."""


def dedup_key(fmt: InputFormat, source_msg_id: str, data: bytes) -> str:
    """Identity of a delivery for duplicate detection.

    HL7 v2 control ids (MSH-10) are unique per message by the standard, so a resent message is
    a duplicate even if its MSH-7 timestamp differs. FHIR resource ids and JSON message ids
    are reused by legitimate corrections (an amended Observation keeps its id), so for those
    the content digest is part of the key: only a byte-identical redelivery is a duplicate.
    """
    if fmt == "hl7v2":
        return f"h:{source_msg_id}"
    digest = hashlib.blake2b(data, digest_size=8).hexdigest()
    return f"{fmt[0]}:{source_msg_id}:{digest}"


class Ingestor:
    """Normalizes input messages and decides each one's outcome."""

    def __init__(
        self,
        codemap: CodeMap,
        limits: Limits,
        *,
        dedup_window: int = 256,
        default_tz: str = "UTC",
        require_key: bool = True,
    ) -> None:
        self.require_key = require_key
        self.codemap = codemap
        self.limits = limits
        self.dedup_window = dedup_window
        self.default_tz = default_tz

    def ingest(
        self,
        fmt: InputFormat,
        ref: InputRef,
        key: bytes | None,
        data: bytes,
        received_ms: int,
        recent_ids: MutableSequence[str] | None = None,
    ) -> IngestResult:
        """Turn one message into a canonical record and/or dead letters.

        In the stream every message must carry its patient key (``require_key``); offline
        replay of files, which have no Kafka keys, builds the Ingestor with
        ``require_key=False`` and takes the patient from the body.

        ``recent_ids`` is the patient's list of recently seen delivery ids (oldest first); it
        is updated in place, so the caller stores it back when the outcome is not a duplicate.
        """
        if self.require_key and not key:
            reject = Reject(Reason.MISSING_KEY, "inputs must be keyed by patient id", None)
            return self._dead(ref, key, data, received_ms, [reject], None)
        fallback = f"{ref.topic}:{ref.partition}:{ref.offset}"
        norm = normalize(
            fmt,
            data,
            key=key,
            received_ms=received_ms,
            codemap=self.codemap,
            limits=self.limits,
            fallback_msg_id=fallback,
            default_tz=self.default_tz,
        )
        if norm.outcome == "rejected" or norm.patient_id is None:
            return self._dead(ref, key, data, received_ms, list(norm.rejects), norm.patient_id)

        if recent_ids is not None:
            ident = dedup_key(fmt, norm.source_msg_id, data)
            if ident in recent_ids:
                record = IngestRecord(
                    outcome="duplicate",
                    patient_id=norm.patient_id,
                    source=_SOURCE_OF_FORMAT[fmt],
                    source_msg_id=norm.source_msg_id,
                    input=ref,
                )
                return IngestResult("duplicate", norm.patient_id, record)
            recent_ids.append(ident)
            del recent_ids[: max(0, len(recent_ids) - self.dedup_window)]

        record = IngestRecord(
            outcome=norm.outcome,
            patient_id=norm.patient_id,
            source=_SOURCE_OF_FORMAT[fmt],
            source_msg_id=norm.source_msg_id,
            input=ref,
            events=norm.events,
            rejected=len(norm.rejects),
        )
        result = IngestResult(norm.outcome, norm.patient_id, record)
        if norm.rejects:
            # A partly accepted message: the bad parts are dead-lettered one by one.
            partial = self._dead(ref, key, data, received_ms, list(norm.rejects), None)
            result.deadletters = partial.deadletters
            result.reasons = partial.reasons
        return result

    @staticmethod
    def _dead(
        ref: InputRef,
        key: bytes | None,
        data: bytes,
        received_ms: int,
        rejects: list[Reject],
        patient_id: str | None,
    ) -> IngestResult:
        if not rejects:  # normalize promises a reason; never drop a message without one
            rejects = [Reject(Reason.MALFORMED, "rejected without a reason", None)]
        letters = [
            DeadLetter(
                reason=str(r.reason),
                detail=r.detail,
                input=ref,
                key=key,
                original=data,
                item=r.item,
                received_ms=received_ms,
            )
            for r in rejects
        ]
        return IngestResult(
            "dead_lettered", patient_id, None, letters, [str(r.reason) for r in rejects]
        )


def limits_from(settings: Settings) -> Limits:
    """Ingestion limits from the settings."""
    return Limits(
        max_message_bytes=settings.max_message_bytes,
        max_json_depth=settings.max_json_depth,
        max_items_per_message=settings.max_items_per_message,
        max_future_skew_ms=int(settings.max_future_skew_s * 1000),
        max_event_age_ms=int(settings.max_event_age_days * 86_400_000),
    )

"""The pipeline's own CPU cost, without Faust or Kafka: a ceiling for one worker.

:class:`streams.pipeline.Pipeline` is driven directly in batches of ``batch_max_messages``
with a dict as the table (records encoded and decoded as the worker does), so the figure is
what the pipeline code alone allows; the gap to the measured worker is Faust and Kafka I/O.
It also shows how a patient's stored record grows with monitored history, which every batch
decodes and re-encodes whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from contract.events import InputRef
from ews.settings import Settings
from load_tests.workload import FloatArray, Workload, build
from streams.app import Service
from streams.pipeline import InMessage, PatientRecord, decode_record, encode_record


@dataclass(frozen=True, slots=True)
class InProcess:
    """Pipeline-only throughput and the size of the stored records at the end."""

    messages: int
    seconds: float
    record_bytes_mean: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def run_inprocess(workload: Workload, frames: FloatArray, batch: int = 500) -> InProcess:
    """Process ``workload`` through the pipeline alone; time excludes encoding the input."""
    service = Service(Settings(store="memory://"))
    pipeline = service.pipeline
    table: dict[str, bytes] = {}

    def load(patient_id: str) -> PatientRecord | None:
        stored = table.get(patient_id)
        return decode_record(stored) if stored else None

    topic = f"x.{workload.topic}"
    messages = [
        InMessage(workload.fmt, InputRef(topic, 0, i), key.encode(), value)
        for i, (key, value) in enumerate(build(workload, frames))
    ]
    started = time.perf_counter()
    for i in range(0, len(messages), batch):
        result = pipeline.process(messages[i : i + batch], load)
        for patient_id, record in result.touched.items():
            table[patient_id] = encode_record(record)
    seconds = time.perf_counter() - started
    mean = sum(len(v) for v in table.values()) / max(len(table), 1)
    return InProcess(len(messages), seconds, mean)

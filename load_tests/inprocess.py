"""The pipeline's own CPU cost, without Faust or Kafka: a ceiling for one worker.

:class:`streams.pipeline.Pipeline` is driven directly in batches of ``batch_max_messages``
with a dict as the table (records encoded and decoded as the worker does: changed records
written every ``commit_interval_s``, with the worker's
:class:`streams.record_cache.RecordCache` of decoded records), so the figure is what the
pipeline code alone allows; the gap to the measured worker is Faust and Kafka I/O. It also
shows how a patient's stored record grows with monitored history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from contract.events import InputRef
from ews.settings import Settings
from load_tests.workload import FloatArray, Workload, build
from streams.app import Service, freeze_startup_objects
from streams.pipeline import InMessage, PatientRecord, encode_record
from streams.record_cache import RecordCache


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
    settings = Settings(store="memory://")
    service = Service(settings)
    freeze_startup_objects()  # as the worker does (ews/cli.py)
    pipeline = service.pipeline
    table: dict[bytes, bytes] = {}
    records = RecordCache()  # as Service.process_batch uses it (streams/app.py)
    pending: dict[bytes, PatientRecord] = {}  # as Service.pending: written at each "commit"

    def load(patient_id: str) -> PatientRecord | None:
        key = patient_id.encode()
        return pending.get(key) or records.load(key, table.get(key))

    def write_pending() -> None:
        for key, record in pending.items():
            value = encode_record(record)
            table[key] = value
            records.stored(key, value, record)
        pending.clear()

    topic = f"x.{workload.topic}"
    messages = [
        InMessage(workload.fmt, InputRef(topic, 0, i), key.encode(), value)
        for i, (key, value) in enumerate(build(workload, frames))
    ]
    started = time.perf_counter()
    committed = started
    for i in range(0, len(messages), batch):
        result = pipeline.process(messages[i : i + batch], load)
        for patient_id in result.loaded.keys() - result.touched.keys():
            records.discard(patient_id.encode())  # read, maybe changed, not written
        for patient_id, record in result.touched.items():
            pending[patient_id.encode()] = record
        if time.perf_counter() - committed >= settings.commit_interval_s:
            write_pending()  # the worker writes changed records before each offset commit
            committed = time.perf_counter()
    write_pending()
    seconds = time.perf_counter() - started
    mean = sum(len(v) for v in table.values()) / max(len(table), 1)
    return InProcess(len(messages), seconds, mean)

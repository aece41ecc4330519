"""Load-test workloads: simulator patients turned into pre-encoded input messages.

The simulator is too slow to render thousands of 1 Hz monitor streams live, so a few template
patients are simulated once (monitor mode) and their vital-sign frames are replayed for every
load patient: patient ``p`` reads template ``p % T`` from its own offset, one template frame
per cadence tick. Values therefore keep the simulator's physiology (fevers, desaturations,
tachycardia) while the message count, patient count and cadence are exact.

Each message is built as a :class:`simulator.messages.SimMessage` and encoded by the same
exporters the demo uses (canonical JSON batch, FHIR Bundle, HL7 v2 ORU^R01), so the bytes are
what a hospital feed would send. Everything is encoded before any timing starts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt

from contract.events import Observation
from ews.demo import encode_message
from simulator.config import CohortConfig
from simulator.export import fhir_bundle, hl7_message
from simulator.messages import SimMessage
from simulator.stream import Cohort

Format = Literal["json", "fhir", "hl7v2"]
FORMAT_TOPIC: dict[Format, str] = {"json": "in.json", "fhir": "in.fhir", "hl7v2": "in.hl7v2"}

# A monitor gateway's one-second frame: the simulator's 7 vitals plus EtCO2 (canonical JSON).
JSON_SIGNALS: tuple[str, ...] = ("hr", "rr", "spo2", "temp", "sbp", "dbp", "map", "etco2")
# FHIR and HL7 exporters only know the simulator's own codes, which have no EtCO2.
CODED_SIGNALS: tuple[str, ...] = JSON_SIGNALS[:7]
UNITS: dict[str, str] = {
    "hr": "/min",
    "rr": "/min",
    "spo2": "%",
    "temp": "Cel",
    "sbp": "mm[Hg]",
    "dbp": "mm[Hg]",
    "map": "mm[Hg]",
    "etco2": "mm[Hg]",
}
TIME_TOKEN_MS = 3_999_999_999_999
"""Placeholder event time (13 digits, like a real one) that the latency probe replaces with
the wall clock at send: ``message.replace(TIME_TOKEN, b"%d" % now_ms)``."""
TIME_TOKEN = b"%d" % TIME_TOKEN_MS

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Workload:
    """What to send: who, how often, how many observations per message, in which format."""

    patients: int
    messages: int
    obs_per_message: int = 1
    fmt: Format = "json"
    interval_s: float = 1.0
    """Event-time spacing of one patient's frames (1 s = a bedside monitor at 1 Hz)."""
    seed: int = 0
    prefix: str = "lt"
    """Patient ids are ``<prefix><index>``; message ids are unique per workload."""

    def __post_init__(self) -> None:
        if self.patients < 1 or self.messages < 1:
            raise ValueError("patients and messages must be >= 1")
        limit = 20 if self.fmt == "hl7v2" else 64
        if not 1 <= self.obs_per_message <= limit:
            raise ValueError(f"obs_per_message must be 1..{limit} for {self.fmt}")
        if self.interval_s <= 0:
            raise ValueError("interval_s must be > 0")

    @property
    def signals(self) -> tuple[str, ...]:
        return JSON_SIGNALS if self.fmt == "json" else CODED_SIGNALS

    @property
    def topic(self) -> str:
        """Logical input topic (``in.json`` ...)."""
        return FORMAT_TOPIC[self.fmt]

    def patient_id(self, index: int) -> str:
        return f"{self.prefix}{index:06d}"

    def span_ms(self) -> int:
        """Event-time span of the whole workload (frames per patient x interval)."""
        obs_per_patient = -(-self.messages * self.obs_per_message // self.patients)
        frames = -(-obs_per_patient // len(self.signals))
        return int(frames * self.interval_s * 1000)


def template_frames(n_templates: int = 2, seed: int = 0) -> FloatArray:
    """Vital-sign frames (rows; columns :data:`JSON_SIGNALS`) from simulated monitor patients.

    Blood pressure (every 15 min on the monitor) is carried forward between readings; EtCO2,
    which the simulator does not model, is a plausible 33-43 mm Hg wander.
    """
    config = CohortConfig(
        n_patients=n_templates, seed=seed, vitals_mode="monitor", monitor_interval_s=60.0
    )
    cohort = Cohort(config)
    rows: list[list[float]] = []
    rng = np.random.default_rng(seed)
    for index in range(n_templates):
        last: dict[str, float] = {"sbp": 120.0, "dbp": 75.0, "map": 90.0}
        for msg in cohort.patient(index).messages:
            if msg.channel != "vitals":
                continue
            values = {e.signal: e.value for e in msg.events if isinstance(e, Observation)}
            if "hr" not in values:
                last.update({k: v for k, v in values.items() if k in last})
                continue
            last.update({k: v for k, v in values.items() if k in last})
            row = [values.get(s, last.get(s, 0.0)) for s in JSON_SIGNALS[:7]]
            rows.append([*row, float(38.0 + 5.0 * np.sin(len(rows) / 90.0) + rng.normal(0, 1))])
    return np.asarray(rows, dtype=np.float64)


def _encode(workload: Workload, msg: SimMessage) -> bytes:
    if workload.fmt == "json":
        return encode_message(msg)[2]  # channel "monitor" -> the canonical JSON batch
    if workload.fmt == "fhir":
        return msgspec.json.encode(fhir_bundle(msg))
    oru = hl7_message(msg)
    if oru is None:
        raise ValueError("an HL7 message needs at least one observation")
    return oru.encode()


def iter_messages(
    workload: Workload,
    frames: FloatArray,
    *,
    start_ms: int | None = None,
    stamp_with_token: bool = False,
) -> Iterator[tuple[str, bytes]]:
    """(patient key, encoded message) in event-time order, ``workload.messages`` of them.

    Every tick, every patient contributes one frame of observations; they are cut into
    messages of ``obs_per_message`` (1: one vital per message; 8: a monitor frame; up to 20
    for an HL7 ORU spanning several frames). ``start_ms`` defaults to the past, so that the
    whole workload ends before now (event times behind the wall clock, as in a live feed).
    With ``stamp_with_token`` every event time is :data:`TIME_TOKEN_MS` instead.
    """
    signals = workload.signals
    columns = [JSON_SIGNALS.index(s) for s in signals]
    n_frames = len(frames)
    step_ms = int(workload.interval_s * 1000)
    base = start_ms if start_ms is not None else int(time.time() * 1000) - workload.span_ms()
    pending: dict[int, list[Observation]] = {}
    seq: dict[int, int] = {}
    sent = 0
    tick = 0
    channel = "monitor" if workload.fmt == "json" else "vitals"
    while sent < workload.messages:
        t_ms = TIME_TOKEN_MS if stamp_with_token else base + tick * step_ms
        for p in range(workload.patients):
            pid = workload.patient_id(p)
            # Spread patients over the template so neighbours do not read identical values.
            row = frames[(p * 7919 + tick) % n_frames]
            buf = pending.setdefault(p, [])
            for signal, col in zip(signals, columns, strict=True):
                n = seq.get(p, 0)
                buf.append(
                    Observation(
                        patient_id=pid,
                        time_ms=t_ms,
                        source="json",
                        source_msg_id=f"{pid}-m{n}",
                        signal=signal,
                        value=round(float(row[col]), 1),
                        unit=UNITS[signal],
                        obs_id=f"{pid}-{signal}-{tick}",
                    )
                )
                if len(buf) < workload.obs_per_message:
                    continue
                msg_id = f"{pid}-m{n}"
                events = tuple(msgspec.structs.replace(e, source_msg_id=msg_id) for e in buf)
                yield pid, _encode(workload, SimMessage(t_ms, msg_id, channel, events))
                buf.clear()
                seq[p] = n + 1
                sent += 1
                if sent >= workload.messages:
                    return
        tick += 1


def build(
    workload: Workload,
    frames: FloatArray | None = None,
    *,
    stamp_with_token: bool = False,
) -> list[tuple[str, bytes]]:
    """The whole workload encoded in memory (done before any timing starts)."""
    data = frames if frames is not None else template_frames(seed=workload.seed)
    return list(iter_messages(workload, data, stamp_with_token=stamp_with_token))

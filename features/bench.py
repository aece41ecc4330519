"""Memory and speed of the per-patient feature state (``python -m features.bench``).

Three synthetic patients built from contract events, deterministic (seeded):
- "monitor": 24 h of 1-minute vitals (HR, RR, SpO2, SBP, DBP, MAP, temperature) and 3 days
  of labs every 6 h (18 lab signals), neuro checks every 4 h;
- "ward": 3 days of 4-hourly vitals, daily labs, neuro checks every 8 h;
- "bedside monitor": 24 h of the same vitals every second (a monitor gateway's 1 Hz frames),
  labs every 6 h: the case ``features.state`` thins after an hour (``THIN_*``).
It prints the state's memory (tracemalloc, after the whole history is applied), its msgpack
size, the mean cost of ``apply`` per event and of ``snapshot`` at the newest event time.
Figures vary with the machine; this is a measurement, not a test.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable

from contract.events import (
    Event,
    InfusionEvent,
    NeuroAssessment,
    Observation,
    RespiratorySupport,
)
from features.compute import snapshot
from features.state import PatientState

HOUR_MS = 3_600_000
MIN_MS = 60_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z

VITALS = {
    "hr": (80.0, 8.0),
    "rr": (16.0, 2.0),
    "spo2": (97.0, 1.0),
    "sbp": (120.0, 10.0),
    "dbp": (70.0, 6.0),
    "map": (87.0, 6.0),
    "temp": (37.2, 0.5),
}
LABS = {
    "crp": 20.0,
    "ferritin": 400.0,
    "alt": 30.0,
    "ast": 28.0,
    "bilirubin": 0.7,
    "ldh": 250.0,
    "creatinine": 0.9,
    "fibrinogen": 300.0,
    "triglycerides": 140.0,
    "wbc": 5.0,
    "anc": 2.5,
    "platelets": 180.0,
    "hgb": 11.0,
    "il6": 10.0,
    "bands": 3.0,
    "pao2": 90.0,
    "paco2": 40.0,
    "lactate": 1.2,
}


def patient_events(
    patient_id: str, hours: float, vital_every_ms: int, lab_every_ms: int, neuro_every_ms: int
) -> list[Event]:
    """A deterministic history: an infusion start at T0, vitals, labs and neuro checks."""
    rng = random.Random(patient_id)
    events: list[Event] = [
        InfusionEvent(
            patient_id=patient_id,
            time_ms=T0,
            source="simulator",
            source_msg_id=f"{patient_id}-inf-1",
            action="start",
            cycle=1,
            dose_ug_per_day=9.0,
        ),
        RespiratorySupport(
            patient_id=patient_id,
            time_ms=T0,
            source="simulator",
            source_msg_id=f"{patient_id}-resp-1",
            device="room_air",
        ),
    ]
    end = T0 + int(hours * HOUR_MS)
    for k, t in enumerate(range(T0, end, vital_every_ms)):
        msg = f"{patient_id}-vit-{k}"
        for sig, (mean, sd) in VITALS.items():
            events.append(_obs(patient_id, sig, rng.gauss(mean, sd), t, msg, f"{msg}-{sig}"))
    for k, t in enumerate(range(T0 - 12 * HOUR_MS, end, lab_every_ms)):
        msg = f"{patient_id}-lab-{k}"
        for sig, mean in LABS.items():
            value = abs(rng.gauss(mean, mean * 0.1))
            events.append(_obs(patient_id, sig, value, t, msg, f"{msg}-{sig}"))
    for k, t in enumerate(range(T0, end, neuro_every_ms)):
        events.append(
            NeuroAssessment(
                patient_id=patient_id,
                time_ms=t,
                source="simulator",
                source_msg_id=f"{patient_id}-neuro-{k}",
                ice_score=10,
                consciousness="alert",
                seizure=False,
            )
        )
    events.sort(key=lambda e: e.time_ms)
    return events


def _obs(pid: str, signal: str, value: float, t: int, msg: str, obs_id: str) -> Observation:
    return Observation(
        patient_id=pid,
        time_ms=t,
        source="simulator",
        source_msg_id=msg,
        signal=signal,
        value=round(value, 2),
        unit="",
        obs_id=obs_id,
    )


def measure(events: list[Event]) -> dict[str, float]:
    """Apply the events to a fresh state and measure memory, size and per-call times."""
    pid = events[0].patient_id
    state = PatientState(patient_id=pid)
    t0 = time.perf_counter()
    for e in events:
        state.apply(e)
    apply_s = time.perf_counter() - t0
    state.prune()
    assert state.newest_ms is not None
    at = state.newest_ms
    snap_us = _per_call_us(lambda: snapshot(state, at), 100)
    points = sum(len(s) for s in state.series.values())
    blob = state.to_bytes()
    restore_us = _per_call_us(lambda: PatientState.from_bytes(blob), 10)
    # Memory of a state as the stream holds it: decoded from its bytes inside the trace, so
    # every string is the state's own (not shared with the generated events).
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    restored = PatientState.from_bytes(blob)
    now = tracemalloc.take_snapshot()
    tracemalloc.stop()
    mem = sum(s.size_diff for s in now.compare_to(base, "filename"))
    del restored
    return {
        "events": len(events),
        "points_kept": points,
        "memory_kib": mem / 1024,
        "msgpack_kib": len(blob) / 1024,
        "apply_us": apply_s / len(events) * 1e6,
        "snapshot_us": snap_us,
        "from_bytes_us": restore_us,
    }


def _per_call_us(fn: Callable[[], object], repeat: int) -> float:
    """Best of five rounds (the machine is shared; the minimum is the least disturbed)."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat * 1e6)
    return best


def main() -> None:
    """Print the figures for the three patients."""
    cases = {
        "monitor (24 h 1-min vitals, 3 d labs q6h)": patient_events(
            "bench-monitor", 72.0, MIN_MS, 6 * HOUR_MS, 4 * HOUR_MS
        ),
        "ward (3 d vitals q4h, labs daily)": patient_events(
            "bench-ward", 72.0, 4 * HOUR_MS, 24 * HOUR_MS, 8 * HOUR_MS
        ),
        "bedside monitor (24 h 1 Hz vitals, labs q6h)": patient_events(
            "bench-1hz", 24.0, 1000, 6 * HOUR_MS, 4 * HOUR_MS
        ),
    }
    # The monitor patient: keep 1-minute vitals for the last 24 h only (the brief's case).
    monitor = cases["monitor (24 h 1-min vitals, 3 d labs q6h)"]
    cutoff = T0 + 48 * HOUR_MS
    cases["monitor (24 h 1-min vitals, 3 d labs q6h)"] = [
        e
        for e in monitor
        if not (isinstance(e, Observation) and e.signal in VITALS and e.time_ms < cutoff)
    ]
    for name, events in cases.items():
        m = measure(events)
        print(name)
        for key, value in m.items():
            print(f"  {key:14s} {value:12.1f}")


if __name__ == "__main__":
    main()

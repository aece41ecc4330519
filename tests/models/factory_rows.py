"""Snapshots built through the stream's own code from a few canonical events."""

from __future__ import annotations

from contract.events import Event, Observation, PatientContext
from features.replay import snapshots_for_history
from features.snapshot import Snapshot

T0 = 1_767_225_600_000
HOUR = 3_600_000


def _obs(signal: str, value: float, unit: str, hour: float, n: int) -> Observation:
    return Observation(
        patient_id="p1",
        time_ms=T0 + int(hour * HOUR),
        source="json",
        source_msg_id=f"m{n}",
        signal=signal,
        value=value,
        unit=unit,
        obs_id=f"o{n}",
    )


def febrile_history() -> list[Event]:
    """Six hours of worsening vitals: fever, tachycardia, tachypnoea, falling pressure."""
    events: list[Event] = [
        PatientContext(
            patient_id="p1", time_ms=T0, source="json", source_msg_id="ctx", age_years=54
        )
    ]
    n = 0
    for h in range(7):
        for signal, value, unit in (
            ("temp", 37.0 + 0.35 * h, "Cel"),
            ("hr", 85.0 + 8 * h, "/min"),
            ("rr", 16.0 + 2 * h, "/min"),
            ("sbp", 125.0 - 7 * h, "mm[Hg]"),
            ("spo2", 97.0 - 0.5 * h, "%"),
        ):
            n += 1
            events.append(_obs(signal, value, unit, h, n))
    events.append(_obs("wbc", 15.5, "10*3/uL", 2, 999))
    return events


def febrile_snapshot() -> Snapshot:
    """The snapshot at hour 6 of :func:`febrile_history`."""
    return snapshots_for_history(febrile_history(), [T0 + 6 * HOUR])[0]

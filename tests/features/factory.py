"""Small builders of contract events for the feature tests (no simulator dependency)."""

from __future__ import annotations

from itertools import count
from typing import Any

from contract.events import (
    InfusionEvent,
    NeuroAssessment,
    Observation,
    PatientContext,
    Retraction,
    Treatment,
)

PID = "p-test"
H = 3_600_000
MIN = 60_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z

_ids = count(1)


def obs(signal: str, value: float, t: int, obs_id: str | None = None, **kw: Any) -> Observation:
    """An Observation with a fresh obs_id and message id unless given."""
    n = next(_ids)
    return Observation(
        patient_id=PID,
        time_ms=t,
        source="json",
        source_msg_id=kw.pop("msg", f"m{n}"),
        signal=signal,
        value=float(value),
        unit="x",
        obs_id=obs_id or f"o{n}",
        **kw,
    )


def retract(o: Observation) -> Retraction:
    """The retraction of an observation."""
    return Retraction(
        patient_id=PID,
        time_ms=o.time_ms,
        source="json",
        source_msg_id=f"r-{o.obs_id}",
        signal=o.signal,
        obs_id=o.obs_id,
    )


def infusion(action: str, t: int, cycle: int = 1, dose: float | None = None) -> InfusionEvent:
    """An infusion event."""
    return InfusionEvent(
        patient_id=PID,
        time_ms=t,
        source="json",
        source_msg_id=f"inf-{action}-{cycle}-{t}",
        action=action,  # type: ignore[arg-type]
        cycle=cycle,
        dose_ug_per_day=dose,
    )


def neuro(t: int, **kw: Any) -> NeuroAssessment:
    """A neuro assessment."""
    return NeuroAssessment(
        patient_id=PID, time_ms=t, source="json", source_msg_id=f"n{next(_ids)}", **kw
    )


def treatment(kind: str, t: int) -> Treatment:
    """A treatment given."""
    return Treatment(
        patient_id=PID,
        time_ms=t,
        source="json",
        source_msg_id=f"tx{next(_ids)}",
        treatment=kind,  # type: ignore[arg-type]
    )


def context(t: int, **kw: Any) -> PatientContext:
    """Patient context."""
    return PatientContext(
        patient_id=PID, time_ms=t, source="json", source_msg_id=f"ctx{next(_ids)}", **kw
    )

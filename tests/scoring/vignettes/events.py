"""Small builders of canonical contract events for the vignettes (hours from cycle start)."""

from __future__ import annotations

import itertools

from contract.events import (
    Event,
    InfusionEvent,
    NeuroAssessment,
    O2Device,
    Observation,
    PatientContext,
    RespiratorySupport,
    Treatment,
    TreatmentKind,
    VasopressorState,
)

T0_MS = 1_700_000_000_000
HOUR_MS = 3_600_000
PATIENT = "vignette-1"
_ids = itertools.count(1)

UNITS = {
    "temp": "Cel", "hr": "/min", "rr": "/min", "spo2": "%", "sbp": "mm[Hg]", "dbp": "mm[Hg]",
    "map": "mm[Hg]", "gcs": "{score}", "crp": "mg/L", "ferritin": "ng/mL", "alt": "U/L",
    "ast": "U/L", "bilirubin": "mg/dL", "ldh": "U/L", "creatinine": "mg/dL",
    "fibrinogen": "mg/dL", "triglycerides": "mg/dL", "wbc": "10*3/uL", "anc": "10*3/uL",
    "platelets": "10*3/uL", "hgb": "g/dL", "bands": "%", "paco2": "mm[Hg]", "pao2": "mm[Hg]",
}  # fmt: skip


def at(h: float) -> int:
    """Event time ``h`` hours after the cycle start."""
    return T0_MS + int(h * HOUR_MS)


def _head(h: float) -> dict[str, object]:
    return {
        "patient_id": PATIENT,
        "time_ms": at(h),
        "source": "simulator",
        "source_msg_id": f"m{next(_ids)}",
    }


def start(h: float = 0.0, dose: float = 9.0, cycle: int = 1) -> list[Event]:
    return [InfusionEvent(**_head(h), action="start", cycle=cycle, dose_ug_per_day=dose)]  # type: ignore[arg-type]


def obs(h: float, **values: float) -> list[Event]:
    """Observations (vital signs or labs) at hour ``h``, in canonical units."""
    out: list[Event] = []
    for signal, value in values.items():
        head = _head(h)
        out.append(
            Observation(
                **head,
                signal=signal,
                value=value,
                unit=UNITS[signal],
                obs_id=f"o-{head['source_msg_id']}",
            )
        )  # type: ignore[arg-type]
    return out


def neuro(h: float, **fields: object) -> list[Event]:
    return [NeuroAssessment(**_head(h), **fields)]  # type: ignore[arg-type]


def resp(
    h: float, device: O2Device, flow: float | None = None, fio2: float | None = None
) -> list[Event]:
    return [RespiratorySupport(**_head(h), device=device, o2_flow_l_min=flow, fio2_pct=fio2)]  # type: ignore[arg-type]


def pressors(h: float, count: int, vasopressin: bool = False) -> list[Event]:
    return [VasopressorState(**_head(h), count=count, vasopressin=vasopressin)]  # type: ignore[arg-type]


def treat(h: float, kind: TreatmentKind) -> list[Event]:
    return [Treatment(**_head(h), treatment=kind)]  # type: ignore[arg-type]


def context(**fields: object) -> list[Event]:
    return [PatientContext(**_head(-24.0), **fields)]  # type: ignore[arg-type]


def normal_vitals(h: float) -> list[Event]:
    return obs(h, temp=36.8, hr=78, rr=14, spo2=98, sbp=122, dbp=74, map=90)

"""Turn non-observation events into (series, value) points, so that every feature reads one
kind of thing: time-ordered points of a series.

``ice_score`` and ``vasopressor_count`` can also arrive as Observations with local codes;
both roads lead to the same series, so the features treat them the same. Ordinal states
use the codes of ``features.snapshot.ORDINAL_CODES``; booleans are 1.0 / 0.0. An item that
was not assessed gives no point (missing stays missing).
"""

from __future__ import annotations

from contract.events import (
    Event,
    NeuroAssessment,
    PatientContext,
    RespiratorySupport,
    Treatment,
    VasopressorState,
)

CONSCIOUSNESS_LEVEL: dict[str, float] = {
    "alert": 0.0,
    "drowsy": 1.0,
    "voice": 2.0,
    "pain": 3.0,
    "unresponsive": 4.0,
}
MOTOR_WEAKNESS: dict[str, float] = {"none": 0.0, "mild": 1.0, "deep_focal": 2.0}
CEREBRAL_EDEMA: dict[str, float] = {"none": 0.0, "focal": 1.0, "diffuse": 2.0}

LOW_FLOW_MAX_L_MIN = 6.0
"""ASTCT: nasal cannula above 6 L/min is high flow (grade 3 column)."""
ROOM_AIR_FIO2_PCT = 21.0

_DEVICE_LEVEL: dict[str, float] = {
    "room_air": 0.0,
    "blow_by": 1.0,
    "nasal_cannula": 1.0,
    "high_flow_nasal_cannula": 2.0,
    "simple_facemask": 2.0,
    "venturi_mask": 2.0,
    "non_rebreather": 2.0,
    "cpap": 3.0,
    "bipap": 3.0,
    "mechanical_ventilation": 3.0,
}


def o2_support_level(device: str, flow_l_min: float | None) -> float:
    """ASTCT hypoxia column of an oxygen device (see ``ORDINAL_CODES['o2_support_level']``).

    A nasal cannula without a recorded flow is taken as low flow: high flow needs its own
    device code or a flow above 6 L/min.
    """
    level = _DEVICE_LEVEL[device]
    if device == "nasal_cannula" and flow_l_min is not None and flow_l_min > LOW_FLOW_MAX_L_MIN:
        level = 2.0
    return level


def _flag(value: bool | None) -> float | None:
    return None if value is None else (1.0 if value else 0.0)


def _ms(value: int | None) -> float | None:
    return None if value is None else float(value)  # epoch ms: exact in a float64


def event_points(event: Event) -> list[tuple[str, float]]:
    """The (series, value) points of a neuro, respiratory, vasopressor, treatment or context
    event; ``[]`` for other kinds (observations and infusions are stored differently)."""
    out: list[tuple[str, float | None]] = []
    if isinstance(event, NeuroAssessment):
        ice = event.ice_score
        if ice is None and event.ice_items is not None:
            ice = event.ice_items.total
        out = [
            ("ice_score", None if ice is None else float(ice)),
            (
                "consciousness_level",
                None if event.consciousness is None else CONSCIOUSNESS_LEVEL[event.consciousness],
            ),
            ("new_confusion", _flag(event.new_confusion)),
            ("seizure", _flag(event.seizure)),
            ("seizure_prolonged", _flag(event.seizure_prolonged)),
            ("tremor_grade", None if event.tremor_grade is None else float(event.tremor_grade)),
            (
                "motor_weakness",
                None if event.motor_weakness is None else MOTOR_WEAKNESS[event.motor_weakness],
            ),
            (
                "cerebral_edema",
                None if event.cerebral_edema is None else CEREBRAL_EDEMA[event.cerebral_edema],
            ),
        ]
    elif isinstance(event, RespiratorySupport):
        fio2 = event.fio2_pct
        if fio2 is None and event.device == "room_air":
            fio2 = ROOM_AIR_FIO2_PCT  # room air is 21 % oxygen: a fact, not a guess
        out = [
            ("o2_support_level", o2_support_level(event.device, event.o2_flow_l_min)),
            ("o2_flow", event.o2_flow_l_min if event.device != "room_air" else 0.0),
            ("fio2", fio2),
        ]
    elif isinstance(event, VasopressorState):
        out = [
            ("vasopressor_count", float(event.count)),
            ("vasopressin", 1.0 if event.vasopressin else 0.0),
        ]
    elif isinstance(event, Treatment):
        out = [(event.treatment, 1.0)]
    elif isinstance(event, PatientContext):
        sex = {"female": 1.0, "male": 0.0}.get(event.sex)
        out = [
            ("age_years", event.age_years),
            ("weight_kg", event.weight_kg),
            ("marrow_blasts_pct", event.marrow_blasts_pct),
            ("prior_neurotoxicity", _flag(event.prior_neurotoxicity)),
            ("immunosuppressed", _flag(event.immunosuppressed)),
            ("sex_female", sex),
            ("hospital_admission", _ms(event.hospital_admission_ms)),
        ]
    return [(name, value) for name, value in out if value is not None]

"""Seeded random patients and a messy arrival order for the streaming-equals-batch oracle.

The history: a cycle-1 start (sometimes interruptions, a restart, a step-up, a second cycle),
irregular vitals with fever episodes, labs with and without their own limits (some before
the start, for the baseline), neuro checks with seizures, oxygen, vasopressors, treatments
and the patient context. The arrival order then adds the troubles of a real feed:
preliminary-then-final versions, corrections, retractions, exact duplicates, and delays of up
to ``max_delay_ms`` (below the lateness bound, so nothing is too late).
"""

from __future__ import annotations

import random

from contract.events import (
    Event,
    InfusionEvent,
    NeuroAssessment,
    Observation,
    PatientContext,
    RespiratorySupport,
    Retraction,
    Treatment,
    VasopressorState,
)

H = 3_600_000
MIN = 60_000
T0 = 1_767_225_600_000
PID = "p-oracle"

_VITALS = {"temp": (37.4, 0.8), "hr": (85, 12), "rr": (17, 3), "spo2": (95, 2.5),
           "sbp": (112, 15), "dbp": (68, 8), "map": (82, 9), "gcs": (14.5, 0.6)}  # fmt: skip
_LABS = {"crp": (40, 30), "ferritin": (900, 600), "alt": (50, 40), "ast": (45, 35),
         "bilirubin": (1.1, 0.7), "ldh": (300, 90), "creatinine": (1.0, 0.3),
         "fibrinogen": (250, 80), "triglycerides": (180, 60), "wbc": (4, 2),
         "anc": (1.8, 1.0), "platelets": (110, 60), "hgb": (10, 2), "il6": (30, 25),
         "pao2": (85, 15), "paco2": (40, 5), "bands": (5, 3), "lactate": (2.0, 1.2),
         "ph": (7.38, 0.06), "hco3": (23, 4), "bun": (22, 12), "glucose": (130, 40),
         "potassium": (4.1, 0.6)}  # fmt: skip
_OWN_LIMITS = {"alt": (None, 45.0), "ast": (None, 35.0), "bilirubin": (None, 1.0),
               "ldh": (None, 250.0), "creatinine": (None, 1.2), "crp": (None, 5.0),
               "ferritin": (None, 300.0), "anc": (2.0, None), "platelets": (140.0, None),
               "hgb": (12.5, None)}  # fmt: skip


def generate(seed: int, hours: float = 60.0) -> list[Event]:
    """One patient's clean history (unique event time per series), sorted by time."""
    rng = random.Random(seed)
    ev: list[Event] = []
    n = 0

    def mid() -> str:
        nonlocal n
        n += 1
        return f"s{seed}-m{n}"

    base: dict[str, str] = {"patient_id": PID, "source": "simulator"}
    end = T0 + int(hours * H)
    # infusion
    ev.append(InfusionEvent(**base, time_ms=T0, source_msg_id=mid(), action="start", cycle=1,
                            dose_ug_per_day=9.0))  # fmt: skip
    t = T0
    for _ in range(rng.randint(0, 3)):
        t += rng.randint(2 * 60, 14 * 60) * MIN
        gap = rng.choice([rng.randint(10, 230), 234, 240, rng.randint(241, 600)]) * MIN
        if t + gap >= end:
            break
        ev.append(InfusionEvent(**base, time_ms=t, source_msg_id=mid(), action="interruption",
                                cycle=1))  # fmt: skip
        t += gap
        ev.append(InfusionEvent(**base, time_ms=t, source_msg_id=mid(), action="restart",
                                cycle=1, dose_ug_per_day=rng.choice([None, 9.0])))  # fmt: skip
    if rng.random() < 0.5:
        ev.append(InfusionEvent(**base, time_ms=T0 + 30 * H + rng.randint(0, 60) * MIN,
                                source_msg_id=mid(), action="dose_change", cycle=1,
                                dose_ug_per_day=28.0))  # fmt: skip
    if rng.random() < 0.3:
        t2 = T0 + int(rng.uniform(36, 50) * H)
        ev.append(InfusionEvent(**base, time_ms=t2 - 2 * H, source_msg_id=mid(), action="stop",
                                cycle=1))  # fmt: skip
        ev.append(InfusionEvent(**base, time_ms=t2, source_msg_id=mid(), action="start",
                                cycle=2, dose_ug_per_day=28.0))  # fmt: skip
    # vitals with a fever episode
    fever_from = T0 + int(rng.uniform(0, hours) * H)
    fever_to = fever_from + int(rng.uniform(0.5, 20) * H)
    for sig, (mean, sd) in _VITALS.items():
        t = T0 - rng.randint(0, 6) * H
        while t < end:
            v = rng.gauss(mean, sd)
            if sig == "temp" and fever_from <= t <= fever_to:
                v += 1.6
            if sig == "temp" and rng.random() < 0.05:
                v = 38.0  # the exact threshold
            ev.append(_obs(sig, round(v, 1), t, mid(), rng))
            t += rng.choice([5, 15, 30, 60, 60, 120, 240, 400]) * MIN
    # labs (some before the start for the baseline)
    for sig, (mean, sd) in _LABS.items():
        t = T0 - rng.randint(1, 40) * H
        while t < end:
            ev.append(_obs(sig, round(max(0.1, rng.gauss(mean, sd)), 2), t, mid(), rng))
            t += rng.randint(4, 30) * H + rng.randint(0, 59) * MIN
    # neuro, oxygen, pressors, treatments, context
    t = T0 + rng.randint(0, 8) * H
    while t < end:
        ev.append(NeuroAssessment(**base, time_ms=t, source_msg_id=mid(),
                                  ice_score=rng.choice([None, 10, 9, 7, 4, 2, 0]),
                                  consciousness=rng.choice([None, "alert", "drowsy", "voice"]),
                                  seizure=rng.choice([None, False, False, True]),
                                  seizure_prolonged=rng.choice([None, False, True]),
                                  new_confusion=rng.choice([None, False, True]),
                                  tremor_grade=rng.choice([None, 0, 1, 2])))  # fmt: skip
        t += rng.randint(2, 12) * H
    t = T0 + rng.randint(0, 30) * H
    while t < end:
        device = rng.choice(["room_air", "nasal_cannula", "high_flow_nasal_cannula", "cpap"])
        flow = None if device == "room_air" else rng.choice([None, 2.0, 6.0, 6.5, 40.0])
        fio2 = rng.choice([None, 30.0, 50.0]) if device != "room_air" else None
        ev.append(RespiratorySupport(**base, time_ms=t, source_msg_id=mid(), device=device,
                                     o2_flow_l_min=flow, fio2_pct=fio2))  # fmt: skip
        t += rng.randint(3, 20) * H
    for _ in range(rng.randint(0, 3)):
        ev.append(VasopressorState(**base, time_ms=T0 + rng.randint(1, int(hours) * 60) * MIN,
                                   source_msg_id=mid(), count=rng.randint(0, 2),
                                   vasopressin=rng.random() < 0.3))  # fmt: skip
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(["antipyretic", "corticosteroid", "tocilizumab", "antibiotic"])
        ev.append(Treatment(**base, time_ms=T0 + rng.randint(-20 * 60, int(hours) * 60) * MIN,
                            source_msg_id=mid(), treatment=kind))  # fmt: skip
    ev.append(PatientContext(**base, time_ms=T0 - 24 * H, source_msg_id=mid(),
                             age_years=rng.choice([None, 34.0, 71.0]),
                             weight_kg=rng.choice([None, 70.0]),
                             sex=rng.choice(["female", "male", "unknown"]),
                             immunosuppressed=rng.choice([None, True]),
                             # before the first event, or after it (and some snapshots)
                             hospital_admission_ms=rng.choice([None, T0 - 72 * H, T0 + 30 * H]),
                             ))  # fmt: skip
    return _unique_times(sorted(ev, key=lambda e: e.time_ms))


def _obs(sig: str, v: float, t: int, msg: str, rng: random.Random) -> Observation:
    lo, hi = _OWN_LIMITS.get(sig, (None, None))
    own = rng.random() < 0.5
    return Observation(patient_id=PID, source="simulator", time_ms=t, source_msg_id=msg,
                       signal=sig, value=v, unit="x", obs_id=f"{msg}-o",
                       status=rng.choice(["final", "final", "preliminary"]),
                       ref_low=lo if own else None, ref_high=hi if own else None)  # fmt: skip


def _unique_times(events: list[Event]) -> list[Event]:
    """Drop events that repeat a (series, time): ties would make evidence order-dependent."""
    seen: set[tuple[str, int]] = set()
    out: list[Event] = []
    for e in events:
        key = (e.signal if isinstance(e, Observation) else type(e).__name__, e.time_ms)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def arrivals(history: list[Event], seed: int, max_delay_ms: int = 40 * H) -> list[Event]:
    """A messy arrival order of ``history``: versions, corrections, retractions, duplicates
    and delays. Every message arrives within ``max_delay_ms`` of its event time."""
    rng = random.Random(seed * 7919 + 1)
    items: list[Event] = []
    for e in history:
        items.append(e)
        if isinstance(e, Observation):
            r = rng.random()
            if e.status == "preliminary" and r < 0.5:
                items.append(_version(e, "final", e.value))
            if r < 0.08:
                items.append(_version(e, rng.choice(["amended", "corrected"]), e.value + 1.5))
            elif r < 0.12:
                items.append(Retraction(patient_id=PID, source="simulator", time_ms=e.time_ms,
                                        source_msg_id=f"{e.source_msg_id}-x", signal=e.signal,
                                        obs_id=e.obs_id))  # fmt: skip
            elif r < 0.14:
                # retraction of something never sent
                items.append(Retraction(patient_id=PID, source="simulator", time_ms=e.time_ms,
                                        source_msg_id=f"{e.source_msg_id}-y", signal=e.signal,
                                        obs_id=f"{e.obs_id}-ghost"))  # fmt: skip
        if rng.random() < 0.1:
            items.append(e)  # exact duplicate
    keyed = [(e.time_ms + rng.randint(0, max_delay_ms), i, e) for i, e in enumerate(items)]
    keyed.sort()
    return [e for _, _, e in keyed]


def _version(e: Observation, status: str, value: float) -> Observation:
    return Observation(patient_id=e.patient_id, source=e.source, time_ms=e.time_ms,
                       source_msg_id=f"{e.source_msg_id}-{status}", signal=e.signal,
                       value=round(value, 2), unit=e.unit, obs_id=e.obs_id,
                       status=status, ref_low=e.ref_low, ref_high=e.ref_high)  # fmt: skip

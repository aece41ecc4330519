"""What clinicians give: drugs, oxygen and vasopressors, timed from the episode courses.

Treatment follows common practice for blinatumomab and the label: antipyretics for fever,
dexamethasone for CRS >= grade 2 and ICANS >= grade 2, tocilizumab for CRS grade 3-4 (and
some persistent grade 2), empirical antibiotics within 1 h of febrile neutropenia,
dexamethasone and anakinra for HLH/MAS. Oxygen devices and vasopressor counts follow the
ASTCT column each episode needs at its current grade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.events import O2Device, TreatmentKind
from simulator.baseline import Baseline
from simulator.config import DAY_MS, HOUR_MS
from simulator.episodes import Episode


@dataclass(frozen=True, slots=True)
class Dose:
    """One administration."""

    time: int
    kind: TreatmentKind
    agent: str
    dose: float
    unit: str


def _capped(per_kg: float, weight: float, cap: float) -> float:
    return round(min(per_kg * weight, cap), 1)


def _repeat(
    rng: np.random.Generator, first: int, until: int, every_h: float, limit: int
) -> list[int]:
    times: list[int] = []
    t = first
    while t < until and len(times) < limit:
        times.append(t)
        t += int(every_h * HOUR_MS * rng.uniform(0.95, 1.1))
    return times


def _antipyretics(
    rng: np.random.Generator, base: Baseline, start: int, end: int, limit: int = 40
) -> list[Dose]:
    mg = _capped(15.0, base.weight_kg, 1000.0)
    first = start + int(rng.uniform(0.3, 1.5) * HOUR_MS)
    return [
        Dose(t, "antipyretic", "paracetamol", mg, "mg")
        for t in _repeat(rng, first, end, 6.0, limit)
        if rng.random() < 0.85  # "as needed": some doses are not given
    ]


def _dexamethasone(base: Baseline, times: list[int], adult_mg: float) -> list[Dose]:
    mg = adult_mg if base.weight_kg >= 45 else _capped(adult_mg / 50.0, base.weight_kg, adult_mg)
    return [Dose(t, "corticosteroid", "dexamethasone", mg, "mg") for t in times]


def crs_treatment(rng: np.random.Generator, base: Baseline, ep: Episode) -> list[Dose]:
    """Antipyretics while febrile; dexamethasone from grade 2; tocilizumab at grade 3."""
    # Antipyretics for the first days of fever; later fevers are treated by escalation.
    doses = _antipyretics(rng, base, ep.onset, min(ep.resolution, ep.onset + 3 * DAY_MS))
    t2 = ep.course.first_at_least(2)
    t3 = ep.course.first_at_least(3)
    t4 = ep.course.first_at_least(4)
    if t2 is not None:
        end2 = ep.course.last_drop_below(2) or ep.resolution
        every = 6.0 if t3 is not None else 12.0
        first = t2 + int(rng.uniform(0.5, 2.0) * HOUR_MS)
        doses += _dexamethasone(base, _repeat(rng, first, end2, every, 16), 10.0)
        toci_at: int | None = None
        if t3 is not None:
            toci_at = t3 + int(rng.uniform(0.3, 1.5) * HOUR_MS)
        elif rng.random() < 0.3 and end2 - t2 > 24 * HOUR_MS:
            toci_at = t2 + int(rng.uniform(12.0, 24.0) * HOUR_MS)
        if toci_at is not None:
            per_kg = 12.0 if base.weight_kg < 30 else 8.0
            mg = _capped(per_kg, base.weight_kg, 800.0)
            doses.append(Dose(toci_at, "tocilizumab", "tocilizumab", mg, "mg"))
            if t4 is not None:
                doses.append(Dose(t4 + int(8 * HOUR_MS), "tocilizumab", "tocilizumab", mg, "mg"))
    return doses


def icans_treatment(rng: np.random.Generator, base: Baseline, ep: Episode) -> list[Dose]:
    """Dexamethasone 10 mg q6h from grade 2; methylprednisolone pulses at grade 4."""
    doses: list[Dose] = []
    t2 = ep.course.first_at_least(2)
    if t2 is not None:
        end2 = ep.course.last_drop_below(2) or ep.resolution
        first = t2 + int(rng.uniform(0.5, 2.0) * HOUR_MS)
        doses += _dexamethasone(base, _repeat(rng, first, end2, 6.0, 40), 10.0)
    t4 = ep.course.first_at_least(4)
    if t4 is not None:
        mg = _capped(30.0, base.weight_kg, 1000.0)
        for day in range(3):
            t = t4 + int((1.0 + 24.0 * day) * HOUR_MS)
            doses.append(Dose(t, "corticosteroid", "methylprednisolone", mg, "mg"))
    return doses


def infection_treatment(rng: np.random.Generator, base: Baseline, ep: Episode) -> list[Dose]:
    """Empirical antibiotics (within 1 h in febrile neutropenia) and antipyretics."""
    delay_h = rng.uniform(0.3, 1.0) if ep.neutropenic else rng.uniform(1.0, 6.0)
    first = ep.onset + int(delay_h * HOUR_MS)
    if ep.course.peak >= 4:
        agent, per_kg, cap, every = "meropenem", 20.0, 1000.0, 8.0
    elif ep.neutropenic:
        agent, per_kg, cap, every = "piperacillin-tazobactam", 100.0, 4500.0, 8.0
    elif ep.course.peak >= 3:
        agent, per_kg, cap, every = "cefepime", 50.0, 2000.0, 8.0
    else:
        agent, per_kg, cap, every = "ceftriaxone", 75.0, 2000.0, 24.0
    mg = _capped(per_kg, base.weight_kg, cap)
    end = min(ep.resolution, ep.onset + 10 * DAY_MS)
    doses = [Dose(t, "antibiotic", agent, mg, "mg") for t in _repeat(rng, first, end, every, 40)]
    return doses + _antipyretics(rng, base, ep.onset, ep.fever_end, limit=12)


def hlh_treatment(rng: np.random.Generator, base: Baseline, ep: Episode) -> list[Dose]:
    """Dexamethasone and anakinra once HLH/MAS is recognised (12-36 h after onset)."""
    first = ep.onset + int(rng.uniform(12.0, 36.0) * HOUR_MS)
    end = min(ep.resolution, first + 10 * DAY_MS)
    doses = _dexamethasone(base, _repeat(rng, first, end, 12.0, 20), 10.0)
    mg = _capped(2.0, base.weight_kg, 100.0)
    doses += [Dose(t, "anakinra", "anakinra", mg, "mg") for t in _repeat(rng, first, end, 6.0, 40)]
    return doses + _antipyretics(rng, base, ep.onset, first, limit=8)


def premedication(base: Baseline, times: tuple[int, ...]) -> list[Dose]:
    """Dexamethasone premedication before a start, step-up or long-interruption restart."""
    mg = base.dexamethasone_premed_mg()
    return [Dose(t, "corticosteroid", "dexamethasone", mg, "mg") for t in times]


def treatments_for(rng: np.random.Generator, base: Baseline, episodes: list[Episode]) -> list[Dose]:
    """All episode-driven treatments of one patient (premedication and transfusions apart)."""
    doses: list[Dose] = []
    for ep in episodes:
        if ep.kind == "crs":
            doses += crs_treatment(rng, base, ep)
        elif ep.kind == "icans":
            doses += icans_treatment(rng, base, ep)
        elif ep.kind == "infection":
            doses += infection_treatment(rng, base, ep)
        elif ep.kind == "hlh":
            doses += hlh_treatment(rng, base, ep)
    return doses


@dataclass(frozen=True, slots=True)
class SupportStep:
    """Combined support from ``time`` on: ASTCT hypotension and hypoxia columns."""

    time: int
    hemodynamic: int
    respiratory: int
    device: O2Device


def support_steps(episodes: list[Episode]) -> list[SupportStep]:
    """Step function of the worst hypotension and hypoxia columns over all episodes."""
    involved = [ep for ep in episodes if max(ep.hemodynamic) or max(ep.respiratory)]
    times = sorted({t for ep in involved for t in ep.course.times})
    steps: list[SupportStep] = []
    for t in times:
        hemo, resp, device = 0, 0, "room_air"
        for ep in involved:
            g = ep.course.grade_at(t)
            hemo = max(hemo, ep.hemodynamic[g])
            level = ep.respiratory[g]
            if level > resp:
                resp, device = level, ep.devices[level - 2]
        if not steps or (steps[-1].hemodynamic, steps[-1].respiratory, steps[-1].device) != (
            hemo,
            resp,
            device,
        ):
            steps.append(SupportStep(t, hemo, resp, device))  # type: ignore[arg-type]
    return steps


def o2_settings(
    rng: np.random.Generator, device: O2Device, weight_kg: float
) -> tuple[float | None, float | None]:
    """Flow (L/min) and FiO2 (%) a clinician would chart for a device."""
    small = weight_kg < 30
    if device == "nasal_cannula":
        return round(float(rng.uniform(0.5, 2.0) if small else rng.uniform(1.0, 4.0)), 1), None
    if device == "blow_by":
        return round(float(rng.uniform(2.0, 6.0)), 1), None
    if device == "high_flow_nasal_cannula":
        flow = rng.uniform(1.5, 2.0) * weight_kg if small else rng.uniform(30.0, 50.0)
        return round(float(max(flow, 8.0)), 0), round(float(rng.uniform(40.0, 60.0)), 0)
    if device == "simple_facemask":
        return round(float(rng.uniform(6.0, 10.0)), 0), None
    if device == "non_rebreather":
        return 15.0, None
    if device == "venturi_mask":
        return round(float(rng.uniform(8.0, 12.0)), 0), round(float(rng.uniform(35.0, 50.0)), 0)
    if device in ("bipap", "cpap"):
        return None, round(float(rng.uniform(40.0, 60.0)), 0)
    if device == "mechanical_ventilation":
        return None, round(float(rng.uniform(50.0, 80.0)), 0)
    return None, None


# Fever masking: (strength, onset h, full effect until h, half-life after that h).
MASKING: dict[str, tuple[float, float, float, float]] = {
    "paracetamol": (0.4, 1.0, 3.0, 1.0),
    "dexamethasone": (0.4, 2.0, 12.0, 12.0),
    "methylprednisolone": (0.7, 2.0, 24.0, 12.0),
    "tocilizumab": (0.92, 4.0, 72.0, 48.0),
    "anakinra": (0.3, 1.0, 6.0, 6.0),
}


def fever_mask(t: np.ndarray, doses: list[Dose]) -> np.ndarray:
    """Factor (0-1] by which antipyretics, steroids and anti-cytokines shrink a fever.

    Repeated doses of one agent do not stack (the effect saturates): each agent acts
    through its strongest current dose; different agents combine multiplicatively.
    """
    by_agent: dict[str, np.ndarray] = {}
    for d in doses:
        spec = MASKING.get(d.agent)
        if spec is None:
            continue
        _, onset_h, full_h, half_h = spec
        tau_h = (t - d.time) / HOUR_MS
        if tau_h.size == 0 or tau_h.max() < 0 or tau_h.min() > full_h + 8 * half_h:
            continue
        k = np.where(
            tau_h < onset_h,
            np.clip(tau_h / onset_h, 0.0, 1.0),
            np.where(tau_h <= full_h, 1.0, np.exp(-(tau_h - full_h) * np.log(2) / half_h)),
        )
        k = np.where(tau_h < 0, 0.0, k)
        prev = by_agent.get(d.agent)
        by_agent[d.agent] = k if prev is None else np.maximum(prev, k)
    mask = np.ones(t.shape, dtype=np.float64)
    for agent, k in by_agent.items():
        mask *= 1.0 - MASKING[agent][0] * k
    return mask

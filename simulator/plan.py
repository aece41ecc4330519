"""A patient's plan: who they are, their cycles, episodes and infusion schedules.

The plan is the ground truth; rendering turns it into messages. Each patient draws from
its own generator seeded by ``(cohort seed, patient index)``, so a patient is the same in
a cohort of 10 or of 10,000 and does not depend on the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.baseline import Baseline, sample_baseline
from simulator.config import DAY_MS, HOUR_MS, MINUTE_MS, CohortConfig
from simulator.episodes import (
    Episode,
    assign,
    sample_crs,
    sample_hepatotoxicity,
    sample_hlh,
    sample_icans,
    sample_infection,
)
from simulator.labs import uln
from simulator.schedule import Hold, Schedule, Stop, build_schedule

BREAK_MS = 14 * DAY_MS
# Complications driven by blinatumomab itself: they cannot start after a discontinuation.
DRUG_DRIVEN = ("crs", "icans", "hepatotoxicity")


@dataclass(frozen=True, slots=True)
class CyclePlan:
    """One cycle: its schedule, its episodes and the monitored window."""

    cycle: int
    admission: int
    start: int
    schedule: Schedule
    episodes: tuple[Episode, ...]
    window_end: int
    marrow_blasts_pct: float


@dataclass(frozen=True, slots=True)
class PatientPlan:
    """Everything that is true about one simulated patient."""

    index: int
    patient_id: str
    baseline: Baseline
    cycles: tuple[CyclePlan, ...]

    @property
    def episodes(self) -> list[Episode]:
        """All episodes over all cycles."""
        return [ep for c in self.cycles for ep in c.episodes]

    @property
    def admission(self) -> int:
        """First admission: the earliest event of the patient."""
        return self.cycles[0].admission


def patient_id(seed: int, index: int) -> str:
    """Stable, readable patient id (unique per cohort seed)."""
    return f"sim{seed}-{index:05d}"


def patient_rng(seed: int, index: int) -> np.random.Generator:
    """The patient's own generator, independent of cohort size and order."""
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, index]))


def admission_ms(rng: np.random.Generator, config: CohortConfig) -> int:
    """Admission at about 08:00 on a day spread over the enrollment period.

    Must be the first draw from the patient's generator: the stream merger calls it on a
    fresh generator to know when a patient starts without simulating it.
    """
    day = int(rng.uniform(0.0, config.enrollment_days))
    day0 = config.start_ms - config.start_ms % DAY_MS
    return day0 + day * DAY_MS + 8 * HOUR_MS + int(rng.uniform(-30.0, 60.0) * MINUTE_MS)


def first_admission(config: CohortConfig, index: int) -> int:
    """When patient ``index`` is admitted (cheap: one draw)."""
    return admission_ms(patient_rng(config.seed, index), config)


def _requests(
    rng: np.random.Generator, episodes: list[Episode], start: int, rate: float
) -> tuple[list[Hold], list[Stop]]:
    holds: list[Hold] = []
    stops: list[Stop] = []
    for ep in episodes:
        c = ep.course
        t3, t4 = c.first_at_least(3), c.first_at_least(4)
        if ep.kind == "crs" and t3 is not None:
            end = c.resolution + int(rng.uniform(2.0, 12.0) * HOUR_MS)
            holds.append(Hold(t3, end, True, "CRS grade 3"))
            if t4 is not None:
                stops.append(Stop(t4, "CRS grade 4"))
        elif ep.kind == "icans" and t3 is not None:
            le1 = c.last_drop_below(2) or c.resolution
            holds.append(Hold(t3, le1 + 3 * DAY_MS, True, "ICANS grade 3", stop_if_low_dose=True))
            if le1 - t3 > 7 * DAY_MS:
                stops.append(Stop(t3 + 7 * DAY_MS, "ICANS not resolved within 7 days"))
            if t4 is not None:
                stops.append(Stop(t4, "ICANS grade 4"))
            if len(ep.seizure_times) > 1:
                stops.append(Stop(ep.seizure_times[1], "more than one seizure"))
        elif ep.kind == "hepatotoxicity" and t3 is not None:
            end = (c.last_drop_below(2) or c.resolution) + int(rng.uniform(6.0, 24.0) * HOUR_MS)
            holds.append(Hold(t3, end, False, "ALT/AST > 5x ULN"))
            if end - t3 > 14 * DAY_MS:
                stops.append(Stop(t3 + 14 * DAY_MS, "liver toxicity not resolved within 14 days"))
        elif ep.kind == "infection" and t4 is not None:
            end = (c.last_drop_below(4) or c.resolution) + DAY_MS
            holds.append(Hold(t4, end, False, "septic shock"))
        elif ep.kind == "hlh":
            holds.append(Hold(c.onset + 12 * HOUR_MS, c.resolution, True, "HLH/MAS"))
            if t4 is not None:
                stops.append(Stop(t4, "HLH grade 4"))
    for _ in range(int(rng.poisson(rate))):
        t = start + int(rng.uniform(0.1, 27.0) * DAY_MS)
        long = rng.random() < 0.3
        minutes = rng.uniform(240.0, 600.0) if long else rng.uniform(10.0, 210.0)
        reason = "line occlusion" if long else str(rng.choice(["bag change", "pump alarm"]))
        holds.append(Hold(t, t + int(minutes * MINUTE_MS), False, reason))
    return holds, stops


def plan_patient(
    config: CohortConfig, index: int, rng: np.random.Generator | None = None
) -> PatientPlan:
    """Draw one patient's plan (pass ``rng`` to keep drawing from it when rendering)."""
    rng = rng if rng is not None else patient_rng(config.seed, index)
    admission = admission_ms(rng, config)
    base = sample_baseline(rng, config)
    who = assign(rng, config, base)
    alt_ratio = min(base.labs["alt"] / uln(base, "alt"), 0.9)
    cycles: list[CyclePlan] = []
    low, high = base.dose_ug_per_day(False), base.dose_ug_per_day(True)
    blasts = base.marrow_blasts_pct
    for cycle in range(1, config.cycles + 1):
        start = admission + int(rng.uniform(2.0, 5.0) * HOUR_MS)
        eps: list[Episode] = []
        crs: Episode | None = None
        if who.crs == cycle:
            crs = sample_crs(rng, config, base, cycle, start)
            eps.append(crs)
        if who.hlh == cycle:
            eps.append(sample_hlh(rng, config, cycle, start, crs))
        if who.icans == cycle:
            eps.append(sample_icans(rng, config, cycle, start))
        if who.infection == cycle:
            eps.append(sample_infection(rng, config, cycle, start, who.neutropenic))
        if who.hepatotoxicity == cycle:
            eps.append(sample_hepatotoxicity(rng, config, cycle, start, alt_ratio))
        holds, stops = _requests(rng, eps, start, config.nonclinical_interruptions_per_cycle)
        schedule = build_schedule(cycle, start, low, high, holds, stops)
        if schedule.discontinued:
            eps = [e for e in eps if e.kind not in DRUG_DRIVEN or e.onset <= schedule.end]
            if not any(e.kind == "crs" for e in eps):
                eps = [e for e in eps if e.kind != "hlh" or e.onset <= schedule.end]
        last = max([schedule.end, *[e.resolution for e in eps]])
        window_end = last + DAY_MS
        cycles.append(
            CyclePlan(cycle, admission, start, schedule, tuple(eps), window_end, round(blasts, 3))
        )
        if schedule.discontinued:
            break
        # Next admission: after the 14-day break, and never before this cycle's
        # complications have settled.
        next_start = max(schedule.end + BREAK_MS, window_end + DAY_MS)
        admission = next_start - int(rng.uniform(2.0, 5.0) * HOUR_MS)
        admission -= admission % MINUTE_MS
        if rng.random() < 0.7:  # responders: blasts fall to MRD levels after a cycle
            blasts = blasts * float(rng.uniform(0.0, 0.05))
    return PatientPlan(index, patient_id(config.seed, index), base, tuple(cycles))

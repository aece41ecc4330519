"""Complication episodes: which patients get what, when, how bad and for how long.

Timing follows the label and the real-world seed (``clinical-reference.md`` section 7):
CRS within about 48 h of the start or of the day-8 step-up (median onset day 2, median
resolution 5 days); neurotoxicity at days 3-14 of cycle 1 (median day 7-9); liver-enzyme
rises around day 15; HLH/MAS mostly as a CRS resolves. Grades are ASTCT 2019 for CRS and
ICANS, CTCAE v5.0 for infection, febrile neutropenia and transaminases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from contract.events import O2Device
from simulator.baseline import BURDENS, Baseline
from simulator.config import DAY_MS, HOUR_MS, CohortConfig, RateProfile
from simulator.course import Course, draw_course

EpisodeKind = Literal["crs", "icans", "hlh", "infection", "hepatotoxicity"]
Levels = tuple[int, int, int, int, int]
"""Support level (0, 2, 3, 4 = ASTCT column) needed at each grade 0..4."""
NO_SUPPORT: Levels = (0, 0, 0, 0, 0)
ASTCT_LEVELS: Levels = (0, 0, 2, 3, 4)

# ASTCT hypoxia column -> devices clinicians pick for it (a child may get blow-by at grade 2).
LOW_FLOW: tuple[O2Device, ...] = ("nasal_cannula", "blow_by")
HIGH_FLOW: tuple[O2Device, ...] = (
    "high_flow_nasal_cannula",
    "simple_facemask",
    "non_rebreather",
    "venturi_mask",
)
POSITIVE_PRESSURE: tuple[O2Device, ...] = ("bipap", "cpap", "mechanical_ventilation")


@dataclass(frozen=True, slots=True)
class Episode:
    """One complication episode with everything the renderers need to draw its signals."""

    kind: EpisodeKind
    cycle: int
    course: Course
    fever_c: float = 0.0
    """Unmasked fever above the patient's baseline while febrile."""
    fever_end: int = 0
    """When the fever of this episode ends (antibiotics, resolution)."""
    hemodynamic: Levels = NO_SUPPORT
    """Hypotension column (2 fluids, 3 one vasopressor, 4 several) needed at each grade."""
    respiratory: Levels = NO_SUPPORT
    """Hypoxia column (2 low-flow, 3 high-flow/facemask, 4 positive pressure) by grade."""
    devices: tuple[O2Device, O2Device, O2Device] = ("nasal_cannula", "simple_facemask", "bipap")
    neutropenic: bool = False
    seizure_times: tuple[int, ...] = ()
    prolonged_seizure: bool = False
    magnitude: float = 1.0
    """Kind-specific lab scale: ALT peak x ULN (hepatotoxicity), peak ferritin (HLH)."""
    lab_shape: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Hepatotoxicity curve (start ms, rise ms, fall half-life ms)."""
    effects: dict[str, float] = field(default_factory=dict)
    """Per-episode lab effect sizes drawn once (so labs are coherent over days)."""

    @property
    def onset(self) -> int:
        """Onset time."""
        return self.course.onset

    @property
    def resolution(self) -> int:
        """Resolution time."""
        return self.course.resolution


def _normalised(rate: float, rr: tuple[float, ...], weights: tuple[float, ...]) -> list[float]:
    """Per-stratum probabilities whose weighted mean is ``rate`` (capped at 0.95)."""
    mean_rr = sum(r * w for r, w in zip(rr, weights, strict=True))
    return [min(rate * r / mean_rr, 0.95) for r in rr]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Which cycle (or none) each complication falls in for one patient."""

    crs: int | None
    icans: int | None
    hlh: int | None
    infection: int | None
    neutropenic: bool
    hepatotoxicity: int | None


def _cycle(rng: np.random.Generator, share1: float, cycles: int) -> int:
    if cycles == 1 or rng.random() < share1:
        return 1
    return int(rng.integers(2, cycles + 1))


def assign(rng: np.random.Generator, config: CohortConfig, base: Baseline) -> Assignment:
    """Decide per patient whether and in which cycle each complication occurs.

    Risk depends on disease burden (and prior neurotoxicity for ICANS); the per-stratum
    probabilities are normalised so the cohort incidence equals the configured rate.
    """
    rates: RateProfile = config.rate_profile
    mix = config.disease
    weights = mix.weights()
    stratum = BURDENS.index(base.burden)
    p_crs = _normalised(rates.crs, mix.crs_relative_risk, weights)[stratum]
    # Prior neurotoxicity multiplies the stratum risk; dividing by its mean keeps the
    # cohort incidence at the configured rate.
    q = mix.prior_neurotoxicity
    prior = mix.prior_neurotoxicity_icans_rr if base.prior_neurotoxicity else 1.0
    mean_prior = (1 - q) + q * mix.prior_neurotoxicity_icans_rr
    by_stratum = _normalised(rates.icans, mix.icans_relative_risk, weights)[stratum]
    p_icans = min(by_stratum * prior / mean_prior, 0.95)
    p_hlh = _normalised(rates.hlh, mix.hlh_relative_risk, weights)[stratum]
    cycles = config.cycles

    crs = _cycle(rng, rates.share_in_cycle1("crs"), cycles) if rng.random() < p_crs else None
    icans_draw = rng.random() < p_icans
    icans = _cycle(rng, rates.share_in_cycle1("icans"), cycles) if icans_draw else None
    # HLH conditional on CRS so that ``hlh_after_crs`` of HLH follows CRS while the marginal
    # stays ``hlh``: P(H|C) = h*a/c and P(H|not C) = h*(1-a)/(1-c).
    a = rates.hlh_after_crs
    if crs is not None:
        p = min(p_hlh * a / max(p_crs, 1e-9), 1.0)
    else:
        p = min(p_hlh * (1 - a) / max(1 - p_crs, 1e-9), 1.0)
    hlh: int | None = None
    if rng.random() < p:
        hlh = crs if crs is not None else _cycle(rng, rates.share_in_cycle1("hlh"), cycles)
    infection: int | None = None
    neutropenic = False
    if rng.random() < rates.infection:
        infection = _cycle(rng, rates.share_in_cycle1("infection"), cycles)
        neutropenic = bool(rng.random() < rates.febrile_neutropenia / max(rates.infection, 1e-9))
    hepato: int | None = None
    if rng.random() < rates.hepatotoxicity:
        hepato = _cycle(rng, rates.share_in_cycle1("hepatotoxicity"), cycles)
    return Assignment(crs, icans, hlh, infection, neutropenic, hepato)


def _grade(rng: np.random.Generator, mix: tuple[float, float, float, float]) -> int:
    return int(rng.choice(4, p=np.asarray(mix) / sum(mix))) + 1


def _lognormal_ms(rng: np.random.Generator, median_h: float, sigma: float) -> int:
    return int(median_h * HOUR_MS * math.exp(sigma * rng.standard_normal()))


def sample_crs(
    rng: np.random.Generator, config: CohortConfig, base: Baseline, cycle: int, start: int
) -> Episode:
    """CRS: fever first, then hypotension and/or hypoxia by grade (ASTCT)."""
    rates = config.rate_profile
    at_stepup = cycle == 1 and rng.random() < rates.crs_stepup_share
    anchor = start + 7 * DAY_MS if at_stepup else start
    # Most CRS starts within 48 h of the start or step-up; median onset day 2 overall.
    onset = anchor + max(_lognormal_ms(rng, 20.0 if at_stepup else 27.0, 0.55), 2 * HOUR_MS)
    peak = _grade(rng, rates.crs_grades)
    median_days = (4.5, 5.5, 7.0, 9.0)[peak - 1]
    duration = _lognormal_ms(rng, median_days * 24.0, 0.45)
    course = draw_course(rng, onset, peak, duration, rise_h=(4.0, 16.0))
    mechanism = rng.choice(3, p=[0.45, 0.25, 0.30])  # hypotension, hypoxia, both
    hemo = ASTCT_LEVELS if peak >= 2 and mechanism in (0, 2) else NO_SUPPORT
    resp = ASTCT_LEVELS if peak >= 2 and mechanism in (1, 2) else NO_SUPPORT
    low: O2Device = "blow_by" if base.age_years < 6 and rng.random() < 0.4 else "nasal_cannula"
    devices = (
        low,
        HIGH_FLOW[int(rng.choice(4, p=[0.5, 0.2, 0.2, 0.1]))],
        POSITIVE_PRESSURE[int(rng.choice(3, p=[0.5, 0.1, 0.4]))],
    )
    fever = float(rng.uniform(1.5, 2.4) if peak == 1 else rng.uniform(1.9, 3.1))
    g = peak - 1
    effects = {
        "crp": float(rng.uniform(*((30, 90), (80, 180), (150, 260), (200, 320))[g])),
        "il6": float(math.exp(rng.uniform(*((3.0, 4.4), (4.1, 6.0), (5.7, 8.0), (7.6, 9.6))[g]))),
        "ferritin_fold": float(rng.uniform(*((1.3, 2.0), (1.8, 3.5), (3.0, 7.0), (5.0, 10.0))[g])),
        "transaminase_x_uln": float(rng.uniform(0.0, 0.6) + (rng.uniform(0.5, 2.5) if g else 0)),
        "creatinine_fold": float(rng.uniform(1.4, 2.5)) if peak >= 3 else 1.0,
    }
    return Episode(
        kind="crs",
        cycle=cycle,
        course=course,
        fever_c=fever,
        fever_end=course.resolution,
        hemodynamic=hemo,
        respiratory=resp,
        devices=devices,
        effects=effects,
    )


def sample_icans(rng: np.random.Generator, config: CohortConfig, cycle: int, start: int) -> Episode:
    """ICANS: tremor and falling ICE, depressed consciousness, seizures at high grade."""
    median_days, sigma = (7.5, 0.33) if cycle == 1 else (3.0, 0.5)
    onset_days = float(np.clip(median_days * math.exp(sigma * rng.standard_normal()), 1.5, 24.0))
    onset = start + int(onset_days * DAY_MS)
    peak = _grade(rng, config.rate_profile.icans_grades)
    median = (2.5, 3.5, 6.0, 9.0)[peak - 1]
    course = draw_course(rng, onset, peak, _lognormal_ms(rng, median * 24, 0.4), rise_h=(3, 12))
    seizures: list[int] = []
    prolonged = False
    if peak >= 3:
        t3 = course.first_at_least(3)
        end3 = course.last_drop_below(3)
        assert t3 is not None and end3 is not None
        n = int(rng.choice(3, p=[0.6, 0.3, 0.1])) if peak == 3 else int(rng.random() < 0.5)
        prolonged = peak == 4 and n == 1
        if n:
            # The first seizure opens the grade-3 window; a second one comes later in it.
            seizures.append(t3 + int(rng.uniform(0.0, 0.2) * (end3 - t3)))
            if n == 2:
                seizures.append(seizures[0] + int(rng.uniform(0.3, 0.8) * (end3 - seizures[0])))
    return Episode(
        kind="icans",
        cycle=cycle,
        course=course,
        seizure_times=tuple(seizures),
        prolonged_seizure=prolonged,
    )


def sample_infection(
    rng: np.random.Generator, config: CohortConfig, cycle: int, start: int, neutropenic: bool
) -> Episode:
    """Bacterial infection (febrile neutropenia when ANC < 0.5): fever, tachycardia, shock."""
    rates = config.rate_profile
    if rng.random() < rates.infection_in_crs_window:
        day = float(rng.uniform(0.2, 3.0) + (7.0 if rng.random() < 0.4 else 0.0))
    else:
        day = float(rng.uniform(0.5, 27.5))
    onset = start + int(day * DAY_MS)
    peak = _grade(rng, rates.infection_grades)
    if neutropenic:
        peak = max(peak, 3)  # CTCAE febrile neutropenia is grade 3 at least
    duration = _lognormal_ms(rng, 7.0 * 24, 0.3)
    course = draw_course(rng, onset, peak, duration, rise_h=(3, 12), start_grade=max(peak - 1, 2))
    fever_days = float(rng.uniform(1.0, 3.0) + (1.5 if peak == 4 else 0.0))
    pressors = 4 if rng.random() < 0.3 else 3
    hemo: Levels = (0, 0, 0, 0, pressors) if peak == 4 else NO_SUPPORT
    resp: Levels = (0, 0, 0, 0, 3) if peak == 4 and rng.random() < 0.3 else NO_SUPPORT
    effects = {
        "crp": float(rng.uniform(80, 250)),
        "il6": float(rng.uniform(30, 300)),
        "ferritin_fold": float(rng.uniform(1.2, 2.0)),
        "anc_nadir": float(rng.uniform(0.02, 0.4)),
        "anc_rise": float(rng.uniform(0.5, 1.5)),
        "creatinine_fold": float(rng.uniform(1.5, 2.2)) if peak == 4 else 1.0,
    }
    return Episode(
        kind="infection",
        cycle=cycle,
        course=course,
        fever_c=float(rng.uniform(1.5, 2.6)),
        fever_end=onset + int(fever_days * DAY_MS),
        hemodynamic=hemo,
        respiratory=resp,
        devices=("nasal_cannula", "high_flow_nasal_cannula", "bipap"),
        neutropenic=neutropenic,
        effects=effects,
    )


def sample_hlh(
    rng: np.random.Generator, config: CohortConfig, cycle: int, start: int, crs: Episode | None
) -> Episode:
    """HLH/MAS: ferritin climbing past 10,000, falling fibrinogen, cytopenias, liver injury."""
    if crs is not None:
        span = crs.resolution - crs.onset
        onset = crs.onset + int(rng.uniform(0.55, 0.9) * span)
    else:
        onset = start + int(rng.uniform(5.0, 20.0) * DAY_MS)
    peak = _grade(rng, config.rate_profile.hlh_grades)
    course = draw_course(
        rng, onset, peak, _lognormal_ms(rng, 14 * 24, 0.3), rise_h=(24, 72), start_grade=3
    )
    effects = {
        "fibrinogen_drop": float(rng.uniform(0.55, 0.75)),
        "triglycerides_add": float(rng.uniform(180, 450)),
        "transaminase_x_uln": float(rng.uniform(4.0, 10.0)),
        "bilirubin_add": float(rng.uniform(1.5, 5.0)),
        "ldh_fold": float(rng.uniform(2.5, 5.0)),
        "crp": float(rng.uniform(40, 140)),
        "il6": float(rng.uniform(50, 600)),
        "creatinine_fold": float(rng.uniform(1.3, 2.0)) if peak == 4 else 1.0,
    }
    return Episode(
        kind="hlh",
        cycle=cycle,
        course=course,
        fever_c=float(rng.uniform(1.8, 2.7)),
        fever_end=onset + int(rng.uniform(3.0, 7.0) * DAY_MS),
        hemodynamic=(0, 0, 0, 0, 3) if peak == 4 else NO_SUPPORT,
        magnitude=float(math.exp(rng.uniform(math.log(12_000), math.log(80_000)))),
        effects=effects,
    )


# CTCAE v5 ALT/AST x ULN bands: > 1 G1, > 3 G2, > 5 G3, > 20 G4.
HEPATO_BANDS: tuple[float, float, float, float] = (1.0, 3.0, 5.0, 20.0)
_HEPATO_PEAK = ((1.4, 2.8), (3.3, 4.8), (5.6, 15.0), (21.0, 30.0))


def hepatotoxicity_ratio(episode: Episode, t: np.ndarray, baseline_ratio: float) -> np.ndarray:
    """ALT / ULN over time for a hepatotoxicity episode (smooth rise, exponential fall)."""
    start, rise, half_life = episode.lab_shape
    tau = (t - start).astype(np.float64)
    up = np.clip(tau / rise, 0.0, 1.0)
    shape = np.where(
        tau <= rise,
        0.5 - 0.5 * np.cos(np.pi * up),
        np.exp(-np.maximum(tau - rise, 0.0) * math.log(2) / half_life),
    )
    shape = np.where(tau < 0, 0.0, shape)
    return np.asarray(baseline_ratio + (episode.magnitude - baseline_ratio) * shape)


def sample_hepatotoxicity(
    rng: np.random.Generator, config: CohortConfig, cycle: int, start: int, alt_ratio: float
) -> Episode:
    """Transaminase rise outside CRS, median onset day 15; grade from the ALT curve itself."""
    peak = _grade(rng, config.rate_profile.hepatotoxicity_grades)
    mult = float(rng.uniform(*_HEPATO_PEAK[peak - 1]))
    rise = float(rng.uniform(2.0, 4.0) * DAY_MS)
    half_life = float(rng.uniform(1.5, 3.0) * DAY_MS)
    target_onset = start + int(np.clip(rng.normal(14.5, 4.0), 3.0, 26.0) * DAY_MS)
    probe = Episode(
        kind="hepatotoxicity",
        cycle=cycle,
        course=Course((0, 1), (1, 0)),
        magnitude=mult,
        lab_shape=(0.0, rise, half_life),
    )
    grid = np.arange(0, int(rise + 12 * half_life), HOUR_MS, dtype=np.int64)
    ratio = hepatotoxicity_ratio(probe, grid, alt_ratio)
    grade = np.searchsorted(np.asarray(HEPATO_BANDS), ratio, side="left")
    above = np.flatnonzero(grade > 0)
    shift = target_onset - int(grid[above[0]])
    steps = [(int(grid[i]) + shift, int(grade[i])) for i in range(above[0], above[-1] + 2)]
    course = Course.from_steps(steps)
    bili = float(rng.uniform(1.6, 4.0)) if peak >= 3 and rng.random() < 0.35 else 0.0
    return Episode(
        kind="hepatotoxicity",
        cycle=cycle,
        course=course,
        magnitude=mult,
        lab_shape=(float(shift), rise, half_life),
        effects={"bilirubin_x_uln": bili, "ast_ratio": float(rng.uniform(0.7, 1.1))},
    )

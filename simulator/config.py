"""Cohort configuration: one frozen object holds every number the simulator uses.

Incidences are per patient over the simulated course (all simulated cycles), the way the
references report them (``/work/shared/clinical-reference.md`` section 7). Each complication
also has a grade mix (probability of peak grade 1..4 given the complication) and the share of
its episodes that fall in cycle 1; the rest is spread evenly over the later simulated cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Profile = Literal["real_world", "trial"]
VitalsMode = Literal["ward", "monitor"]
Complication = Literal["crs", "icans", "hlh", "infection", "febrile_neutropenia", "hepatotoxicity"]
COMPLICATIONS: tuple[Complication, ...] = (
    "crs",
    "icans",
    "hlh",
    "infection",
    "febrile_neutropenia",
    "hepatotoxicity",
)

Grades = tuple[float, float, float, float]
"""Probability of peak grade 1, 2, 3, 4 given the complication (sums to 1)."""


@dataclass(frozen=True, slots=True)
class RateProfile:
    """Incidence, grade mix and cycle-1 share of each complication."""

    crs: float
    crs_grades: Grades
    icans: float
    icans_grades: Grades
    infection: float
    infection_grades: Grades
    febrile_neutropenia: float
    """Share of patients with febrile neutropenia; these are the neutropenic infections,
    so it must not exceed ``infection``."""
    hlh: float
    hlh_grades: Grades
    hepatotoxicity: float
    hepatotoxicity_grades: Grades
    hlh_after_crs: float = 0.7
    """Share of HLH/MAS episodes that follow a CRS episode (onset as CRS resolves)."""
    crs_stepup_share: float = 0.25
    """Share of cycle-1 CRS episodes anchored to the day-8 step-up rather than the start."""
    infection_in_crs_window: float = 0.25
    """Share of infections placed in the CRS risk windows (days 1-3, 8-10): a confounder."""
    cycle1_share: tuple[tuple[str, float], ...] = (
        ("crs", 0.85),
        ("icans", 0.80),
        ("hlh", 0.70),
        ("infection", 0.55),
        ("hepatotoxicity", 0.50),
    )

    def share_in_cycle1(self, kind: str) -> float:
        """The configured share of ``kind`` episodes that fall in cycle 1."""
        return dict(self.cycle1_share)[kind]

    def validate(self) -> None:
        """Raise ``ValueError`` when a rate or grade mix is out of range."""
        for name in ("crs", "icans", "infection", "febrile_neutropenia", "hlh", "hepatotoxicity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"rate {name}={value} outside [0, 1]")
        if self.febrile_neutropenia > self.infection:
            raise ValueError("febrile_neutropenia cannot exceed infection")
        for name in ("crs", "icans", "infection", "hlh", "hepatotoxicity"):
            mix = getattr(self, f"{name}_grades")
            if len(mix) != 4 or min(mix) < 0 or abs(sum(mix) - 1.0) > 1e-6:
                raise ValueError(f"{name}_grades must be 4 probabilities summing to 1")


# Real-world seed: 116-patient cohort (CRS 51%, grade >= 3 2%; neurotoxicity 26%, grade >= 3
# 10%; infection 40%). Grade mixes are chosen so the grade >= 3 marginals hit the seeds and
# grade-4 events of all kinds add up to about 9% of patients (life-threatening complications).
# Infection grades follow CTCAE: 2 oral antibiotics, 3 IV antibiotics, 4 septic shock.
REAL_WORLD = RateProfile(
    crs=0.51,
    crs_grades=(0.70, 0.26, 0.03, 0.01),
    icans=0.26,
    icans_grades=(0.35, 0.265, 0.30, 0.085),
    infection=0.40,
    infection_grades=(0.0, 0.40, 0.47, 0.13),
    febrile_neutropenia=0.26,
    hlh=0.015,
    hlh_grades=(0.0, 0.0, 0.6, 0.4),
    hepatotoxicity=0.20,
    hepatotoxicity_grades=(0.45, 0.25, 0.25, 0.05),
)

# Trials (label): CRS 15-16% (grade >= 3 2-5%), neurologic events 52-65% (grade >= 3 10-17%),
# febrile neutropenia 24-28%. Midpoints are used.
TRIAL = RateProfile(
    crs=0.155,
    crs_grades=(0.50, 0.27, 0.18, 0.05),
    icans=0.585,
    icans_grades=(0.50, 0.28, 0.19, 0.03),
    infection=0.40,
    infection_grades=(0.0, 0.40, 0.47, 0.13),
    febrile_neutropenia=0.26,
    hlh=0.01,
    hlh_grades=(0.0, 0.0, 0.6, 0.4),
    hepatotoxicity=0.20,
    hepatotoxicity_grades=(0.45, 0.25, 0.25, 0.05),
)

PROFILES: dict[str, RateProfile] = {"real_world": REAL_WORLD, "trial": TRIAL}

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class DiseaseMix:
    """Disease burden strata and their relative risks (blasts drive CRS and HLH risk)."""

    rr_high_burden: float = 0.35
    """Relapsed/refractory with marrow blasts >= 50%."""
    rr_low_burden: float = 0.30
    """Relapsed/refractory with marrow blasts 5-49%."""
    mrd_positive: float = 0.35
    """MRD-positive in morphological remission (blasts < 5%)."""
    crs_relative_risk: tuple[float, float, float] = (1.8, 1.0, 0.35)
    icans_relative_risk: tuple[float, float, float] = (1.3, 1.0, 0.8)
    hlh_relative_risk: tuple[float, float, float] = (2.0, 1.0, 0.2)
    prior_neurotoxicity: float = 0.10
    """Share of patients with earlier neurotoxicity (CNS disease, prior CAR-T...)."""
    prior_neurotoxicity_icans_rr: float = 1.8

    def weights(self) -> tuple[float, float, float]:
        """Probabilities of the three strata, normalised."""
        total = self.rr_high_burden + self.rr_low_burden + self.mrd_positive
        return (
            self.rr_high_burden / total,
            self.rr_low_burden / total,
            self.mrd_positive / total,
        )


@dataclass(frozen=True, slots=True)
class ArtifactRates:
    """Confounders a real feed carries: charting errors, retractions, duplicates, lab delays."""

    charting_error_per_vitals_set: float = 0.002
    """An implausible value (temp 3.7, SpO2 140...) later corrected with the same obs_id."""
    entered_in_error_per_patient_cycle: float = 0.3
    """Mean count of plausible but wrong observations later retracted (entered-in-error)."""
    duplicate_per_message: float = 0.004
    """A message delivered twice (same source_msg_id)."""
    missing_lab_panel: float = 0.03
    missing_lab_value: float = 0.02
    late_lab_panel: float = 0.04
    """A lab panel whose result arrives 6-18 h after collection instead of 1-3 h."""
    transfusion_reaction: float = 0.05
    """Share of transfusions followed by a brief febrile non-haemolytic reaction."""
    tremor_without_icans: float = 0.12
    """Share of patients with a grade-1 tremor for a few days without ICANS."""


@dataclass(frozen=True, slots=True)
class CohortConfig:
    """Everything that defines a synthetic cohort; the same config gives the same bytes."""

    n_patients: int = 100
    seed: int = 0
    cycles: int = 1
    """Blinatumomab cycles simulated per patient (28 days on, 14 days off)."""
    profile: Profile = "real_world"
    rates: RateProfile | None = None
    """Overrides the profile's rates when set."""
    start_ms: int = 1_735_689_600_000
    """Earliest admission (2025-01-01T00:00Z)."""
    enrollment_days: float = 180.0
    """Admissions are spread uniformly over this many days after ``start_ms``."""
    child_fraction: float = 0.25
    vitals_mode: VitalsMode = "ward"
    ward_interval_h: tuple[float, float] = (1.0, 4.0)
    """Ward observation interval when acutely unwell (first) and when well (second)."""
    monitor_interval_s: float = 60.0
    """Bedside-monitor sampling period for HR, RR, SpO2 and temperature (1-60 s)."""
    nibp_interval_min: float = 15.0
    """Non-invasive blood pressure cycle time in monitor mode."""
    ice_interval_h: tuple[float, float] = (8.0, 12.0)
    ice_days: int = 14
    """ICE assessments are charted on days 1..ice_days of each cycle (and during ICANS)."""
    il6_probability: float = 0.5
    """Chance IL-6 is sent on a day with active CRS grade >= 2 or HLH."""
    nonclinical_interruptions_per_cycle: float = 1.2
    """Mean count of bag-change/line interruptions per cycle (about 30% last >= 4 h)."""
    disease: DiseaseMix = field(default_factory=DiseaseMix)
    artifacts: ArtifactRates = field(default_factory=ArtifactRates)

    def __post_init__(self) -> None:
        if self.n_patients < 0:
            raise ValueError("n_patients must be >= 0")
        if not 1 <= self.cycles <= 20:
            raise ValueError("cycles must be 1..20")
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}")
        low, high = self.ward_interval_h
        if not 0.25 <= low <= high <= 12.0:
            raise ValueError("ward_interval_h must satisfy 0.25 <= low <= high <= 12")
        if not 1.0 <= self.monitor_interval_s <= 60.0:
            raise ValueError("monitor_interval_s must be 1..60")
        if not 0.0 <= self.child_fraction <= 1.0:
            raise ValueError("child_fraction must be in [0, 1]")
        if self.ice_interval_h[0] <= 0 or self.ice_interval_h[0] > self.ice_interval_h[1]:
            raise ValueError("ice_interval_h must be (low, high) with 0 < low <= high")
        self.rate_profile.validate()

    @property
    def rate_profile(self) -> RateProfile:
        """The rates in force: the explicit override or the named profile's."""
        return self.rates if self.rates is not None else PROFILES[self.profile]

    def with_(self, **changes: object) -> CohortConfig:
        """A copy with some fields changed (convenience for tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]

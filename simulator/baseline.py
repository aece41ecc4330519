"""Who the patient is before the first infusion: demographics, disease and baselines.

Children (1-17 y) and adults (18-80 y) with B-ALL. Disease burden strata follow
:class:`simulator.config.DiseaseMix`; relapsed/refractory patients with a high marrow blast
count start with cytopenias, a higher LDH and a higher ferritin (transfusional iron).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from simulator.config import CohortConfig

Burden = Literal["high", "low", "mrd"]
BURDENS: tuple[Burden, ...] = ("high", "low", "mrd")
LabSite = Literal["A", "B"]


@dataclass(frozen=True, slots=True)
class Baseline:
    """A patient's fixed characteristics and pre-treatment physiological baselines."""

    age_years: float
    sex: Literal["female", "male"]
    weight_kg: float
    bsa_m2: float
    burden: Burden
    marrow_blasts_pct: float
    prior_neurotoxicity: bool
    prior_transplant: bool
    lab_site: LabSite
    """Two laboratories with different reference ranges, so consumers must use the
    message's own ULN/LLN."""
    temp_c: float
    hr: float
    rr: float
    sbp: float
    spo2: float
    labs: dict[str, float]

    @property
    def is_child(self) -> bool:
        """Under 18."""
        return self.age_years < 18.0

    @property
    def ice_capable(self) -> bool:
        """ICE needs reading and writing; under-12s are assessed without it (CAPD)."""
        return self.age_years >= 12.0

    def dose_ug_per_day(self, high: bool) -> float:
        """Label dose: 9/28 ug/day, or 5/15 ug/m2/day capped at 9/28 below 45 kg."""
        if self.weight_kg >= 45.0:
            return 28.0 if high else 9.0
        per_m2 = 15.0 if high else 5.0
        return round(min(per_m2 * self.bsa_m2, 28.0 if high else 9.0), 1)

    def dexamethasone_premed_mg(self) -> float:
        """Premedication: 20 mg in adults, 5 mg/m2 (max 20 mg) in children."""
        if self.weight_kg >= 45.0:
            return 20.0
        return round(min(5.0 * self.bsa_m2, 20.0), 1)


def _weight_for_age(rng: np.random.Generator, age: float, sex: str) -> float:
    if age < 18.0:
        # Rough growth curve: ~10 kg at 1 y, ~32 kg at 10 y, ~60 kg at 17 y.
        median = 8.0 + 2.2 * age + 0.09 * age**2
        return float(np.clip(median * rng.lognormal(0.0, 0.12), 7.0, 110.0))
    median = 80.0 if sex == "male" else 67.0
    return float(np.clip(median * rng.lognormal(0.0, 0.17), 38.0, 160.0))


def costeff_bsa(weight_kg: float) -> float:
    """Body-surface area from weight alone (Costeff 1966), adequate for dosing estimates."""
    return (4.0 * weight_kg + 7.0) / (weight_kg + 90.0)


def sample_baseline(rng: np.random.Generator, config: CohortConfig) -> Baseline:
    """Draw one patient's characteristics."""
    child = bool(rng.random() < config.child_fraction)
    if child:
        # Paediatric B-ALL peaks at 2-5 years; relapses spread over childhood.
        age = float(np.clip(rng.gamma(2.6, 2.8) + 1.0, 1.0, 17.9))
    else:
        age = float(np.clip(rng.triangular(18.0, 45.0, 80.0), 18.0, 80.0))
    sex: Literal["female", "male"] = "male" if rng.random() < 0.55 else "female"
    weight = round(_weight_for_age(rng, age, sex), 1)
    burden: Burden = BURDENS[int(rng.choice(3, p=config.disease.weights()))]
    if burden == "high":
        blasts = float(rng.uniform(50.0, 95.0))
    elif burden == "low":
        blasts = float(rng.uniform(5.0, 49.0))
    else:
        blasts = float(10 ** rng.uniform(-3.0, 0.5))  # MRD 0.001%-3%
    prior_neuro = bool(rng.random() < config.disease.prior_neurotoxicity)
    prior_tx = bool(burden != "mrd" and rng.random() < 0.3)
    site: LabSite = "A" if rng.random() < 0.6 else "B"

    if age < 6:
        hr, rr, sbp = rng.normal(110, 8), rng.normal(24, 2), rng.normal(98, 6)
    elif age < 12:
        hr, rr, sbp = rng.normal(92, 7), rng.normal(20, 2), rng.normal(104, 6)
    else:
        hr, rr, sbp = rng.normal(80, 8), rng.normal(16, 1.5), rng.normal(122, 10)
    labs = _baseline_labs(rng, burden, age, sex)
    return Baseline(
        age_years=round(age, 1),
        sex=sex,
        weight_kg=weight,
        bsa_m2=round(costeff_bsa(weight), 2),
        burden=burden,
        marrow_blasts_pct=round(blasts, 3),
        prior_neurotoxicity=prior_neuro,
        prior_transplant=prior_tx,
        lab_site=site,
        temp_c=float(rng.normal(36.75, 0.15)),
        hr=float(hr),
        rr=float(rr),
        sbp=float(sbp),
        spo2=float(np.clip(rng.normal(97.8, 0.8), 95.5, 99.5)),
        labs=labs,
    )


def _baseline_labs(
    rng: np.random.Generator, burden: Burden, age: float, sex: str
) -> dict[str, float]:
    """Pre-treatment lab values in canonical units."""
    lognorm = rng.lognormal
    if burden == "high":
        anc, plt, hgb, ldh = lognorm(math.log(0.9), 0.6), lognorm(math.log(45), 0.5), 9.0, 520
        ferritin = lognorm(math.log(1100), 0.5)
        wbc_extra = lognorm(math.log(3.0), 1.0)  # circulating blasts
    elif burden == "low":
        anc, plt, hgb, ldh = lognorm(math.log(1.6), 0.5), lognorm(math.log(90), 0.4), 10.0, 300
        ferritin = lognorm(math.log(700), 0.5)
        wbc_extra = lognorm(math.log(0.8), 0.8)
    else:
        anc, plt, hgb, ldh = lognorm(math.log(2.8), 0.35), lognorm(math.log(190), 0.3), 12.0, 200
        ferritin = lognorm(math.log(350), 0.6)
        wbc_extra = 0.0
    lymph = lognorm(math.log(1.3), 0.4)
    creat_median = 0.35 + 0.03 * age if age < 18 else (0.95 if sex == "male" else 0.75)
    return {
        "anc": float(anc),
        "wbc": float(anc + lymph + 0.4 + wbc_extra),
        "platelets": float(plt),
        "hgb": float(hgb + rng.normal(0, 0.8)),
        "ldh": float(ldh * lognorm(0.0, 0.2)),
        "ferritin": float(ferritin),
        "crp": float(lognorm(math.log(4.0), 0.7)),
        "alt": float(lognorm(math.log(22.0), 0.35)),
        "ast": float(lognorm(math.log(24.0), 0.3)),
        "bilirubin": float(lognorm(math.log(0.55), 0.35)),
        "creatinine": float(creat_median * lognorm(0.0, 0.12)),
        "fibrinogen": float(rng.normal(320, 55)),
        "triglycerides": float(lognorm(math.log(130), 0.3)),
        "il6": float(lognorm(math.log(3.5), 0.4)),
    }

"""The default synthetic training and evaluation cohorts of the CRS, ICANS and HLH models.

Real-world rate profile (clinical-reference section 7), one cycle, ward vitals, with HLH/MAS
enriched from 1.5% to 15% of patients: at 1.5% a cohort of a few thousand holds too few
episodes to learn from. HLH probabilities are therefore at the enriched prevalence. The
evaluation cohort has another seed, so no patient is in both.
"""

from __future__ import annotations

from dataclasses import replace

from simulator.config import PROFILES, CohortConfig

HLH_ENRICHED_RATE = 0.15
TRAIN_SEED = 20250611
TEST_SEED = 20250612
STEP_H = 2.0
"""Snapshot spacing of the synthetic rows (hours)."""


def cohort(n_patients: int, seed: int) -> CohortConfig:
    """The enriched real-world cohort with ``n_patients`` and ``seed``."""
    rates = replace(PROFILES["real_world"], hlh=HLH_ENRICHED_RATE)
    return CohortConfig(n_patients=n_patients, seed=seed, cycles=1, rates=rates)


def describe(config: CohortConfig) -> str:
    """One line for manifests and cards."""
    rates = config.rate_profile
    return (
        f"synthetic blinatumomab cohort (simulator, seed {config.seed}): {config.n_patients} "
        f"patients, {config.cycles} cycle, real-world rates with HLH/MAS enriched to "
        f"{rates.hlh:.0%}; snapshots every {STEP_H:g} h"
    )

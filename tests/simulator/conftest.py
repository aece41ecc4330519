"""Shared cohorts for the simulator tests (session-scoped: simulated once)."""

from __future__ import annotations

import pytest

from simulator.config import CohortConfig, RateProfile
from simulator.patient import SimPatient, simulate_patient

# Complications almost certain and often severe, so label/signal agreement is exercised
# on every kind and grade in a small cohort.
SEVERE = RateProfile(
    crs=0.95,
    crs_grades=(0.2, 0.3, 0.3, 0.2),
    icans=0.9,
    icans_grades=(0.2, 0.3, 0.3, 0.2),
    infection=0.9,
    infection_grades=(0.0, 0.3, 0.4, 0.3),
    febrile_neutropenia=0.5,
    hlh=0.3,
    hlh_grades=(0.0, 0.0, 0.5, 0.5),
    hepatotoxicity=0.9,
    hepatotoxicity_grades=(0.2, 0.2, 0.4, 0.2),
)


@pytest.fixture(scope="session")
def default_config() -> CohortConfig:
    """A small default cohort over two cycles."""
    return CohortConfig(n_patients=12, seed=7, cycles=2)


@pytest.fixture(scope="session")
def default_patients(default_config: CohortConfig) -> list[SimPatient]:
    """The default cohort's patients."""
    return [simulate_patient(default_config, i) for i in range(default_config.n_patients)]


@pytest.fixture(scope="session")
def severe_config() -> CohortConfig:
    """A cohort where every complication is frequent and often severe."""
    return CohortConfig(n_patients=40, seed=11, cycles=1, rates=SEVERE)


@pytest.fixture(scope="session")
def severe_patients(severe_config: CohortConfig) -> list[SimPatient]:
    """The severe cohort's patients."""
    return [simulate_patient(severe_config, i) for i in range(severe_config.n_patients)]

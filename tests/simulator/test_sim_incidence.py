"""Incidence and timing stay within sampling tolerance of the configuration."""

from __future__ import annotations

import math
import statistics

import pytest

from simulator.config import CohortConfig
from simulator.stream import Cohort

N = 1500


def _close(observed: float, target: float, n: int) -> bool:
    se = math.sqrt(max(target * (1 - target), 1e-4) / n)
    return abs(observed - target) <= 4 * se + 0.01


@pytest.mark.parametrize("profile", ["real_world", "trial"])
def test_incidence_matches_config(profile: str) -> None:
    config = CohortConfig(n_patients=N, seed=123, profile=profile)  # type: ignore[arg-type]
    rates = config.rate_profile
    labels = Cohort(config).labels()

    def share(kind: str, min_grade: int = 1) -> float:
        ids = {r.patient_id for r in labels if r.complication == kind and r.peak_grade >= min_grade}
        return len(ids) / N

    expected = {
        ("crs", 1): rates.crs,
        ("crs", 3): rates.crs * sum(rates.crs_grades[2:]),
        ("icans", 1): rates.icans,
        ("icans", 3): rates.icans * sum(rates.icans_grades[2:]),
        ("infection", 1): rates.infection,
        ("febrile_neutropenia", 1): rates.febrile_neutropenia,
        ("hlh", 1): rates.hlh,
        ("hepatotoxicity", 1): rates.hepatotoxicity,
    }
    for (kind, grade), target in expected.items():
        # Discontinuations remove some later drug-driven onsets: allow a small loss.
        observed = share(kind, grade)
        assert _close(observed, target, N) or target - 0.03 < observed <= target, (
            kind,
            grade,
            observed,
            target,
        )


def test_timing_matches_label() -> None:
    labels = Cohort(CohortConfig(n_patients=N, seed=321)).labels()
    crs = [r.onset_day for r in labels if r.complication == "crs"]
    icans = [r.onset_day for r in labels if r.complication == "icans" and r.cycle == 1]
    liver = [r.onset_day for r in labels if r.complication == "hepatotoxicity"]
    assert statistics.median(crs) == 2
    assert 7 <= statistics.median(icans) <= 9
    assert 13 <= statistics.median(liver) <= 17
    durations = [
        (r.resolution_ms - r.onset_ms) / 86_400_000 for r in labels if r.complication == "crs"
    ]
    assert 4.0 <= statistics.median(durations) <= 6.0
    stepup = sum(8 <= d <= 10 for d in crs) / len(crs)
    assert 0.15 < stepup < 0.35  # the second cluster after the day-8 step-up

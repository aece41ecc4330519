"""Same seed, same bytes; different seeds differ; patients independent of cohort size."""

from __future__ import annotations

from pathlib import Path

from simulator.config import CohortConfig
from simulator.generate import generate
from simulator.patient import simulate_patient


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    config = CohortConfig(n_patients=6, seed=5)
    generate(config, tmp_path / "a")
    generate(config, tmp_path / "b")
    for name in (
        "events.jsonl",
        "events_meta.csv",
        "labels.csv",
        "fhir/bundles.ndjson",
        "hl7/oru_r01.hl7",
    ):
        a = (tmp_path / "a" / name).read_bytes()
        assert a, name
        assert a == (tmp_path / "b" / name).read_bytes(), name


def test_different_seeds_differ(tmp_path: Path) -> None:
    generate(CohortConfig(n_patients=4, seed=1), tmp_path / "a", ("jsonl",))
    generate(CohortConfig(n_patients=4, seed=2), tmp_path / "b", ("jsonl",))
    assert (tmp_path / "a" / "events.jsonl").read_bytes() != (
        tmp_path / "b" / "events.jsonl"
    ).read_bytes()


def test_patient_independent_of_cohort_size() -> None:
    small = simulate_patient(CohortConfig(n_patients=5, seed=9), 3)
    large = simulate_patient(CohortConfig(n_patients=500, seed=9), 3)
    assert small.messages == large.messages
    assert small.labels == large.labels

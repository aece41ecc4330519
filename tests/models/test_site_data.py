"""A site's canonical data (JSON lines + labels CSV) gives the same rows as the simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.history_data import targets
from models.site_data import site_rows
from models.synthetic import cohort_rows
from simulator.config import CohortConfig
from simulator.generate import generate


def test_site_files_match_the_in_memory_cohort(tmp_path: Path) -> None:
    config = CohortConfig(n_patients=3, seed=7)
    generate(config, tmp_path, formats=("jsonl",))
    rows, labels = site_rows(tmp_path / "events.jsonl", tmp_path / "labels.csv", 4.0, workers=1)
    direct, direct_labels = cohort_rows(config, 4.0, workers=1)
    assert labels == direct_labels
    assert set(rows.patient_ids) == set(direct.patient_ids)
    for pid in rows.patient_ids:
        a = rows.features[rows.groups == rows.patient_ids.index(pid)]
        b = direct.features[direct.groups == direct.patient_ids.index(pid)]
        np.testing.assert_array_equal(a, b)
    t = targets(rows, labels, "crs")
    assert t.target.shape == (len(rows.times_ms),)

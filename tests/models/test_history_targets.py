"""Complication targets: onset of a grade >= 2 episode within the horizon; inside is left out."""

from __future__ import annotations

import numpy as np

from models.history_data import HOUR_MS, HistoryRows, targets
from simulator.labels import Label

T0 = 1_767_225_600_000


def _rows(hours: list[int]) -> HistoryRows:
    n = len(hours)
    return HistoryRows(
        patient_ids=("a",),
        groups=np.zeros(n, dtype=np.int64),
        times_ms=np.array([T0 + h * HOUR_MS for h in hours], dtype=np.int64),
        features=np.zeros((n, 1), dtype=np.float32),
        columns=("hr_last",),
    )


def _label(onset_h: int, end_h: int, grade: int, kind: str = "crs") -> Label:
    return Label("a", kind, T0 + onset_h * HOUR_MS, grade, T0 + end_h * HOUR_MS, 1, 1, T0)  # type: ignore[arg-type]


def test_window_before_onset_is_positive_and_episode_is_left_out() -> None:
    rows = _rows(list(range(0, 80, 4)))
    t = targets(rows, [_label(50, 60, 3), _label(10, 14, 1)], "crs", horizon_h=24)
    hours = np.arange(0, 80, 4)
    assert hours[t.target == 1].tolist() == [28, 32, 36, 40, 44, 48]  # onset in (t, t + 24]
    assert hours[~t.include].tolist() == [12, 52, 56, 60]  # inside both episodes, any grade
    assert t.rel_h[hours == 28][0] == -22.0
    assert (t.event_ids[hours > 50] == -1).all()  # no qualifying episode ahead


def test_grade_one_and_other_complications_are_not_targets() -> None:
    rows = _rows([0, 4, 8])
    t = targets(rows, [_label(6, 7, 1), _label(6, 9, 3, "icans")], "crs", horizon_h=24)
    assert t.target.tolist() == [0, 0, 0]
    assert t.include.tolist() == [True, True, True]

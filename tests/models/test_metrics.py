"""Alert metrics on hand-made cases: runs, detection window, lead time, PPV, burden."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import alert_metrics, alert_runs


def test_runs_restart_at_each_stay() -> None:
    g = np.array([0, 0, 0, 1, 1, 1])
    a = np.array([1, 1, 0, 1, 0, 1], dtype=bool)
    assert alert_runs(g, a).tolist() == [0, 0, -1, 1, -1, 2]
    assert alert_runs(np.array([0, 1]), np.array([True, True])).tolist() == [0, 1]


def test_event_level_figures() -> None:
    # stay 0 septic, onset at row 10 (rel = row - 10); stay 1 never septic, 24 rows
    g = np.repeat([0, 1], [16, 24])
    rel = np.concatenate([np.arange(16) - 10.0, np.full(24, np.nan)])
    ev = np.concatenate([np.zeros(16, dtype=np.int64), np.full(24, -1)])
    a = np.zeros(40, dtype=bool)
    a[[2, 3]] = True  # run 1: 8-7 h early, outside the window [-6, +1]
    a[[5, 6]] = True  # run 2: 5-4 h early: detects, lead 5 h
    a[[14]] = True  # run 3: starts after the window: not counted in PPV
    a[[20, 21, 30]] = True  # runs 4 and 5 on the non-septic stay
    y = (rel >= -6).astype(int)
    m = alert_metrics(y, g, a.astype(float), a, rel, ev, (-6.0, 1.0))
    assert m.events == 1 and m.detected == 1 and m.sensitivity == 1.0
    assert m.lead_times_h == (5.0,)
    assert m.alerts == 5
    assert m.true_alerts == 1
    assert m.ppv == pytest.approx(1 / 4)
    assert m.alerts_per_patient_day == pytest.approx(5 / (40 / 24))

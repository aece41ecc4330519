"""Offline replay uses the streaming state and never looks ahead."""

from __future__ import annotations

import math

import pytest

from features.replay import feature_vector, hourly_snapshots, snapshots_for_history
from tests.features.factory import MIN, T0, H, infusion, obs


def test_snapshots_see_only_the_past() -> None:
    events = [obs("temp", 39.0, T0 + 90 * MIN), infusion("start", T0, dose=9.0),
              obs("temp", 37.0, T0 + 30 * MIN)]  # fmt: skip
    snaps = snapshots_for_history(events, [T0 + 2 * H, T0 + H, T0])
    assert [s.time_ms for s in snaps] == [T0, T0 + H, T0 + 2 * H]
    assert snaps[0].get("temp_last") is None and snaps[0].timeline.infusion_day == 1
    assert snaps[1].get("temp_last") == 37.0
    assert snaps[2].get("temp_max_1h") == 39.0


def test_hourly_snapshots_and_feature_vector() -> None:
    events = [infusion("start", T0, dose=9.0), obs("hr", 90, T0 + 10 * MIN)]
    snaps = hourly_snapshots(events, T0, T0 + 3 * H)
    assert [s.time_ms for s in snaps] == [T0 + k * H for k in range(4)]
    vec = feature_vector(snaps[1], ["hr_last", "temp_last", "infusion_day"])
    assert vec[0] == 90.0 and math.isnan(vec[1]) and vec[2] == 1.0
    assert snaps[1].get("temp_last") is None  # the snapshot keeps None
    with pytest.raises(KeyError):
        feature_vector(snaps[1], ["no_such_feature"])


def test_replay_rejects_mixed_patients() -> None:
    other = obs("hr", 80, T0).__class__(**{**_fields(obs("hr", 80, T0)), "patient_id": "x"})
    with pytest.raises(ValueError):
        snapshots_for_history([obs("hr", 80, T0), other], [T0])


def _fields(o):  # type: ignore[no-untyped-def]
    return {f: getattr(o, f) for f in o.__struct_fields__}

"""Infusion timeline: day arithmetic, interruptions, restarts, step-up and cycles."""

from __future__ import annotations

import pytest

from features.timeline import build_timeline, infusion_sort_key
from tests.features.factory import MIN, T0, H, infusion


def _tl(events, at):  # type: ignore[no-untyped-def]
    return build_timeline(sorted(events, key=infusion_sort_key), at)


def test_before_any_event_everything_is_unknown() -> None:
    tl = _tl([], T0)
    assert tl.cycle is None and tl.infusion_day is None and tl.dose_ug_per_day is None


@pytest.mark.parametrize(
    ("hours", "day"), [(0, 1), (23.99, 1), (24, 2), (47.99, 2), (48, 3), (7 * 24, 8)]
)
def test_infusion_day_is_24h_blocks_from_start(hours: float, day: int) -> None:
    tl = _tl([infusion("start", T0, dose=9.0)], T0 + int(hours * H))
    assert tl.infusion_day == day
    assert tl.hours_since_start == pytest.approx(int(hours * H) / H)


@pytest.mark.parametrize(("gap_min", "restarts"), [(234, 0), (239, 0), (240, 1), (241, 1)])
def test_interruption_of_4h_or_more_is_a_restart(gap_min: int, restarts: int) -> None:
    events = [
        infusion("start", T0, dose=9.0),
        infusion("interruption", T0 + 10 * H),
        infusion("restart", T0 + 10 * H + gap_min * MIN, dose=9.0),
    ]
    tl = _tl(events, T0 + 30 * H)
    assert tl.interruptions == 1
    assert tl.restarts == restarts
    assert tl.hours_off_infusion == pytest.approx(gap_min / 60)
    assert tl.on_infusion and tl.dose_ug_per_day == 9.0
    assert tl.hours_since_dose_change == pytest.approx(30 - 10 - gap_min / 60)
    # interruptions do not shift the day of the cycle
    assert tl.infusion_day == 2


def test_running_interruption_counts_off_hours_and_dose_zero() -> None:
    events = [infusion("start", T0, dose=9.0), infusion("interruption", T0 + 5 * H)]
    tl = _tl(events, T0 + 8 * H)
    assert not tl.on_infusion
    assert tl.dose_ug_per_day == 0.0
    assert tl.hours_off_infusion == pytest.approx(3.0)
    assert tl.restarts == 0  # not restarted yet
    assert tl.hours_since_dose_change == pytest.approx(8.0)


def test_step_up_on_day_8() -> None:
    events = [infusion("start", T0, dose=9.0), infusion("dose_change", T0 + 7 * 24 * H, dose=28.0)]
    before = _tl(events, T0 + 7 * 24 * H - 1)
    after = _tl(events, T0 + 7 * 24 * H + 2 * H)
    assert before.infusion_day == 7 and before.dose_ug_per_day == 9.0
    assert after.infusion_day == 8 and after.dose_ug_per_day == 28.0
    assert after.hours_since_dose_change == pytest.approx(2.0)
    assert after.hours_since_start == pytest.approx(7 * 24 + 2)


def test_new_cycle_resets_counters() -> None:
    c2 = T0 + 42 * 24 * H
    events = [
        infusion("start", T0, dose=9.0),
        infusion("interruption", T0 + 5 * H),
        infusion("restart", T0 + 10 * H),
        infusion("stop", T0 + 28 * 24 * H),
        infusion("start", c2, cycle=2, dose=28.0),
    ]
    end_of_1 = _tl(events, T0 + 30 * 24 * H)
    assert end_of_1.cycle == 1 and end_of_1.restarts == 1 and not end_of_1.on_infusion
    assert end_of_1.dose_ug_per_day == 0.0
    tl = _tl(events, c2 + 3 * H)
    assert tl.cycle == 2 and tl.infusion_day == 1
    assert tl.interruptions == 0 and tl.restarts == 0 and tl.hours_off_infusion == 0.0
    assert tl.dose_ug_per_day == 28.0


def test_late_event_of_previous_cycle_does_not_reopen_it() -> None:
    events = [
        infusion("start", T0, dose=9.0),
        infusion("start", T0 + 40 * H, cycle=2, dose=28.0),
        infusion("restart", T0 + 41 * H, cycle=1),
    ]
    assert _tl(events, T0 + 42 * H).cycle == 2


def test_stop_closes_a_running_interruption() -> None:
    events = [
        infusion("start", T0, dose=9.0),
        infusion("interruption", T0 + 2 * H),
        infusion("stop", T0 + 3 * H),
    ]
    tl = _tl(events, T0 + 10 * H)
    assert tl.hours_off_infusion == pytest.approx(1.0)
    assert tl.restarts == 0 and not tl.on_infusion


def test_events_after_the_time_are_ignored() -> None:
    events = [infusion("start", T0, dose=9.0), infusion("interruption", T0 + 5 * H)]
    assert _tl(events, T0 + 5 * H - 1).on_infusion
    assert not _tl(events, T0 + 5 * H).on_infusion

"""Infusion schedule: step-up, label holds, restarts, premedication."""

from __future__ import annotations

from simulator.config import DAY_MS, HOUR_MS
from simulator.schedule import Hold, Stop, build_schedule

T0 = 1_000 * DAY_MS


def _actions(s: object) -> list[tuple[float, str, float | None]]:
    return [((a.time - T0) / DAY_MS, a.action, a.dose) for a in s.actions]  # type: ignore[attr-defined]


def test_cycle1_steps_up_on_day8_and_completes_28_days() -> None:
    s = build_schedule(1, T0, 9.0, 28.0, [], [])
    assert _actions(s) == [(0.0, "start", 9.0), (7.0, "dose_change", 28.0), (28.0, "stop", None)]
    assert not s.discontinued
    assert s.premeds == (T0 - HOUR_MS, T0 + 7 * DAY_MS - HOUR_MS)
    assert s.dose_at(T0 + DAY_MS) == 9.0 and s.dose_at(T0 + 8 * DAY_MS) == 28.0


def test_later_cycles_start_high() -> None:
    s = build_schedule(2, T0, 9.0, 28.0, [], [])
    assert _actions(s) == [(0.0, "start", 28.0), (28.0, "stop", None)]


def test_crs_grade3_restarts_low_and_escalates_after_7_days() -> None:
    hold = Hold(T0 + 10 * DAY_MS, T0 + 13 * DAY_MS, True, "CRS grade 3")
    s = build_schedule(1, T0, 9.0, 28.0, [hold], [])
    assert _actions(s) == [
        (0.0, "start", 9.0),
        (7.0, "dose_change", 28.0),
        (10.0, "interruption", None),
        (13.0, "restart", 9.0),
        (20.0, "dose_change", 28.0),
        (31.0, "stop", None),  # 28 infusion days: the 3-day hold is added at the end
    ]
    assert T0 + 13 * DAY_MS - HOUR_MS in s.premeds


def test_short_interruption_needs_no_premedication() -> None:
    short = Hold(T0 + 2 * DAY_MS, T0 + 2 * DAY_MS + 2 * HOUR_MS, False, "bag change")
    long = Hold(T0 + 3 * DAY_MS, T0 + 3 * DAY_MS + 5 * HOUR_MS, False, "line occlusion")
    s = build_schedule(2, T0, 9.0, 28.0, [short, long], [])
    assert s.premeds == (T0 - HOUR_MS, T0 + 3 * DAY_MS + 4 * HOUR_MS)
    restarts = [a for a in s.actions if a.action == "restart"]
    assert [a.dose for a in restarts] == [28.0, 28.0]


def test_icans_grade3_at_low_dose_discontinues() -> None:
    hold = Hold(T0 + 3 * DAY_MS, T0 + 9 * DAY_MS, True, "ICANS grade 3", stop_if_low_dose=True)
    s = build_schedule(1, T0, 9.0, 28.0, [hold], [])
    assert s.discontinued and _actions(s)[-1] == (3.0, "stop", None)


def test_stop_during_hold_and_overlapping_holds() -> None:
    a = Hold(T0 + 2 * DAY_MS, T0 + 4 * DAY_MS, False, "liver")
    b = Hold(T0 + 3 * DAY_MS, T0 + 6 * DAY_MS, True, "CRS grade 3")
    s = build_schedule(2, T0, 9.0, 28.0, [a, b], [])
    assert [x[1] for x in _actions(s)] == [
        "start",
        "interruption",
        "restart",
        "dose_change",
        "stop",
    ]
    assert _actions(s)[2] == (6.0, "restart", 9.0)
    stopped = build_schedule(2, T0, 9.0, 28.0, [a], [Stop(T0 + 3 * DAY_MS, "CRS grade 4")])
    assert stopped.discontinued and _actions(stopped)[-1] == (3.0, "stop", None)

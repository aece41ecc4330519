"""The blinatumomab infusion of one cycle, with the interruptions the label asks for.

Cycle 1 runs at the low dose for 7 days then steps up; later cycles run at the high dose.
A cycle delivers 28 days of infusion: time lost to interruptions is added at the end
(the label continues the cycle after interruptions up to 7 days; longer ones are treated
the same way here, a simplification). Label actions (``clinical-reference.md`` section 7):

- CRS grade 3: interrupt until resolved, restart at the low dose, step up after 7 days.
- CRS grade 4, ICANS grade 4, more than one seizure: discontinue.
- ICANS grade 3: interrupt until grade <= 1 for 3 days, restart at the low dose;
  discontinue if it began at the low dose or took more than 7 days to resolve.
- ALT/AST > 5x ULN or bilirubin > 3x ULN: interrupt until grade <= 1, same dose.
- Septic shock and HLH (clinician judgement on "other grade 3"): interrupt; HLH restarts low.
- Bag changes and line problems: short interruptions at the same dose.

Dexamethasone premedication is due 1 h before the start, the step-up and any restart
after an interruption of 4 h or more.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.events import InfusionAction
from simulator.config import DAY_MS, HOUR_MS

INFUSION_MS = 28 * DAY_MS
STEP_UP_AFTER_MS = 7 * DAY_MS
PREMED_LEAD_MS = HOUR_MS
LONG_INTERRUPTION_MS = 4 * HOUR_MS


@dataclass(frozen=True, slots=True)
class Hold:
    """A request to interrupt the infusion from ``start`` to ``end``."""

    start: int
    end: int
    restart_low: bool
    reason: str
    stop_if_low_dose: bool = False
    """Discontinue instead when the infusion runs at the low dose at ``start`` (ICANS G3)."""


@dataclass(frozen=True, slots=True)
class Stop:
    """A request to discontinue permanently at ``time``."""

    time: int
    reason: str


@dataclass(frozen=True, slots=True)
class Action:
    """One infusion event to emit."""

    time: int
    action: InfusionAction
    dose: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """The cycle as delivered."""

    cycle: int
    start: int
    end: int
    """Time the infusion stopped (completed or discontinued)."""
    discontinued: bool
    discontinue_reason: str | None
    actions: tuple[Action, ...]
    premeds: tuple[int, ...]
    """Times dexamethasone premedication is given."""

    def dose_at(self, t: int) -> float:
        """Dose running at time ``t`` (0 when interrupted, stopped or not started)."""
        dose = 0.0
        for a in self.actions:
            if a.time > t:
                break
            running = a.action in ("start", "restart", "dose_change")
            dose = (a.dose or 0.0) if running else 0.0
        return dose


def build_schedule(
    cycle: int,
    start: int,
    low: float,
    high: float,
    holds: list[Hold],
    stops: list[Stop],
) -> Schedule:
    """Play the cycle forward, applying holds and stops in time order."""
    pending = sorted(holds, key=lambda h: (h.start, h.end))
    stop = min(stops, key=lambda s: s.time) if stops else None
    dose = low if cycle == 1 else high
    actions = [Action(start, "start", dose, "cycle start")]
    premeds = [start - PREMED_LEAD_MS]
    escalate_at: int | None = start + STEP_UP_AFTER_MS if dose < high else None
    remaining = INFUSION_MS
    cur = start
    i = 0

    def finish(t: int, reason: str, discontinued: bool) -> Schedule:
        actions.append(Action(t, "stop", None, reason))
        return Schedule(
            cycle=cycle,
            start=start,
            end=t,
            discontinued=discontinued,
            discontinue_reason=reason if discontinued else None,
            actions=tuple(actions),
            premeds=tuple(premeds),
        )

    while True:
        complete_at = cur + remaining
        hold = pending[i] if i < len(pending) else None
        options: list[tuple[int, int, str]] = [(complete_at, 3, "end")]
        if escalate_at is not None:
            options.append((escalate_at, 0, "escalate"))
        if hold is not None:
            options.append((max(hold.start, cur), 2, "hold"))
        if stop is not None:
            options.append((max(stop.time, cur), 1, "stop"))
        t, _, kind = min(options)
        if kind == "end" or t >= complete_at:
            return finish(complete_at, "cycle complete", False)
        if kind == "stop":
            assert stop is not None
            return finish(t, stop.reason, True)
        remaining -= t - cur
        cur = t
        if kind == "escalate":
            dose = high
            escalate_at = None
            actions.append(Action(t, "dose_change", high, "step-up"))
            premeds.append(t - PREMED_LEAD_MS)
            continue
        assert hold is not None
        i += 1
        if hold.stop_if_low_dose and dose == low and low < high:
            return finish(t, hold.reason + " at the low dose", True)
        actions.append(Action(t, "interruption", None, hold.reason))
        end, restart_low = hold.end, hold.restart_low
        # Overlapping requests extend the same interruption.
        while i < len(pending) and pending[i].start <= end:
            end = max(end, pending[i].end)
            restart_low = restart_low or pending[i].restart_low
            i += 1
        if stop is not None and stop.time <= end:
            return finish(max(stop.time, t), stop.reason, True)
        new_dose = low if restart_low else dose
        if end - t >= LONG_INTERRUPTION_MS:
            premeds.append(end - PREMED_LEAD_MS)
        actions.append(Action(end, "restart", new_dose, "restart after " + hold.reason))
        if new_dose < high:
            escalate_at = (
                end + STEP_UP_AFTER_MS
                if restart_low or escalate_at is None
                else escalate_at + (end - t)
            )
        dose = new_dose
        cur = end

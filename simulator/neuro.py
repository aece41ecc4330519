"""Bedside neurological assessments (ICE, consciousness, tremor, seizures).

Charted every 8-12 h on days 1-14 of each cycle, every 4 h during ICANS and for a day
after it, and whenever the grade changes or a seizure happens. Each assessment is built so
that its ASTCT ICANS grade (worst domain, ``clinical-reference.md`` section 2) equals the
episode's grade at that time: grade 1 ICE 7-9 or awakens spontaneously, grade 2 ICE 3-6 or
awakens to voice, grade 3 ICE 0-2, awakens to touch or a seizure, grade 4 unarousable,
prolonged seizure or deep focal weakness. Children under 12 cannot do the ICE (reading,
writing): their ICE fields are missing and consciousness carries the grade. Tremor is a
CTCAE item that often comes with ICANS; some patients have a mild tremor without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.events import Consciousness, IceItems, MotorWeakness
from simulator.baseline import Baseline
from simulator.config import DAY_MS, HOUR_MS, MINUTE_MS
from simulator.episodes import Episode

# Item capacities and how easily each is lost (writing and attention go first).
_ITEMS = ("orientation", "naming", "command", "writing", "attention")
_CAPACITY = (4, 3, 1, 1, 1)
_FRAGILITY = (2.0, 1.0, 0.5, 3.0, 3.0)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The content of one NeuroAssessment (time and ids are added by the renderer)."""

    time: int
    ice_score: int | None
    ice_items: IceItems | None
    consciousness: Consciousness
    new_confusion: bool | None
    seizure: bool
    seizure_prolonged: bool
    tremor_grade: int
    motor_weakness: MotorWeakness | None


def ice_items(rng: np.random.Generator, total: int) -> IceItems:
    """Split an ICE total into its items, losing the fragile items first."""
    left = list(_CAPACITY)
    for _ in range(10 - total):
        weights = np.asarray([f if c > 0 else 0.0 for f, c in zip(_FRAGILITY, left, strict=True)])
        k = int(rng.choice(5, p=weights / weights.sum()))
        left[k] -= 1
    return IceItems(**dict(zip(_ITEMS, left, strict=True)))


def assessment_times(
    rng: np.random.Generator,
    cycle_start: int,
    window_end: int,
    interval_h: tuple[float, float],
    ice_days: int,
    icans: list[Episode],
) -> list[int]:
    """When the neuro assessments are charted in one cycle."""
    times: list[int] = []
    t = cycle_start - HOUR_MS  # baseline before the first dose
    routine_end = min(cycle_start + ice_days * DAY_MS, window_end)
    while t < routine_end:
        times.append(t)
        t += int(rng.uniform(*interval_h) * HOUR_MS)
    for ep in icans:
        t = ep.onset + int(rng.uniform(0.2, 1.0) * HOUR_MS)
        while t < min(ep.resolution + DAY_MS, window_end):
            times.append(t)
            t += int(rng.uniform(3.5, 4.5) * HOUR_MS)
        times += [a + 20 * MINUTE_MS for a in ep.course.times[:-1]]
        times += [s + 5 * MINUTE_MS for s in ep.seizure_times]
    return sorted({x - x % MINUTE_MS for x in times if x < window_end})


def assess(
    rng: np.random.Generator,
    base: Baseline,
    t: int,
    icans: list[Episode],
    tremor_window: tuple[int, int] | None,
) -> Assessment:
    """One assessment whose ICANS grade equals the active episode's grade at ``t``."""
    grade = 0
    seizure = False
    prolonged = False
    for ep in icans:
        grade = max(grade, ep.course.grade_at(t))
        for s in ep.seizure_times:
            if s <= t < s + 30 * MINUTE_MS:
                seizure = True
                prolonged = prolonged or (ep.prolonged_seizure and ep.course.grade_at(s) == 4)
    tremor = 0
    if tremor_window is not None and tremor_window[0] <= t < tremor_window[1]:
        tremor = 1
    if grade:
        tremor = max(tremor, int(rng.choice(4, p=_TREMOR[grade - 1])))
    motor: MotorWeakness | None = None
    if base.ice_capable:
        lo, hi = ((10, 10), (7, 9), (3, 6), (0, 2), (0, 0))[grade]
        total = int(rng.integers(lo, hi + 1))
        items: IceItems | None = ice_items(rng, total)
        score: int | None = total
        options: tuple[Consciousness, ...] = (
            ("alert",),
            ("alert", "alert", "drowsy"),
            ("alert", "drowsy", "voice"),
            ("drowsy", "voice", "pain"),
            ("unresponsive",),
        )[grade]
        consciousness: Consciousness = options[int(rng.integers(len(options)))]
        confusion: bool | None = total < 10
    else:
        items, score, confusion = None, None, None
        consciousness = _BY_GRADE[grade]
    if grade == 4:
        motor = "deep_focal" if rng.random() < 0.15 else "none"
    return Assessment(
        time=t,
        ice_score=score,
        ice_items=items,
        consciousness=consciousness,
        new_confusion=confusion,
        seizure=seizure,
        seizure_prolonged=prolonged,
        tremor_grade=tremor,
        motor_weakness=motor,
    )


# Consciousness alone carries the grade when the ICE cannot be done.
_BY_GRADE: tuple[Consciousness, ...] = ("alert", "drowsy", "voice", "pain", "unresponsive")
# P(tremor grade 0..3) at ICANS grade 1..4.
_TREMOR = (
    (0.35, 0.5, 0.15, 0.0),
    (0.2, 0.4, 0.35, 0.05),
    (0.1, 0.3, 0.4, 0.2),
    (0.1, 0.3, 0.4, 0.2),
)

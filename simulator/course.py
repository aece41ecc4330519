"""A complication's grade over time, as a step function, and how to draw one."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.config import HOUR_MS

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Course:
    """Grade ``grades[i]`` holds on ``[times[i], times[i+1])``; the last grade is 0.

    ``times[0]`` is the onset, ``times[-1]`` the resolution (grade back to 0).
    """

    times: tuple[int, ...]
    grades: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.grades) or len(self.times) < 2:
            raise ValueError("a course needs matching times and grades, at least two")
        if self.grades[-1] != 0 or any(
            b <= a for a, b in zip(self.times, self.times[1:], strict=False)
        ):
            raise ValueError("course times must increase and end at grade 0")

    @property
    def onset(self) -> int:
        """Time the complication starts (grade >= 1)."""
        return self.times[0]

    @property
    def resolution(self) -> int:
        """Time the grade returns to 0."""
        return self.times[-1]

    @property
    def peak(self) -> int:
        """Highest grade reached."""
        return max(self.grades)

    @property
    def peak_time(self) -> int:
        """First time the peak grade is reached."""
        return self.times[self.grades.index(self.peak)]

    def grade_at(self, t: int) -> int:
        """Grade at one time (0 outside the course)."""
        i = bisect_right(self.times, t) - 1
        return self.grades[i] if i >= 0 else 0

    def grades_at(self, t: IntArray) -> IntArray:
        """Grade at many times, vectorized."""
        idx = np.searchsorted(np.asarray(self.times, dtype=np.int64), t, side="right") - 1
        table = np.asarray((0, *self.grades), dtype=np.int64)
        return table[np.clip(idx + 1, 0, len(self.grades))]

    def first_at_least(self, grade: int) -> int | None:
        """First time the grade reaches ``grade``, or ``None``."""
        for t, g in zip(self.times, self.grades, strict=True):
            if g >= grade:
                return t
        return None

    def last_drop_below(self, grade: int) -> int | None:
        """End of the last segment at ``grade`` or more (when it finally falls below)."""
        end: int | None = None
        for i, g in enumerate(self.grades[:-1]):
            if g >= grade:
                end = self.times[i + 1]
        return end

    def segments(self) -> Iterator[tuple[int, int, int]]:
        """``(start, end, grade)`` for each segment with grade >= 1."""
        for i in range(len(self.grades) - 1):
            yield self.times[i], self.times[i + 1], self.grades[i]

    def capped(self, cap: int) -> Course:
        """The same course with every grade above ``cap`` lowered to ``cap`` (merged)."""
        return Course.from_steps(
            (t, min(g, cap)) for t, g in zip(self.times, self.grades, strict=True)
        )

    @staticmethod
    def from_steps(steps: Iterable[tuple[int, int]]) -> Course:
        """Build a course from (time, grade) steps, merging repeats of the same grade."""
        times: list[int] = []
        grades: list[int] = []
        for when, g in steps:
            if grades and g == grades[-1]:
                continue
            t = when if not times or when > times[-1] else times[-1] + 1
            times.append(int(t))
            grades.append(int(g))
        return Course(tuple(times), tuple(grades))


def draw_course(
    rng: np.random.Generator,
    onset: int,
    peak: int,
    duration_ms: int,
    rise_h: tuple[float, float] = (4.0, 18.0),
    start_grade: int = 1,
) -> Course:
    """A rise from ``start_grade`` to ``peak`` then a stepwise fall to 0 at onset + duration.

    Each rise step lasts ``rise_h`` hours (uniform); the peak holds for 20-40% of what is
    left and the remaining time is shared by the downward steps, so higher grades resolve
    through the lower ones the way a treated patient improves.
    """
    start_grade = min(start_grade, peak)
    ups = list(range(start_grade, peak + 1))
    rises = rng.uniform(rise_h[0], rise_h[1], size=max(len(ups) - 1, 0)) * HOUR_MS
    rise_total = float(rises.sum())
    minimum = rise_total + 2 * HOUR_MS * (peak + 1)
    duration = float(max(duration_ms, minimum))
    remaining = duration - rise_total
    plateau = remaining * float(rng.uniform(0.2, 0.4))
    downs = list(range(peak - 1, 0, -1))
    if downs:
        weights = rng.uniform(0.7, 1.3, size=len(downs))
        down_ms = (remaining - plateau) * weights / weights.sum()
    else:
        plateau = remaining
        down_ms = np.zeros(0)
    steps: list[tuple[int, int]] = []
    t = float(onset)
    for grade, rise in zip(ups, [*rises.tolist(), plateau], strict=True):
        steps.append((int(t), grade))
        t += rise
    for grade, length in zip(downs, down_ms.tolist(), strict=True):
        steps.append((int(t), grade))
        t += length
    steps.append((int(onset + duration), 0))
    return Course.from_steps(steps)

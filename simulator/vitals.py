"""Vital signs: when they are charted and what they read.

Ward nurses chart every ``ward_interval_h[1]`` hours when a patient is well and more often
(down to ``ward_interval_h[0]``) while a complication is active, plus a set at every
escalation (a clinician called to the bedside charts one). In monitor mode HR, RR, SpO2 and
temperature are sampled every ``monitor_interval_s`` and non-invasive BP every
``nibp_interval_min``.

Physiology: fever is the largest active fever of any episode, shrunk by antipyretics,
steroids and anti-cytokines (:func:`simulator.care.fever_mask`); heart rate follows
temperature (~9/min per degree) and hypotension; blood pressure and SpO2 sit at the level
the current support achieves, with a dip before each escalation (the reading that made
the team escalate).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.baseline import Baseline
from simulator.care import SupportStep
from simulator.config import HOUR_MS, MINUTE_MS
from simulator.episodes import Episode
from simulator.kinetics import FloatArray, window

IntArray = npt.NDArray[np.int64]
VITALS: tuple[str, ...] = ("hr", "rr", "spo2", "temp", "sbp", "dbp", "map")


@dataclass(frozen=True, slots=True)
class FeverBump:
    """A fever of ``amplitude`` degrees above baseline from ``start`` to ``end``."""

    start: int
    end: int
    amplitude: float
    phase: float
    taper: float = 1.0
    """Share of the amplitude left at the end (fevers wane as an episode resolves)."""


def fever_curve(t: IntArray, bumps: list[FeverBump]) -> FloatArray:
    """Unmasked fever (degrees above baseline): the largest active bump, with spikes."""
    fever = np.zeros(t.shape, dtype=np.float64)
    for b in bumps:
        if b.end <= b.start:
            continue
        on = np.clip((t - b.start) / (1.5 * HOUR_MS), 0.0, 1.0)
        off = np.clip((b.end - t) / (3.0 * HOUR_MS), 0.0, 1.0)
        # Fevers come in spikes: a 7-hour swing of +-20% around the plateau.
        swing = 0.8 + 0.2 * np.sin(2 * math.pi * (t - b.start) / (7.0 * HOUR_MS) + b.phase)
        progress = np.clip((t - b.start) / (b.end - b.start), 0.0, 1.0)
        wane = 1.0 - (1.0 - b.taper) * progress
        fever = np.maximum(fever, b.amplitude * on * off * swing * wane)
    return fever


def acuity_steps(episodes: list[Episode]) -> tuple[list[int], list[int]]:
    """How unwell the patient looks over time (0 well, 1 unwell, 2 acutely unwell)."""
    relevant = [ep for ep in episodes if ep.kind != "hepatotoxicity"]
    times = sorted({t for ep in relevant for t in ep.course.times})
    values: list[int] = []
    for t in times:
        worst = 0
        for ep in relevant:
            g = ep.course.grade_at(t)
            worst = max(worst, g - 1 if ep.kind == "infection" else g)
        values.append(min(worst, 2))
    return times, values


def ward_times(
    rng: np.random.Generator,
    start: int,
    end: int,
    interval_h: tuple[float, float],
    acuity: tuple[list[int], list[int]],
    obligatory: list[int],
) -> IntArray:
    """Charting times on a ward: the interval shortens with acuity."""
    low, high = interval_h
    by_acuity = (high, (low + high) / 2.0, low)
    a_times, a_values = acuity
    jitter = rng.uniform(0.85, 1.15, size=int((end - start) / (low * HOUR_MS * 0.85)) + 2)
    times: list[int] = []
    t = start
    k = 0
    while t < end:
        times.append(t)
        i = bisect_right(a_times, t) - 1
        level = a_values[i] if i >= 0 else 0
        t += int(by_acuity[level] * HOUR_MS * jitter[k])
        k += 1
    times += [x for x in obligatory if start <= x < end]
    out = np.unique(np.asarray(times, dtype=np.int64))
    # Charting to the minute, as a bedside device or nurse records it.
    return np.unique(out - out % MINUTE_MS)


@dataclass(frozen=True, slots=True)
class Dip:
    """A short deterioration just before (or at the start of) a support step."""

    start: int
    end: int
    hemodynamic: int
    respiratory: int
    sbp: float
    spo2: float


def dips_from_support(rng: np.random.Generator, steps: list[SupportStep]) -> list[Dip]:
    """The readings that triggered each escalation of support."""
    dips: list[Dip] = []
    prev_h, prev_r = 0, 0
    for s in steps:
        length = int(rng.uniform(30.0, 90.0) * MINUTE_MS)
        if s.hemodynamic > prev_h:
            # Grade-2 hypotension is the untreated dip itself, so it opens the step;
            # vasopressors start after the hypotension was seen.
            lo, hi = {2: (76, 86), 3: (66, 78), 4: (58, 70)}[s.hemodynamic]
            start = s.time if s.hemodynamic == 2 else s.time - length
            dips.append(Dip(start, start + length, s.hemodynamic, 0, rng.uniform(lo, hi), 0.0))
        if s.respiratory > prev_r:
            lo, hi = {2: (87, 91), 3: (84, 89), 4: (77, 86)}[s.respiratory]
            dips.append(Dip(s.time - length, s.time, 0, s.respiratory, 0.0, rng.uniform(lo, hi)))
        prev_h, prev_r = s.hemodynamic, s.respiratory
    return dips


def _levels(t: IntArray, steps: list[SupportStep]) -> tuple[IntArray, IntArray]:
    if not steps:
        zeros = np.zeros(t.shape, dtype=np.int64)
        return zeros, zeros.copy()
    st = np.asarray([s.time for s in steps], dtype=np.int64)
    idx = np.searchsorted(st, t, side="right") - 1
    hemo = np.asarray([0, *[s.hemodynamic for s in steps]], dtype=np.int64)[idx + 1]
    resp = np.asarray([0, *[s.respiratory for s in steps]], dtype=np.int64)[idx + 1]
    return hemo, resp


def vital_signs(
    rng: np.random.Generator,
    base: Baseline,
    t: IntArray,
    fever: FloatArray,
    steps: list[SupportStep],
    dips: list[Dip],
    infection_windows: list[tuple[int, int]],
) -> dict[str, FloatArray]:
    """True-plus-noise vital signs at times ``t`` (``fever`` is already masked)."""
    n = t.shape[0]
    hours = (t % (24 * HOUR_MS)) / HOUR_MS
    circ = np.cos(2 * math.pi * (hours - 18.0) / 24.0)
    hemo, resp = _levels(t, steps)
    # Children's pressures scale with their baseline (hypotension is age-relative).
    scale = min(1.0, base.sbp / 118.0) if base.age_years < 12 else 1.0
    supported_sbp = np.asarray([0.0, 0.0, 87.0, 96.0, 90.0])[hemo] * scale
    supported_spo2 = np.asarray([0.0, 0.0, 94.5, 93.5, 92.0])[resp]
    sbp = np.where(hemo > 0, supported_sbp, base.sbp - 1.5 * fever) + rng.normal(0, 5.0, n)
    # Grade-2 hypotension wobbles around the fluid boluses.
    sbp += np.where(hemo == 2, 4.0 * np.sin(t / (5.0 * HOUR_MS)), 0.0)
    spo2 = np.where(resp > 0, supported_spo2, base.spo2) + rng.normal(0, 0.8, n)
    hr_dip = np.zeros(n)
    rr_dip = np.zeros(n)
    for d in dips:
        inside = window(t, d.start, d.end)
        if d.hemodynamic:
            sbp = np.where(inside, d.sbp * scale + rng.normal(0, 2.0, n), sbp)
            hr_dip += 12.0 * inside
        if d.respiratory:
            spo2 = np.where(inside, d.spo2 + rng.normal(0, 0.7, n), spo2)
            rr_dip += 5.0 * inside
    infected = np.zeros(n, dtype=bool)
    for a, b in infection_windows:
        infected |= window(t, a, b)
    temp = base.temp_c + 0.25 * circ + fever + rng.normal(0, 0.1, n)
    tachy = np.asarray([0.0, 0.0, 14.0, 22.0, 30.0])[hemo]
    hr = (
        base.hr + 9.0 * fever + tachy + hr_dip + 8.0 * infected + 4.0 * circ + rng.normal(0, 3.5, n)
    )
    rr_support = np.asarray([0.0, 0.0, 3.0, 6.0, 8.0])[resp]
    rr = base.rr + 1.2 * fever + rr_support + rr_dip + rng.normal(0, 1.2, n)
    ratio = np.where(hemo >= 2, 0.57, 0.63)
    dbp = sbp * ratio + rng.normal(0, 3.5, n)
    sbp_r = np.clip(np.round(sbp), 40, 250)
    dbp_r = np.clip(np.round(dbp), 20, np.maximum(sbp_r - 10, 21))
    return {
        "hr": np.clip(np.round(hr), 30, 220),
        "rr": np.clip(np.round(rr), 6, 60),
        "spo2": np.clip(np.round(spo2), 60, 100),
        "temp": np.clip(np.round(temp, 1), 34.0, 42.5),
        "sbp": sbp_r,
        "dbp": dbp_r,
        "map": np.round((sbp_r + 2 * dbp_r) / 3.0),
    }

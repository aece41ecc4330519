"""Evaluate the feature catalog on a patient state at one time: ``snapshot(state, at_ms)``.

Pure: the result depends only on the stored points and ``at_ms``. Points after ``at_ms`` are
ignored, windows are half-open ``(at - w, at]``, a last value is valid while
``age < stale_h``. Each feature decided by one point cites it as :class:`Evidence`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from typing import get_args

import numpy as np

from features.catalog import (
    BASELINE_AFTER_START_H,
    CATALOG,
    FEVER_C,
    FEVER_ONSET_LOOKBACK_H,
    FEVER_RUN_MAX_GAP_H,
    SERIES_BY_SIGNAL,
    Aggregate,
    FeatureSpec,
)
from features.ctcae import grade
from features.limits import DEFAULT_LLN, DEFAULT_ULN, default_limit
from features.series import Series
from features.snapshot import Evidence, Snapshot, Timeline
from features.state import PatientState
from features.timeline import HOUR_MS, build_timeline, current_cycle_start_ms, first_start_ms

_EMPTY = Series()
Point = tuple[str, int]
"""(series name, index) of the point behind a value."""
Result = tuple[float | None, Point | None]


class _Context:
    """Per-snapshot caches shared by the feature functions."""

    __slots__ = (
        "_last",
        "_windows",
        "at",
        "cycle_start",
        "first_ms",
        "first_start",
        "series",
        "sex_female",
        "timeline",
    )

    def __init__(self, state: PatientState, at_ms: int) -> None:
        self.at = at_ms
        self.series = state.series
        self.first_ms = state.first_ms
        self.timeline: Timeline = build_timeline(state.infusions, at_ms)
        self.first_start = first_start_ms(e for e in state.infusions if e.time_ms <= at_ms)
        self.cycle_start = current_cycle_start_ms(state.infusions, at_ms)
        self._last: dict[str, int | None] = {}
        self._windows: dict[tuple[str, float], tuple[Series, int, int, list[float]]] = {}
        sex = self.valid_last("sex_female")
        self.sex_female = None if sex is None else self.get("sex_female").v[sex]

    def get(self, signal: str) -> Series:
        return self.series.get(signal, _EMPTY)

    def last(self, signal: str) -> int | None:
        """Index of the latest point at or before the snapshot time (stale or not)."""
        if signal in self._last:
            return self._last[signal]
        i = self.get(signal).last_index(self.at)
        self._last[signal] = i
        return i

    def valid_last(self, signal: str) -> int | None:
        """Index of the last point if it is younger than the signal's staleness."""
        i = self.last(signal)
        if i is None:
            return None
        stale_h = SERIES_BY_SIGNAL[signal].stale_h
        if stale_h is not None and self.at - self.get(signal).t[i] >= stale_h * HOUR_MS:
            return None
        return i

    def window(self, signal: str, window_h: float) -> tuple[Series, int, int, list[float]]:
        """Series, index range and values of the window ``(at - w, at]`` (cached: min, max and
        mean of one window share one slice)."""
        key = (signal, window_h)
        cached = self._windows.get(key)
        if cached is None:
            s = self.get(signal)
            lo, hi = s.window(self.at, int(window_h * HOUR_MS))
            cached = self._windows[key] = (s, lo, hi, s.v[lo:hi])
        return cached

    def valid_value(self, signal: str) -> float | None:
        i = self.valid_last(signal)
        return None if i is None else self.get(signal).v[i]


# --- per-aggregate functions --------------------------------------------------------------


def _last(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    i = ctx.valid_last(f.signal)
    if i is None:
        return None, None
    return ctx.get(f.signal).v[i], (f.signal, i)


def _age_h(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    i = ctx.last(f.signal)
    if i is None:
        return None, None
    return (ctx.at - ctx.get(f.signal).t[i]) / HOUR_MS, (f.signal, i)


def _window(ctx: _Context, f: FeatureSpec) -> tuple[Series, int, int]:
    assert f.signal is not None and f.window_h is not None
    s = ctx.get(f.signal)
    lo, hi = s.window(ctx.at, int(f.window_h * HOUR_MS))
    return s, lo, hi


def _sig(f: FeatureSpec) -> str:
    assert f.signal is not None
    return f.signal


def _min(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None and f.window_h is not None
    s, lo, hi, vs = ctx.window(f.signal, f.window_h)
    if lo >= hi:
        return None, None
    value = min(vs)
    return value, (_sig(f), s.v.index(value, lo, hi))  # the earliest point with that value


def _max(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None and f.window_h is not None
    s, lo, hi, vs = ctx.window(f.signal, f.window_h)
    if lo >= hi:
        return None, None
    value = max(vs)
    return value, (_sig(f), s.v.index(value, lo, hi))


def _mean(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None and f.window_h is not None
    _, lo, hi, vs = ctx.window(f.signal, f.window_h)
    if lo >= hi:
        return None, None
    return sum(vs) / (hi - lo), None


def _slope(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None and f.window_h is not None
    s, lo, hi, vs = ctx.window(f.signal, f.window_h)
    return least_squares_slope_per_h(s.t[lo:hi], vs, ctx.at), None


def least_squares_slope_per_h(times: list[int], values: list[float], origin: int) -> float | None:
    """Ordinary least-squares slope of values against time, per hour; ``None`` with fewer
    than two distinct times. Centred sums keep it exact enough for any epoch."""
    n = len(times)
    if n < 2 or times[0] == times[-1]:
        return None
    if n >= _NUMPY_FROM:
        # Minute-by-minute series: numpy is ~10x faster than Python loops past a few dozen.
        x = (np.asarray(times, dtype=np.int64) - origin).astype(np.float64) / HOUR_MS
        y = np.asarray(values, dtype=np.float64)
        x -= x.mean()
        return float(np.dot(x, y - y.mean()) / np.dot(x, x))
    xs = [(t - origin) / HOUR_MS for t in times]
    mx = sum(xs) / n
    my = sum(values) / n
    sxx = sum((x - mx) * (x - mx) for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True))
    return sxy / sxx


_NUMPY_FROM = 48


def _delta(ctx: _Context, f: FeatureSpec) -> Result:
    """Latest minus earliest reading of the window; ``None`` unless two readings at distinct
    times are in it (one reading is no change, and no reading is no information)."""
    assert f.signal is not None and f.window_h is not None
    s, lo, hi, vs = ctx.window(f.signal, f.window_h)
    if hi - lo < 2 or s.t[lo] == s.t[hi - 1]:
        return None, None
    return vs[-1] - vs[0], None


def _readings(ctx: _Context, f: FeatureSpec) -> Result:
    """How many readings the window holds; ``None`` for none (nothing measured is missing,
    like every other empty window)."""
    assert f.signal is not None and f.window_h is not None
    _, lo, hi, _ = ctx.window(f.signal, f.window_h)
    return (float(hi - lo) if hi > lo else None), None


def _count(ctx: _Context, f: FeatureSpec) -> Result:
    s, lo, hi = _window(ctx, f)
    if lo >= hi:
        return None, None
    return float(sum(1 for v in s.v[lo:hi] if v >= 0.5)), None


def _any(ctx: _Context, f: FeatureSpec) -> Result:
    s, lo, hi = _window(ctx, f)
    if lo >= hi:
        return None, None
    return (1.0 if max(s.v[lo:hi]) >= 0.5 else 0.0), None


def _cycle_range(ctx: _Context, s: Series) -> tuple[int, int] | None:
    if ctx.cycle_start is None:
        return None
    lo = bisect_right(s.t, ctx.cycle_start - 1)
    hi = bisect_right(s.t, ctx.at)
    return (lo, hi) if lo < hi else None


def _max_cycle(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    s = ctx.get(f.signal)
    r = _cycle_range(ctx, s)
    if r is None:
        return None, None
    value = max(s.v[r[0] : r[1]])
    return value, (f.signal, s.v.index(value, r[0], r[1]))


def _count_cycle(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    s = ctx.get(f.signal)
    r = _cycle_range(ctx, s)
    if r is None:
        return None, None
    return float(sum(1 for v in s.v[r[0] : r[1]] if v >= 0.5)), None


def baseline_index(s: Series, first_start: int | None, at_ms: int) -> int | None:
    """The pre-infusion baseline point: the last before the first start, else the first
    within 24 h after it (only points at or before ``at_ms``)."""
    if first_start is None:
        return None
    before = bisect_right(s.t, first_start - 1)  # points with t < first start
    if before > 0:
        return before - 1
    after_end = first_start + BASELINE_AFTER_START_H * HOUR_MS
    if before < len(s) and s.t[before] <= at_ms and s.t[before] < after_end:
        return before
    return None


def _fold(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    i = ctx.valid_last(f.signal)
    if i is None:
        return None, None
    s = ctx.get(f.signal)
    b = baseline_index(s, ctx.first_start, ctx.at)
    if b is None or s.v[b] <= 0:
        return None, None
    return s.v[i] / s.v[b], (f.signal, i)


def _uln_of(ctx: _Context, s: Series, i: int, signal: str) -> float | None:
    own = s.hi[i]
    return own if own is not None else default_limit(DEFAULT_ULN, signal, ctx.sex_female)


def _lln_of(ctx: _Context, s: Series, i: int, signal: str) -> float | None:
    own = s.lo[i]
    return own if own is not None else default_limit(DEFAULT_LLN, signal, ctx.sex_female)


def _uln(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    i = ctx.valid_last(f.signal)
    if i is None:
        return None, None
    s = ctx.get(f.signal)
    return _uln_of(ctx, s, i, f.signal), ((f.signal, i) if s.hi[i] is not None else None)


def _lln(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    i = ctx.valid_last(f.signal)
    if i is None:
        return None, None
    s = ctx.get(f.signal)
    return _lln_of(ctx, s, i, f.signal), ((f.signal, i) if s.lo[i] is not None else None)


def _x_uln(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None
    i = ctx.valid_last(f.signal)
    if i is None:
        return None, None
    s = ctx.get(f.signal)
    uln = _uln_of(ctx, s, i, f.signal)
    if uln is None or uln <= 0:
        return None, None
    return s.v[i] / uln, (f.signal, i)


def _ctcae(ctx: _Context, f: FeatureSpec) -> Result:
    sig = f.signal
    assert sig is not None
    i = ctx.valid_last(sig)
    if i is None:
        return None, None
    s = ctx.get(sig)
    baseline: float | None = None
    if sig in ("alt", "ast"):
        limit = _uln_of(ctx, s, i, sig)
        b = baseline_index(s, ctx.first_start, ctx.at)
        # v5 abnormal-baseline rule: the baseline is abnormal against its own ULN.
        if b is not None and b != i:
            b_uln = _uln_of(ctx, s, b, sig)
            if b_uln is not None and s.v[b] > b_uln:
                baseline = s.v[b]
                limit = b_uln if limit is None else limit
    elif sig == "bilirubin":
        limit = _uln_of(ctx, s, i, sig)
    else:
        limit = _lln_of(ctx, s, i, sig)
    g = grade(sig, s.v[i], limit, baseline)
    return (None if g is None else float(g)), (sig, i)


def _hours_since(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.signal is not None and f.window_h is not None
    i = ctx.last(f.signal)
    if i is None:
        return None, None
    s = ctx.get(f.signal)
    age = ctx.at - s.t[i]
    if age >= f.window_h * HOUR_MS:
        return None, None
    return age / HOUR_MS, (f.signal, i)


# --- derived --------------------------------------------------------------------------------


def _fever_hours_24h(ctx: _Context, f: FeatureSpec) -> Result:
    assert f.window_h is not None
    s, lo, hi, vs = ctx.window("temp", f.window_h)
    if lo >= hi:
        return None, None
    if max(vs) < FEVER_C:  # the usual case, decided in C
        return 0.0, None
    at, ts = ctx.at, s.t
    # Slice k is (at - (k+1) h, at - k h]: a reading of age a falls in slice floor(a / 1 h).
    slices = {(at - ts[lo + j]) // HOUR_MS for j, v in enumerate(vs) if v >= FEVER_C}
    return float(len(slices)), None


def fever_run_start(ctx_series: Series, last: int, at_ms: int) -> int | None:
    """Index of the first reading of the febrile run ending at the reading ``last``.

    The run goes back over consecutive readings >= 38.0 C, at most 72 h before ``at_ms``,
    and breaks at a gap of more than 6 h between two readings.
    """
    t, v = ctx_series.t, ctx_series.v
    if v[last] < FEVER_C:
        return None
    floor = at_ms - FEVER_ONSET_LOOKBACK_H * HOUR_MS
    max_gap = FEVER_RUN_MAX_GAP_H * HOUR_MS
    i = last
    while i > 0 and v[i - 1] >= FEVER_C and t[i - 1] > floor and t[i] - t[i - 1] <= max_gap:
        i -= 1
    return i


def _fever_onset(ctx: _Context) -> tuple[Series, int, int] | None:
    i = ctx.valid_last("temp")
    if i is None:
        return None
    s = ctx.get("temp")
    start = fever_run_start(s, i, ctx.at)
    return None if start is None else (s, start, i)


def _hours_since_fever_onset(ctx: _Context, f: FeatureSpec) -> Result:
    run = _fever_onset(ctx)
    if run is None:
        return None, None
    s, start, _ = run
    return (ctx.at - s.t[start]) / HOUR_MS, ("temp", start)


def _fever_sustained_1h(ctx: _Context, f: FeatureSpec) -> Result:
    if ctx.valid_last("temp") is None:
        return None, None
    run = _fever_onset(ctx)
    if run is None:
        return 0.0, None
    s, start, last = run
    return (1.0 if s.t[last] - s.t[start] > HOUR_MS else 0.0), ("temp", start)


def _easix(ctx: _Context, f: FeatureSpec) -> Result:
    ldh = ctx.valid_value("ldh")
    plt = ctx.valid_value("platelets")
    other = ctx.valid_value("creatinine") if f.name == "easix_log2" else ctx.valid_value("crp")
    if ldh is None or plt is None or other is None or plt <= 0:
        return None, None
    if f.name == "m_easix_log2":
        other /= 10.0  # CRP mg/L -> mg/dL
    product = ldh * other / plt
    return (math.log2(product) if product > 0 else None), None


def _bun_creatinine_ratio(ctx: _Context, f: FeatureSpec) -> Result:
    bun = ctx.valid_value("bun")
    creatinine = ctx.valid_value("creatinine")
    if bun is None or creatinine is None or creatinine <= 0:
        return None, None
    return bun / creatinine, None


def _pf_ratio(ctx: _Context, f: FeatureSpec) -> Result:
    i = ctx.valid_last("pao2")
    if i is None:
        return None, None
    pao2 = ctx.get("pao2")
    fio2 = ctx.get("fio2")
    j = fio2.last_index(pao2.t[i])
    fio2_stale = SERIES_BY_SIGNAL["fio2"].stale_h or 0.0
    if j is None or pao2.t[i] - fio2.t[j] >= fio2_stale * HOUR_MS or fio2.v[j] <= 0:
        return None, None
    return pao2.v[i] / (fio2.v[j] / 100.0), ("pao2", i)


_DERIVED: dict[str, Callable[[_Context, FeatureSpec], Result]] = {
    "fever_hours_24h": _fever_hours_24h,
    "hours_since_fever_onset": _hours_since_fever_onset,
    "fever_sustained_1h": _fever_sustained_1h,
    "easix_log2": _easix,
    "m_easix_log2": _easix,
    "bun_creatinine_ratio": _bun_creatinine_ratio,
    "pf_ratio": _pf_ratio,
}


def _timeline_value(ctx: _Context, f: FeatureSpec) -> Result:
    if ctx.timeline.cycle is None:
        return None, None  # before any infusion event nothing about it is known
    value = getattr(ctx.timeline, f.name)
    if isinstance(value, bool):
        return (1.0 if value else 0.0), None
    return (None if value is None else float(value)), None


def _since_first(ctx: _Context, f: FeatureSpec) -> Result:
    if ctx.first_ms is None or ctx.first_ms > ctx.at:
        return None, None
    return (ctx.at - ctx.first_ms) / HOUR_MS, None


def _admission_span(ctx: _Context, f: FeatureSpec) -> Result:
    """Hours from the hospital admission (the latest patient context's) to the snapshot
    time (``since_admission``) or to the first event (``admitted_before_first``); ``None``
    when that moment precedes the admission (a context that contradicts the events)."""
    assert f.signal is not None
    i = ctx.valid_last(f.signal)
    end = ctx.at if f.aggregate == "since_admission" else ctx.first_ms
    if i is None or end is None:
        return None, None
    admitted = ctx.get(f.signal).v[i]
    if admitted > end:
        return None, None
    return (end - admitted) / HOUR_MS, (f.signal, i)


_AGGREGATES: dict[str, Callable[[_Context, FeatureSpec], Result]] = {
    "last": _last,
    "age_h": _age_h,
    "min": _min,
    "max": _max,
    "mean": _mean,
    "slope": _slope,
    "delta": _delta,
    "count": _count,
    "readings": _readings,
    "any": _any,
    "max_cycle": _max_cycle,
    "count_cycle": _count_cycle,
    "fold_from_baseline": _fold,
    "uln": _uln,
    "lln": _lln,
    "x_uln": _x_uln,
    "ctcae_grade": _ctcae,
    "hours_since": _hours_since,
    "timeline": _timeline_value,
    "since_first": _since_first,
    "since_admission": _admission_span,
    "admitted_before_first": _admission_span,
}

_NONE_WITHOUT_POINTS = frozenset(get_args(Aggregate)) - {"derived", "timeline", "since_first"}
"""Aggregates of one signal that are ``(None, None)`` when the signal has no point at or
before the snapshot time (every window, last value and cycle range of it is empty)."""

_PLAN: tuple[tuple[FeatureSpec, Callable[[_Context, FeatureSpec], Result], str | None], ...] = (
    tuple(
        (
            f,
            _DERIVED[f.name] if f.aggregate == "derived" else _AGGREGATES[f.aggregate],
            f.signal if f.aggregate in _NONE_WITHOUT_POINTS else None,
        )
        for f in CATALOG
    )
)
_PLAN_SIGNALS = frozenset(signal for _, _, signal in _PLAN if signal is not None)
_ALL_MISSING: dict[str, float | None] = {spec.name: None for spec, _, _ in _PLAN}
"""Every feature missing, in catalog order (each snapshot's values start as a copy)."""
assert len(_ALL_MISSING) == len(_PLAN), "feature names must be unique (see snapshot)"
_Entry = tuple[FeatureSpec, Callable[[_Context, FeatureSpec], Result], str | None]
_PLANS: dict[frozenset[str], tuple[_Entry, ...]] = {}
"""The entries of ``_PLAN`` to evaluate (in catalog order), by the set of plan signals
without points; a few sets recur (a monitored patient's is the same every snapshot)."""
_PLANS_MAX = 256


def _plan_without(absent: frozenset[str]) -> tuple[_Entry, ...]:
    plan = _PLANS.get(absent)
    if plan is None:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        plan = _PLANS[absent] = tuple(e for e in _PLAN if e[2] is None or e[2] not in absent)
    return plan


def snapshot(state: PatientState, at_ms: int) -> Snapshot:
    """Every catalog feature of ``state`` at ``at_ms`` (exact for ``at_ms >= newest_ms``)."""
    ctx = _Context(state, at_ms)
    values = _ALL_MISSING.copy()
    evidence: dict[str, Evidence] = {}
    cited: dict[Point, Evidence] = {}
    # Signals without a point at or before at_ms: their plain aggregates are all missing
    # (most of the catalog for a patient with vital signs only), so they are not evaluated.
    absent = _PLAN_SIGNALS.difference(
        [signal for signal, s in state.series.items() if s.t and s.t[0] <= at_ms]
    )
    for spec, fn, _ in _plan_without(absent) if absent else _PLAN:
        value, point = fn(ctx, spec)
        if value is not None and not math.isfinite(value):
            # A ratio or log of extreme inputs (an overflowing multiple of ULN) is not a
            # measurement: report the feature as missing rather than pass inf/nan to rules.
            value = None
        values[spec.name] = value
        if value is not None and point is not None:
            ev = cited.get(point)
            if ev is None:
                sig, i = point
                s = ctx.get(sig)
                ev = cited[point] = Evidence(
                    signal=sig,
                    value=s.v[i],
                    unit=SERIES_BY_SIGNAL[sig].unit,
                    time_ms=s.t[i],
                    source_msg_id=s.msg[i],
                    obs_id=s.obs[i],
                )
            evidence[spec.name] = ev
    return Snapshot(
        patient_id=state.patient_id,
        time_ms=at_ms,
        timeline=ctx.timeline,
        values=values,
        evidence=evidence,
    )

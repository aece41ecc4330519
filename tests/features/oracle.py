"""A batch recomputation of every catalog feature, written independently of features/.

It takes the *cleaned* history (sorted, corrections applied, retractions removed,
duplicates dropped) and computes each feature directly from its definition with plain
list comprehensions: no bisect, no retention, no caches. Only the catalog (names, windows,
staleness) and the default limits are shared with the streaming code, as data.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from contract.events import (
    Event,
    InfusionEvent,
    NeuroAssessment,
    Observation,
    PatientContext,
    RespiratorySupport,
    Retraction,
    Treatment,
    VasopressorState,
)
from features.catalog import CATALOG, SERIES_BY_SIGNAL, FeatureSpec
from features.limits import DEFAULT_LLN, DEFAULT_ULN
from features.snapshot import Evidence

H = 3_600_000
RANK = {"preliminary": 0, "final": 1, "amended": 2, "corrected": 2}


@dataclass(frozen=True)
class P:
    """One point of a series."""

    t: int
    v: float
    obs_id: str | None
    msg: str
    lo: float | None = None
    hi: float | None = None


def clean(arrivals: Sequence[Event]) -> list[Event]:
    """The cleaned history of events given in arrival order."""
    retracted = {e.obs_id for e in arrivals if isinstance(e, Retraction)}
    best: dict[str, Observation] = {}
    for e in arrivals:
        if isinstance(e, Observation) and e.obs_id not in retracted:
            old = best.get(e.obs_id)
            if old is None or RANK[e.status] >= RANK[old.status]:
                best[e.obs_id] = e
    others: list[Event] = []
    for e in arrivals:
        if not isinstance(e, Observation | Retraction) and e not in others:
            others.append(e)
    return sorted([*best.values(), *others], key=lambda e: e.time_ms)


def points(history: Sequence[Event]) -> dict[str, list[P]]:
    """Every series of the cleaned history, each sorted by time."""
    out: dict[str, list[P]] = {}

    def add(sig: str, t: int, v: float | None, msg: str, **kw: float | str | None) -> None:
        if v is not None:
            out.setdefault(sig, []).append(P(t, float(v), msg=msg, **kw))  # type: ignore[arg-type]

    levels = {"alert": 0, "drowsy": 1, "voice": 2, "pain": 3, "unresponsive": 4}
    for e in history:
        m, t = e.source_msg_id, e.time_ms
        if isinstance(e, Observation):
            if e.signal in SERIES_BY_SIGNAL:
                add(e.signal, t, e.value, m, obs_id=e.obs_id, lo=e.ref_low, hi=e.ref_high)
        elif isinstance(e, NeuroAssessment):
            ice = (
                e.ice_score
                if e.ice_score is not None
                else (e.ice_items.total if e.ice_items else None)
            )
            add("ice_score", t, ice, m, obs_id=None)
            if e.consciousness:
                add("consciousness_level", t, levels[e.consciousness], m, obs_id=None)
            if e.seizure is not None:
                add("seizure", t, int(e.seizure), m, obs_id=None)
            if e.seizure_prolonged is not None:
                add("seizure_prolonged", t, int(e.seizure_prolonged), m, obs_id=None)
            add("tremor_grade", t, e.tremor_grade, m, obs_id=None)
            if e.new_confusion is not None:
                add("new_confusion", t, int(e.new_confusion), m, obs_id=None)
        elif isinstance(e, RespiratorySupport):
            if e.device == "room_air":
                level, flow, fio2 = 0, 0.0, e.fio2_pct or 21.0
            elif e.device == "nasal_cannula":
                level = 2 if (e.o2_flow_l_min or 0) > 6 else 1
                flow, fio2 = e.o2_flow_l_min, e.fio2_pct
            else:
                level = {"high_flow_nasal_cannula": 2, "non_rebreather": 2, "cpap": 3}[e.device]
                flow, fio2 = e.o2_flow_l_min, e.fio2_pct
            add("o2_support_level", t, level, m, obs_id=None)
            add("o2_flow", t, flow, m, obs_id=None)
            add("fio2", t, fio2, m, obs_id=None)
        elif isinstance(e, VasopressorState):
            add("vasopressor_count", t, e.count, m, obs_id=None)
            add("vasopressin", t, int(e.vasopressin), m, obs_id=None)
        elif isinstance(e, Treatment):
            add(e.treatment, t, 1.0, m, obs_id=None)
        elif isinstance(e, PatientContext):
            add("age_years", t, e.age_years, m, obs_id=None)
            add("weight_kg", t, e.weight_kg, m, obs_id=None)
            if e.sex in ("female", "male"):
                add("sex_female", t, 1.0 if e.sex == "female" else 0.0, m, obs_id=None)
            if e.immunosuppressed is not None:
                add("immunosuppressed", t, int(e.immunosuppressed), m, obs_id=None)
            if e.hospital_admission_ms is not None:
                add("hospital_admission", t, float(e.hospital_admission_ms), m, obs_id=None)
    for series in out.values():
        series.sort(key=lambda p: p.t)
    return out


# --- timeline ---------------------------------------------------------------------------


def timeline(history: Sequence[Event], at: int) -> dict[str, float | None]:
    """Timeline values at ``at`` by replaying the cycle's events one by one."""
    inf = [e for e in history if isinstance(e, InfusionEvent) and e.time_ms <= at]
    order = ["start", "dose_change", "interruption", "restart", "stop"]
    inf.sort(key=lambda e: (e.time_ms, order.index(e.action)))
    names = ("cycle", "infusion_day", "hours_since_start", "hours_since_dose_change",
             "dose_ug_per_day", "on_infusion", "interruptions", "restarts",
             "hours_off_infusion")  # fmt: skip
    if not inf:
        return dict.fromkeys(names)
    starts_all = [e for e in inf if e.action == "start"]
    cycle = starts_all[-1].cycle if starts_all else inf[-1].cycle
    mine = [e for e in inf if e.cycle == cycle]
    starts = [e.time_ms for e in mine if e.action == "start"]
    start = min(starts) if starts else None
    running, dose, change, since, n_int, n_restart, off = False, None, None, None, 0, 0, 0
    for e in mine:
        if e.action == "start" and e.time_ms == start and change is None:
            running, dose, change = True, e.dose_ug_per_day, e.time_ms
        elif e.action == "dose_change":
            dose = e.dose_ug_per_day if e.dose_ug_per_day is not None else dose
            change = e.time_ms if running else change
        elif e.action == "interruption" and running:
            running, since, n_int = False, e.time_ms, n_int + 1
        elif e.action == "restart":
            if since is not None:
                off += e.time_ms - since
                n_restart += (e.time_ms - since) >= 4 * H
                since = None
            dose = e.dose_ug_per_day if e.dose_ug_per_day is not None else dose
            running, change = True, e.time_ms
        elif e.action == "stop":
            if since is not None:
                off += e.time_ms - since
                since = None
            running = False
    if since is not None:
        off += at - since
    return {
        "cycle": float(cycle),
        "infusion_day": None if start is None else float(math.floor((at - start) / (24 * H)) + 1),
        "hours_since_start": None if start is None else (at - start) / H,
        "hours_since_dose_change": None if change is None else (at - change) / H,
        "dose_ug_per_day": (dose if running else 0.0),
        "on_infusion": 1.0 if running else 0.0,
        "interruptions": float(n_int),
        "restarts": float(n_restart),
        "hours_off_infusion": off / H,
    }


def first_start(history: Sequence[Event], at: int) -> int | None:
    """Earliest start of the lowest cycle, at or before ``at``."""
    starts = [
        (e.cycle, e.time_ms)
        for e in history
        if isinstance(e, InfusionEvent) and e.action == "start" and e.time_ms <= at
    ]
    return min(starts)[1] if starts else None


def cycle_start(history: Sequence[Event], at: int) -> int | None:
    """Start of the cycle of the latest infusion event at or before ``at``."""
    inf = [e for e in history if isinstance(e, InfusionEvent) and e.time_ms <= at]
    if not inf:
        return None
    order = ["start", "dose_change", "interruption", "restart", "stop"]
    started = [e for e in inf if e.action == "start"]
    latest = max(started or inf, key=lambda e: (e.time_ms, order.index(e.action)))
    cycle = latest.cycle
    starts = [e.time_ms for e in inf if e.cycle == cycle and e.action == "start"]
    return min(starts) if starts else None


# --- grades -----------------------------------------------------------------------------


def grade(sig: str, v: float, limit: float | None, baseline: float | None) -> float | None:
    """CTCAE v5 grade written as plain if-chains."""
    if sig in ("alt", "ast", "bilirubin"):
        if sig != "bilirubin" and baseline is not None:
            x = v / baseline
            return 4.0 if x > 20 else 3.0 if x > 5 else 2.0 if x > 3 else 1.0 if x >= 1.5 else 0.0
        if limit is None:
            return None
        x = v / limit
        cuts = (20, 5, 3, 1) if sig != "bilirubin" else (10, 3, 1.5, 1)
        return (
            4.0
            if x > cuts[0]
            else 3.0
            if x > cuts[1]
            else 2.0
            if x > cuts[2]
            else (1.0 if x > cuts[3] else 0.0)
        )
    cuts2 = {"anc": (0.5, 1.0, 1.5), "platelets": (25, 50, 75), "hgb": (None, 8, 10)}[sig]
    if cuts2[0] is not None and v < cuts2[0]:
        return 4.0
    if v < cuts2[1]:
        return 3.0
    if v < cuts2[2]:
        return 2.0
    if limit is None:
        return None
    return 1.0 if v < limit else 0.0


# --- features ---------------------------------------------------------------------------

Out = tuple[float | None, P | None]


def batch_features(
    history: Sequence[Event], at: int, arrivals: Sequence[Event] | None = None
) -> dict[str, Out]:
    """Every catalog feature at ``at`` from the cleaned history, with the point behind it.

    ``arrivals`` (default: the history) are the events as they arrived: the first event
    counts even if it was later retracted or corrected away.
    """
    seen = [e.time_ms for e in (history if arrivals is None else arrivals)
            if not isinstance(e, PatientContext)]  # fmt: skip
    first = min(seen) if seen else None
    series = points([e for e in history if e.time_ms <= at or isinstance(e, PatientContext)])
    series = {k: [p for p in v if p.t <= at] for k, v in series.items()}
    tl = timeline(history, at)
    fs, cs = first_start(history, at), cycle_start(history, at)

    def last_point(sig: str) -> P | None:
        pts = series.get(sig, [])
        return pts[-1] if pts else None

    def valid(sig: str) -> P | None:
        p = last_point(sig)
        stale = SERIES_BY_SIGNAL[sig].stale_h
        if p is None or (stale is not None and at - p.t >= stale * H):
            return None
        return p

    def window(sig: str, hours: float) -> list[P]:
        return [p for p in series.get(sig, []) if at - hours * H < p.t <= at]

    def baseline(sig: str) -> P | None:
        if fs is None:
            return None
        before = [p for p in series.get(sig, []) if p.t < fs]
        if before:
            return before[-1]
        after = [p for p in series.get(sig, []) if fs <= p.t < fs + 24 * H]
        return after[0] if after else None

    sex_p = last_point("sex_female")
    sex = None if sex_p is None else sex_p.v

    def default(table: dict[str, float | dict[str, float]], sig: str) -> float | None:
        d = table.get(sig)
        if isinstance(d, dict):
            return None if sex is None else d["female" if sex == 1.0 else "male"]
        return d

    def uln(p: P, sig: str) -> float | None:
        return p.hi if p.hi is not None else default(DEFAULT_ULN, sig)  # type: ignore[arg-type]

    def lln(p: P, sig: str) -> float | None:
        return p.lo if p.lo is not None else default(DEFAULT_LLN, sig)  # type: ignore[arg-type]

    def fever_run() -> tuple[P, P] | None:
        last = valid("temp")
        if last is None or last.v < 38.0:
            return None
        temps = series["temp"]
        i = len(temps) - 1
        while (
            i > 0
            and temps[i - 1].v >= 38.0
            and temps[i - 1].t > at - 72 * H
            and temps[i].t - temps[i - 1].t <= 6 * H
        ):
            i -= 1
        return temps[i], last

    out: dict[str, Out] = {}
    for f in CATALOG:
        if f.aggregate == "since_first":
            out[f.name] = (None if first is None or first > at else (at - first) / H), None
            continue
        if f.aggregate in ("since_admission", "admitted_before_first"):
            adm = last_point("hospital_admission")
            end = at if f.aggregate == "since_admission" else first
            if adm is None or end is None or adm.v > end:
                out[f.name] = None, None
            else:
                out[f.name] = (end - adm.v) / H, adm
            continue
        out[f.name] = _one(f, at, series, tl, cs, valid, last_point, window, baseline, uln,
                           lln, fever_run)  # fmt: skip
    return out


def _one(f: FeatureSpec, at, series, tl, cs, valid, last_point, window, baseline, uln, lln,
         fever_run) -> Out:  # type: ignore[no-untyped-def]  # fmt: skip
    sig, agg = f.signal, f.aggregate
    if agg == "timeline":
        return tl[f.name], None
    if agg == "last":
        p = valid(sig)
        return (None, None) if p is None else (p.v, p)
    if agg == "age_h":
        p = last_point(sig)
        return (None, None) if p is None else ((at - p.t) / H, p)
    if agg in ("min", "max", "mean", "slope", "count", "any"):
        pts = window(sig, f.window_h) if agg != "derived" else []
        if not pts and agg != "slope":
            return None, None
        if agg == "min":
            p = next(p for p in pts if p.v == min(q.v for q in pts))
            return p.v, p
        if agg == "max":
            p = next(p for p in pts if p.v == max(q.v for q in pts))
            return p.v, p
        if agg == "mean":
            return sum(p.v for p in pts) / len(pts), None
        if agg == "count":
            return float(sum(p.v >= 0.5 for p in pts)), None
        if agg == "any":
            return float(any(p.v >= 0.5 for p in pts)), None
        xs = [(p.t - at) / H for p in pts]
        if len(set(xs)) < 2:
            return None, None
        return statistics.linear_regression(xs, [p.v for p in pts]).slope, None
    if agg == "delta":
        pts = window(sig, f.window_h)
        if len({p.t for p in pts}) < 2:
            return None, None
        return pts[-1].v - pts[0].v, None
    if agg == "readings":
        n = len(window(sig, f.window_h))
        return (float(n) if n else None), None
    if agg in ("max_cycle", "count_cycle"):
        if cs is None:
            return None, None
        pts = [p for p in series.get(sig, []) if cs <= p.t <= at]
        if not pts:
            return None, None
        if agg == "count_cycle":
            return float(sum(p.v >= 0.5 for p in pts)), None
        p = next(p for p in pts if p.v == max(q.v for q in pts))
        return p.v, p
    if agg == "hours_since":
        p = last_point(sig)
        if p is None or at - p.t >= f.window_h * H:
            return None, None
        return (at - p.t) / H, p
    if agg in ("fold_from_baseline", "uln", "lln", "x_uln", "ctcae_grade"):
        p = valid(sig)
        if p is None:
            return None, None
        if agg == "fold_from_baseline":
            b = baseline(sig)
            return (None, None) if b is None or b.v <= 0 else (p.v / b.v, p)
        if agg == "uln":
            return uln(p, sig), (p if p.hi is not None else None)
        if agg == "lln":
            return lln(p, sig), (p if p.lo is not None else None)
        if agg == "x_uln":
            u = uln(p, sig)
            return (None, None) if u is None else (p.v / u, p)
        base_v = None
        limit = uln(p, sig) if sig in ("alt", "ast", "bilirubin") else lln(p, sig)
        if sig in ("alt", "ast"):
            b = baseline(sig)
            if b is not None and b is not p and uln(b, sig) is not None and b.v > uln(b, sig):
                base_v = b.v
        return grade(sig, p.v, limit, base_v), p
    # derived
    if f.name == "fever_hours_24h":
        pts = window("temp", 24)
        if not pts:
            return None, None
        return float(len({math.floor((at - p.t) / H) for p in pts if p.v >= 38.0})), None
    if f.name in ("hours_since_fever_onset", "fever_sustained_1h"):
        run = fever_run()
        if f.name == "hours_since_fever_onset":
            return (None, None) if run is None else ((at - run[0].t) / H, run[0])
        if valid("temp") is None:
            return None, None
        if run is None:
            return 0.0, None
        return (1.0 if run[1].t - run[0].t > H else 0.0), run[0]
    if f.name in ("easix_log2", "m_easix_log2"):
        ldh, plt = valid("ldh"), valid("platelets")
        other = valid("creatinine" if f.name == "easix_log2" else "crp")
        if ldh is None or plt is None or other is None or plt.v <= 0:
            return None, None
        o = other.v if f.name == "easix_log2" else other.v / 10
        x = ldh.v * o / plt.v
        return (math.log2(x) if x > 0 else None), None
    if f.name == "bun_creatinine_ratio":
        bun, cr = valid("bun"), valid("creatinine")
        if bun is None or cr is None or cr.v <= 0:
            return None, None
        return bun.v / cr.v, None
    if f.name == "pf_ratio":
        pa = valid("pao2")
        if pa is None:
            return None, None
        fio2 = [p for p in series.get("fio2", []) if p.t <= pa.t]
        if not fio2 or pa.t - fio2[-1].t >= 6 * H or fio2[-1].v <= 0:
            return None, None
        return pa.v / (fio2[-1].v / 100), pa
    raise AssertionError(f"oracle has no rule for {f.name}")


def evidence(f: FeatureSpec, p: P, sig_of: str) -> Evidence:
    """The Evidence the streaming snapshot must give for point ``p``."""
    return Evidence(
        signal=sig_of,
        value=p.v,
        unit=SERIES_BY_SIGNAL[sig_of].unit,
        time_ms=p.t,
        source_msg_id=p.msg,
        obs_id=p.obs_id,
    )

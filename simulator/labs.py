"""Laboratory results: draws, values with each laboratory's reference range, transfusions.

Blood is drawn daily at about 06:00 (CBC and chemistry), with coagulation and ferritin/
triglycerides every third day or daily while a patient is acutely unwell, stat draws at the
onset of a fever, and IL-6 sent out on some days of CRS grade >= 2 or HLH. Results arrive
after their panel's turnaround (IL-6 days later); some panels are late or missing.

Kinetics (per episode, peak-scaled by grade): IL-6 peaks within hours of CRS onset, CRP
lags by about a day and clears with a ~20 h half-life, ferritin climbs over days (past
10,000 ng/mL in HLH/MAS). Tocilizumab makes CRP fall and IL-6 rise. Platelets < 10 (< 20
when febrile) and haemoglobin < 7 g/dL are transfused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.baseline import Baseline
from simulator.care import Dose
from simulator.config import DAY_MS, HOUR_MS, MINUTE_MS, CohortConfig
from simulator.episodes import Episode, hepatotoxicity_ratio
from simulator.kinetics import FloatArray, envelope, window
from simulator.vitals import FeverBump

IntArray = npt.NDArray[np.int64]

PANELS: dict[str, tuple[str, ...]] = {
    "cbc": ("wbc", "anc", "platelets", "hgb"),
    "chem": ("crp", "alt", "ast", "bilirubin", "ldh", "creatinine"),
    "coag": ("fibrinogen",),
    "special": ("ferritin", "triglycerides"),
    "sendout": ("il6",),
}
TURNAROUND_H: dict[str, tuple[float, float]] = {
    "cbc": (0.6, 1.6),
    "chem": (1.3, 3.0),
    "coag": (1.0, 2.5),
    "special": (2.0, 6.0),
    "sendout": (24.0, 72.0),
}
DECIMALS: dict[str, int] = {
    "wbc": 2,
    "anc": 2,
    "platelets": 0,
    "hgb": 1,
    "crp": 1,
    "alt": 0,
    "ast": 0,
    "bilirubin": 2,
    "ldh": 0,
    "creatinine": 2,
    "fibrinogen": 0,
    "ferritin": 0,
    "triglycerides": 0,
    "il6": 1,
}
NOISE_CV: dict[str, float] = {
    "wbc": 0.05,
    "anc": 0.07,
    "platelets": 0.06,
    "hgb": 0.025,
    "crp": 0.06,
    "alt": 0.06,
    "ast": 0.06,
    "bilirubin": 0.07,
    "ldh": 0.05,
    "creatinine": 0.04,
    "fibrinogen": 0.06,
    "ferritin": 0.07,
    "triglycerides": 0.06,
    "il6": 0.12,
}
# Reference ranges of the two simulated laboratories (None = one-sided). Sex- and
# age-dependent analytes are resolved in :func:`reference_range`.
_REF: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "A": {
        "wbc": (4.0, 11.0),
        "anc": (1.8, 7.5),
        "platelets": (150.0, 400.0),
        "crp": (None, 5.0),
        "alt": (None, 40.0),
        "ast": (None, 40.0),
        "bilirubin": (0.2, 1.2),
        "ldh": (None, 280.0),
        "fibrinogen": (200.0, 400.0),
        "triglycerides": (None, 150.0),
        "il6": (None, 7.0),
    },
    "B": {
        "wbc": (3.5, 10.5),
        "anc": (1.5, 7.0),
        "platelets": (140.0, 440.0),
        "crp": (None, 10.0),
        "alt": (None, 55.0),
        "ast": (None, 48.0),
        "bilirubin": (0.3, 1.0),
        "ldh": (140.0, 250.0),
        "fibrinogen": (180.0, 350.0),
        "triglycerides": (None, 200.0),
        "il6": (None, 5.9),
    },
}
# Upper reportable limits: above them the lab reports ">limit" (comparator).
REPORTABLE_MAX: dict[tuple[str, str], float] = {
    ("B", "ferritin"): 40_000.0,
    ("A", "il6"): 5_000.0,
    ("B", "il6"): 5_000.0,
}


def reference_range(base: Baseline, signal: str) -> tuple[float | None, float | None]:
    """The patient's laboratory's reference range for ``signal`` (canonical unit)."""
    if signal == "hgb":
        if base.is_child:
            return 11.0, 14.5
        return (13.5, 17.5) if base.sex == "male" else (12.0, 15.5)
    if signal == "creatinine":
        if base.is_child:
            return 0.2, 0.7
        return (0.74, 1.35) if base.sex == "male" else (0.59, 1.04)
    if signal == "ferritin":
        if base.lab_site == "A":
            return (24.0, 336.0) if base.sex == "male" else (11.0, 307.0)
        return (30.0, 400.0) if base.sex == "male" else (13.0, 150.0)
    return _REF[base.lab_site][signal]


def uln(base: Baseline, signal: str) -> float:
    """Upper limit of normal (the grading reference)."""
    high = reference_range(base, signal)[1]
    assert high is not None
    return high


@dataclass(frozen=True, slots=True)
class LabResult:
    """One resulted panel: collection time, arrival time and values."""

    time: int
    arrival: int
    panel: str
    values: tuple[tuple[str, float, str | None], ...]
    """(signal, value, comparator)."""


@dataclass(frozen=True, slots=True)
class LabContext:
    """What the lab model needs about the patient's course."""

    base: Baseline
    episodes: list[Episode]
    doses: list[Dose]
    first_start: int
    admission: int


def _sum_env(t: IntArray, parts: list[tuple[float, float, float, float, float]]) -> FloatArray:
    total = np.zeros(t.shape, dtype=np.float64)
    for amp, start, rise, hold, half in parts:
        total += amp * envelope(t, start, rise, hold, half)
    return total


def true_labs(t: IntArray, ctx: LabContext) -> dict[str, FloatArray]:
    """Noise-free lab values at times ``t`` (before transfusions)."""
    base, b = ctx.base, ctx.base.labs
    h = float(HOUR_MS)
    d = float(DAY_MS)
    since_start = np.maximum(t - ctx.first_start, 0) / d
    toci = [x.time for x in ctx.doses if x.kind == "tocilizumab"]
    il6 = np.full(t.shape, b["il6"])
    ferritin_fold = np.ones(t.shape)
    ferritin_add = np.zeros(t.shape)
    alt_x = np.zeros(t.shape)  # extra ALT in multiples of ULN
    ast_x = np.zeros(t.shape)
    bili_add = np.zeros(t.shape)
    ldh_fold = np.ones(t.shape)
    creat_fold = np.ones(t.shape)
    fib_fold = np.ones(t.shape)
    tg_add = np.zeros(t.shape)
    plt_fold = np.ones(t.shape)
    anc_fold = np.ones(t.shape)
    anc_floor = np.zeros(t.shape)
    hgb_add = np.zeros(t.shape)
    crp = np.full(t.shape, b["crp"])
    hepato_ratio: FloatArray | None = None
    hepato_bili = np.zeros(t.shape)
    alt_uln, bili_uln = uln(base, "alt"), uln(base, "bilirubin")
    for ep in ctx.episodes:
        c, e = ep.course, ep.effects
        if ep.kind == "crs":
            hold = max(c.peak_time + 24 * h, c.resolution - 2 * d)
            part = e["crp"] * envelope(t, c.onset + 6 * h, 30 * h, hold, 20 * h)
            il6_part = e["il6"] * envelope(t, c.onset - h, 6 * h, c.peak_time + 12 * h, 12 * h)
            for tt in toci:
                if c.onset <= tt <= c.resolution:
                    part *= np.exp(-np.maximum(t - tt - 12 * h, 0.0) / (30 * h))
                    il6_part *= 1.0 + 4.0 * envelope(t, tt, 12 * h, tt + 2 * d, 3 * d)
            crp += part
            il6 += il6_part
            env = envelope(t, c.onset + 12 * h, 3 * d, c.resolution, 4 * d)
            ferritin_fold *= 1.0 + (e["ferritin_fold"] - 1.0) * env
            liver = envelope(t, c.onset + d, 2 * d, c.resolution - d, 2 * d)
            alt_x += e["transaminase_x_uln"] * liver
            ast_x += 1.2 * e["transaminase_x_uln"] * liver
            ldh_fold *= 1.0 + 0.1 * c.peak * env
            t3 = c.first_at_least(3)
            if t3 is not None:
                sev = envelope(t, t3, d, c.last_drop_below(3) or c.resolution, 2 * d)
                creat_fold *= 1.0 + (e["creatinine_fold"] - 1.0) * sev
                fib_fold *= 1.0 - 0.3 * sev
                plt_fold *= 1.0 - 0.3 * sev
            else:
                fib_fold *= 1.0 + 0.15 * env
        elif ep.kind == "infection":
            fever_end = max(ep.fever_end, c.onset + 12 * HOUR_MS)
            crp += e["crp"] * envelope(t, c.onset + 4 * h, 36 * h, fever_end, 30 * h)
            il6 += e["il6"] * envelope(t, c.onset, 6 * h, c.onset + d, 12 * h)
            env = envelope(t, c.onset + 12 * h, 3 * d, c.resolution, 4 * d)
            ferritin_fold *= 1.0 + (e["ferritin_fold"] - 1.0) * env
            if ep.neutropenic:
                dur = c.resolution - c.onset
                dip = envelope(t, c.onset - 3 * d, 2 * d, c.onset + 0.6 * dur, 2 * d)
                target = min(e["anc_nadir"] / max(b["anc"], 1e-3), 1.0)
                anc_fold *= 1.0 - (1.0 - target) * dip
            else:
                up = envelope(t, c.onset - 12 * h, d, c.onset + 3 * d, 2 * d)
                anc_fold *= 1.0 + e["anc_rise"] * up
                # A non-neutropenic infection: counts are (or have recovered) above 1.2.
                anc_floor = np.maximum(anc_floor, 1.2 * window(t, c.onset - d, c.onset + 3 * d))
            t4 = c.first_at_least(4)
            if t4 is not None:
                sev = envelope(t, t4, 12 * h, c.last_drop_below(4) or c.resolution, 2 * d)
                creat_fold *= 1.0 + (e["creatinine_fold"] - 1.0) * sev
                plt_fold *= 1.0 - 0.4 * sev
                bili_add += 0.8 * sev
        elif ep.kind == "hlh":
            hold = max(c.onset + 7 * d, c.resolution - 4 * d)
            env = envelope(t, c.onset - d, 5 * d, hold, 3 * d)
            ferritin_add += (ep.magnitude - b["ferritin"]) * env
            fib_fold *= 1.0 - e["fibrinogen_drop"] * env
            tg_add += e["triglycerides_add"] * env
            plt_fold *= 1.0 - 0.7 * env
            anc_fold *= 1.0 - 0.6 * env
            hgb_add -= 1.5 * env
            alt_x += e["transaminase_x_uln"] * env
            ast_x += 1.3 * e["transaminase_x_uln"] * env
            bili_add += e["bilirubin_add"] * env
            ldh_fold *= 1.0 + (e["ldh_fold"] - 1.0) * env
            crp += e["crp"] * env
            il6 += e["il6"] * env
            creat_fold *= 1.0 + (e["creatinine_fold"] - 1.0) * env
        elif ep.kind == "hepatotoxicity":
            ratio = hepatotoxicity_ratio(ep, t, min(b["alt"] / alt_uln, 0.9))
            hepato_ratio = ratio if hepato_ratio is None else np.maximum(hepato_ratio, ratio)
            if e["bilirubin_x_uln"] > 0:
                h_start, h_rise, h_half = ep.lab_shape
                shape = envelope(t, h_start + 0.5 * h_rise, h_rise, h_start + 1.5 * h_rise, h_half)
                hepato_bili += bili_uln * e["bilirubin_x_uln"] * shape
    ast_ratio = next(
        (ep.effects["ast_ratio"] for ep in ctx.episodes if ep.kind == "hepatotoxicity"), 1.0
    )
    if hepato_ratio is not None:
        alt = alt_uln * hepato_ratio + alt_uln * alt_x
        ast = b["ast"] + uln(base, "ast") * (ast_ratio * (hepato_ratio - b["alt"] / alt_uln))
        ast = np.maximum(ast, b["ast"]) + uln(base, "ast") * ast_x
    else:
        alt = b["alt"] + alt_uln * alt_x
        ast = b["ast"] + uln(base, "ast") * ast_x
    # High-burden disease clears over the first weeks: blasts leave the blood, LDH falls,
    # counts recover a little.
    clearance = 1.0 - np.exp(-since_start / 7.0)
    recovering = 0.6 if base.burden == "high" else (0.3 if base.burden == "low" else 0.0)
    blasts = b["wbc"] - b["anc"] - 1.7
    peripheral = max(blasts, 0.0) * np.exp(-since_start / 2.0)
    lymph = 1.3 * (1.0 - 0.6 * envelope(t, ctx.first_start, 12 * h, ctx.first_start + 3 * d, 4 * d))
    anc = np.maximum(b["anc"] * (1.0 + recovering * clearance) * anc_fold, anc_floor)
    days_in = np.maximum(t - ctx.admission, 0) / d
    return {
        "anc": anc,
        "wbc": anc + lymph + 0.4 + peripheral,
        "platelets": b["platelets"] * (1.0 + recovering * clearance) * plt_fold,
        "hgb": np.maximum(b["hgb"] - 0.03 * days_in + hgb_add, 4.5),
        "crp": crp,
        "il6": il6,
        "ferritin": b["ferritin"] * ferritin_fold + ferritin_add,
        "alt": alt,
        "ast": ast,
        "bilirubin": b["bilirubin"] + bili_add + hepato_bili,
        "ldh": b["ldh"] * (1.0 - 0.35 * recovering * clearance) * ldh_fold,
        "creatinine": b["creatinine"] * creat_fold,
        "fibrinogen": np.maximum(b["fibrinogen"] * fib_fold, 40.0),
        "triglycerides": b["triglycerides"] + tg_add,
    }


@dataclass(frozen=True, slots=True)
class Draw:
    """A blood draw: time and the panels sent."""

    time: int
    panels: tuple[str, ...]


def draw_schedule(
    rng: np.random.Generator,
    config: CohortConfig,
    start: int,
    end: int,
    episodes: list[Episode],
) -> list[Draw]:
    """Admission, daily 06:00 and stat draws within a monitoring window."""

    def acute(t: int) -> bool:
        for ep in episodes:
            g = ep.course.grade_at(t)
            if ep.kind in ("crs", "hlh", "infection") and g >= 2:
                return True
        return False

    def il6_due(t: int) -> bool:
        for ep in episodes:
            g = ep.course.grade_at(t)
            if (ep.kind == "crs" and g >= 2) or (ep.kind == "hlh" and g >= 1):
                return True
        return False

    draws = [Draw(start, ("cbc", "chem", "coag", "special"))]
    day0 = start - start % DAY_MS
    k = 1
    while True:
        t = day0 + k * DAY_MS + 6 * HOUR_MS + int(rng.uniform(-20.0, 40.0) * MINUTE_MS)
        if t >= end:
            break
        panels = ["cbc", "chem"]
        if acute(t) or k % 3 == 0:
            panels += ["coag", "special"]
        if il6_due(t) and rng.random() < config.il6_probability:
            panels.append("sendout")
        if t > start + 2 * HOUR_MS:
            draws.append(Draw(t, tuple(panels)))
        k += 1
    for ep in episodes:
        if ep.kind in ("crs", "infection", "hlh") and start <= ep.onset < end:
            t = ep.onset + int(rng.uniform(0.5, 2.0) * HOUR_MS)
            panels = ["cbc", "chem", "coag", "special"]
            if ep.kind == "crs" and rng.random() < config.il6_probability / 2:
                panels.append("sendout")
            draws.append(Draw(t, tuple(panels)))
    draws.sort(key=lambda x: x.time)
    return draws


def febrile_at(t: int, bumps: list[FeverBump]) -> bool:
    """Whether any fever bump is active at ``t`` (transfusion thresholds are higher)."""
    return any(b.start <= t < b.end for b in bumps)


def results_and_transfusions(
    rng: np.random.Generator,
    config: CohortConfig,
    ctx: LabContext,
    draws: list[Draw],
    bumps: list[FeverBump],
) -> tuple[list[LabResult], list[Dose]]:
    """Resulted panels (with noise, missing and late panels) and the transfusions given."""
    if not draws:
        return [], []
    base = ctx.base
    t = np.asarray([d.time for d in draws], dtype=np.int64)
    truth = true_labs(t, ctx)
    plt_tx: list[tuple[int, float]] = []
    rbc_tx: list[tuple[int, float]] = []
    doses: list[Dose] = []
    plt = truth["platelets"].copy()
    hgb = truth["hgb"].copy()
    for i, draw in enumerate(draws):
        ti = int(t[i])
        plt[i] += sum(a * math.exp(-(ti - s) / (3.0 * DAY_MS)) for s, a in plt_tx if s < ti)
        hgb[i] += sum(a for s, a in rbc_tx if s < ti)
        if "cbc" not in draw.panels:
            continue
        recent = [s for s, _ in plt_tx if ti - s < 12 * HOUR_MS]
        threshold = 20.0 if febrile_at(ti, bumps) else 10.0
        if plt[i] < threshold and not recent:
            at = ti + int(rng.uniform(2.0, 4.0) * HOUR_MS)
            plt_tx.append((at, float(rng.uniform(15.0, 35.0))))
            doses.append(Dose(at, "transfusion_platelets", "platelets", 1.0, "unit"))
        if hgb[i] < 7.0 and not any(ti - s < 24 * HOUR_MS for s, _ in rbc_tx):
            units = 2.0 if base.weight_kg >= 45 else 1.0
            at = ti + int(rng.uniform(3.0, 6.0) * HOUR_MS)
            rbc_tx.append((at, 0.9 * units))
            doses.append(Dose(at, "transfusion_red_cells", "red cells", units, "unit"))
    truth["platelets"] = plt
    truth["hgb"] = hgb
    art = config.artifacts
    results: list[LabResult] = []
    for i, draw in enumerate(draws):
        for panel in draw.panels:
            if rng.random() < art.missing_lab_panel and i > 0:
                continue  # not drawn, clotted, haemolysed
            lo, hi = TURNAROUND_H[panel]
            if panel != "sendout" and rng.random() < art.late_lab_panel:
                lo, hi = 6.0, 18.0
            arrival = int(t[i]) + int(rng.uniform(lo, hi) * HOUR_MS)
            values: list[tuple[str, float, str | None]] = []
            for signal in PANELS[panel]:
                if rng.random() < art.missing_lab_value and i > 0:
                    continue
                v = float(truth[signal][i]) * math.exp(NOISE_CV[signal] * rng.standard_normal())
                comparator: str | None = None
                limit = REPORTABLE_MAX.get((base.lab_site, signal))
                if limit is not None and v > limit:
                    v, comparator = limit, ">"
                values.append((signal, round(max(v, 0.0), DECIMALS[signal]), comparator))
            if values:
                results.append(LabResult(int(t[i]), arrival, panel, tuple(values)))
    return results, doses

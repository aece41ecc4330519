"""The picture of an alert: the signals behind it, the grade and the infusion, on one page.

``render_alert_png`` draws, around the alert time, the signals relevant to the risk (CRS:
temperature, blood pressure, SpO2, heart rate, CRP/ferritin; ICANS: ICE score and
temperature; HLH: ferritin, temperature, platelets/fibrinogen; infection: temperature, heart
and respiratory rate, blood pressure, ANC; hepatotoxicity: ALT/AST/bilirubin as multiples of
the upper limit), the rule grade over time with the alert threshold and the model probability,
and the blinatumomab infusion (start, dose changes, interruptions shaded, restarts, stop).
The x axis is hours from the alert; infusion days are marked. The picture names the alert
id, never the patient (it is linked from the pager, behind the hospital's sign-in).

Pure except for drawing: inputs in, PNG bytes out (matplotlib Agg, no display).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from alerts.config import HOUR_MS
from alerts.record import AlertRecord
from alerts.wording import RISK_NAMES, grade_text
from contract.events import InfusionEvent, NeuroAssessment, Observation
from features.snapshot import Snapshot
from features.timeline import DAY_MS, infusion_sort_key
from scoring.risk import Risk, RiskAssessment

HistoryItem = Snapshot | Observation | NeuroAssessment | RiskAssessment

DEFAULT_ULN: dict[str, float] = {"alt": 40.0, "ast": 40.0, "bilirubin": 1.2}
"""Adult upper limits (clinical-reference section 9) when a result carries none."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a signal from observations, or a snapshot feature when no raw points."""

    label: str
    signal: str
    feature: str
    color: str
    x_uln: bool = False
    """Plot as a multiple of the upper limit of normal (liver tests)."""


@dataclass(frozen=True, slots=True)
class Panel:
    """One axis of the figure."""

    title: str
    unit: str
    series: tuple[Series, ...]
    refs: tuple[tuple[float, str], ...] = ()
    log: bool = False
    ylim: tuple[float, float] | None = None


_TEMP = Panel(
    "Temperature",
    "Cel",
    (Series("temp", "temp", "temp_last", "tab:red"),),
    ((38.0, "fever 38.0"),),
    ylim=(35.0, 41.0),
)
_BP = Panel(
    "Blood pressure",
    "mm[Hg]",
    (
        Series("SBP", "sbp", "sbp_last", "tab:blue"),
        Series("MAP", "map", "map_last", "tab:purple"),
    ),
    ((90.0, "SBP 90"), (65.0, "MAP 65")),
)
_SPO2 = Panel(
    "SpO2",
    "%",
    (Series("SpO2", "spo2", "spo2_last", "tab:cyan"),),
    ((92.0, "92%"),),
    ylim=(75, 101),
)
_HR = Panel(
    "Heart / resp. rate",
    "/min",
    (
        Series("HR", "hr", "hr_last", "tab:orange"),
        Series("RR", "rr", "rr_last", "tab:olive"),
    ),
    ((90.0, "HR 90"), (20.0, "RR 20")),
)
_INFLAM = Panel(
    "CRP / ferritin",
    "mg/L ; ng/mL",
    (
        Series("CRP mg/L", "crp", "crp_last", "tab:brown"),
        Series("ferritin ng/mL", "ferritin", "ferritin_last", "tab:pink"),
    ),
    ((10.0, "CRP ULN"),),
    log=True,
)
_FERRITIN = Panel(
    "Ferritin",
    "ng/mL",
    (Series("ferritin", "ferritin", "ferritin_last", "tab:pink"),),
    ((10000.0, "10 000"),),
    log=True,
)
_COUNTS = Panel(
    "Platelets / fibrinogen",
    "10*3/uL ; mg/dL",
    (
        Series("platelets 10*3/uL", "platelets", "platelets_last", "tab:gray"),
        Series("fibrinogen mg/dL", "fibrinogen", "fibrinogen_last", "tab:green"),
    ),
    ((150.0, "fibrinogen 150"),),
    log=True,
)
_ICE = Panel(
    "ICE score",
    "0-10",
    (Series("ICE", "ice_score", "ice_last", "tab:green"),),
    ((9.5, "G1 < 10"), (6.5, "G2 < 7"), (2.5, "G3 < 3")),
    ylim=(-0.5, 10.5),
)
_ANC = Panel(
    "Neutrophils",
    "10*3/uL",
    (Series("ANC", "anc", "anc_last", "tab:gray"),),
    ((0.5, "ANC 0.5"),),
    log=True,
)
_LIVER = Panel(
    "Liver tests",
    "x ULN",
    (
        Series("ALT", "alt", "alt_x_uln", "tab:orange", x_uln=True),
        Series("AST", "ast", "ast_x_uln", "tab:red", x_uln=True),
        Series("bilirubin", "bilirubin", "bilirubin_x_uln", "tab:olive", x_uln=True),
    ),
    ((5.0, "AST/ALT 5x"), (3.0, "bili 3x")),
    log=True,
)

PANELS: dict[Risk, tuple[Panel, ...]] = {
    "crs": (_TEMP, _BP, _SPO2, _HR, _INFLAM),
    "icans": (_ICE, _TEMP, _BP),
    "hlh": (_FERRITIN, _TEMP, _COUNTS),
    "infection": (_TEMP, _HR, _BP, _ANC),
    "hepatotoxicity": (_LIVER,),
}


@dataclass(slots=True)
class _Points:
    raw: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    snap: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    grade: list[tuple[float, int | None]] = field(default_factory=list)
    prob: list[tuple[float, float]] = field(default_factory=list)
    threshold: float | None = None


def _hours(t_ms: int, t0: int) -> float:
    return (t_ms - t0) / HOUR_MS


def _collect(alert: AlertRecord, history: Sequence[HistoryItem], lo: int, hi: int) -> _Points:
    pts = _Points()
    t0 = alert.event_ms
    for item in history:
        t = item.time_ms
        if not lo <= t <= hi:
            continue
        x = _hours(t, t0)
        if isinstance(item, Observation):
            value = item.value
            if item.signal in DEFAULT_ULN:
                uln = item.ref_high or DEFAULT_ULN[item.signal]
                pts.raw.setdefault(item.signal + "_x_uln", []).append((x, value / uln))
            pts.raw.setdefault(item.signal, []).append((x, value))
        elif isinstance(item, NeuroAssessment):
            if item.ice_score is not None:
                pts.raw.setdefault("ice_score", []).append((x, float(item.ice_score)))
        elif isinstance(item, Snapshot):
            for name, fval in item.values.items():
                if fval is not None:
                    pts.snap.setdefault(name, []).append((x, fval))
        elif item.risk == alert.risk:
            pts.grade.append((x, item.grade))
            if item.probability is not None:
                pts.prob.append((x, item.probability))
                pts.threshold = item.model_threshold
    return pts


def _series_points(pts: _Points, s: Series) -> list[tuple[float, float]]:
    raw_key = s.signal + "_x_uln" if s.x_uln else s.signal
    got = pts.raw.get(raw_key) or pts.snap.get(s.feature) or []
    return sorted(got)


def _draw_panel(ax: Axes, panel: Panel, pts: _Points) -> None:
    drawn = False
    for s in panel.series:
        xy = _series_points(pts, s)
        if not xy:
            continue
        xs, ys = zip(*xy, strict=True)
        if panel.log:
            ys = tuple(max(y, 1e-3) for y in ys)
        ax.plot(xs, ys, marker="o", ms=3, lw=1.4, color=s.color, label=s.label)
        drawn = True
    for value, text in panel.refs:
        ax.axhline(value, color="0.45", lw=0.8, ls=":")
        ax.annotate(
            text,
            (1.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color="0.35",
            annotation_clip=False,
        )
    if panel.log and drawn:
        ax.set_yscale("log")
        # Plain numbers (0.2, 1000), not 2x10^-1: read at the bedside, not in a paper.
        plain = FuncFormatter(lambda v, _pos: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=6)
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    ax.set_ylabel(f"{panel.title}\n({panel.unit})", fontsize=8)
    if drawn:
        ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=3)
    else:
        ax.text(0.5, 0.5, "no data in window", transform=ax.transAxes, ha="center", color="0.5")


def _draw_grade(ax: Axes, alert: AlertRecord, pts: _Points, trigger: int | None) -> None:
    known = sorted((x, g) for x, g in pts.grade if g is not None)
    if known:
        xs, gs = zip(*known, strict=True)
        ax.step(xs, gs, where="post", color="black", lw=1.6, label="rule grade")
    unknown = [x for x, g in pts.grade if g is None]
    if unknown:
        ax.plot(unknown, [-0.3] * len(unknown), "x", color="0.5", ms=4, label="grade unknown")
    if trigger is not None:
        ax.axhline(trigger - 0.5, color="tab:red", lw=0.8, ls="--")
        ax.annotate(
            f"alert >= {trigger}",
            (1.0, trigger - 0.5),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color="tab:red",
            annotation_clip=False,
        )
    ax.set_ylim(-0.6, 4.6)
    ax.set_yticks(range(5))
    ax.set_ylabel(f"{RISK_NAMES[alert.risk]} grade", fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    if pts.prob:
        ax2 = ax.twinx()
        xs2, ps = zip(*sorted(pts.prob), strict=True)
        ax2.plot(xs2, ps, color="tab:blue", lw=1.0, alpha=0.8, label="model probability")
        if pts.threshold is not None:
            ax2.axhline(pts.threshold, color="tab:blue", lw=0.7, ls=":")
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("probability", fontsize=8, color="tab:blue")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if handles:
        ax.legend(handles, labels, loc="upper left", fontsize=7, frameon=False, ncol=3)


def _infusion_marks(
    axes: Sequence[Axes], events: Sequence[InfusionEvent], t0: int, lo: int, hi: int
) -> None:
    ordered = sorted(events, key=infusion_sort_key)
    top = axes[0]
    off_since: int | None = None
    dose: float | None = None
    starts: list[int] = []
    for e in ordered:
        if e.action == "start":
            starts.append(e.time_ms)
        x = _hours(e.time_ms, t0)
        label, color, ls = "", "tab:green", "-"
        if e.action == "start":
            label = f"C{e.cycle} start {e.dose_ug_per_day or 0:g} ug/d"
        elif e.action == "dose_change":
            new = e.dose_ug_per_day
            label = f"dose {dose or 0:g}->{new or 0:g} ug/d" if new is not None else "dose change"
            color = "tab:blue"
        elif e.action == "interruption":
            off_since, label, color = e.time_ms, "interrupted", "tab:red"
        elif e.action == "restart":
            label, ls = f"restart {e.dose_ug_per_day or dose or 0:g} ug/d", "--"
        else:
            label, color = "stop", "black"
        if e.action in ("restart", "stop") and off_since is not None:
            for ax in axes:
                ax.axvspan(_hours(off_since, t0), x, color="tab:red", alpha=0.08, lw=0)
            off_since = None
        if e.dose_ug_per_day is not None:
            dose = e.dose_ug_per_day
        if not lo <= e.time_ms <= hi:
            continue
        for ax in axes:
            ax.axvline(x, color=color, lw=1.0, ls=ls, alpha=0.8)
        top.annotate(
            label,
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2),
            textcoords="offset points",
            rotation=30,
            fontsize=7,
            color=color,
            ha="left",
            va="bottom",
            annotation_clip=False,
        )
    if off_since is not None:
        for ax in axes:
            ax.axvspan(_hours(off_since, t0), _hours(hi, t0), color="tab:red", alpha=0.08, lw=0)
    # Infusion-day boundaries of the latest cycle start, light grid lines.
    if starts:
        start = max(s for s in starts if s <= hi) if any(s <= hi for s in starts) else starts[0]
        day = (lo - start) // DAY_MS
        while start + day * DAY_MS <= hi:
            t = start + day * DAY_MS
            if t >= lo and day >= 0:
                axes[-1].annotate(
                    f"day {day + 1}",
                    (_hours(t, t0), 0.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, 2),
                    textcoords="offset points",
                    fontsize=7,
                    color="0.4",
                )
                for ax in axes:
                    ax.axvline(_hours(t, t0), color="0.85", lw=0.6, zorder=0)
            day += 1


def render_alert_png(
    alert: AlertRecord,
    history: Sequence[HistoryItem],
    infusion: Sequence[InfusionEvent],
    *,
    before_ms: int = 48 * HOUR_MS,
    after_ms: int = 12 * HOUR_MS,
    trigger_grade: int | None = None,
    dpi: int = 100,
) -> bytes:
    """A PNG of the alert's signals, grade and infusion from ``before_ms`` before the alert
    to ``after_ms`` after it. ``history`` may mix raw observations, neuro assessments,
    snapshots (used for signals without raw points) and risk assessments (the grade line)."""
    t0 = alert.event_ms
    lo, hi = t0 - before_ms, t0 + after_ms
    # Start the axis shortly before the first data point, not at an empty window edge.
    first = min((x.time_ms for x in [*history, *infusion] if lo <= x.time_ms <= hi), default=lo)
    lo = max(lo, min(first - 2 * HOUR_MS, t0 - 6 * HOUR_MS))
    pts = _collect(alert, history, lo, hi)
    panels = PANELS[alert.risk]
    n = len(panels) + 1
    fig, axes_arr = plt.subplots(
        n,
        1,
        sharex=True,
        figsize=(11, 1.6 * n + 1.6),
        dpi=dpi,
        gridspec_kw={"height_ratios": [1.0] * len(panels) + [0.9]},
    )
    try:
        axes: list[Axes] = list(axes_arr)
        for ax, panel in zip(axes, panels, strict=False):
            _draw_panel(ax, panel, pts)
        _draw_grade(axes[-1], alert, pts, trigger_grade)
        _infusion_marks(axes, infusion, t0, lo, hi)
        for ax in axes:
            ax.axvline(0.0, color="tab:red", lw=2.0, alpha=0.6)
            ax.grid(axis="y", color="0.92", lw=0.6)
            ax.tick_params(labelsize=8)
            ax.set_xlim(_hours(lo, t0), _hours(hi, t0))
        axes[-1].set_xlabel("hours from alert (red line)", fontsize=9)
        where = ""
        if alert.cycle is not None and alert.infusion_day is not None:
            where = f"  |  cycle {alert.cycle} day {alert.infusion_day}"
        prob = ""
        if alert.probability is not None:
            prob = f"  |  model p={alert.probability:.2f}"
        fig.suptitle(
            f"{RISK_NAMES[alert.risk]} {grade_text(alert.grade)} - {alert.transition}{where}{prob}",
            fontsize=12,
            fontweight="bold",
            x=0.01,
            ha="left",
        )
        fig.text(
            0.01,
            0.955,
            _wrap(alert.reason, 150) + f"\nalert {alert.alert_id}  -  decision support only",
            fontsize=8,
            va="top",
            ha="left",
            color="0.25",
        )
        fig.tight_layout(rect=(0.0, 0.0, 0.94, 0.905))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()
    finally:
        plt.close(fig)


def _wrap(text: str, width: int, max_lines: int = 3) -> str:
    words = text.split()
    lines: list[str] = []
    cur = ""
    for w in words:
        if len(cur) + len(w) + 1 > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: width - 3] + "..."]
    return "\n".join(lines)

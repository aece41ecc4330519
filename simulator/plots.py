"""PNG plots for the calibration report (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from contract.events import InfusionEvent, NeuroAssessment, Observation, Treatment
from simulator.config import DAY_MS
from simulator.episodes import Episode
from simulator.labels import labels_for
from simulator.plan import CyclePlan, PatientPlan
from simulator.stream import Cohort

_COLORS = {
    "crs": "tab:red",
    "icans": "tab:purple",
    "hlh": "tab:brown",
    "infection": "tab:green",
    "hepatotoxicity": "tab:orange",
}


def onset_plot(plans: list[PatientPlan], path: Path) -> None:
    """Histograms of cycle-1 onset days of CRS and neurotoxicity."""
    days: dict[str, list[int]] = defaultdict(list)
    for plan in plans:
        for row in labels_for(plan):
            if row.cycle == 1 and row.complication in ("crs", "icans"):
                days[row.complication].append(row.onset_day)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    specs = (
        ("crs", "CRS onset (cycle 1)", "label: median day 2; clusters after start and step-up"),
        ("icans", "Neurotoxicity onset (cycle 1)", "label: median day 7-9; risk days 3-14"),
    )
    for ax, (kind, title, ref) in zip(axes, specs, strict=True):
        xs = days[kind]
        ax.hist(xs, bins=range(1, 30), color=_COLORS[kind], alpha=0.75, edgecolor="white")
        if xs:
            med = statistics.median(xs)
            ax.axvline(med, color="black", linestyle="--", label=f"simulated median day {med:g}")
        if kind == "crs":
            ax.axvline(8, color="grey", linestyle=":", label="step-up (day 8)")
        ax.set_title(f"{title}, n={len(xs)}")
        ax.set_xlabel("day of cycle")
        ax.set_ylabel("patients")
        ax.legend(title=ref, fontsize=8, title_fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pick(plans: list[PatientPlan]) -> list[tuple[str, PatientPlan, CyclePlan, Episode]]:
    wanted: tuple[tuple[str, Callable[[Episode], bool]], ...] = (
        ("crs_grade3", lambda e: e.kind == "crs" and e.course.peak >= 3),
        ("crs_grade2", lambda e: e.kind == "crs" and e.course.peak == 2),
        ("icans_grade3", lambda e: e.kind == "icans" and e.course.peak >= 3),
        ("hlh", lambda e: e.kind == "hlh"),
        ("febrile_neutropenia", lambda e: e.kind == "infection" and e.neutropenic),
    )
    out = []
    for name, test in wanted:
        found = next(
            ((p, c, e) for p in plans for c in p.cycles for e in c.episodes if test(e)), None
        )
        if found is not None:
            out.append((name, *found))
    return out


def example_plots(cohort: Cohort, plans: list[PatientPlan], out_dir: Path) -> list[str]:
    """One multi-panel figure per example complication; returns the file names."""
    names = []
    for name, plan, cycle, ep in _pick(plans):
        file = f"example_{name}.png"
        _patient_figure(cohort, plan, cycle, ep, out_dir / file, name)
        names.append(file)
    return names


def _patient_figure(
    cohort: Cohort, plan: PatientPlan, cycle: CyclePlan, ep: Episode, path: Path, name: str
) -> None:
    patient = cohort.patient(plan.index)
    lo = max(cycle.admission, ep.onset - 3 * DAY_MS)
    hi = min(cycle.window_end, ep.resolution + 3 * DAY_MS)

    def day(t: int) -> float:
        return (t - cycle.start) / DAY_MS + 1.0  # day 1 starts at the infusion start

    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    infusion: list[tuple[float, str, float | None]] = []
    treatments: list[tuple[float, str]] = []
    for m in patient.messages:
        if m.artifact in ("charting_error", "entered_in_error", "retraction", "duplicate"):
            continue
        for e in m.events:
            if not lo <= e.time_ms <= hi:
                continue
            if isinstance(e, Observation):
                series[e.signal].append((day(e.time_ms), e.value))
            elif isinstance(e, NeuroAssessment) and e.ice_score is not None:
                series["ice"].append((day(e.time_ms), float(e.ice_score)))
            elif isinstance(e, InfusionEvent):
                infusion.append((day(e.time_ms), e.action, e.dose_ug_per_day))
            elif isinstance(e, Treatment) and e.treatment in (
                "tocilizumab",
                "corticosteroid",
                "antibiotic",
                "anakinra",
            ):
                treatments.append((day(e.time_ms), e.agent or e.treatment))
    panels = (
        ("temp", "Temp (C)", (38.0, "fever 38.0")),
        ("sbp", "SBP / MAP (mmHg)", (90.0, "SBP 90")),
        ("spo2", "SpO2 (%)", (92.0, "SpO2 92")),
        ("crp", "CRP (mg/L)", None),
        ("ferritin", "Ferritin (ng/mL)", (10000.0, "10,000") if ep.kind == "hlh" else None),
        ("anc", "ANC (10^3/uL)", (0.5, "ANC 0.5")),
        ("ice", "ICE score", (7.0, "ICE < 7 = G2")),
    )
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 13), sharex=True, constrained_layout=True)
    for ax, (signal, ylabel, ref) in zip(axes, panels, strict=True):
        pts = sorted(series.get(signal, []))
        if pts:
            style = "o-" if signal in ("crp", "ferritin") else ".-"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, ms=3, lw=0.8)
        if signal == "sbp":
            mp = sorted(series.get("map", []))
            ax.plot(
                [p[0] for p in mp],
                [p[1] for p in mp],
                ".-",
                ms=2,
                lw=0.6,
                color="grey",
                label="MAP",
            )
            ax.legend(loc="lower left", fontsize=7)
        if signal in ("ferritin", "anc") and pts:
            ax.set_yscale("log")
        if ref is not None:
            ax.axhline(ref[0], color="grey", linestyle=":", lw=0.8)
            ax.text(day(lo), ref[0], ref[1], fontsize=7, color="grey", va="bottom")
        ax.set_ylabel(ylabel, fontsize=8)
        for other in cycle.episodes:
            if other.resolution >= lo and other.onset <= hi:
                ax.axvspan(
                    day(other.onset), day(other.resolution), alpha=0.08, color=_COLORS[other.kind]
                )
        for x, _, _ in infusion:
            ax.axvline(x, color="tab:blue", lw=0.8, alpha=0.6)
    top = axes[0]
    for x, action, dose in infusion:
        label = action if dose is None else f"{action} {dose:g}"
        top.text(
            x,
            1.02,
            label,
            transform=top.get_xaxis_transform(),
            rotation=30,
            fontsize=7,
            color="tab:blue",
            ha="left",
            va="bottom",
        )
    ymin = min((p[1] for p in series.get("temp", [])), default=36.0)
    for x, agent in treatments:
        marker = {"tocilizumab": "v", "dexamethasone": "s", "methylprednisolone": "s"}.get(
            agent, "^"
        )
        axes[0].plot([x], [ymin - 0.2], marker, color="black", ms=5)
    labels = ", ".join(
        f"{r.complication} G{r.peak_grade} day {r.onset_day}"
        for r in patient.labels
        if r.cycle == cycle.cycle
    )
    b = plan.baseline
    fig.suptitle(
        f"{plan.patient_id} ({name}): {b.age_years:g} y {b.sex}, {b.burden} burden, cycle "
        f"{cycle.cycle}\nlabels: {labels}\nshaded = labelled episodes; blue lines = infusion "
        "events; markers under temp: v tocilizumab, s steroid, ^ antibiotic/anakinra",
        fontsize=9,
    )
    axes[-1].set_xlabel("day of cycle (day 1 = infusion start)")
    fig.savefig(path, dpi=100)
    plt.close(fig)

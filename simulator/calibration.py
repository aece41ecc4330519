"""Calibration: the simulated cohort's incidence and timing beside the published figures.

References are those of ``clinical-reference.md`` section 7 (blinatumomab label and a
116-patient real-world seed cohort). Figures the references give only qualitatively are
shown with their wording.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from contract.events import encode
from simulator.config import DAY_MS, CohortConfig
from simulator.labels import Label, labels_for
from simulator.plan import PatientPlan
from simulator.stream import Cohort

REAL_WORLD_SRC = "real-world seed cohort, n=116 (clinical-reference.md s.7)"
LABEL_SRC = "blinatumomab label / trials (clinical-reference.md s.7)"


@dataclass(frozen=True, slots=True)
class Figure:
    """One calibration row."""

    name: str
    simulated: str
    target: str
    reference: str
    source: str


def _pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.1f}%" if n else "n/a"


def _median(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f}" if xs else "n/a"


def cohort_figures(config: CohortConfig, plans: Iterable[PatientPlan]) -> list[Figure]:
    """Measure the figures of a cohort from its ground truth."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    severe: dict[str, set[str]] = defaultdict(set)
    rows: list[Label] = []
    n = 0
    discontinued = 0
    interruptions = 0
    first_lt_cycle: dict[str, int] = {}
    stepup_anchored = 0
    crs_cycle1 = 0
    within_48h = 0
    for plan in plans:
        n += 1
        labels = labels_for(plan)
        rows += labels
        discontinued += any(c.schedule.discontinued for c in plan.cycles)
        interruptions += sum(
            a.action == "interruption" for c in plan.cycles for a in c.schedule.actions
        )
        for row in labels:
            by_kind[row.complication].add(row.patient_id)
            if row.peak_grade >= 3:
                severe[row.complication].add(row.patient_id)
            if row.peak_grade >= 4:
                prev = first_lt_cycle.get(row.patient_id)
                first_lt_cycle[row.patient_id] = min(prev or row.cycle, row.cycle)
        for c in plan.cycles:
            for ep in c.episodes:
                if ep.kind == "crs" and c.cycle == 1:
                    crs_cycle1 += 1
                    since_start = ep.onset - c.start
                    since_stepup = ep.onset - (c.start + 7 * DAY_MS)
                    if since_stepup >= 0:
                        stepup_anchored += since_stepup < 3 * DAY_MS
                    within_48h += since_start < 2 * DAY_MS or 0 <= since_stepup < 2 * DAY_MS
    rates = config.rate_profile
    crs = [r for r in rows if r.complication == "crs"]
    icans1 = [r for r in rows if r.complication == "icans" and r.cycle == 1]
    hep = [r for r in rows if r.complication == "hepatotoxicity"]
    lt = len(first_lt_cycle)
    lt1 = sum(1 for c in first_lt_cycle.values() if c == 1)
    trial = config.profile == "trial"
    ref_crs = "15-16% (trials); 51% real world" if trial else "51% (real world); 15-16% trials"
    ref_crs3 = "2-5% (trials); 2% real world" if trial else "2% (real world); 2-5% trials"
    ref_neuro = "52-65% (trials); 26% real world" if trial else "26% (real world); 52-65% trials"
    ref_neuro3 = "10-17% (trials); 10% real world" if trial else "10% (real world); 10-17% trials"
    durations = [(r.resolution_ms - r.onset_ms) / DAY_MS for r in crs]
    return [
        Figure(
            "Patients", str(n), str(config.n_patients), "", f"cycles simulated: {config.cycles}"
        ),
        Figure(
            "CRS, any grade",
            _pct(len(by_kind["crs"]), n),
            f"{rates.crs:.1%}",
            ref_crs,
            REAL_WORLD_SRC,
        ),
        Figure(
            "CRS, grade >= 3",
            _pct(len(severe["crs"]), n),
            f"{rates.crs * sum(rates.crs_grades[2:]):.1%}",
            ref_crs3,
            REAL_WORLD_SRC,
        ),
        Figure(
            "CRS median onset day (day of cycle)",
            _median([r.onset_day for r in crs]),
            "2",
            "day 2",
            LABEL_SRC,
        ),
        Figure(
            "CRS onsets within 48 h of start or step-up",
            _pct(within_48h, crs_cycle1),
            "most",
            "most within 48 h",
            LABEL_SRC,
        ),
        Figure(
            "Cycle-1 CRS in the step-up cluster (days 8-10)",
            _pct(stepup_anchored, crs_cycle1),
            f"{rates.crs_stepup_share:.0%}",
            "second cluster after the day-8 step-up",
            LABEL_SRC,
        ),
        Figure("CRS median duration (days)", _median(durations), "5", "5 days", LABEL_SRC),
        Figure(
            "Neurotoxicity (ICANS), any grade",
            _pct(len(by_kind["icans"]), n),
            f"{rates.icans:.1%}",
            ref_neuro,
            REAL_WORLD_SRC,
        ),
        Figure(
            "Neurotoxicity, grade >= 3",
            _pct(len(severe["icans"]), n),
            f"{rates.icans * sum(rates.icans_grades[2:]):.1%}",
            ref_neuro3,
            REAL_WORLD_SRC,
        ),
        Figure(
            "Neurotoxicity median onset day, cycle 1",
            _median([r.onset_day for r in icans1]),
            "7-9",
            "days 7-9",
            LABEL_SRC,
        ),
        Figure(
            "Cycle-1 neurotoxicity onsets on days 3-14",
            _pct(sum(3 <= r.onset_day <= 14 for r in icans1), len(icans1)),
            "most",
            "highest risk days 3-14",
            LABEL_SRC,
        ),
        Figure(
            "Infection",
            _pct(len(by_kind["infection"]), n),
            f"{rates.infection:.1%}",
            "40%",
            REAL_WORLD_SRC,
        ),
        Figure(
            "Febrile neutropenia",
            _pct(len(by_kind["febrile_neutropenia"]), n),
            f"{rates.febrile_neutropenia:.1%}",
            "24-28%",
            LABEL_SRC,
        ),
        Figure(
            "HLH/MAS",
            _pct(len(by_kind["hlh"]), n),
            f"{rates.hlh:.1%}",
            "rare (case reports)",
            LABEL_SRC,
        ),
        Figure(
            "Liver-enzyme rise, median onset day",
            _median([r.onset_day for r in hep]),
            "15",
            "day 15",
            LABEL_SRC,
        ),
        Figure(
            "Liver-enzyme rise, any grade",
            _pct(len(by_kind["hepatotoxicity"]), n),
            f"{rates.hepatotoxicity:.1%}",
            "not given (configured)",
            LABEL_SRC,
        ),
        Figure("Life-threatening (any grade 4)", _pct(lt, n), "about 9%", "9%", REAL_WORLD_SRC),
        Figure(
            "Life-threatening events in cycle 1",
            _pct(lt1, lt),
            "60%" if config.cycles > 1 else "100% (1 cycle)",
            "60%",
            REAL_WORLD_SRC,
        ),
        Figure("Discontinued for toxicity", _pct(discontinued, n), "-", "-", "label actions"),
        Figure(
            "Interruptions per patient",
            f"{interruptions / max(n, 1):.2f}",
            "-",
            "-",
            "label actions + line/bag problems",
        ),
    ]


def markdown_table(figures: list[Figure]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| figure | simulated | configured | published | source |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {f.name} | {f.simulated} | {f.target} | {f.reference} | {f.source} |" for f in figures
    ]
    return "\n".join(lines) + "\n"


def time_generation(config: CohortConfig) -> tuple[float, int]:
    """Seconds to simulate and encode every event of ``config`` in stream order, and count."""
    from simulator.stream import iter_stream

    t0 = time.perf_counter()
    n = 0
    for event in iter_stream(Cohort(config), "arrival"):
        encode(event)
        n += 1
    return time.perf_counter() - t0, n


def calibration_report(
    n: int = 2000,
    seed: int = 20250101,
    out_dir: Path | str = "calibration",
    profile: str = "real_world",
    cycles: int = 2,
    timing: bool = True,
    plots: bool = True,
) -> list[Figure]:
    """Write ``calibration.md`` (and PNG plots) for an ``n``-patient cohort; return figures.

    With ``timing`` it also times a one-cycle, ward-cadence cohort of the same size end to
    end (simulate + encode every event), the figure the performance budget is about.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = CohortConfig(n_patients=n, seed=seed, profile=profile, cycles=cycles)  # type: ignore[arg-type]
    cohort = Cohort(config)
    plans = list(cohort.plans())
    figures = cohort_figures(config, plans)
    text = [
        f"# Simulator calibration ({profile}, n={n}, seed={seed}, cycles={cycles})\n",
        "Simulated figures are measured on the cohort's ground-truth labels. "
        "Published figures: blinatumomab label/trials and a 116-patient real-world cohort "
        "(`/work/shared/clinical-reference.md` section 7).\n",
        markdown_table(figures),
    ]
    if timing:
        one = CohortConfig(n_patients=n, seed=seed, profile=profile, cycles=1)  # type: ignore[arg-type]
        seconds, events = time_generation(one)
        text.append(
            f"\nGeneration time, {n} patients x 1 cycle, ward cadence, simulate + encode: "
            f"{seconds:.1f} s for {events:,} events ({events / seconds:,.0f} events/s).\n"
        )
    if plots:
        from simulator.plots import example_plots, onset_plot

        onset_plot(plans, out / "onset_days.png")
        names = example_plots(cohort, plans, out)
        text.append("\n## Plots\n\n![onset days](onset_days.png)\n")
        text += [f"\n![{name}]({name})\n" for name in names]
    (out / "calibration.md").write_text("".join(text), encoding="utf-8")
    return figures

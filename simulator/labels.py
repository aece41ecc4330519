"""Ground-truth labels: one row per complication episode, in a CSV evaluation code reads.

Columns: ``patient_id, complication, onset_ms, peak_grade, resolution_ms, cycle, onset_day,
peak_ms``. ``onset_day`` is the day of the cycle (day 1 = the first 24 h after the infusion
start). ``peak_ms`` is when the peak grade is first reached (for lead-time evaluation).
Grading: CRS and ICANS per ASTCT 2019; infection, febrile neutropenia and ALT/AST per
CTCAE v5.0; HLH/MAS 3 (severe) or 4 (life-threatening). A neutropenic infection gives both
an ``infection`` and a ``febrile_neutropenia`` row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from simulator.config import DAY_MS, Complication
from simulator.plan import PatientPlan


@dataclass(frozen=True, slots=True)
class Label:
    """One labelled complication episode."""

    patient_id: str
    complication: Complication
    onset_ms: int
    peak_grade: int
    resolution_ms: int
    cycle: int
    onset_day: int
    peak_ms: int


LABEL_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Label))


def labels_for(plan: PatientPlan) -> list[Label]:
    """The labels of one patient, in onset order."""
    out: list[Label] = []
    for cycle in plan.cycles:
        for ep in cycle.episodes:
            c = ep.course
            day = (c.onset - cycle.start) // DAY_MS + 1
            row = Label(
                plan.patient_id, ep.kind, c.onset, c.peak, c.resolution, ep.cycle, day, c.peak_time
            )
            out.append(row)
            if ep.kind == "infection" and ep.neutropenic:
                # CTCAE febrile neutropenia is grade 3, grade 4 when life-threatening.
                fn_peak = 4 if c.peak >= 4 else 3
                fn_time = c.first_at_least(fn_peak) or c.onset
                fn_end = max(ep.fever_end, c.onset + 1)
                out.append(
                    Label(
                        plan.patient_id,
                        "febrile_neutropenia",
                        c.onset,
                        fn_peak,
                        fn_end,
                        ep.cycle,
                        day,
                        fn_time,
                    )
                )
    out.sort(key=lambda r: (r.onset_ms, r.complication))
    return out


def write_labels(labels: Iterable[Label], path: Path) -> int:
    """Write labels as CSV; returns the number of rows."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LABEL_COLUMNS)
        for row in labels:
            writer.writerow(astuple(row))
            n += 1
    return n


def load_labels(path: Path | str) -> list[Label]:
    """Read a labels CSV written by :func:`write_labels`."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return [
            Label(
                patient_id=r["patient_id"],
                complication=r["complication"],  # type: ignore[arg-type]
                onset_ms=int(r["onset_ms"]),
                peak_grade=int(r["peak_grade"]),
                resolution_ms=int(r["resolution_ms"]),
                cycle=int(r["cycle"]),
                onset_day=int(r["onset_day"]),
                peak_ms=int(r["peak_ms"]),
            )
            for r in csv.DictReader(fh)
        ]

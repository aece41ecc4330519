"""Alert burden: run the policy over recorded assessments and score it against labels.

For each risk: notified incidents and all notifications per patient-day, PPV (share of
incidents with a notification inside a labelled episode's window) overall and by grade at
notification, sensitivity (share of labelled episodes with a notification inside their
window) overall and by labelled peak grade, and the median lead time of the first
notification before the labelled onset. Clinical-reference section 8 gives the anchors:
deployed systems run at PPV 8-26%, about 0.03 alerts per patient-day is a common budget;
report sensitivity with PPV and burden, never a discrimination number alone.

Matching: a notification (trigger or escalation; reminders do not count) matches an episode
of the same patient and complication when it falls in ``[onset - early_window, resolution]``.
Lead time = onset - first matching notification (negative: the alert came after onset).

Labels are the simulator's CSV (``patient_id, complication, onset_ms, peak_grade,
resolution_ms, cycle, onset_day`` and optionally ``peak_ms``).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from alerts.config import HOUR_MS, PolicyConfig
from alerts.policy import step_summary
from alerts.state import AlertState, AssessmentSummary, Transition, summarize
from scoring.risk import RISKS, Risk, RiskAssessment

DAY_MS = 24 * HOUR_MS
LABEL_COLUMNS = ("patient_id", "complication", "onset_ms", "peak_grade", "resolution_ms", "cycle")


class LabelRow(msgspec.Struct, frozen=True, kw_only=True):
    """One labelled complication episode."""

    patient_id: str
    complication: str
    onset_ms: int
    peak_grade: int
    resolution_ms: int
    cycle: int
    onset_day: int | None = None
    peak_ms: int | None = None


def read_labels(source: Path | str) -> list[LabelRow]:
    """Labels from a CSV file path, or CSV text when ``source`` is a string with newlines."""
    if isinstance(source, Path):
        text = source.read_text(encoding="utf-8")
    elif "\n" in source:
        text = source
    else:
        text = Path(source).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"labels CSV lacks columns {missing}")
    rows: list[LabelRow] = []
    for r in reader:
        rows.append(
            LabelRow(
                patient_id=r["patient_id"],
                complication=r["complication"],
                onset_ms=int(r["onset_ms"]),
                peak_grade=int(r["peak_grade"]),
                resolution_ms=int(r["resolution_ms"]),
                cycle=int(r["cycle"]),
                onset_day=int(r["onset_day"]) if r.get("onset_day") else None,
                peak_ms=int(r["peak_ms"]) if r.get("peak_ms") else None,
            )
        )
    return rows


def _default_complications() -> dict[Risk, tuple[str, ...]]:
    # febrile_neutropenia rows duplicate neutropenic infection episodes: not counted twice.
    return {r: (r,) for r in RISKS}


class BurdenSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How notifications are matched to labels."""

    early_window_ms: int = 24 * HOUR_MS
    """A notification this long before the labelled onset still counts as a true alert."""
    complications: dict[Risk, tuple[str, ...]] = msgspec.field(
        default_factory=_default_complications
    )
    """Label complications that count for each risk."""


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    """A proportion with its counts (``value`` is ``None`` when the denominator is 0)."""

    numerator: int
    denominator: int
    value: float | None


def _rate(num: int, den: int) -> Rate:
    return Rate(numerator=num, denominator=den, value=None if den == 0 else num / den)


class RiskBurden(msgspec.Struct, frozen=True, kw_only=True):
    """Burden and accuracy of one risk's alerts."""

    risk: Risk
    incidents: int
    """Episodes in which someone was paged."""
    notifications: int
    """Pages of any kind (trigger, escalation, reminder)."""
    incidents_per_patient_day: float
    notifications_per_patient_day: float
    ppv: Rate
    ppv_significant: Rate
    """Incidents matching an episode whose peak grade reaches the risk's trigger grade."""
    ppv_by_grade: dict[str, Rate]
    """Notifications (trigger, escalation) by grade at notification (``unknown``: none)."""
    sensitivity: Rate
    sensitivity_by_grade: dict[int, Rate]
    """Labelled episodes by peak grade."""
    median_lead_time_h: float | None
    """Median of onset minus first matching notification, hours (positive: early)."""
    alerted_before_onset: Rate


class BurdenReport(msgspec.Struct, frozen=True, kw_only=True):
    """The evaluation, with every setting used."""

    patients: int
    patient_days: float
    incidents_per_patient_day: float
    notifications_per_patient_day: float
    risks: dict[Risk, RiskBurden]
    policy: dict[str, Any]
    settings: dict[str, Any]


_NOTIFY_KINDS = frozenset({"triggered", "escalated"})


def run_policy(
    assessments: Sequence[RiskAssessment | AssessmentSummary], config: PolicyConfig
) -> dict[Risk, list[Transition]]:
    """Every transition the policy makes over one patient's assessments (any risks), with
    the assessment's event time as the clock. Full assessments and the policy's summaries
    of them (:class:`~alerts.state.AssessmentSummary`) give the same transitions."""
    states: dict[Risk, AlertState | None] = {}
    out: dict[Risk, list[Transition]] = defaultdict(list)
    for a in sorted(assessments, key=lambda a: (a.time_ms, a.risk)):
        if a.risk not in config.risks:
            continue
        summary = a if isinstance(a, AssessmentSummary) else summarize(a)
        st, transitions = step_summary(states.get(a.risk), summary, a.time_ms, config)
        states[a.risk] = st
        out[a.risk].extend(transitions)
    return dict(out)


AnyAssessment = RiskAssessment | AssessmentSummary


def _by_patient(
    assessments: Mapping[str, Sequence[AnyAssessment]] | Iterable[AnyAssessment],
) -> dict[str, list[AnyAssessment]]:
    if isinstance(assessments, Mapping):
        return {k: list(v) for k, v in assessments.items()}
    grouped: dict[str, list[AnyAssessment]] = defaultdict(list)
    for a in assessments:
        grouped[a.patient_id].append(a)
    return dict(grouped)


def evaluate_burden(
    assessments: Mapping[str, Sequence[AnyAssessment]] | Iterable[AnyAssessment],
    labels: Sequence[LabelRow],
    config: PolicyConfig,
    settings: BurdenSettings | None = None,
    patient_days: Mapping[str, float] | None = None,
) -> BurdenReport:
    """Run the policy per patient and score it against the labels.

    ``patient_days``: observed days per patient; by default the span from the patient's
    first to last assessment (at least one hour).
    """
    cfg = settings or BurdenSettings()
    per_patient = _by_patient(assessments)
    days: dict[str, float] = {}
    transitions: dict[str, dict[Risk, list[Transition]]] = {}
    for pid, items in per_patient.items():
        if not items:
            continue
        if patient_days is not None and pid in patient_days:
            days[pid] = patient_days[pid]
        else:
            times = [a.time_ms for a in items]
            days[pid] = max(max(times) - min(times), HOUR_MS) / DAY_MS
        transitions[pid] = run_policy(items, config)
    return evaluate_transitions(transitions, days, labels, config, cfg)


def evaluate_transitions(
    transitions: Mapping[str, Mapping[Risk, list[Transition]]],
    patient_days: Mapping[str, float],
    labels: Sequence[LabelRow],
    config: PolicyConfig,
    settings: BurdenSettings | None = None,
) -> BurdenReport:
    """Score transitions already made (:func:`run_policy` per patient) against the labels.

    Patients are those of ``patient_days`` (observed days each); a patient without
    transitions was observed and never alerted. Lets a large cohort be evaluated one patient
    at a time instead of holding every assessment in memory.
    """
    cfg = settings or BurdenSettings()
    days = dict(patient_days)
    every = {pid: transitions.get(pid, {}) for pid in days}
    total_days = sum(days.values())
    labels_by: dict[tuple[str, str], list[LabelRow]] = defaultdict(list)
    for row in labels:
        if row.patient_id in days:
            labels_by[(row.patient_id, row.complication)].append(row)
    risks: dict[Risk, RiskBurden] = {}
    for risk in config.risks:
        risks[risk] = _risk_burden(risk, every, labels_by, config, cfg, total_days)
    inc = sum(r.incidents for r in risks.values())
    notes = sum(r.notifications for r in risks.values())
    return BurdenReport(
        patients=len(days),
        patient_days=total_days,
        incidents_per_patient_day=inc / total_days if total_days else 0.0,
        notifications_per_patient_day=notes / total_days if total_days else 0.0,
        risks=risks,
        policy=msgspec.to_builtins(config),
        settings=msgspec.to_builtins(cfg),
    )


def _risk_burden(
    risk: Risk,
    transitions: Mapping[str, Mapping[Risk, list[Transition]]],
    labels_by: Mapping[tuple[str, str], list[LabelRow]],
    config: PolicyConfig,
    cfg: BurdenSettings,
    total_days: float,
) -> RiskBurden:
    trigger = config.for_risk(risk).trigger_grade
    kinds = cfg.complications.get(risk, (risk,))
    incidents = notifications = tp = tp_sig = 0
    grade_tp: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    first_hit: dict[int, int] = {}  # id(label) -> earliest matching notification
    episodes: list[LabelRow] = []
    for pid in transitions:
        eps = [row for kind in kinds for row in labels_by.get((pid, kind), [])]
        episodes.extend(eps)
        by_episode: dict[int, list[Transition]] = defaultdict(list)
        for t in transitions[pid].get(risk, []):
            if t.action == "notify":
                notifications += 1
            if t.kind in _NOTIFY_KINDS:
                by_episode[t.episode].append(t)
        for notes in by_episode.values():
            incidents += 1
            hit = hit_sig = False
            for t in notes:
                matched = [
                    e
                    for e in eps
                    if e.onset_ms - cfg.early_window_ms <= t.time_ms <= e.resolution_ms
                ]
                key = "unknown" if t.grade is None else str(t.grade)
                grade_tp[key][1] += 1
                if matched:
                    grade_tp[key][0] += 1
                    hit = True
                    hit_sig = hit_sig or any(
                        trigger is None or e.peak_grade >= trigger for e in matched
                    )
                for e in matched:
                    k = id(e)
                    first_hit[k] = min(first_hit.get(k, t.time_ms), t.time_ms)
            tp += hit
            tp_sig += hit_sig
    by_grade: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    leads: list[float] = []
    for e in episodes:
        by_grade[e.peak_grade][1] += 1
        if id(e) in first_hit:
            by_grade[e.peak_grade][0] += 1
            leads.append((e.onset_ms - first_hit[id(e)]) / HOUR_MS)
    detected = sum(1 for e in episodes if id(e) in first_hit)
    return RiskBurden(
        risk=risk,
        incidents=incidents,
        notifications=notifications,
        incidents_per_patient_day=incidents / total_days if total_days else 0.0,
        notifications_per_patient_day=notifications / total_days if total_days else 0.0,
        ppv=_rate(tp, incidents),
        ppv_significant=_rate(tp_sig, incidents),
        ppv_by_grade={k: _rate(v[0], v[1]) for k, v in sorted(grade_tp.items())},
        sensitivity=_rate(detected, len(episodes)),
        sensitivity_by_grade={g: _rate(v[0], v[1]) for g, v in sorted(by_grade.items())},
        median_lead_time_h=statistics.median(leads) if leads else None,
        alerted_before_onset=_rate(sum(1 for x in leads if x > 0), len(leads)),
    )


def _pct(rate: Rate) -> str:
    if rate.value is None:
        return "-"
    return f"{100 * rate.value:.0f}% ({rate.numerator}/{rate.denominator})"


def format_report(report: BurdenReport) -> str:
    """A Markdown summary of a report (the settings are in the report itself)."""
    lines = [
        f"Patients {report.patients}, patient-days {report.patient_days:.1f}; "
        f"incidents/patient-day {report.incidents_per_patient_day:.3f}, "
        f"notifications/patient-day {report.notifications_per_patient_day:.3f}",
        "",
        "| risk | incidents/pt-day | pages/pt-day | PPV | PPV (>= trigger grade) | "
        "sensitivity | median lead h | before onset |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report.risks.values():
        lead = "-" if r.median_lead_time_h is None else f"{r.median_lead_time_h:.1f}"
        lines.append(
            f"| {r.risk} | {r.incidents_per_patient_day:.3f} | "
            f"{r.notifications_per_patient_day:.3f} | {_pct(r.ppv)} | "
            f"{_pct(r.ppv_significant)} | {_pct(r.sensitivity)} | {lead} | "
            f"{_pct(r.alerted_before_onset)} |"
        )
    lines += ["", "Sensitivity by labelled peak grade; PPV by grade at notification:", ""]
    for r in report.risks.values():
        sens = ", ".join(f"G{g} {_pct(v)}" for g, v in r.sensitivity_by_grade.items())
        ppv = ", ".join(f"G{g} {_pct(v)}" for g, v in r.ppv_by_grade.items())
        lines.append(f"- {r.risk}: sensitivity {sens or '-'}; PPV {ppv or '-'}")
    return "\n".join(lines)

"""``ews burden``: alert burden of the policy on a synthetic cohort, through the real pipeline.

Phase 1 (expensive, once per cohort): every simulated patient's messages, encoded as the
hospital feeds send them (vitals as FHIR Bundles, labs as HL7 v2, bedside and infusion
events as canonical JSON; the same encoding as ``ews demo``), go one message at a time, in
arrival order, through the worker's own :class:`streams.pipeline.Pipeline` (ingest, feature
state, scoring cadence, rule layers, deployed ONNX models). Every scored snapshot's per-risk
grade and model probability is kept, compactly, in ``<out>/assessments.msgpack``.

Phase 2 (cheap): the alert policy (:mod:`alerts.policy`) runs over those assessments with
event time as its clock and :mod:`alerts.burden` scores its pages against the simulator's
labels: incidents and pages per patient-day, PPV and sensitivity per risk and grade, median
lead time before the labelled onset. ``--from`` re-runs phase 2 on a saved file, so policy
settings can be compared without re-running the pipeline (``--policy FILE``: a policy JSON
as written by :func:`alerts.config.encode_config`; default: ``DEFAULT_POLICY``).

Not modelled here: clinicians' acknowledgements (so every reminder fires; pages per
patient-day are an upper bound) and treatment-started suppressions (tocilizumab -> CRS).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from alerts.burden import (
    BurdenReport,
    BurdenSettings,
    LabelRow,
    evaluate_transitions,
    format_report,
    run_policy,
)
from alerts.config import DEFAULT_POLICY, PolicyConfig, decode_config, policy_1_0
from alerts.state import AssessmentSummary, Transition
from scoring.risk import Risk

DAY_MS = 86_400_000
DEFAULT_SEED = 20250101
"""The seed of the simulator's calibration report (docs/simulator.md)."""


class RiskSeries(msgspec.Struct, array_like=True):
    """One risk's assessments of one patient, column-wise (what the policy reads)."""

    times: list[int]
    grades: list[int | None]
    probabilities: list[float | None]
    thresholds: list[float | None]
    model_version: str | None = None
    criteria: tuple[str, ...] = ()


class PatientSeries(msgspec.Struct, array_like=True):
    """Every scored snapshot of one patient, by risk."""

    patient_id: str
    days: float
    """Observed patient-days: first to last event time."""
    messages: int
    ruleset_version: str
    risks: dict[str, RiskSeries]


class CohortSeries(msgspec.Struct):
    """Phase 1's output: the cohort's assessments, labels and how they were made."""

    settings: dict[str, Any]
    patients: list[PatientSeries]
    labels: list[LabelRow]


def summaries(patient: PatientSeries) -> list[AssessmentSummary]:
    """The policy's inputs for one patient, in time order."""
    out: list[AssessmentSummary] = []
    for risk, s in patient.risks.items():
        for t, g, p, thr in zip(s.times, s.grades, s.probabilities, s.thresholds, strict=True):
            out.append(
                AssessmentSummary(
                    risk=risk,  # type: ignore[arg-type]
                    patient_id=patient.patient_id,
                    time_ms=t,
                    ruleset_version=patient.ruleset_version,
                    grade=g,
                    criteria=s.criteria,
                    probability=p,
                    model_version=s.model_version,
                    model_threshold=thr,
                )
            )
    out.sort(key=lambda a: (a.time_ms, a.risk))
    return out


# --- phase 1: the pipeline over each simulated patient ------------------------------------

_pipeline_cache: dict[str, Any] = {}


def _pipeline() -> tuple[Any, list[float]]:
    """One pipeline per process, built like the worker's (settings defaults, shipped models).

    Its clock is the message's arrival time, so the event-time checks see a live feed.
    """
    if "pipeline" not in _pipeline_cache:
        from contract.codemap import load_codemap
        from ews.settings import Settings
        from streams.alerting import Alerting
        from streams.app import load_models
        from streams.ingest import Ingestor, limits_from
        from streams.pipeline import Pipeline, ScoringPolicy

        settings = Settings()
        clock = [0.0]
        ingestor = Ingestor(
            load_codemap(settings.extra_signals_file, settings.extra_codes_file),
            limits_from(settings),
            dedup_window=settings.dedup_window,
            default_tz=settings.hl7_default_tz,
        )
        _pipeline_cache["pipeline"] = Pipeline(
            ingestor,
            scoring=ScoringPolicy(
                interval_ms=int(settings.score_interval_s * 1000),
                abnormal_interval_ms=int(settings.score_abnormal_interval_s * 1000),
            ),
            lateness_ms=int(settings.lateness_h * 3_600_000),
            alerting=Alerting(
                DEFAULT_POLICY, models=load_models(settings.models_dir), id_secret=b"burden"
            ),
            clock=lambda: clock[0],
        )
        _pipeline_cache["clock"] = clock
    return _pipeline_cache["pipeline"], _pipeline_cache["clock"]


def simulate_patient(item: tuple[Any, int]) -> PatientSeries:
    """Simulate patient ``index`` of the cohort and run it through the pipeline."""
    from contract.events import InputRef
    from ews.demo import encode_message
    from simulator.stream import Cohort
    from streams.pipeline import InMessage, PatientRecord
    from streams.topics import INPUT_TOPICS

    config, index = item
    pipeline, clock = _pipeline()
    patient = Cohort(config).patient(index)
    records: dict[str, PatientRecord] = {}
    series: dict[str, RiskSeries] = {}
    ruleset = ""
    first = last = None
    for n, msg in enumerate(patient.messages):
        topic, key, body = encode_message(msg)
        clock[0] = msg.arrival_ms / 1000
        for e in msg.events:
            first = e.time_ms if first is None else min(first, e.time_ms)
            last = e.time_ms if last is None else max(last, e.time_ms)
        ref = InputRef(topic, 0, n)
        result = pipeline.process(
            [InMessage(INPUT_TOPICS[topic], ref, key.encode(), body)], records.get
        )
        records.update(result.touched)
        for scored in result.scored:
            for risk, ra in scored.risks.items():
                ruleset = ra.ruleset_version
                s = series.get(risk)
                if s is None:
                    s = series[risk] = RiskSeries([], [], [], [], ra.model_version, ra.criteria)
                s.times.append(ra.time_ms)
                s.grades.append(ra.grade)
                s.probabilities.append(ra.probability)
                s.thresholds.append(ra.model_threshold)
    days = max((last or 0) - (first or 0), 3_600_000) / DAY_MS
    return PatientSeries(patient.patient_id, days, len(patient.messages), ruleset, series)


def _map(items: Iterable[tuple[Any, int]], workers: int) -> Iterator[PatientSeries]:
    if workers <= 1:
        yield from map(simulate_patient, items)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(simulate_patient, items, chunksize=4)


def run_cohort(n: int, seed: int, workers: int, progress: bool = True) -> CohortSeries:
    """Phase 1 for ``n`` patients of the simulator's real-world profile, one cycle."""
    from simulator.config import CohortConfig
    from simulator.stream import Cohort

    config = CohortConfig(n_patients=n, seed=seed, cycles=1)
    started = time.monotonic()
    patients: list[PatientSeries] = []
    for p in _map(((config, i) for i in range(n)), workers):
        patients.append(p)
        if progress and len(patients) % 100 == 0:
            rate = len(patients) / (time.monotonic() - started)
            print(f"  {len(patients)}/{n} patients ({rate:.1f}/s)", file=sys.stderr, flush=True)
    labels = [
        LabelRow(
            patient_id=row.patient_id,
            complication=row.complication,
            onset_ms=row.onset_ms,
            peak_grade=row.peak_grade,
            resolution_ms=row.resolution_ms,
            cycle=row.cycle,
            onset_day=row.onset_day,
            peak_ms=row.peak_ms,
        )
        for row in Cohort(config).labels()
    ]
    from ews.settings import Settings

    s = Settings()
    return CohortSeries(
        settings={
            "cohort": f"simulator real_world profile, seed {seed}, {n} patients, 1 cycle, "
            "ward vitals",
            "feeds": "vitals FHIR Bundle, labs HL7 v2 ORU^R01, other events canonical JSON",
            "pipeline": "streams.pipeline.Pipeline, one message per batch, arrival order",
            "score_interval_s": s.score_interval_s,
            "score_abnormal_interval_s": s.score_abnormal_interval_s,
            "lateness_h": s.lateness_h,
            "models_dir": str(s.models_dir or "models/artifacts"),
        },
        patients=patients,
        labels=labels,
    )


# --- phase 2: the policy and the report -----------------------------------------------------


def evaluate(
    cohort: CohortSeries, config: PolicyConfig, settings: BurdenSettings | None = None
) -> BurdenReport:
    """The policy over every patient's assessments, scored against the labels."""
    transitions: dict[str, dict[Risk, list[Transition]]] = {}
    days: dict[str, float] = {}
    for p in cohort.patients:
        days[p.patient_id] = p.days
        transitions[p.patient_id] = run_policy(summaries(p), config)
    return evaluate_transitions(transitions, days, cohort.labels, config, settings)


def settings_text(cohort: CohortSeries, report: BurdenReport) -> str:
    """The settings behind a report, as Markdown."""
    lines = ["Settings:", ""]
    for k, v in cohort.settings.items():
        lines.append(f"- {k}: {v}")
    pol = report.policy
    lines.append(
        f"- policy {pol['version']}: ack_timeout_ms {pol['ack_timeout_ms']}, "
        f"ack_review_ms {pol['ack_review_ms']}, max_renotifications "
        f"{pol['max_renotifications']} (no acknowledgements simulated)"
    )
    for risk, rp in pol["risks"].items():
        lines.append(
            f"  - {risk}: trigger_grade {rp['trigger_grade']}, confirm "
            f"{rp.get('confirm_ms', 0) / 3_600_000:g} h, model_trigger {rp['model_trigger']}, "
            f"min_probability {rp.get('min_probability', 0.0):g}, model_margin "
            f"{rp['model_margin']}, quiet_period "
            f"{rp['quiet_period_ms'] / 3_600_000:g} h, expire_after "
            + (
                "never"
                if rp["expire_after_ms"] is None
                else f"{rp['expire_after_ms'] / 3_600_000:g} h"
            )
        )
    lines.append(f"- matching: early window {report.settings['early_window_ms'] / 3_600_000:g} h")
    return "\n".join(lines)


def run_burden(
    n: int,
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    workers: int | None = None,
    source: Path | None = None,
    policy: Path | None = None,
    baseline: bool = True,
) -> int:
    """``ews burden``; returns a process exit code. ``baseline``: also report policy 1.0
    (the defaults before tuning) on the same assessments, for a before/after view."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if source is not None:
        cohort = msgspec.msgpack.decode(source.read_bytes(), type=CohortSeries)
        print(f"{len(cohort.patients)} patients read from {source}", file=sys.stderr)
    else:
        n_workers = workers or min(2, os.cpu_count() or 1)
        print(
            f"Simulating {n} patients (seed {seed}) through the pipeline on {n_workers} "
            "process(es)...",
            file=sys.stderr,
        )
        cohort = run_cohort(n, seed, n_workers)
        (out / "assessments.msgpack").write_bytes(msgspec.msgpack.encode(cohort))
        print(
            f"phase 1: {time.monotonic() - started:.0f} s; assessments in "
            f"{out / 'assessments.msgpack'}",
            file=sys.stderr,
        )
    config = DEFAULT_POLICY if policy is None else decode_config(policy.read_bytes())
    report = evaluate(cohort, config)
    text = (
        f"## Policy {config.version}\n\n"
        + format_report(report)
        + "\n\n"
        + settings_text(cohort, report)
        + "\n"
    )
    (out / "burden.json").write_bytes(msgspec.json.format(msgspec.json.encode(report)))
    before = policy_1_0()
    if baseline and config != before:
        base = evaluate(cohort, before)
        (out / "burden-1.0.json").write_bytes(msgspec.json.format(msgspec.json.encode(base)))
        text += (
            f"\n## Before: policy {before.version} on the same assessments\n\n"
            + format_report(base)
            + "\n\n"
            + settings_text(cohort, base)
            + "\n"
        )
    (out / "burden.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"({time.monotonic() - started:.0f} s; {out / 'burden.md'})", file=sys.stderr)
    return 0

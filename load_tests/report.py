"""The benchmark report: every measurement in one run, one broker, one table.

Order of a run (each step bounded in time, all on one embedded broker on loopback):
1. templates from the simulator; both workloads encoded in memory;
2. per workload (single-observation, 8-observation monitor frames): the worker on empty
   topics (RSS when ready), the workload produced flat out, the worker measured until every
   input is accounted for (lost must be 0); then the three baselines read the same topic;
3. the latency probe at a fixed rate on a fresh worker;
4. ``report.md``, ``results.json``, ``throughput.png``, ``latency_cdf.png`` in ``--out``, and
   the Markdown printed to stdout.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from load_tests.baselines import MODES, ConsumeResult, run_baseline
from load_tests.inprocess import InProcess, run_inprocess
from load_tests.latency import LatencyResult, run_broker_floor, run_latency
from load_tests.plots import latency_cdf, throughput_bars
from load_tests.profiles import buckets
from load_tests.worker_run import WorkerFigures, run_worker
from load_tests.workload import FloatArray, Workload, build, template_frames
from streams.broker import EmbeddedBroker

TARGET_RATIO_EMPTY = 0.6
TARGET_OBS_PER_S = 60_000.0
TARGET_P99_MS = 250.0
TARGET_LATENCY_RATE = 5000.0
TARGET_LATENCY_S = 60.0


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes of one report run."""

    one_messages: int
    one_patients: int
    eight_messages: int
    eight_patients: int
    """8-obs monitoring: bedside monitors at 1 Hz, each patient sends many frames (the
    target's workload)."""
    admit_messages: int
    admit_patients: int
    """8-obs admissions: every patient new, a few frames each, nearly every message a first
    score; and the worker's memory at this many patients."""
    latency_rate: float
    latency_s: float
    partitions: int = 8
    store: str = "memory://"

    @classmethod
    def default(cls) -> Plan:
        return cls(
            40_000, 2_000, 60_000, 1_000, 30_000, 10_000, TARGET_LATENCY_RATE, TARGET_LATENCY_S
        )

    @classmethod
    def quick(cls) -> Plan:
        return cls(12_000, 1_000, 15_000, 500, 6_000, 2_000, TARGET_LATENCY_RATE, 15.0)


@dataclass(frozen=True, slots=True)
class Section:
    """One workload: the worker's figures and the baselines on the same topic."""

    worker: WorkerFigures
    baselines: dict[str, ConsumeResult]

    def ratio(self, mode: str) -> float:
        base = self.baselines.get(mode)
        return self.worker.rate / base.rate if base and base.rate else float("nan")


def _section(
    bootstrap: str,
    label: str,
    workload: Workload,
    plan: Plan,
    out: Path,
    py_spy: str | None,
    frames: FloatArray,
) -> Section:
    messages = build(workload, frames)
    print(f"[{label}] {len(messages)} messages encoded; running the worker...", flush=True)
    figures = run_worker(
        bootstrap,
        label,
        workload,
        messages,
        out,
        partitions=plan.partitions,
        store=plan.store,
        py_spy=py_spy,
    )
    print(f"[{label}] worker {figures.rate:,.0f} msg/s, lost {figures.lost}", flush=True)
    results: dict[str, ConsumeResult] = {}
    for mode in MODES:
        results[mode] = run_baseline(
            mode,
            bootstrap,
            figures.input_topic,
            len(messages),
            out,
            partitions=plan.partitions,
            store=plan.store,
        )
        print(f"[{label}] {mode} {results[mode].rate:,.0f} msg/s", flush=True)
    return Section(figures, results)


def _mb(kb: int) -> str:
    return f"{kb / 1024:,.0f} MiB"


def render(
    plan: Plan,
    sections: dict[str, Section],
    latency: LatencyResult,
    quick: bool,
    profile_md: str = "",
    floor: LatencyResult | None = None,
) -> str:
    """The Markdown report (``floor``: the same probe with no worker, one broker hop)."""
    lines = [
        "# Load-test report",
        "",
        f"Machine: {platform.node()} ({os.cpu_count()} CPUs, {platform.python_version()}), "
        f"broker Tansu (embedded, loopback); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
        + (" **Quick run: smaller sizes, targets not at their conditions.**" if quick else ""),
        f"Settings: {plan.partitions} partitions, store `{plan.store}`, worker defaults "
        "(batch 500 msgs / 20 ms, fetch wait 50 ms, session timeout 10 s); baselines with "
        "the same broker settings. Rates are sustained (first to last message), first batch "
        "excluded.",
        "",
        "| workload | msgs | patients | worker msg/s | obs/s | x raw aiokafka | x empty Faust "
        "| x naive table | raw msg/s | empty Faust msg/s | table msg/s | lost |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in sections.items():
        w, b = s.worker, s.baselines
        lines.append(
            f"| {label} | {w.messages:,} | {w.patients:,} | {w.rate:,.0f} | {w.obs_rate:,.0f} "
            f"| {s.ratio('raw'):.3f} | {s.ratio('faust-empty'):.2f} "
            f"| {s.ratio('faust-table'):.2f} | {b['raw'].rate:,.0f} "
            f"| {b['faust-empty'].rate:,.0f} | {b['faust-table'].rate:,.0f} | {w.lost} |"
        )
    lines += ["", "Producer (kafka-python, 2 processes, pre-encoded):"]
    lines += [
        f"- {label}: {s.worker.produced.rate:,.0f} msg/s, "
        f"{s.worker.produced.failed} refused by the broker"
        for label, s in sections.items()
    ]
    eight = sections.get("8-obs")
    lines += ["", "| memory | value |", "|---|---:|"]
    for label, s in sections.items():
        w = s.worker
        per = (w.rss_end_kb - w.rss_ready_kb) * 1024 / w.patients
        lines += [
            f"| {label}: worker RSS ready / after {w.patients:,} patients / peak "
            f"| {_mb(w.rss_ready_kb)} / {_mb(w.rss_end_kb)} / {_mb(w.hwm_kb)} |",
            f"| {label}: per patient (RSS delta / patients) | {per / 1024:,.1f} KiB |",
        ]
    p99 = latency.percentile(99)
    produced = latency.produced
    lines += [
        "",
        f"Latency (event time = wall clock at send -> {latency.output} record read back), "
        f"{latency.rate:,.0f} msg/s for {latency.duration_s:g} s, 1 observation per message; "
        f"producer achieved {produced.rate if produced else 0:,.0f} msg/s "
        f"({produced.failed if produced else 0} refused by the broker), "
        f"{len(latency.latencies_ms):,} outputs seen:",
        "",
        "| probe | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        _latency_row("pipeline (input -> worker -> output: two broker hops)", latency),
    ]
    if floor is not None:
        lines.append(_latency_row("broker alone, no worker (input read back: one hop)", floor))
    lines += [
        "",
        f"The load producers batch for {latency.linger_ms} ms (kafka-python `linger_ms`); the "
        "event time is stamped before that wait, so it is part of every figure.",
        "",
        "## Targets",
        "",
        "| target | measured | pass |",
        "|---|---:|:---:|",
    ]
    one = sections.get("1-obs")
    if one:
        r = one.ratio("faust-empty")
        lines.append(
            f"| 1-obs msg/s >= {TARGET_RATIO_EMPTY}x empty Faust agent | {r:.2f}x | "
            f"{_pf(r >= TARGET_RATIO_EMPTY)} |"
        )
    if eight:
        o = eight.worker.obs_rate
        lines.append(
            f"| 8-obs >= {TARGET_OBS_PER_S:,.0f} obs/s on one worker | {o:,.0f} | "
            f"{_pf(o >= TARGET_OBS_PER_S)} |"
        )
    at_target = latency.rate >= TARGET_LATENCY_RATE and latency.duration_s >= TARGET_LATENCY_S
    lines.append(
        f"| p99 event-to-output < {TARGET_P99_MS:g} ms at {TARGET_LATENCY_RATE:,.0f} msg/s "
        f"for {TARGET_LATENCY_S:g} s | {p99:,.0f} ms"
        + (f" (broker alone: {floor.percentile(99):,.0f} ms)" if floor is not None else "")
        + " | "
        f"{_pf(p99 < TARGET_P99_MS) if at_target else 'n/a (quick)'} |"
    )
    if profile_md:
        lines += ["", "## Where the worker's CPU goes (py-spy)", "", profile_md]
    return "\n".join(lines) + "\n"


def _latency_row(name: str, result: LatencyResult) -> str:
    p50, p95, p99 = (result.percentile(q) for q in (50, 95, 99))
    top = max(result.latencies_ms, default=float("nan"))
    return f"| {name} | {p50:,.0f} | {p95:,.0f} | {p99:,.0f} | {top:,.0f} |"


def _extra_md(easy: LatencyResult, alone: dict[str, InProcess]) -> str:
    qs = " / ".join(f"{easy.percentile(q):,.0f}" for q in (50, 95, 99))
    lines = [
        "",
        f"Latency at a rate the worker sustains ({easy.rate:,.0f} msg/s for "
        f"{easy.duration_s:g} s, {len(easy.latencies_ms):,} outputs): p50 / p95 / p99 = "
        f"{qs} ms.",
        "",
        "## The pipeline alone (no Faust, no Kafka; dict as table, same batches of 500)",
        "",
        "| workload | msg/s | obs/s | stored record per patient |",
        "|---|---:|---:|---:|",
    ]
    for label, r in alone.items():
        obs = r.rate * (1 if label.startswith("1-obs") else 8)
        lines.append(
            f"| {label} | {r.rate:,.0f} | {obs:,.0f} | {r.record_bytes_mean / 1024:,.1f} KiB |"
        )
    return "\n".join(lines) + "\n"


def _pf(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _profile_md(out: Path, labels: list[str]) -> str:
    parts: list[str] = []
    for label in labels:
        path = out / f"profile-{label}.txt"
        if not path.exists():
            continue
        parts += [f"{label}:", "", "| share | bucket |", "|---:|---|"]
        parts += [f"| {share:.1%} | {name} |" for name, share in buckets(path)]
        parts.append("")
    return "\n".join(parts)


def run_report(out: Path, *, quick: bool = False, py_spy: str | None = None) -> str:
    """Run every measurement and write the report into ``out``; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    plan = Plan.quick() if quick else Plan.default()
    started = time.monotonic()
    frames = template_frames()
    workloads = {
        "1-obs": Workload(patients=plan.one_patients, messages=plan.one_messages),
        "8-obs": Workload(
            patients=plan.eight_patients, messages=plan.eight_messages, obs_per_message=8
        ),
        "8-obs admissions": Workload(
            patients=plan.admit_patients, messages=plan.admit_messages, obs_per_message=8
        ),
    }
    with EmbeddedBroker(log_path=out / "broker.log") as broker:
        sections = {
            label: _section(broker.bootstrap, label, w, plan, out, py_spy, frames)
            for label, w in workloads.items()
        }
    # Each latency probe gets a broker of its own: the memory-only test broker keeps every
    # record of the sections above (no retention or compaction, broker-notes.md 5) and
    # slowed as it filled (p99 4.2 s after them against 0.34 s fresh, session 5), which is
    # the test broker's growth, not the worker's latency.
    print(f"[latency] {plan.latency_rate:,.0f} msg/s for {plan.latency_s:g} s...", flush=True)
    with EmbeddedBroker(log_path=out / "broker-latency.log") as broker:
        latency = run_latency(
            broker.bootstrap,
            out,
            rate=plan.latency_rate,
            duration_s=plan.latency_s,
            partitions=plan.partitions,
            store=plan.store,
        )
    # The same probe with no worker, on a fresh broker: what the broker and clients alone
    # cost at this rate (docs/performance.md: on the test broker that is most of it).
    print(f"[latency] broker alone at {plan.latency_rate:,.0f} msg/s...", flush=True)
    with EmbeddedBroker(log_path=out / "broker-floor.log") as broker:
        floor = run_broker_floor(
            broker.bootstrap,
            rate=plan.latency_rate,
            duration_s=plan.latency_s,
            partitions=plan.partitions,
        )
    # Latency where the worker keeps up (half its measured 1-obs rate): the latency of
    # the design rather than of a growing backlog.
    easy_rate = max(50.0, round(sections["1-obs"].worker.rate / 2, -1))
    print(f"[latency] {easy_rate:,.0f} msg/s for {plan.latency_s / 2:g} s...", flush=True)
    with EmbeddedBroker(log_path=out / "broker-latency2.log") as broker:
        easy = run_latency(
            broker.bootstrap,
            out,
            rate=easy_rate,
            duration_s=plan.latency_s / 2,
            partitions=plan.partitions,
            store=plan.store,
            label="lat2",
        )
    print("[in-process] pipeline alone...", flush=True)
    alone = {
        "1-obs": run_inprocess(workloads["1-obs"], frames),
        "8-obs": run_inprocess(replace(workloads["8-obs"], messages=10_000), frames),
        "8-obs admissions": run_inprocess(
            replace(workloads["8-obs admissions"], messages=10_000), frames
        ),
        "8-obs, 5 patients x 30 min at 1 Hz": run_inprocess(
            Workload(patients=5, messages=9_000, obs_per_message=8), frames
        ),
    }
    throughput_bars(sections, out / "throughput.png")
    latency_cdf(latency.latencies_ms, out / "latency_cdf.png", title=f"{latency.rate:,.0f} msg/s")
    md = render(plan, sections, latency, quick, _profile_md(out, list(workloads)), floor)
    md += _extra_md(easy, alone)
    md += f"\nTotal report runtime: {time.monotonic() - started:,.0f} s.\n"
    (out / "report.md").write_text(md)
    (out / "results.json").write_text(
        json.dumps(_results(plan, sections, latency, easy, alone, floor), indent=2)
    )
    return md


def _results(
    plan: Plan,
    sections: dict[str, Section],
    latency: LatencyResult,
    easy: LatencyResult,
    alone: dict[str, InProcess],
    floor: LatencyResult,
) -> dict[str, Any]:
    return {
        "plan": asdict(plan),
        "latency_broker_alone": {
            "rate": floor.rate,
            "linger_ms": floor.linger_ms,
            "p50": floor.percentile(50),
            "p95": floor.percentile(95),
            "p99": floor.percentile(99),
        },
        "latency_sustainable": {
            "rate": easy.rate,
            "p50": easy.percentile(50),
            "p95": easy.percentile(95),
            "p99": easy.percentile(99),
        },
        "pipeline_alone": {k: {**asdict(v), "rate": v.rate} for k, v in alone.items()},
        "sections": {
            label: {
                "worker": {**asdict(s.worker), "obs_rate": s.worker.obs_rate},
                "baselines": {m: {**asdict(b), "rate": b.rate} for m, b in s.baselines.items()},
            }
            for label, s in sections.items()
        },
        "latency": {
            "rate": latency.rate,
            "duration_s": latency.duration_s,
            "output": latency.output,
            "linger_ms": latency.linger_ms,
            "count": len(latency.latencies_ms),
            "p50": latency.percentile(50),
            "p95": latency.percentile(95),
            "p99": latency.percentile(99),
        },
    }

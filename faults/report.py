"""The fault report: a Markdown table of every scenario, ``report.md`` and ``results.json``."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterable
from pathlib import Path

from faults.scenarios import SCENARIOS, Profile, Result, run

HEADER = (
    "| scenario | injected | inputs sent / canonical / dead-lettered / missing (counted) "
    "| alert transitions reference / observed / lost | pages expected / delivered / "
    "repeated keys | result |"
)


def row(r: Result) -> str:
    """One Markdown table row."""
    extra = f" (+{r.transitions_extra} extra)" if r.transitions_extra else ""
    counted = "?" if r.counted is None else f"{r.counted:g}"
    inputs = f"{r.sent} / {r.canonical} / {r.dead_lettered} / {r.missing} ({counted})"
    transitions = (
        f"{r.transitions_reference} / {r.transitions_observed} / {r.transitions_lost}{extra}"
    )
    pages = f"{r.pages_expected} / {r.pages_delivered} / {r.pages_duplicates}"
    verdict = "pass" if r.passed else "**FAIL**: " + "; ".join(r.failures)
    cells = [r.scenario, r.injected, inputs, transitions, pages, verdict]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def table(results: Iterable[Result]) -> str:
    """The report table."""
    lines = [HEADER, "|" + "---|" * 6]
    lines += [row(r) for r in results]
    return "\n".join(lines)


def markdown(results: list[Result], profile: Profile, seconds: float) -> str:
    """The whole report: the table, then each scenario's notes."""
    notes = [
        f"- **{r.scenario}** ({r.seconds:g} s): " + "; ".join(r.notes) for r in results if r.notes
    ]
    return "\n".join(
        [
            f"# Fault report ({profile.name})",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {platform.node()}, "
            f"{profile.patients} patients (seed {profile.seed}), {seconds:.0f} s in all.",
            "",
            table(results),
            "",
            *notes,
            "",
        ]
    )


def report(out: Path, profile: Profile, only: list[str] | None = None) -> list[Result]:
    """Run the scenarios (all, or ``only``), print the table, write report.md and
    results.json under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    names = only or list(SCENARIOS)
    started = time.monotonic()
    results: list[Result] = []
    for name in names:
        print(f"-- {name}...", flush=True)
        result = run(name, out / "work", profile)
        print(row(result), flush=True)
        results.append(result)
    text = markdown(results, profile, time.monotonic() - started)
    (out / "report.md").write_text(text, encoding="utf-8")
    payload = {"profile": profile.__dict__, "results": [r.to_json() for r in results]}
    (out / "results.json").write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    print()
    print(text)
    return results

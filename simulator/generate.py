"""Write a cohort to disk: events in the requested formats, labels and a summary."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from contract.events import encode
from simulator.config import CohortConfig
from simulator.export import fhir_bundle, hl7_message
from simulator.labels import write_labels
from simulator.messages import SimMessage
from simulator.stream import Cohort, iter_timed

FORMATS: tuple[str, ...] = ("jsonl", "fhir", "hl7")


def generate(
    config: CohortConfig, out_dir: Path | str, formats: Iterable[str] = FORMATS
) -> dict[str, Any]:
    """Simulate ``config`` and write it under ``out_dir``; returns the summary.

    Files: ``events.jsonl`` (canonical events in arrival order) with ``events_meta.csv``
    (arrival time and injected artifact per line), ``fhir/bundles.ndjson``,
    ``hl7/oru_r01.hl7``, ``labels.csv`` and ``summary.json``.
    """
    wanted = tuple(formats)
    unknown = set(wanted) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {FORMATS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cohort = Cohort(config)
    t0 = time.perf_counter()
    kinds: Counter[str] = Counter()
    artifacts: Counter[str] = Counter()
    files: dict[str, IO[Any]] = {}
    try:
        if "jsonl" in wanted:
            files["jsonl"] = (out / "events.jsonl").open("wb")
            files["meta"] = (out / "events_meta.csv").open("w", encoding="utf-8")
            files["meta"].write("line,arrival_ms,artifact\n")
        if "fhir" in wanted:
            (out / "fhir").mkdir(exist_ok=True)
            files["fhir"] = (out / "fhir" / "bundles.ndjson").open("w", encoding="utf-8")
        if "hl7" in wanted:
            (out / "hl7").mkdir(exist_ok=True)
            files["hl7"] = (out / "hl7" / "oru_r01.hl7").open("w", encoding="utf-8", newline="")
        last: SimMessage | None = None
        line = 0
        for item in iter_timed(cohort, "arrival"):
            kinds[type(item.event).__name__] += 1
            if "jsonl" in files:
                files["jsonl"].write(encode(item.event) + b"\n")
                files["meta"].write(f"{line},{item.arrival_ms},{item.message.artifact or ''}\n")
            line += 1
            if item.message is last:
                continue
            last = item.message
            artifacts[item.message.artifact or "none"] += 1
            if "fhir" in files:
                bundle = fhir_bundle(item.message)
                if bundle is not None:
                    files["fhir"].write(json.dumps(bundle, separators=(",", ":")) + "\n")
            if "hl7" in files:
                text = hl7_message(item.message)
                if text is not None:
                    files["hl7"].write(text + "\n")
    finally:
        for fh in files.values():
            fh.close()
    labels = cohort.labels()
    write_labels(labels, out / "labels.csv")
    per_kind: Counter[str] = Counter()
    for kind in sorted({r.complication for r in labels}):
        per_kind[kind] = len({r.patient_id for r in labels if r.complication == kind})
    summary: dict[str, Any] = {
        "config": asdict(config),
        "formats": list(wanted),
        "seconds": round(time.perf_counter() - t0, 2),
        "events": sum(kinds.values()),
        "events_by_kind": dict(sorted(kinds.items())),
        "messages_by_artifact": dict(sorted(artifacts.items())),
        "labels": len(labels),
        "patients_with": dict(sorted(per_kind.items())),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary

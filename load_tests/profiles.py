"""Summaries of py-spy profiles of the worker (``py-spy record --format raw`` output).

py-spy is not a project dependency: install it into a scratch venv (``pip install py-spy``)
and pass its path with ``--py-spy``. Each line of its raw output is ``frame;frame;... count``
(outermost first). The summary gives each function's share of the samples in which the
process was busy: *self* (on top of the stack) and *inclusive* (anywhere in the stack).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Samples whose top frame is one of these are the event loop waiting for I/O, not work.
_IDLE = ("select (selectors.py", "_run_once (asyncio/base_events.py:1", "epoll")
_LINE = re.compile(r":\d+\)$")


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """Busy samples and the top functions by self and inclusive share."""

    samples: int
    busy: int
    self_top: list[tuple[str, float]]
    inclusive_top: list[tuple[str, float]]


def _function(frame: str) -> str:
    """``name (file.py:123)`` -> ``name (file.py)``: lines of one function are merged."""
    return _LINE.sub(")", frame.strip())


def summarize(path: Path, top: int = 15) -> ProfileSummary:
    """Aggregate a raw py-spy profile into the functions that cost the most."""
    self_c: Counter[str] = Counter()
    incl_c: Counter[str] = Counter()
    samples = busy = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [_function(f) for f in stack.split(";") if f]
        if not frames or any(frames[-1].startswith(idle) for idle in _IDLE):
            continue
        busy += count
        self_c[frames[-1]] += count
        for name in set(frames):
            incl_c[name] += count
    denom = max(busy, 1)
    return ProfileSummary(
        samples,
        busy,
        [(name, n / denom) for name, n in self_c.most_common(top)],
        [(name, n / denom) for name, n in incl_c.most_common(top * 4)],
    )


def markdown(summary: ProfileSummary, wanted: tuple[str, ...] = ()) -> str:
    """A Markdown rendering; ``wanted`` picks inclusive rows by substring (else the top)."""
    rows = summary.inclusive_top
    if wanted:
        rows = [(n, s) for n, s in rows if any(w in n for w in wanted)]
    lines = [
        f"{summary.busy} busy samples of {summary.samples} "
        f"({summary.busy / max(summary.samples, 1):.0%} busy).",
        "",
        "| inclusive | function |",
        "|---:|---|",
        *[f"| {share:.0%} | `{name}` |" for name, share in rows[:20]],
        "",
        "| self | function |",
        "|---:|---|",
        *[f"| {share:.0%} | `{name}` |" for name, share in summary.self_top],
    ]
    return "\n".join(lines)


# (bucket, substrings): a sample goes to the first bucket any of whose substrings occurs in
# its stack. Order matters: the most specific work first.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("producer I/O (aiokafka sender, socket writes)", ("aiokafka/producer/sender.py",)),
    ("ingest: parse + normalize (adapters)", ("normalize (adapters",)),
    ("feature state apply", ("PatientState.apply",)),
    ("snapshot (features)", ("snapshot (features/compute",)),
    ("rules (scoring)", ("score_snapshot (scoring",)),
    ("patient record msgpack decode/encode", ("decode_record (streams", "encode_record (streams")),
    ("table write (Faust, changelog send)", ("Table.on_key_set",)),
    ("publish canonical/DLQ (Faust send)", ("Service._publish",)),
    ("other pipeline (streams/pipeline.py)", ("Pipeline.process",)),
    ("Prometheus metrics", ("prometheus_client",)),
    ("logging", ("logging/__init__",)),
    ("consumer fetch (aiokafka)", ("aiokafka/consumer",)),
    ("Faust stream/agent/commit machinery", ("faust/",)),
    ("asyncio loop + other", ("",)),
)


def buckets(path: Path) -> list[tuple[str, float]]:
    """Share of on-CPU samples per cost bucket (:data:`BUCKETS`), largest first."""
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        total += int(count_text)
        for name, needles in BUCKETS:
            if any(n in stack for n in needles):
                counts[name] += int(count_text)
                break
    return [(name, n / max(total, 1)) for name, n in counts.most_common()]

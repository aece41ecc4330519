"""``ews replay``: run recorded input through the service's own code, offline or via Kafka.

Offline (``--out FILE``) every message goes through the same :class:`streams.ingest.Ingestor`
the worker uses and one JSON line per input message is written: what became of it, its
canonical events or its dead-letter reasons. With ``--publish`` the messages are sent to the
input topics, keyed by the patient named in each message, for a running worker to process.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import msgspec

from contract.codemap import load_codemap
from contract.events import DeadLetter, Event, InputRef, encode
from ews.inputs import read_inputs
from ews.settings import Settings
from streams.ingest import Ingestor, limits_from
from streams.topics import DEADLETTER, INPUT_TOPICS, InputFormat

_TOPIC_OF_FORMAT: dict[InputFormat, str] = {fmt: name for name, fmt in INPUT_TOPICS.items()}


class RejectOut(msgspec.Struct):
    """Why one message, or one part of it, was not accepted."""

    reason: str
    detail: str
    item: int | None


class ReplayRow(msgspec.Struct, omit_defaults=True):
    """One output line of an offline replay."""

    input: InputRef
    outcome: str
    patient_id: str | None = None
    events: tuple[Event, ...] = ()
    rejects: list[RejectOut] = []


def run_replay(path: str, fmt: str, out: str | None, publish: bool) -> int:
    """Replay ``path``; returns a process exit code."""
    if not out and not publish:
        print("ews replay: give --out FILE (offline) or --publish", file=sys.stderr)
        return 2
    settings = Settings()
    stream_fmt: InputFormat = "json" if fmt == "physionet" else fmt  # type: ignore[assignment]
    ingestor = Ingestor(
        load_codemap(settings.extra_signals_file, settings.extra_codes_file),
        limits_from(settings),
        default_tz=settings.hl7_default_tz,
        require_key=False,
    )
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    if publish:
        _publish(settings, ingestor, Path(path), fmt, stream_fmt, counts)
    else:
        assert out is not None
        _offline(ingestor, Path(path), fmt, stream_fmt, Path(out), counts)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"{total} messages in {elapsed:.1f} s ({summary})", file=sys.stderr)
    return 0


def _offline(
    ingestor: Ingestor,
    path: Path,
    fmt: str,
    stream_fmt: InputFormat,
    out: Path,
    counts: Counter[str],
) -> None:
    encoder = msgspec.json.Encoder()
    now_ms = int(time.time() * 1000)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        for msg in read_inputs(path, fmt):
            result = ingestor.ingest(stream_fmt, msg.ref, None, msg.data, now_ms)
            counts[result.outcome] += 1
            counts["rejected_parts"] += len(msg.rejects)
            rejects = [RejectOut(str(r.reason), r.detail, r.item) for r in msg.rejects]
            rejects += [RejectOut(d.reason, d.detail, d.item) for d in result.deadletters]
            row = ReplayRow(
                input=msg.ref,
                outcome=result.outcome,
                patient_id=result.patient_id,
                events=result.record.events if result.record else (),
                rejects=rejects,
            )
            fh.write(encoder.encode(row) + b"\n")


def _publish(
    settings: Settings,
    ingestor: Ingestor,
    path: Path,
    fmt: str,
    stream_fmt: InputFormat,
    counts: Counter[str],
) -> None:
    from streams.publish import Publisher, ensure_topics

    ensure_topics(settings)
    now_ms = int(time.time() * 1000)
    with Publisher(settings) as publisher:
        for msg in read_inputs(path, fmt):
            # Parse once here only to learn which patient keys the message.
            result = ingestor.ingest(stream_fmt, msg.ref, None, msg.data, now_ms)
            publisher.send(_TOPIC_OF_FORMAT[stream_fmt], result.patient_id, msg.data)
            counts["published"] += 1
            # Parts the file reader rejected never reach the worker: dead-letter them here.
            for reject in msg.rejects:
                letter = DeadLetter(
                    reason=str(reject.reason),
                    detail=reject.detail,
                    stage="replay",
                    input=msg.ref,
                    original=msg.data,
                    item=reject.item,
                    received_ms=now_ms,
                )
                publisher.send(DEADLETTER, result.patient_id, encode(letter))
                counts["dead_lettered_parts"] += 1

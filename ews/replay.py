"""``ews replay``: run recorded input through the service's own code, offline or via Kafka.

Offline, ``--format physionet`` writes one row per PSV input row (stay, ICULOS hour, each
deployed risk's probability and alert flag). For the other formats, offline (``--out FILE``)
every message goes through the same :class:`streams.pipeline.Pipeline`
the worker runs (ingest, feature state, rules), scoring every message, and one JSON line per
input message is written: what became of it, its canonical events or its dead-letter reasons,
and the grades of the snapshot taken after it (each syndrome's grade and every criterion's
grade or points with its version); ``--detail`` writes the whole rule assessment instead.
With ``--publish`` the messages are sent to the input topics, keyed by the patient named in
each message, for a running worker to process.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from contract.codemap import load_codemap
from contract.events import (
    DeadLetter,
    Event,
    InputRef,
    decode_deadletter,
    decode_record,
    encode,
)
from ews.inputs import physionet_stays, read_inputs
from ews.settings import Settings
from scoring.api import assessment_to_dict
from streams.ingest import Ingestor, limits_from
from streams.pipeline import InMessage, PatientRecord, Pipeline, Scored, ScoringPolicy
from streams.topics import DEADLETTER, INPUT_TOPICS, InputFormat

_TOPIC_OF_FORMAT: dict[InputFormat, str] = {fmt: name for name, fmt in INPUT_TOPICS.items()}


class RejectOut(msgspec.Struct):
    """Why one message, or one part of it, was not accepted."""

    reason: str
    detail: str
    item: int | None


class CriterionGrade(msgspec.Struct, omit_defaults=True):
    """One criterion's verdict on a snapshot."""

    version: str
    grade: int | None = None
    points: float | None = None
    complete: bool = True


class Grades(msgspec.Struct, omit_defaults=True):
    """The rule layers' verdict on the snapshot taken after a message."""

    time_ms: int
    ruleset_version: str
    cycle: int | None
    infusion_day: int | None
    syndromes: dict[str, int | None]
    criteria: dict[str, CriterionGrade]


class ReplayRow(msgspec.Struct, omit_defaults=True):
    """One output line of an offline replay."""

    input: InputRef
    outcome: str
    patient_id: str | None = None
    events: tuple[Event, ...] = ()
    rejects: list[RejectOut] = []
    grades: Grades | None = None
    assessment: dict[str, Any] | None = None


def grades_of(scored: Scored) -> Grades:
    """The compact per-snapshot grades of a scored snapshot."""
    a = scored.assessment
    timeline = scored.snapshot.timeline
    return Grades(
        time_ms=a.time_ms,
        ruleset_version=a.ruleset_version,
        cycle=timeline.cycle,
        infusion_day=timeline.infusion_day,
        syndromes={risk: s.grade for risk, s in a.syndromes.items()},
        criteria={
            name: CriterionGrade(c.version, c.grade, c.points, c.complete)
            for name, c in a.criteria.items()
        },
    )


def run_replay(path: str, fmt: str, out: str | None, publish: bool, *, detail: bool = False) -> int:
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
    refused = 0
    if publish:
        refused = _publish(settings, ingestor, Path(path), fmt, stream_fmt, counts)
    elif fmt == "physionet":
        assert out is not None
        _physionet_offline(settings, Path(path), Path(out), counts)
    else:
        assert out is not None
        _offline(settings, ingestor, Path(path), fmt, stream_fmt, Path(out), counts, detail)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"{total} messages in {elapsed:.1f} s ({summary})", file=sys.stderr)
    if refused:
        print(f"ews replay: {refused} sends never reached the broker", file=sys.stderr)
        return 1
    return 0


def _offline(
    settings: Settings,
    ingestor: Ingestor,
    path: Path,
    fmt: str,
    stream_fmt: InputFormat,
    out: Path,
    counts: Counter[str],
    detail: bool,
) -> None:
    # Score after every message: a replay is for checking grades, not for saving CPU.
    pipeline = Pipeline(
        ingestor,
        scoring=ScoringPolicy(interval_ms=0, abnormal_interval_ms=0),
        lateness_ms=int(settings.lateness_h * 3_600_000),
    )
    records: dict[str, PatientRecord] = {}
    encoder = msgspec.json.Encoder()
    now_ms = int(time.time() * 1000)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        for msg in read_inputs(path, fmt):
            # Files carry no Kafka key: key the message by the patient its body names, as a
            # hospital's producer would.
            probe = ingestor.ingest(stream_fmt, msg.ref, None, msg.data, now_ms)
            key = probe.patient_id.encode() if probe.patient_id else None
            result = pipeline.process([InMessage(stream_fmt, msg.ref, key, msg.data)], records.get)
            records.update(result.touched)
            outcome = next(iter(result.outcomes))[1] if result.outcomes else "dead_lettered"
            counts[outcome] += 1
            counts["rejected_parts"] += len(msg.rejects)
            rejects = [RejectOut(str(r.reason), r.detail, r.item) for r in msg.rejects]
            rejects += [
                RejectOut(dl.reason, dl.detail, dl.item)
                for dl in (decode_deadletter(v) for _, v, _, _ in result.deadletters)
            ]
            canonical = [decode_record(v) for _, v in result.canonical]
            scored = result.scored[0] if result.scored else None
            row = ReplayRow(
                input=msg.ref,
                outcome=outcome,
                patient_id=probe.patient_id,
                events=canonical[0].events if canonical else (),
                rejects=rejects,
                grades=grades_of(scored) if scored and not detail else None,
                assessment=assessment_to_dict(scored.assessment) if scored and detail else None,
            )
            fh.write(encoder.encode(row) + b"\n")


def _physionet_offline(settings: Settings, path: Path, out: Path, counts: Counter[str]) -> None:
    """One row per PSV input row: stay, ICULOS hour, each deployed risk's probability and
    alert flag (the deployed models over the stream's own feature code)."""
    from models.physionet_replay import score_physionet_stay
    from streams.app import load_models

    models = load_models(settings.models_dir)
    if models is None:
        raise SystemExit("ews replay --format physionet needs deployed models (EWS_MODELS_DIR)")
    encoder = msgspec.json.Encoder()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        for stay_id, text in physionet_stays(path):
            for row in score_physionet_stay(stay_id, text, models):
                fh.write(encoder.encode(row) + b"\n")
                counts["rows"] += 1
            counts["stays"] += 1


def _publish(
    settings: Settings,
    ingestor: Ingestor,
    path: Path,
    fmt: str,
    stream_fmt: InputFormat,
    counts: Counter[str],
) -> int:
    """Send every message of ``path`` keyed by its patient; returns the sends that never
    reached the broker (``Publisher.failed``)."""
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
    return publisher.failed

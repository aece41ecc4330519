"""The properties every input message must satisfy, checked independently of the adapters.

Each check raises :class:`InvariantError` (an ``AssertionError``, so pytest and atheris both
report it as a failure) naming the broken property. :func:`time_budget` turns a slow call
into :class:`Hang`, a ``BaseException`` so that the catch-all in ``adapters.normalize`` cannot
swallow it.

The limit checks are oracles, not re-uses of the adapters' code: JSON depth and value counts
are recomputed here from the decoded document, HL7 segments are counted here. So are the items
of an HL7 message (one per OBX of an ORU, the one context of an ADT), from its raw text.
"""

from __future__ import annotations

import math
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import msgspec

from adapters.limits import Limits
from adapters.normalize import Normalized, outcome_of
from contract.events import (
    DeadLetter,
    Event,
    InputRef,
    PatientContext,
    decode_deadletter,
    decode_event,
    decode_record,
    encode,
)
from contract.reasons import Reason
from streams.ingest import IngestResult

TIME_BUDGET_S = 1.0
"""Longest one call on one input may take (CPU time of the calling thread)."""
HARD_TIMEOUT_FACTOR = 10
"""A call still running after this many budgets is interrupted (``SIGALRM``)."""
HARD_TIMEOUT_ENABLED = True
"""Off under atheris, whose libFuzzer owns ``SIGALRM`` and enforces its own ``-timeout``."""
MAX_DETAIL_CHARS = 1000
"""A reject's detail quotes at most a snippet of the input, never the whole of it."""

_PATIENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_REASONS = frozenset(Reason)
_MESSAGE_OUTCOMES = frozenset({"accepted", "corrected", "retracted", "duplicate", "dead_lettered"})


class InvariantError(AssertionError):
    """A property of the input edge does not hold for one input."""


class Hang(BaseException):
    """One call on one input took longer than its time budget."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`InvariantError` with ``message`` unless ``condition``."""
    if not condition:
        raise InvariantError(message)


@contextmanager
def time_budget(seconds: float | None = None, what: str = "call") -> Iterator[None]:
    """Fail with :class:`Hang` when the body takes more than ``seconds`` (default
    :data:`TIME_BUDGET_S`) of this thread's CPU time.

    CPU time, not wall time: on a shared machine other processes can stretch a 0.3 s call
    past any wall-clock budget (seen: 2.8 s while a model trained on both cores), and the
    property is the call's own cost. It is measured after the body returns. In the main
    thread an interval timer also interrupts a body that is still running after
    ``HARD_TIMEOUT_FACTOR`` budgets of wall time, so a real hang (a catastrophic regex, an
    endless loop) fails instead of blocking CI.
    """
    seconds = TIME_BUDGET_S if seconds is None else seconds
    hard = seconds * HARD_TIMEOUT_FACTOR
    armed = (
        HARD_TIMEOUT_ENABLED
        and threading.current_thread() is threading.main_thread()
        and hasattr(signal, "SIGALRM")
    )
    previous: Any = None

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"{what} still running after {hard:.1f} s (budget {seconds:.1f} s)")

    if armed:
        previous = signal.signal(signal.SIGALRM, _interrupt)
        signal.setitimer(signal.ITIMER_REAL, hard)
    started = time.thread_time()
    try:
        yield
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.thread_time() - started
    if elapsed > seconds:
        raise Hang(f"{what} took {elapsed:.3f} s of CPU, budget {seconds:.1f} s")


def json_shape(document: Any) -> tuple[int, int]:
    """(depth, values) of a decoded JSON document, counted iteratively.

    A scalar or an empty container has depth 1; a non-empty container is one deeper than its
    deepest child. ``adapters.limits`` accepts a document iff depth <= ``max_json_depth`` and
    values <= ``max_json_nodes``.
    """
    deepest, nodes = 0, 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
    return deepest, nodes


def hl7_segments(text: str) -> list[str]:
    """The segments of an HL7 v2 message as python-hl7 splits it, whatever the line ends:
    whitespace around the whole message stripped, blank segments dropped."""
    return [line for line in re.split(r"\r\n|\r|\n", text.strip()) if line.strip()]


def check_event(event: Event) -> None:
    """One emitted event is valid under the contract and survives a JSON round trip."""
    try:
        again = decode_event(encode(event))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvariantError(f"emitted event breaks the contract: {exc}") from None
    expect(again == event, f"event changed in a JSON round trip: {event!r}")
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if isinstance(value, float):
            expect(math.isfinite(value), f"non-finite {name} in {type(event).__name__}")


def check_normalized(
    result: Normalized,
    *,
    fmt: str,
    data: bytes,
    key: bytes | None,
    received_ms: int,
    limits: Limits,
) -> None:
    """Every property of one ``normalize`` result, given the input it was computed from."""
    expect(isinstance(result, Normalized), f"normalize returned {type(result).__name__}")
    expect(bool(result.source_msg_id), "no source_msg_id")
    expect(bool(result.events) or bool(result.rejects), "input neither accepted nor rejected")
    expect(result.outcome == outcome_of(result.events), f"outcome {result.outcome} mismatch")
    for reject in result.rejects:
        expect(reject.reason in _REASONS, f"reject reason {reject.reason!r} is not a Reason")
        expect(isinstance(reject.detail, str), "reject detail is not text")
        expect(len(reject.detail) <= MAX_DETAIL_CHARS, "reject detail echoes the whole input")
        expect(
            not reject.detail.startswith("unexpected "),
            f"adapter raised past its checks (normalize's catch-all): {reject.detail}",
        )
        expect(reject.item is None or reject.item >= 0, f"negative item {reject.item}")
    whole = [r for r in result.rejects if r.item is None]
    if whole:
        expect(result.outcome == "rejected", "a whole-message reject with events")
    items = len(result.events) + len(result.rejects) - len(whole)
    expect(
        items <= limits.max_items_per_message,
        f"{items} items accepted or rejected one by one > {limits.max_items_per_message}",
    )
    if result.outcome != "rejected":
        pid = result.patient_id
        expect(pid is not None and _PATIENT_ID.match(pid) is not None, f"bad patient {pid!r}")
        expect(key is None or key == (pid or "").encode(), "Kafka key names another patient")
        low = received_ms - limits.max_event_age_ms
        high = received_ms + limits.max_future_skew_ms
        for event in result.events:
            expect(event.patient_id == pid, "event of another patient")
            expect(low <= event.time_ms <= high, f"event time {event.time_ms} outside window")
            if fmt in ("fhir", "hl7v2"):
                expect(event.source == fmt, f"{fmt} event with source {event.source}")
            check_event(event)
    _check_limits(result, fmt=fmt, data=data, limits=limits)


def _rejected_for(result: Normalized, *reasons: Reason) -> bool:
    return result.outcome == "rejected" and any(r.reason in reasons for r in result.rejects)


def _check_limits(result: Normalized, *, fmt: str, data: bytes, limits: Limits) -> None:
    oversized = len(data) > limits.max_message_bytes
    expect(
        oversized == _rejected_for(result, Reason.OVERSIZED),
        f"{len(data)} bytes vs limit {limits.max_message_bytes}: outcome {result.outcome}",
    )
    if oversized:
        return
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        expect(_rejected_for(result, Reason.NOT_UTF8), "invalid UTF-8 not rejected not_utf8")
        return
    if fmt in ("fhir", "json"):
        try:
            document = msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError, ValueError):
            return
        depth, nodes = json_shape(document)
        if depth > limits.max_json_depth or nodes > limits.max_json_nodes:
            expect(
                _rejected_for(result, Reason.TOO_COMPLEX),
                f"JSON depth {depth}, {nodes} values accepted "
                f"(limits {limits.max_json_depth}, {limits.max_json_nodes})",
            )
    elif fmt == "hl7v2":
        segments = hl7_segments(text)
        if len(segments) > limits.max_hl7_segments:
            expect(result.outcome == "rejected", f"{len(segments)} HL7 segments accepted")
        if not any(r.item is None for r in result.rejects):
            _check_hl7_items(result, segments)


def _check_hl7_items(result: Normalized, segments: list[str]) -> None:
    """Every item of an HL7 message the adapter took is an event or a reject: an ORU gives one
    per OBX segment, an ADT exactly one, its context (item 0)."""
    items = len(result.events) + len(result.rejects)
    contexts = sum(1 for e in result.events if isinstance(e, PatientContext))
    header = segments[0] if segments else ""
    separator = header[3:4]
    fields = header.split(separator) if len(header) > 4 else []
    # MSH-1 is the separator itself, so MSH-9 is the ninth piece; the component separator is
    # the first of MSH-2. Escaped or padded type codes are left to the generic checks.
    code = fields[8].split(fields[1][:1])[0] if len(fields) > 8 and fields[1] else ""
    if code == "ORU":
        obx = sum(1 for segment in segments if segment.split(separator, 1)[0] == "OBX")
        expect(items == obx, f"an ORU with {obx} OBX segments gave {items} items")
        expect(not contexts, "an ORU gave a patient context")
    elif code == "ADT" or contexts:
        expect(items == 1, f"an ADT gave {items} items, not its one context")
        expect(contexts == len(result.events), "an ADT gave events other than its context")
        expect(all(r.item == 0 for r in result.rejects), "an ADT's reject is not item 0")


def check_ingest(
    result: IngestResult,
    *,
    ref: InputRef,
    key: bytes | None,
    data: bytes,
    require_key: bool = True,
) -> None:
    """Every property of one ``Ingestor.ingest`` result: accounted for, records valid."""
    expect(isinstance(result, IngestResult), f"ingest returned {type(result).__name__}")
    expect(result.outcome in _MESSAGE_OUTCOMES, f"unknown outcome {result.outcome!r}")
    expect(len(result.reasons) == len(result.deadletters), "reasons and dead letters differ")
    for reason in result.reasons:
        expect(reason in _REASONS, f"dead-letter reason {reason!r} is not a Reason")
    for letter in result.deadletters:
        _check_deadletter(letter, ref=ref, key=key, data=data)
    if require_key and not key:
        expect(result.reasons == [Reason.MISSING_KEY], "an unkeyed message was not refused")
    if result.outcome == "dead_lettered":
        expect(result.record is None, "a dead-lettered message also has a record")
        expect(bool(result.deadletters), "a dead-lettered message without a dead letter")
        return
    record = result.record
    expect(record is not None, f"outcome {result.outcome} without a record")
    assert record is not None
    try:
        again = decode_record(encode(record))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvariantError(f"ingest record breaks the contract: {exc}") from None
    expect(again == record, "ingest record changed in a JSON round trip")
    expect(record.patient_id == result.patient_id, "record and result name other patients")
    expect(key is None or key == record.patient_id.encode(), "record for another key")
    expect(record.input == ref, "record does not point at its input")
    if result.outcome == "duplicate":
        expect(not record.events and not result.deadletters, "a duplicate carries output")
        return
    expect(bool(record.events), f"outcome {result.outcome} without events")
    expect(record.rejected == len(result.deadletters), "rejected count != dead letters")


def _check_deadletter(letter: DeadLetter, *, ref: InputRef, key: bytes | None, data: bytes) -> None:
    try:
        again = decode_deadletter(encode(letter))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvariantError(f"dead letter breaks the contract: {exc}") from None
    expect(again == letter, "dead letter changed in a JSON round trip")
    expect(letter.original == data, "dead letter does not carry the original bytes")
    expect(letter.input == ref and letter.key == key, "dead letter does not name its input")
    expect(len(letter.detail) <= MAX_DETAIL_CHARS, "dead-letter detail echoes the input")

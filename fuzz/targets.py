"""Fuzz targets: one ``bytes -> None`` function per input format and entry point.

A target returns normally when every property holds and raises otherwise: an adapter's own
exception (called directly, without the catch-all of ``normalize``, so the traceback names
the line), :class:`fuzz.checks.InvariantError` or :class:`fuzz.checks.Hang`. The same
targets run under atheris (:mod:`fuzz.run`) and replay the corpus in
``tests/fuzz/test_corpus_regressions.py``.

Targets use :data:`FUZZ_LIMITS`, tighter than the defaults, so that small inputs reach the
size, depth and count limits; ``normalize`` and ``ingest`` pick tight or default limits
from their input's header bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.canonical_json import parse_json
from adapters.fhir import parse_fhir
from adapters.hl7v2 import parse_hl7v2
from adapters.items import ItemContext
from adapters.limits import Limits, load_json_bounded
from adapters.normalize import Format, Normalized, normalize
from adapters.physionet import COLUMNS, PsvFormatError, parse_psv_text, psv_events
from adapters.result import MessageError
from adapters.timeparse import zone
from contract.codemap import default_codemap
from contract.events import Event, InputRef, Observation
from contract.reasons import Reason
from features.compute import snapshot
from features.state import PatientState
from fuzz.checks import check_event, check_ingest, check_normalized, expect, time_budget
from fuzz.strategies import EVENT_BASE_MS, RECEIVED_MS, canonical_events
from streams.ingest import Ingestor

Target = Callable[[bytes], None]

FUZZ_LIMITS = Limits(
    max_message_bytes=65_536,
    max_json_depth=12,
    max_items_per_message=40,
    max_json_nodes=2_000,
    max_hl7_segments=80,
)
"""Tight limits, so that inputs of a few kilobytes reach every limit."""
DEFAULT_LIMITS = Limits()
PATIENT = "p-001"
FALLBACK_MSG_ID = "ews.in.test:0:0"
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Pacific/Chatham")
_CODEMAP = default_codemap()
_FORMATS: tuple[Format, ...] = ("fhir", "hl7v2", "json")
_KEYS: tuple[bytes | None, ...] = (None, PATIENT.encode(), b"p-002", b"")


def run_normalize(
    fmt: Format,
    data: bytes,
    *,
    key: bytes | None = None,
    received_ms: int = RECEIVED_MS,
    limits: Limits = FUZZ_LIMITS,
    default_tz: str = "UTC",
) -> Normalized:
    """``normalize`` under a time budget, with every property of its result checked."""
    with time_budget(what=f"normalize({fmt}, {len(data)} bytes)"):
        result = normalize(
            fmt,
            data,
            key=key,
            received_ms=received_ms,
            codemap=_CODEMAP,
            limits=limits,
            fallback_msg_id=FALLBACK_MSG_ID,
            default_tz=default_tz,
        )
    check_normalized(result, fmt=fmt, data=data, key=key, received_ms=received_ms, limits=limits)
    return result


def run_adapter(fmt: Format, data: bytes, limits: Limits = FUZZ_LIMITS) -> None:
    """The format's adapter called directly: only ``MessageError`` may leave it."""
    if len(data) > limits.max_message_bytes:
        return
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return
    ctx = ItemContext(_CODEMAP, limits, RECEIVED_MS)
    try:
        with time_budget(what=f"{fmt} adapter ({len(data)} bytes)"):
            if fmt == "hl7v2":
                parse_hl7v2(text, ctx, fallback_msg_id=FALLBACK_MSG_ID, default_tz=zone("UTC"))
            elif fmt == "fhir":
                parse_fhir(load_json_bounded(text, limits), ctx, fallback_msg_id=FALLBACK_MSG_ID)
            else:
                parse_json(load_json_bounded(text, limits), ctx, fallback_msg_id=FALLBACK_MSG_ID)
    except MessageError as exc:
        expect(isinstance(exc.reason, Reason), f"MessageError without a Reason: {exc.reason!r}")


def fuzz_fhir(data: bytes) -> None:
    """FHIR R4 Observation / Bundle bytes: the adapter directly, then ``normalize``."""
    run_adapter("fhir", data)
    run_normalize("fhir", data)


def fuzz_hl7v2(data: bytes) -> None:
    """HL7 v2 ORU^R01 and ADT bytes: the adapter directly, then ``normalize``."""
    run_adapter("hl7v2", data)
    run_normalize("hl7v2", data)


def fuzz_json(data: bytes) -> None:
    """Canonical JSON event / batch bytes: the adapter directly, then ``normalize``."""
    run_adapter("json", data)
    run_normalize("json", data)


def fuzz_psv(data: bytes) -> None:
    """PhysioNet PSV text: ``parse_psv_text`` raises only ``PsvFormatError``; ``psv_events``
    never raises, emits valid events and accounts for every mapped cell."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        with time_budget(what="parse_psv_text"):
            stay = parse_psv_text(text, "p-fuzz")
    except PsvFormatError:
        return
    with time_budget(what=f"psv_events ({len(stay.rows)} rows)"):
        result = psv_events("p-fuzz", stay)
    expect(len(result) == len(stay.rows), "a PSV row without its entry")
    mapped = [i for i, name in enumerate(stay.columns) if name in COLUMNS]
    for index, events in result:
        row = stay.rows[index]
        present = sum(1 for i in mapped if row[i] is not None)
        rejects = [r for r in result.rejects if r.item == index]
        for reject in rejects:
            expect(reject.reason in set(Reason), f"PSV reject reason {reject.reason!r}")
        for event in events:
            check_event(event)
        observations = sum(1 for e in events if isinstance(e, Observation))
        # Age and HospAdmTime are patient context (row 0), not mapped cells.
        cell_rejects = [r for r in rejects if not r.detail.startswith(("Age ", "HospAdmTime "))]
        if any(r.reason == Reason.BAD_TIME for r in rejects):
            expect(not events, "a row without a valid time still emitted events")
        else:
            expect(
                observations + len(cell_rejects) == present,
                f"row {index}: {present} values, {observations} events, "
                f"{len(cell_rejects)} rejects",
            )


def _header(data: bytes, size: int) -> tuple[bytes, bytes]:
    return data[:size].ljust(size, b"\0"), data[size:]


def fuzz_normalize(data: bytes) -> None:
    """The whole entry point: format, Kafka key, limits, zone and receive time from a header."""
    head, body = _header(data, 6)
    fmt = _FORMATS[head[0] % 3]
    key = _KEYS[head[1] % len(_KEYS)]
    limits = FUZZ_LIMITS if head[2] % 2 else DEFAULT_LIMITS
    tz = ZONES[head[3] % len(ZONES)]
    skew_s = int.from_bytes(head[4:6], "big", signed=True)  # +- 9 h around the sample receive
    run_normalize(
        fmt,
        body,
        key=key,
        received_ms=RECEIVED_MS + skew_s * 1000,
        limits=limits,
        default_tz=tz,
    )


def fuzz_ingest(data: bytes) -> None:
    """``Ingestor.ingest`` twice on one delivery: accounted for, valid records, and the
    second delivery of an accepted message is a duplicate (a rejected one rejected again)."""
    head, body = _header(data, 3)
    fmt = _FORMATS[head[0] % 3]
    key = _KEYS[head[1] % len(_KEYS)]
    require_key = bool(head[2] % 2)
    ingestor = Ingestor(_CODEMAP, FUZZ_LIMITS, dedup_window=8, require_key=require_key)
    ref = InputRef(f"ews.in.{fmt}", 0, 7)
    recent: list[str] = []
    outcomes = []
    for _ in range(2):
        with time_budget(what=f"ingest({fmt}, {len(body)} bytes)"):
            result = ingestor.ingest(fmt, ref, key, body, RECEIVED_MS, recent)
        check_ingest(result, ref=ref, key=key, data=body, require_key=require_key)
        outcomes.append(result)
    first, second = outcomes
    if first.outcome == "dead_lettered":
        expect(second.reasons == first.reasons, "the same input dead-lettered differently")
    else:
        expect(second.outcome == "duplicate", f"redelivery was {second.outcome}, not duplicate")
    expect(len(recent) <= 8, "the dedup list outgrew its window")


_APPLY_KINDS = frozenset(
    {"applied", "duplicate", "corrected", "retracted", "too_late", "unknown_correction"}
)


def check_state(events: list[Event], lateness_h: int = 48) -> None:
    """Apply ``events`` to one patient's state and snapshot it: nothing raises, every apply
    says what it did, every feature is finite or missing, and the state survives its own
    serialization (same snapshot after ``to_bytes``/``from_bytes``)."""
    state = PatientState(patient_id=PATIENT, lateness_ms=lateness_h * 3_600_000)
    with time_budget(what=f"apply {len(events)} events"):
        for event in events:
            result = state.apply(event)
            expect(result.kind in _APPLY_KINDS, f"apply said {result.kind!r}")
            if result.kind == "too_late":
                expect(not result.changed, "a too-late event changed the state")
    at = state.newest_ms if state.newest_ms is not None else EVENT_BASE_MS
    with time_budget(what="snapshot"):
        first = snapshot(state, at)
        later = snapshot(state, at + 6 * 3_600_000)
    for snap in (first, later):
        for name, value in snap.values.items():
            expect(
                value is None or (isinstance(value, float | int) and math.isfinite(value)),
                f"feature {name} = {value!r}",
            )
        msgspec.json.encode(snap)
    again = PatientState.from_bytes(state.to_bytes())
    expect(snapshot(again, at) == first, "snapshot differs after a state round trip")


@settings(
    database=None,
    deadline=None,
    max_examples=1,
    suppress_health_check=list(HealthCheck),
)
@given(
    events=st.lists(canonical_events(PATIENT), max_size=60),
    lateness_h=st.sampled_from([1, 48]),
)
def _state_property(events: list[Event], lateness_h: int) -> None:
    check_state(events, lateness_h)


def fuzz_state(data: bytes) -> None:
    """``PatientState.apply`` + ``snapshot`` over canonical events decoded from the bytes
    (hypothesis turns the bytes into structurally valid events)."""
    fuzz_one = _state_property.hypothesis.fuzz_one_input  # type: ignore[attr-defined]
    fuzz_one(data)


TARGETS: dict[str, Target] = {
    "fhir": fuzz_fhir,
    "hl7v2": fuzz_hl7v2,
    "json": fuzz_json,
    "psv": fuzz_psv,
    "normalize": fuzz_normalize,
    "ingest": fuzz_ingest,
    "state": fuzz_state,
}
"""Target name (also the corpus folder name) -> target."""


def describe(target: Target) -> str:
    """First line of a target's docstring."""
    return (target.__doc__ or "").strip().splitlines()[0]

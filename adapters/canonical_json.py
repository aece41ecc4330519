"""The service's own JSON -> canonical events.

Two shapes are taken:

- one canonical event object, as ``contract.events.encode`` writes it (``kind``-tagged);
- a batch ``{"msg_id": str, "patient_id": str, "events": [event, ...]}`` whose events may
  leave out ``patient_id``, ``source`` (default ``"json"``) and ``source_msg_id`` (default
  ``msg_id``); an event naming another patient is ``PATIENT_MISMATCH``.

Observations may name their ``signal`` (a signal of the code map) or give ``code`` as
``system|code``; their ``value`` is in ``unit`` and is converted and checked like any feed's.
Every other kind is validated against the contract types with msgspec (``SCHEMA`` with
msgspec's message on failure) and time-checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, get_args

import msgspec

from adapters.items import (
    COMPARATORS,
    MAX_EPOCH_MS,
    ItemContext,
    build_observation,
    check_time,
    lookup_coding,
    resolve_converter,
)
from adapters.limits import load_json_bounded
from adapters.result import AdapterResult, ItemError, MessageError, Reject
from contract.codemap import SignalSpec
from contract.events import Event, Observation, ObsStatus, Retraction, Source
from contract.reasons import Reason

DEFAULT_SOURCE: Source = "json"
_SOURCES: dict[str, Source] = {s: s for s in get_args(Source)}
_STATUSES: dict[str, ObsStatus] = {s: s for s in get_args(ObsStatus)}


def parse_json(document: Any, ctx: ItemContext, *, fallback_msg_id: str) -> AdapterResult:
    """Events from one decoded JSON document (a single event or a batch)."""
    if not isinstance(document, dict):
        raise MessageError(Reason.SCHEMA, "JSON message is not an object")
    if "kind" in document:
        return _single(document, ctx, fallback_msg_id)
    if "events" in document:
        return _batch(document, ctx)
    raise MessageError(Reason.SCHEMA, "neither an event (kind) nor a batch (events)")


def parse_json_text(text: str, ctx: ItemContext, *, fallback_msg_id: str) -> AdapterResult:
    """Events from the text of one JSON message: :func:`parse_json` of the bounded parse.

    A monitor frame (a batch of plain observations, every one of them accepted) is taken by
    :func:`parse_frame` instead, which gives the same result without building a dict per
    event; any other message, and any frame with a doubt, goes the general way.
    """
    frame = parse_frame(text, ctx)
    if frame is not None:
        return frame
    return parse_json(load_json_bounded(text, ctx.limits), ctx, fallback_msg_id=fallback_msg_id)


class _FrameEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A batch event as monitor gateways send it: an observation named by its signal, with
    no code, comparator or reference range. Any other field makes the decode fail."""

    kind: Literal["observation"]
    signal: str
    value: float | int
    unit: str
    obs_id: str
    time_ms: int
    patient_id: str | msgspec.UnsetType = msgspec.UNSET
    source: str = DEFAULT_SOURCE
    source_msg_id: str | msgspec.UnsetType = msgspec.UNSET
    status: str = "final"


class _Frame(msgspec.Struct, forbid_unknown_fields=True):
    """A batch of :class:`_FrameEvent` (no other top-level field)."""

    msg_id: str
    patient_id: str
    events: list[_FrameEvent]


_FRAME_DECODER = msgspec.json.Decoder(_Frame)
_FRAME_EVENT_FIELDS = len(_FrameEvent.__struct_fields__)
_FRAME_CONVERTERS: dict[tuple[str, str], tuple[SignalSpec, Callable[[float], float]]] = {}
"""(signal, unit as sent) -> the signal's spec and ``resolve_converter(spec, [unit])``, only
for units it accepted; valid while the code map hands out that same spec."""
_FRAME_CONVERTERS_MAX = 4096


def parse_frame(text: str, ctx: ItemContext) -> AdapterResult | None:
    """:func:`parse_json` of a monitor frame whose every event is accepted, else ``None``.

    ``None`` says nothing about the message: it is not of the frame's shape (another kind,
    a field beyond :class:`_FrameEvent`'s, a type msgspec refuses), or a check of
    :func:`_build_observation` or of the JSON limits would fail (or might: limits so low
    that a frame's shape alone does not prove them). The caller then takes the general
    path, which decides and words the rejects.
    So this path only has to agree with the general one on what it accepts: the same checks
    (patient, source, message id, obs_id, status, signal, unit, number, plausibility, time)
    and the same :class:`Observation` (tests/adapters/test_frame_fast_path.py).
    """
    limits = ctx.limits
    try:
        frame = _FRAME_DECODER.decode(text)
    except Exception:  # not JSON, not a frame (a ValidationError): the general path decides
        return None
    msg_id, patient_id, items = frame.msg_id, frame.patient_id, frame.events
    if (
        not 0 < len(msg_id) <= 200
        or not 0 < len(patient_id) <= 64
        or not items
        or len(items) > limits.max_items_per_message
        # The JSON limits: a frame's containers nest 3 deep (the batch, its events list,
        # an event) and it holds at most 4 values plus 11 per event (the batch, its 3
        # fields, each event and its at most 10 fields; a key repeated counts once, as in
        # the parsed document load_json_bounded checks).
        or limits.max_json_depth <= 3
        or 4 + (1 + _FRAME_EVENT_FIELDS) * len(items) > limits.max_json_nodes
    ):
        return None
    received = ctx.received_ms
    earliest, latest = 0, MAX_EPOCH_MS  # check_time's window
    if received is not None:
        earliest = max(earliest, received - limits.max_event_age_ms)
        latest = min(latest, received + limits.max_future_skew_ms)
    signals = ctx.codemap.signals
    events: list[Event] = []
    try:
        for item in items:
            named = item.patient_id
            source = _SOURCES.get(item.source)
            status = _STATUSES.get(item.status)
            spec = signals.get(item.signal)
            source_msg_id = msg_id if item.source_msg_id is msgspec.UNSET else item.source_msg_id
            obs_id = item.obs_id
            time_ms = item.time_ms
            value = item.value
            if type(value) is not float:
                value = float(value)  # an int, as parse_number reads it
            if (
                (named is not msgspec.UNSET and named != patient_id)
                or source is None
                or status is None
                or spec is None
                or not 0 < len(source_msg_id) <= 200
                or not 0 < len(obs_id) <= 200
                or not earliest <= time_ms <= latest
                or not math.isfinite(value)
            ):
                return None
            unit = item.unit
            known = _FRAME_CONVERTERS.get((spec.signal, unit))
            if known is not None and known[0] is spec:
                convert = known[1]
            else:
                convert = resolve_converter(spec, (unit,))
                if len(_FRAME_CONVERTERS) >= _FRAME_CONVERTERS_MAX:
                    _FRAME_CONVERTERS.clear()
                _FRAME_CONVERTERS[spec.signal, unit] = (spec, convert)
            canonical = convert(value)
            if not (
                math.isfinite(canonical) and spec.plausible_min <= canonical <= spec.plausible_max
            ):  # SignalSpec.plausible, inline
                return None
            events.append(
                Observation(
                    patient_id=patient_id,
                    time_ms=time_ms,
                    source=source,
                    source_msg_id=source_msg_id,
                    signal=spec.signal,
                    value=canonical,
                    unit=spec.unit,
                    obs_id=obs_id,
                    status=status,
                )
            )
    except Exception:  # a unit refused, a conversion failing: the general path says how
        return None
    return AdapterResult(tuple(events), (), patient_id, msg_id)


def _text(value: Any, limit: int = 200) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _single(event: dict[str, Any], ctx: ItemContext, fallback_msg_id: str) -> AdapterResult:
    patient_id = _text(event.get("patient_id"), 64)
    msg_id = _text(event.get("source_msg_id")) or fallback_msg_id
    if patient_id is None:
        return AdapterResult((), (), None, msg_id)
    try:
        built = _event(event, ctx)
    except ItemError as exc:
        return AdapterResult((), (Reject(exc.reason, exc.detail, 0),), patient_id, msg_id)
    return AdapterResult((built,), (), patient_id, msg_id)


def _batch(batch: dict[str, Any], ctx: ItemContext) -> AdapterResult:
    msg_id = _text(batch.get("msg_id"))
    if msg_id is None:
        raise MessageError(Reason.SCHEMA, "batch msg_id missing or not a string of 1-200")
    raw_events = batch.get("events")
    if not isinstance(raw_events, list):
        raise MessageError(Reason.SCHEMA, "batch events is not a list")
    if len(raw_events) > ctx.limits.max_items_per_message:
        raise MessageError(Reason.TOO_COMPLEX, f"{len(raw_events)} events in one batch")
    patient_id = _text(batch.get("patient_id"), 64)
    if patient_id is None:
        return AdapterResult((), (), None, msg_id)
    events: list[Event] = []
    rejects: list[Reject] = []
    for index, raw in enumerate(raw_events):
        try:
            if not isinstance(raw, dict):
                raise ItemError(Reason.SCHEMA, "batch event is not an object")
            named = raw.get("patient_id", patient_id)
            if named != patient_id:
                raise ItemError(Reason.PATIENT_MISMATCH, "event names another patient")
            if raw.get("kind") == "observation":
                # The batch defaults applied without building the filled-in copy (the
                # common case: a monitor frame of observations).
                events.append(
                    _build_observation(
                        raw,
                        ctx,
                        patient_id,
                        raw.get("source", DEFAULT_SOURCE),
                        raw.get("source_msg_id", msg_id),
                    )
                )
                continue
            filled = {
                "source": DEFAULT_SOURCE,
                "source_msg_id": msg_id,
                **raw,
                "patient_id": patient_id,
            }
            events.append(_event(filled, ctx))
        except ItemError as exc:
            rejects.append(Reject(exc.reason, exc.detail, index))
    return AdapterResult(tuple(events), tuple(rejects), patient_id, msg_id)


def _event(raw: dict[str, Any], ctx: ItemContext) -> Event:
    if raw.get("kind") == "observation":
        return _observation(raw, ctx)
    try:
        event: Event = msgspec.convert(raw, type=Event)
    except msgspec.ValidationError as exc:
        raise ItemError(Reason.SCHEMA, str(exc)[:300]) from None
    if isinstance(event, Retraction) and event.signal not in ctx.codemap.signals:
        raise ItemError(Reason.UNKNOWN_CODE, f"unknown signal {event.signal[:40]!r}")
    check_time(ctx, event.time_ms)
    return event


def _spec(raw: dict[str, Any], ctx: ItemContext) -> tuple[SignalSpec, str | None]:
    signal, code = raw.get("signal"), raw.get("code")
    if code is not None:
        if not isinstance(code, str) or not code.strip():
            raise ItemError(Reason.SCHEMA, "code is not a 'system|code' string")
        system, _, value = code.rpartition("|")
        spec, received = lookup_coding(ctx, [(system or None, value)])
        if signal is not None and signal != spec.signal:
            raise ItemError(Reason.SCHEMA, f"signal {str(signal)[:40]!r} disagrees with code")
        return spec, received
    if not isinstance(signal, str):
        raise ItemError(Reason.SCHEMA, "observation names neither signal nor code")
    spec_or_none = ctx.codemap.signals.get(signal)
    if spec_or_none is None:
        raise ItemError(Reason.UNKNOWN_CODE, f"unknown signal {signal[:40]!r}")
    return spec_or_none, None


def _observation(raw: dict[str, Any], ctx: ItemContext) -> Observation:
    return _build_observation(
        raw, ctx, str(raw.get("patient_id")), raw.get("source"), raw.get("source_msg_id")
    )


def _build_observation(
    raw: dict[str, Any], ctx: ItemContext, patient_id: str, source: Any, raw_msg_id: Any
) -> Observation:
    """An observation event whose patient, source and message id are already resolved."""
    spec, code = _spec(raw, ctx)
    obs_id = _text(raw.get("obs_id"))
    msg_id = _text(raw_msg_id)
    status = raw.get("status", "final")
    comparator = raw.get("comparator")
    if obs_id is None or msg_id is None:
        raise ItemError(Reason.SCHEMA, "obs_id and source_msg_id must be strings of 1-200")
    if not isinstance(source, str) or source not in _SOURCES:
        raise ItemError(Reason.SCHEMA, "source is not a known feed")
    if not isinstance(status, str) or status not in _STATUSES:
        raise ItemError(Reason.SCHEMA, "status is not preliminary/final/amended/corrected")
    if comparator is not None and (
        not isinstance(comparator, str) or comparator not in COMPARATORS
    ):
        raise ItemError(Reason.SCHEMA, "comparator is not one of < <= > >=")
    unit = raw.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise ItemError(Reason.SCHEMA, "unit is not a string")
    time_ms = raw.get("time_ms")
    time_value: int | ItemError = (
        time_ms
        if isinstance(time_ms, int) and not isinstance(time_ms, bool)
        else ItemError(Reason.BAD_TIME, "time_ms missing or not an integer")
    )
    value = raw.get("value")
    if isinstance(value, str):
        raise ItemError(Reason.NON_NUMERIC, "value is text, not a JSON number")
    return build_observation(
        ctx,
        spec=spec,
        code=code,
        value=value,
        units=[unit],
        time_ms=time_value,
        patient_id=patient_id,
        source=_SOURCES[source],
        source_msg_id=msg_id,
        obs_id=obs_id,
        status=_STATUSES[status],
        comparator=COMPARATORS[comparator] if comparator else None,
        ref_low=raw.get("ref_low"),
        ref_high=raw.get("ref_high"),
    )

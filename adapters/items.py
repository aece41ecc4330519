"""Per-item checks shared by every feed: code, unit, number, plausibility and event time.

Each adapter extracts the raw pieces of one observation and calls :func:`build_observation`,
which applies the checks in one fixed order (known code -> value present -> unit -> numeric
-> plausible -> time) and raises :class:`ItemError` with the first failing reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from adapters.limits import Limits
from adapters.result import ItemError
from contract.codemap import LOINC, CodeMap, SignalSpec, normalize_system
from contract.events import Observation, ObsStatus, Retraction, Source
from contract.reasons import Reason
from contract.units import DIMENSIONLESS_UNITS, UnitError, converter

Comparator = Literal["<", "<=", ">", ">="]
COMPARATORS: dict[str, Comparator] = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}
MAX_EPOCH_MS = 32503680000000  # contract EpochMs upper bound (year 3000)

# A decimal number with an optional comparator; deliberately not float(): "nan", "inf",
# "1_000" and "0x10" are not lab values.
# Callers strip the text first and the pattern has no unbounded run before a choice point,
# so matching is linear (a run of spaces ending in junk once took seconds); ASCII digits only.
_NUMBER = re.compile(
    r"(?P<cmp><=|>=|<|>)?[ \t]{0,8}(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,3})?)",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class ItemContext:
    """What the per-item checks need: the code map, the limits and the receive time.

    ``received_ms`` is ``None`` for file replays (PhysioNet), where there is no receive
    time to bound event times against.
    """

    codemap: CodeMap
    limits: Limits
    received_ms: int | None = None


def lookup_coding(
    ctx: ItemContext, codings: Sequence[tuple[str | None, str]]
) -> tuple[SignalSpec, str]:
    """The first (system, code) the code map knows, as (spec, ``system|code``).

    Raises ``ItemError(UNKNOWN_CODE)`` when none is known.
    """
    for system, code in codings:
        spec = ctx.codemap.lookup(system, code)
        if spec is not None:
            return spec, f"{normalize_system(system or LOINC)}|{code.strip()}"
    shown = ", ".join(f"{s or ''}|{c}" for s, c in codings[:3])[:120]
    raise ItemError(Reason.UNKNOWN_CODE, f"no known code among [{shown}]")


def parse_number(value: object) -> tuple[Comparator | None, float]:
    """(comparator, number) from a JSON number or numeric text such as ``">12.5"``.

    Raises ``ItemError``: ``MISSING_VALUE`` for ``None``/empty text, else ``NON_NUMERIC``.
    """
    if type(value) is float:  # the common case: a JSON number with a fraction
        if not math.isfinite(value):
            raise ItemError(Reason.NON_NUMERIC, "number not finite")
        return None, value
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ItemError(Reason.MISSING_VALUE, "no value")
    if isinstance(value, bool):
        raise ItemError(Reason.NON_NUMERIC, "boolean where a number was expected")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise ItemError(Reason.NON_NUMERIC, "number too large") from None
        if not math.isfinite(number):
            raise ItemError(Reason.NON_NUMERIC, "number not finite")
        return None, number
    if isinstance(value, str):
        match = _NUMBER.fullmatch(value.strip())
        if match is None:
            raise ItemError(Reason.NON_NUMERIC, f"not a number: {value[:40]!r}")
        number = float(match["num"])
        if not math.isfinite(number):
            raise ItemError(Reason.NON_NUMERIC, "number not finite")
        return (COMPARATORS[match["cmp"]] if match["cmp"] else None), number
    raise ItemError(Reason.NON_NUMERIC, f"{type(value).__name__} where a number was expected")


def resolve_converter(spec: SignalSpec, units: Sequence[str | None]) -> Callable[[float], float]:
    """Converter to ``spec.unit`` from the first usable unit spelling in ``units``.

    Several spellings arrive for one quantity (FHIR ``code`` then ``unit``). An empty list is
    ``MISSING_UNIT`` except for dimensionless signals (pH, scores, counts).
    """
    if len(units) == 1:  # the common case: one spelling, no list to build
        unit = units[0]
        if unit is not None and unit.strip():
            try:
                return converter(spec.signal, spec.unit, unit)
            except UnitError as exc:
                raise ItemError(exc.reason, exc.detail) from None
    given = [u for u in units if u is not None and u.strip()]
    if not given:
        if spec.unit in DIMENSIONLESS_UNITS:
            return converter(spec.signal, spec.unit, "")
        raise ItemError(Reason.MISSING_UNIT, f"no unit for {spec.signal}")
    first: UnitError | None = None
    for unit in given:
        try:
            return converter(spec.signal, spec.unit, unit)
        except UnitError as exc:
            first = first or exc
    assert first is not None
    raise ItemError(first.reason, first.detail)


def check_time(ctx: ItemContext, time_ms: int | ItemError | None) -> int:
    """The event time if it lies within the accepted window, else ``ItemError(BAD_TIME)``."""
    if isinstance(time_ms, ItemError):
        raise time_ms
    if time_ms is None:
        raise ItemError(Reason.BAD_TIME, "no event time")
    if not 0 <= time_ms <= MAX_EPOCH_MS:
        raise ItemError(Reason.BAD_TIME, "event time outside 1970-3000")
    if ctx.received_ms is not None:
        if time_ms > ctx.received_ms + ctx.limits.max_future_skew_ms:
            raise ItemError(Reason.BAD_TIME, "event time in the future")
        if time_ms < ctx.received_ms - ctx.limits.max_event_age_ms:
            raise ItemError(Reason.BAD_TIME, "event time older than the maximum age")
    return time_ms


def _reference(limit: object, convert: Callable[[float], float]) -> float | None:
    """A reference limit in the canonical unit; unusable limits stay ``None``.

    A bad reference range never rejects a good value: the rules fall back to the code map's
    default limits when the message's own are missing.
    """
    if limit is None:
        return None
    try:
        _, number = parse_number(limit)
        result = convert(number)
    except (ItemError, ArithmeticError):
        return None
    return result if math.isfinite(result) else None


def build_observation(
    ctx: ItemContext,
    *,
    spec: SignalSpec,
    code: str | None,
    value: object,
    units: Sequence[str | None],
    time_ms: int | ItemError | None,
    patient_id: str,
    source: Source,
    source_msg_id: str,
    obs_id: str,
    status: ObsStatus = "final",
    comparator: Comparator | None = None,
    ref_low: object = None,
    ref_high: object = None,
    ref_units: Sequence[str | None] = (),
) -> Observation:
    """One checked, converted :class:`Observation`, or ``ItemError`` with the first reason.

    ``value`` may carry its own comparator as text (``">12.5"``); an explicit ``comparator``
    argument wins. Reference limits use ``ref_units`` when given, else ``units``.
    ``time_ms`` may be the ``ItemError`` from parsing the feed's time: it is raised at the
    time step, so the reasons keep their order.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ItemError(Reason.MISSING_VALUE, f"no value for {spec.signal}")
    convert = resolve_converter(spec, units)
    text_comparator, raw = parse_number(value)
    canonical = convert(raw)
    if not math.isfinite(canonical):
        raise ItemError(Reason.NON_NUMERIC, f"{spec.signal} value overflowed in conversion")
    if not spec.plausible(canonical):
        raise ItemError(
            Reason.IMPLAUSIBLE,
            f"{spec.signal} {canonical:g} {spec.unit} outside "
            f"[{spec.plausible_min:g}, {spec.plausible_max:g}]",
        )
    event_time = check_time(ctx, time_ms)
    ref_convert = convert
    if ref_units and any(u is not None and u.strip() for u in ref_units):
        try:
            ref_convert = resolve_converter(spec, ref_units)
        except ItemError:
            ref_convert = _unusable
    final_comparator = comparator or text_comparator
    return Observation(
        patient_id=patient_id,
        time_ms=event_time,
        source=source,
        source_msg_id=source_msg_id,
        signal=spec.signal,
        value=canonical,
        unit=spec.unit,
        obs_id=obs_id,
        status=status,
        comparator=final_comparator,
        code=code,
        ref_low=None if ref_low is None else _reference(ref_low, ref_convert),
        ref_high=None if ref_high is None else _reference(ref_high, ref_convert),
    )


def _unusable(value: float) -> float:
    raise ArithmeticError("reference unit not convertible")


def build_retraction(
    ctx: ItemContext,
    *,
    spec: SignalSpec,
    time_ms: int | ItemError | None,
    patient_id: str,
    source: Source,
    source_msg_id: str,
    obs_id: str,
) -> Retraction:
    """A :class:`Retraction` of ``obs_id`` (time-checked like any event)."""
    return Retraction(
        patient_id=patient_id,
        time_ms=check_time(ctx, time_ms),
        source=source,
        source_msg_id=source_msg_id,
        signal=spec.signal,
        obs_id=obs_id,
    )

"""The shortcuts of the per-item checks (adapters/items.py) decide exactly as the general path.

A JSON number with a fraction skips the text parsing of :func:`parse_number`, and a single
unit spelling skips building the list of spellings in :func:`resolve_converter`; the
results and the reasons of the rejects must not change.
"""

from __future__ import annotations

import math

import pytest

from adapters.items import parse_number, resolve_converter
from adapters.result import ItemError
from contract.codemap import default_codemap
from contract.reasons import Reason

CODEMAP = default_codemap()


@pytest.mark.parametrize("value", [0.0, -1.5, 37.2, 1e300, 5e-324])
def test_a_float_is_taken_as_is(value: float) -> None:
    assert parse_number(value) == (None, value)
    assert parse_number(value) == parse_number(repr(value))  # as the text path reads it


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_float_is_non_numeric(value: float) -> None:
    with pytest.raises(ItemError) as err:
        parse_number(value)
    assert err.value.reason == Reason.NON_NUMERIC


@pytest.mark.parametrize(
    ("signal", "unit"),
    [("temp", "Cel"), ("temp", "[degF]"), ("temp", " degF "), ("crp", "mg/dL"), ("hr", "bpm")],
)
def test_one_unit_converts_as_in_a_list_of_spellings(signal: str, unit: str) -> None:
    spec = CODEMAP.signal(signal)
    one = resolve_converter(spec, [unit])
    listed = resolve_converter(spec, [None, "", unit])
    assert one(12.5) == listed(12.5)


@pytest.mark.parametrize(
    ("signal", "units", "reason"),
    [
        ("temp", ["mg/dL"], Reason.WRONG_UNIT),
        ("temp", ["no-such-unit"], None),
        ("hr", [None], Reason.MISSING_UNIT),
        ("hr", ["  "], Reason.MISSING_UNIT),
    ],
)
def test_one_unit_is_rejected_as_in_a_list_of_spellings(
    signal: str, units: list[str | None], reason: Reason | None
) -> None:
    spec = CODEMAP.signal(signal)
    with pytest.raises(ItemError) as one:
        resolve_converter(spec, units)
    with pytest.raises(ItemError) as listed:
        resolve_converter(spec, [None, *units])
    assert (one.value.reason, one.value.detail) == (listed.value.reason, listed.value.detail)
    if reason is not None:
        assert one.value.reason == reason

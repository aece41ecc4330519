"""Band tables: criteria thresholds written as data, read top to bottom.

A table is a tuple of :class:`Band` rows. :func:`classify` returns the first row whose
inequality holds, so a table lists the most severe band first (``> 20 x ULN`` before
``> 5 x ULN``). Writing the operator in each row keeps strict and non-strict inequalities
exactly as published and visible in review.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Literal, NamedTuple

Op = Literal[">", ">=", "<", "<="]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class Band(NamedTuple):
    """One row of a criteria table: ``value <op> threshold`` gives ``level``."""

    op: Op
    threshold: float
    level: int
    label: str


def holds(value: float, op: Op, threshold: float) -> bool:
    """Whether ``value <op> threshold``."""
    return _OPS[op](value, threshold)


def classify(value: float, table: tuple[Band, ...]) -> Band | None:
    """The first band whose inequality holds, ``None`` when none does (the normal band)."""
    for band in table:
        if holds(value, band.op, band.threshold):
            return band
    return None


def fmt(value: float) -> str:
    """A number as a clinician reads it: ``38.6``, ``90``, ``3.25``."""
    rounded = round(float(value), 3)
    if rounded == int(rounded) and abs(rounded) < 1e15:
        return f"{int(rounded)}"
    return f"{rounded}"

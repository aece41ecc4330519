"""Size and complexity limits for input messages, and a JSON loader that enforces them.

The loader parses with msgspec (a C parser) and then walks the document iteratively with an
explicit stack, so neither a deep nor a wide document can exhaust the Python stack or make the
adapters walk millions of nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from adapters.result import MessageError
from contract.reasons import Reason

_TEN_YEARS_MS = 3650 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Limits:
    """Ingestion limits (mirrors the ``EWS_MAX_*`` settings; seconds/days become ms here)."""

    max_message_bytes: int = 1_048_576
    max_json_depth: int = 32
    max_items_per_message: int = 500
    """Most observations (OBX segments, Bundle entries, batch events, components)."""
    max_future_skew_ms: int = 300_000
    max_event_age_ms: int = _TEN_YEARS_MS
    max_json_nodes: int = 200_000
    """Most JSON values (objects, arrays, scalars) in one document."""
    max_hl7_segments: int = 5_000
    """Most segments in one HL7 v2 message (OBX plus NTE and other segments)."""


def load_json_bounded(data: bytes | str, limits: Limits) -> Any:
    """Parse JSON and check its depth and size against ``limits``.

    Raises :class:`MessageError` with ``MALFORMED`` (not JSON) or ``TOO_COMPLEX`` (deeper
    than ``max_json_depth`` or more than ``max_json_nodes`` values).
    """
    try:
        document = msgspec.json.decode(data)
    except RecursionError:
        # msgspec guards its own C recursion and raises this for absurd nesting: it is a
        # complexity problem of the input, not a parser crash.
        raise MessageError(Reason.TOO_COMPLEX, "JSON nested beyond the parser's limit") from None
    except (msgspec.DecodeError, ValueError) as exc:
        raise MessageError(Reason.MALFORMED, f"not JSON: {exc}") from None
    if not _within_limits_by_size(data, limits):
        check_json_complexity(document, limits)
    return document


def _within_limits_by_size(data: bytes | str, limits: Limits) -> bool:
    """True when the text alone proves the limits hold, so the walk can be skipped.

    Every JSON value takes at least one character, so a text no longer than
    ``max_json_nodes`` cannot hold more values; a non-empty container at depth ``d`` sits
    inside ``d - 1`` others, so fewer than ``max_json_depth`` opening brackets (counted
    anywhere, strings included, which only over-counts) cannot nest too deep. Typical feed
    messages pass both in C-speed counts; the rest are walked.
    """
    if len(data) > limits.max_json_nodes:
        return False
    if isinstance(data, bytes):
        brackets = data.count(b"[") + data.count(b"{")
    else:
        brackets = data.count("[") + data.count("{")
    return brackets < limits.max_json_depth


def check_json_complexity(document: Any, limits: Limits) -> None:
    """Iteratively count depth and values; raises ``MessageError(TOO_COMPLEX)``.

    The top-level value is at depth 1; a scalar or empty container at ``max_json_depth``
    is accepted, a non-empty one is not.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_json_nodes:
            raise MessageError(Reason.TOO_COMPLEX, f"more than {limits.max_json_nodes} values")
        if isinstance(value, dict | list) and value:
            if depth >= limits.max_json_depth:
                raise MessageError(Reason.TOO_COMPLEX, f"deeper than {limits.max_json_depth}")
            # Count before pushing, so one huge array is refused without copying it.
            if nodes + len(stack) + len(value) > limits.max_json_nodes:
                raise MessageError(Reason.TOO_COMPLEX, f"more than {limits.max_json_nodes} values")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)

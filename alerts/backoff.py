"""Retry timing: exponential backoff with jitter, and the ``Retry-After`` header.

Equal jitter (half fixed, half random) rather than full jitter: the delay still spreads
retries of many workers apart, and never collapses to zero, so a struggling endpoint always
gets a breather that grows with each attempt.
"""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (0 for the first retry), in seconds:
    ``d/2 + uniform(0, d/2)`` with ``d = min(cap, base * 2**attempt)``."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    d = min(cap_s, base_s * (2.0 ** min(attempt, 62)))
    return d / 2 + rng.uniform(0.0, d / 2)


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date);
    ``None`` when absent or unreadable. Never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(int(text)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_s)

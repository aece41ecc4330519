"""A time-ordered column store of one signal's points, and window lookups on it.

Columns rather than one object per point: a point costs a few list slots instead of a
Python object with a dict, the windows are ``bisect`` on the time column, and ``min`` /
``max`` / ``sum`` run in C over a slice of the value column. msgspec serializes the struct
as one array per column.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import msgspec

# Observation status as a small int; the rank decides which version of an obs_id wins.
STATUS_CODES: dict[str, int] = {"preliminary": 0, "final": 1, "amended": 2, "corrected": 3}
STATUS_NAMES: tuple[str, ...] = ("preliminary", "final", "amended", "corrected")


def status_rank(code: int) -> int:
    """0 preliminary < 1 final < 2 amended/corrected: a lower rank never replaces a higher."""
    return min(code, 2)


class Series(msgspec.Struct, kw_only=True):
    """Points of one signal sorted by time (equal times keep insertion order)."""

    t: list[int] = []
    """Event times, ms."""
    v: list[float] = []
    obs: list[str | None] = []
    """``obs_id`` of Observations; ``None`` for points taken from other event kinds."""
    msg: list[str] = []
    """``source_msg_id`` of the message that carried the point."""
    st: list[int] = []
    """Status code (``STATUS_CODES``)."""
    lo: list[float | None] = []
    """The message's own LLN (``ref_low``)."""
    hi: list[float | None] = []
    """The message's own ULN (``ref_high``)."""

    def __len__(self) -> int:
        return len(self.t)

    def insert(
        self,
        time_ms: int,
        value: float,
        obs_id: str | None,
        msg_id: str,
        status: int = 1,
        ref_low: float | None = None,
        ref_high: float | None = None,
    ) -> None:
        """Add a point after any points with the same time."""
        i = bisect_right(self.t, time_ms)
        if i == len(self.t):  # the common in-order case: append is cheaper than insert
            self.t.append(time_ms)
            self.v.append(value)
            self.obs.append(obs_id)
            self.msg.append(msg_id)
            self.st.append(status)
            self.lo.append(ref_low)
            self.hi.append(ref_high)
            return
        self.t.insert(i, time_ms)
        self.v.insert(i, value)
        self.obs.insert(i, obs_id)
        self.msg.insert(i, msg_id)
        self.st.insert(i, status)
        self.lo.insert(i, ref_low)
        self.hi.insert(i, ref_high)

    def find(self, time_ms: int, obs_id: str) -> int | None:
        """Index of the point with this ``obs_id`` at ``time_ms``, else ``None``."""
        i = bisect_left(self.t, time_ms)
        n = len(self.t)
        while i < n and self.t[i] == time_ms:
            if self.obs[i] == obs_id:
                return i
            i += 1
        return None

    def remove(self, i: int) -> None:
        """Delete the point at index ``i``."""
        for column in (self.t, self.v, self.obs, self.msg, self.st, self.lo, self.hi):
            del column[i]

    def keep(self, indices: list[int]) -> None:
        """Keep only the points at ``indices`` (ascending), dropping the rest."""
        self.t = [self.t[i] for i in indices]
        self.v = [self.v[i] for i in indices]
        self.obs = [self.obs[i] for i in indices]
        self.msg = [self.msg[i] for i in indices]
        self.st = [self.st[i] for i in indices]
        self.lo = [self.lo[i] for i in indices]
        self.hi = [self.hi[i] for i in indices]

    def thinned(self, up_to_ms: int, bucket_ms: int) -> list[int] | None:
        """Indices to keep when points with ``t <= up_to_ms`` are reduced to at most two per
        ``bucket_ms`` bucket of event time: the lowest and the highest value (ties: the
        earliest, then by ids), so window extremes stay exact. ``None``: nothing to drop.

        Order-independent: thinning a bucket again after more points arrived keeps the same
        two points as thinning all of them once.
        """
        t, v, obs, msg = self.t, self.v, self.obs, self.msg
        end = bisect_right(t, up_to_ms)
        keep: list[int] = []
        dropped = False
        i = 0
        while i < end:
            bucket = t[i] // bucket_ms
            j = i + 1
            while j < end and t[j] // bucket_ms == bucket:
                j += 1
            if j - i <= 2:
                keep.extend(range(i, j))
            else:
                span = range(i, j)
                low = min(span, key=lambda k: (v[k], t[k], obs[k] or "", msg[k]))
                high = min(span, key=lambda k: (-v[k], t[k], obs[k] or "", msg[k]))
                keep.extend(sorted({low, high}))
                dropped = True
            i = j
        if not dropped:
            return None
        keep.extend(range(end, len(t)))
        return keep

    def drop_before(self, index: int) -> None:
        """Drop the points before ``index`` (cheaper than :meth:`keep` for a prefix)."""
        for column in (self.t, self.v, self.obs, self.msg, self.st, self.lo, self.hi):
            del column[:index]

    def last_index(self, at_ms: int) -> int | None:
        """Index of the latest point at or before ``at_ms``."""
        i = bisect_right(self.t, at_ms) - 1
        return i if i >= 0 else None

    def window(self, at_ms: int, window_ms: int) -> tuple[int, int]:
        """Index range ``[lo, hi)`` of the points in the half-open window
        ``(at_ms - window_ms, at_ms]``."""
        return bisect_right(self.t, at_ms - window_ms), bisect_right(self.t, at_ms)

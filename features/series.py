"""A time-ordered column store of one signal's points, and window lookups on it.

Columns rather than one object per point: a point costs a few list slots instead of a
Python object with a dict, the windows are ``bisect`` on the time column, and ``min`` /
``max`` / ``sum`` run in C over a slice of the value column. msgspec serializes the struct
as one array per column.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

# Observation status as a small int; the rank decides which version of an obs_id wins.
STATUS_CODES: dict[str, int] = {"preliminary": 0, "final": 1, "amended": 2, "corrected": 3}
STATUS_NAMES: tuple[str, ...] = ("preliminary", "final", "amended", "corrected")


def status_rank(code: int) -> int:
    """0 preliminary < 1 final < 2 amended/corrected: a lower rank never replaces a higher."""
    return min(code, 2)


class Series(msgspec.Struct, kw_only=True, dict=True):
    """Points of one signal sorted by time (equal times keep insertion order).

    The columns are changed only through the methods below (they keep the columns the same
    length and forget the kept encoding, see :meth:`encoded`). ``dict=True`` gives each
    series a ``__dict__`` for that private cache, which msgspec neither encodes nor compares.
    """

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
            self._push(time_ms, value, obs_id, msg_id, status, ref_low, ref_high)
            return
        self._forget_encoding()
        self.t.insert(i, time_ms)
        self.v.insert(i, value)
        self.obs.insert(i, obs_id)
        self.msg.insert(i, msg_id)
        self.st.insert(i, status)
        self.lo.insert(i, ref_low)
        self.hi.insert(i, ref_high)

    def append(
        self,
        time_ms: int,
        value: float,
        obs_id: str | None,
        msg_id: str,
        status: int,
        ref_low: float | None,
        ref_high: float | None,
    ) -> None:
        """Add a point known to be later than every stored point (:meth:`insert` without
        the search)."""
        self.t.append(time_ms)
        self.v.append(value)
        self.obs.append(obs_id)
        self.msg.append(msg_id)
        self.st.append(status)
        self.lo.append(ref_low)
        self.hi.append(ref_high)

    _push = append  # insert's in-order case (bound here, so replacing append leaves it)

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
        self._forget_encoding()
        for column in (self.t, self.v, self.obs, self.msg, self.st, self.lo, self.hi):
            del column[i]

    def keep(self, indices: list[int]) -> None:
        """Keep only the points at ``indices`` (ascending), dropping the rest."""
        self._forget_encoding()
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
        self._forget_encoding()
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

    # --- encoding -------------------------------------------------------------------------

    def encoded(self) -> bytes:
        """The msgpack encoding of this series, byte for byte what msgspec writes for it."""
        out: list[bytes | bytearray] = []
        self.encoded_parts(out)
        return b"".join(out)

    def encoded_parts(self, out: list[bytes | bytearray]) -> None:
        """Append the pieces of :meth:`encoded` to ``out`` (to be joined once, with others).

        A monitored patient's record is encoded again after every batch that touched it,
        while its series only grew at their end: the encoded columns are kept (from
        ``INCREMENTAL_FROM`` points on), and only the points added since are encoded and
        appended to them. Any other change (an insert before the end, a removal, pruning)
        forgets them, and so does a column replaced by another list.
        """
        columns: tuple[list[Any], ...] = (
            self.t,
            self.v,
            self.obs,
            self.msg,
            self.st,
            self.lo,
            self.hi,
        )
        n = len(self.t)
        if n < INCREMENTAL_FROM or any(len(c) != n for c in columns):
            self._forget_encoding()
            out.append(_ENCODER.encode(self))
            return
        kept: _EncodedColumns | None = self.__dict__.get(_CACHE)
        if (
            kept is None
            or kept.n > n
            or any(a is not b for a, b in zip(kept.columns, columns, strict=True))
        ):
            parts = [bytearray(_items(c)) for c in columns]
        else:
            parts = kept.parts
            if kept.n < n:
                for part, column in zip(parts, columns, strict=True):
                    part.extend(_items(column[kept.n :]))
        self.__dict__[_CACHE] = _EncodedColumns(n, columns, parts)
        header = msgpack_header(n, "array")
        out.append(_MAP_HEADER)
        for key, part in zip(_KEYS, parts, strict=True):
            out += (key, header, part)

    def _forget_encoding(self) -> None:
        self.__dict__.pop(_CACHE, None)


INCREMENTAL_FROM = 256
"""Series shorter than this are encoded whole (it is cheap, and saves keeping the bytes).
Longer ones keep their encoding beside the columns: about their stored size again in memory
(a 24 h monitored record: ~2.8 MiB more, beside ~7.9 MiB decoded)."""

_CACHE = "_encoded_columns"
_ENCODER = msgspec.msgpack.Encoder()
_FIELDS: tuple[str, ...] = Series.__struct_fields__
_KEYS: tuple[bytes, ...] = tuple(_ENCODER.encode(name) for name in _FIELDS)
_MAP_HEADER = bytes([0x80 | len(_FIELDS)])  # msgpack fixmap: a struct of up to 15 fields
assert len(_FIELDS) <= 15 and _FIELDS == ("t", "v", "obs", "msg", "st", "lo", "hi")


@dataclass(slots=True)
class _EncodedColumns:
    """The encoded items of each column (``parts``) for its first ``n`` points, and the
    column lists they were taken from."""

    n: int
    columns: tuple[list[Any], ...]
    parts: list[bytearray]


def msgpack_header(count: int, kind: Literal["array", "map"]) -> bytes:
    """The msgpack header of an array of ``count`` items or a map of ``count`` entries
    (fixarray/fixmap, 16-bit or 32-bit count)."""
    fix, wide = (0x90, b"\xdc") if kind == "array" else (0x80, b"\xde")
    if count < 16:
        return bytes([fix | count])
    if count < 0x10000:
        return wide + count.to_bytes(2, "big")
    return bytes([wide[0] + 1]) + count.to_bytes(4, "big")


def _items(values: list[Any]) -> bytes:
    """The msgpack encoding of ``values`` without its array header: each item is encoded
    on its own (msgpack has no context), so item encodings concatenate."""
    return _ENCODER.encode(values)[len(msgpack_header(len(values), "array")) :]

"""Decoded patient records kept between batches, valid only while the stored bytes are unchanged.

A monitored patient's record is touched by nearly every batch; decoding it each time (a
24 h record of a 1 Hz monitor is ~2 MiB of msgpack) cost more than everything else done for
that patient. The cache keeps the decoded record beside the exact bytes written to the table
and hands it out only when the table still holds those bytes, so a record restored from the
changelog, written by another worker before a rebalance, or changed in any other way is
decoded afresh. Small records (ward patients) are cheap to decode and are not kept; the
largest ``max_entries`` recently used records are.
"""

from __future__ import annotations

from collections import OrderedDict

from streams.pipeline import PatientRecord, decode_record

MIN_BYTES = 16_384
"""Records smaller than this are decoded every time (it costs microseconds)."""


class RecordCache:
    """Least-recently-used decoded records, keyed by table key, checked against stored bytes."""

    def __init__(self, max_entries: int = 2_000, min_bytes: int = MIN_BYTES) -> None:
        self.max_entries = max_entries
        self.min_bytes = min_bytes
        self._entries: OrderedDict[bytes, tuple[bytes, PatientRecord]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, key: bytes, stored: bytes | None) -> PatientRecord | None:
        """The record the table holds as ``stored`` (``None`` when there is none)."""
        if not stored:
            self._entries.pop(key, None)
            return None
        entry = self._entries.get(key)
        if entry is not None and (entry[0] is stored or entry[0] == stored):
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]
        self.misses += 1
        return decode_record(stored)

    def stored(self, key: bytes, value: bytes, record: PatientRecord) -> None:
        """``record`` was just encoded as ``value`` and written under ``key``."""
        if len(value) < self.min_bytes or self.max_entries <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (value, record)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        """Forget ``key`` (its decoded record may have changed without being written)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything (after a failed batch)."""
        self._entries.clear()

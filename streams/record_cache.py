"""Decoded patient records kept between batches, valid only while the stored bytes are unchanged.

A monitored patient's record is touched by nearly every batch; decoding it each time (a
24 h record of a 1 Hz monitor is ~2 MiB of msgpack) cost more than everything else done for
that patient. The cache keeps the decoded record beside the exact bytes written to the table
and hands it out only when the table still holds those bytes, so a record restored from the
changelog, written by another worker before a rebalance, or changed in any other way is
decoded afresh. The most recently used records are kept, up to ``max_bytes`` of their stored
size (a decoded record takes about three times its msgpack size in memory when it is large,
five to six times when it is a few KiB: 256 MiB stored is ~0.75 GiB of monitored patients,
at most ~1.4 GiB of ward patients, which needs ~20,000 of them on one worker). Series of
256 points or more also keep their own encoding (``features.series.INCREMENTAL_FROM``), about
the stored size once more: ~1 GiB for 256 MiB of monitored patients.

Small records are kept too (``MIN_BYTES`` was 16 KiB): decoding one costs only tens of
microseconds, but each decoded record is ~70 lists and structs that live for the whole batch,
so the garbage collector promoted them to its oldest generation and ran a full collection
every batch or two. That was a third of the CPU time of 1,000 patients sending monitor
frames (load_tests/inprocess.py); kept between batches, the records are promoted once.
"""

from __future__ import annotations

from collections import OrderedDict

from streams.pipeline import PatientRecord, decode_record

MIN_BYTES = 0
"""Records smaller than this are decoded every time (see the module docstring)."""


class RecordCache:
    """Least-recently-used decoded records, keyed by table key, checked against stored bytes."""

    def __init__(self, max_bytes: int = 256 * 2**20, min_bytes: int = MIN_BYTES) -> None:
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        self._entries: OrderedDict[bytes, tuple[bytes, PatientRecord]] = OrderedDict()
        self._bytes = 0
        """Stored size of the cached records (what ``max_bytes`` bounds)."""
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, key: bytes, stored: bytes | None) -> PatientRecord | None:
        """The record the table holds as ``stored`` (``None`` when there is none)."""
        if not stored:
            self.discard(key)
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
        self.discard(key)
        if len(value) < self.min_bytes or len(value) > self.max_bytes:
            return
        self._entries[key] = (value, record)
        self._bytes += len(value)
        while self._bytes > self.max_bytes:
            _, (old, _) = self._entries.popitem(last=False)
            self._bytes -= len(old)

    def discard(self, key: bytes) -> None:
        """Forget ``key`` (its decoded record may have changed without being written)."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[0])

    def clear(self) -> None:
        """Forget everything (after a failed batch)."""
        self._entries.clear()
        self._bytes = 0

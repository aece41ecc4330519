"""Patient records changed by processed batches and not yet written to the state table.

The worker writes a patient's record when the input offsets behind it are committed, not
after every batch (docs/performance.md, "State"). A monitored patient is touched by nearly
every batch; with a batch every few tens of milliseconds, writing the whole record (tens of
KiB to MiB) to the changelog each time was most of what one worker could not afford. Held
here instead, each changed record is encoded and written once per commit (every
``EWS_COMMIT_INTERVAL_S``), right before the offsets are committed.

At-least-once holds as before: an input offset is committed only after the records that
include its message are on the broker (the flush runs inside the commit, see
``streams.transport.TunedConsumer._commit``). A worker that dies with records pending has
committed none of their inputs, so its successor reads those messages again and rebuilds the
same records. A failed batch leaves records half changed in memory: :meth:`PendingRecords.fail`
discards them and the worker refuses every later commit, so nothing half-done is written.
"""

from __future__ import annotations

from typing import Any

from streams.pipeline import PatientRecord


class PendingRecords:
    """Changed records by table key, each with the Faust event of its patient's last message
    (the table's store and the changelog partition are picked from that event)."""

    def __init__(self) -> None:
        self._records: dict[bytes, tuple[PatientRecord, Any]] = {}
        self.failed: str | None = None
        """Why the records were discarded: no commit may happen after it (set once)."""

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: bytes) -> PatientRecord | None:
        """The pending record of ``key`` (newer than the table's), or ``None``."""
        entry = self._records.get(key)
        return entry[0] if entry is not None else None

    def put(self, key: bytes, record: PatientRecord, event: Any) -> None:
        """``record`` was changed by a batch whose last message for it came in ``event``."""
        self._records[key] = (record, event)

    def take(self) -> dict[bytes, tuple[PatientRecord, Any]]:
        """Every pending record, emptying the buffer (to be written now)."""
        records, self._records = self._records, {}
        return records

    def fail(self, reason: str) -> None:
        """A batch failed part way: its records may be half changed, so drop them all."""
        self._records.clear()
        if self.failed is None:
            self.failed = reason

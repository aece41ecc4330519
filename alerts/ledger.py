"""The delivery ledger: which transitions a sink has already delivered.

Every delivery carries an idempotency key, the transition's alert id (deterministic, so a
replay after a worker restart makes the same ids). A sink asks the ledger before sending and
writes the outcome after, so the same transition never pages twice. The worker backs the
ledger by a Faust table (a table can only be written from a stream, so its ``put`` typically
sends the record to a topic whose agent updates the table); :class:`InMemoryLedger` is the
in-process implementation for tests and single-process tools.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal, Protocol

import msgspec

LEDGER_VERSION = "1"

DeliveryStatus = Literal["delivered", "dead_lettered"]


class DeliveryRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The outcome of delivering one transition to one sink (the ledger's value)."""

    version: str = LEDGER_VERSION
    sink: str
    key: str
    """Idempotency key: the alert id of the transition."""
    status: DeliveryStatus
    attempts: int
    updated_ms: int
    http_status: int | None = None
    reason: str = ""
    """Why it was dead-lettered (``http_400``, ``timeout``, ``queue_full``...)."""


def ledger_key(sink: str, key: str) -> str:
    """The table key of one delivery: sink name and idempotency key."""
    return f"{sink}/{key}"


class DeliveryLedger(Protocol):
    """Where sinks look up and record deliveries (async: a table-backed ledger may wait)."""

    async def get(self, sink: str, key: str) -> DeliveryRecord | None:
        """The recorded outcome of this delivery, ``None`` if never recorded."""
        ...

    async def put(self, record: DeliveryRecord) -> None:
        """Record an outcome (replaces an earlier one for the same sink and key)."""
        ...


class InMemoryLedger:
    """A bounded in-memory ledger: the oldest entries go first when it is full."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self._records: OrderedDict[str, DeliveryRecord] = OrderedDict()

    async def get(self, sink: str, key: str) -> DeliveryRecord | None:
        """The recorded outcome, ``None`` if never recorded (or evicted)."""
        return self._records.get(ledger_key(sink, key))

    async def put(self, record: DeliveryRecord) -> None:
        """Record an outcome, evicting the oldest entry beyond ``max_entries``."""
        k = ledger_key(record.sink, record.key)
        self._records[k] = record
        self._records.move_to_end(k)
        while len(self._records) > self.max_entries:
            self._records.popitem(last=False)

    @property
    def size(self) -> int:
        """Entries held (not ``__len__``: an empty ledger must not be falsy)."""
        return len(self._records)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(DeliveryRecord)


def encode_delivery(record: DeliveryRecord) -> bytes:
    """JSON bytes of a ledger record (the table's value serializer)."""
    return _encoder.encode(record)


def decode_delivery(data: bytes | str) -> DeliveryRecord:
    """Parse and validate a ledger record."""
    return _decoder.decode(data)

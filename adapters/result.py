"""What an adapter hands back: the events it built and the parts it could not accept."""

from __future__ import annotations

from dataclasses import dataclass

from contract.events import Event
from contract.reasons import Reason


@dataclass(frozen=True, slots=True)
class Reject:
    """One part of a message (or the whole, ``item=None``) that was not accepted.

    ``item`` is the index of the part inside its message: the Bundle entry, the OBX segment
    (0-based among the OBX segments), the batch event or the PSV row. A single resource or
    event on its own is item 0.
    """

    reason: Reason
    detail: str
    item: int | None = None


@dataclass(frozen=True, slots=True)
class AdapterResult:
    """The events and rejects of one message, with the patient and id named in its body."""

    events: tuple[Event, ...]
    rejects: tuple[Reject, ...]
    patient_id: str | None
    source_msg_id: str | None


class MessageError(Exception):
    """The whole message cannot be accepted (raised inside adapters, never past normalize)."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class ItemError(Exception):
    """One part of a message cannot be accepted; the adapter records it with its index."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

"""A simulated message: the unit a feed delivers, carrying one or more canonical events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contract.events import Event

Artifact = Literal["charting_error", "correction", "entered_in_error", "retraction", "duplicate"]
ARTIFACTS: tuple[Artifact, ...] = (
    "charting_error",
    "correction",
    "entered_in_error",
    "retraction",
    "duplicate",
)


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One delivered message.

    ``channel`` says what produced it (``vitals``, ``lab.<panel>``, ``neuro``, ``infusion``,
    ``treatment``, ``support``, ``context``) and decides how exporters group it (one FHIR
    Bundle or one HL7 ORU^R01 per message). ``artifact`` marks deliberately injected feed
    problems so tests and evaluation can tell them from physiology.
    """

    arrival_ms: int
    msg_id: str
    channel: str
    events: tuple[Event, ...]
    artifact: Artifact | None = None
    sent_ms: int | None = None
    """When the sender composed it, if not at arrival (a duplicate is the same message
    resent later, so it keeps the original's timestamps)."""

    @property
    def composed_ms(self) -> int:
        """Timestamp the message itself carries (MSH-7, Bundle.timestamp)."""
        return self.sent_ms if self.sent_ms is not None else self.arrival_ms

    @property
    def time_ms(self) -> int:
        """Event time of the message (its earliest event)."""
        return min(e.time_ms for e in self.events)

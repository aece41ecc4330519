"""Deterministic, opaque identifiers of incidents and alerts.

- ``dedup_key`` = HMAC-SHA256(site secret, patient | risk | episode): one per incident, the
  same for its trigger, escalations, acknowledgement and resolution (the grade is in the
  payload, not the key), and what PagerDuty groups an incident by. A keyed hash, because a
  plain hash of a medical record number can be reversed by trying every number; without the
  secret the key says nothing about the patient.
- ``alert_id`` = SHA-256(dedup key | transition sequence number): one per transition. A replay
  of the same inputs makes the same transitions with the same numbers, hence the same ids,
  which is what lets the delivery ledger skip what was already delivered.
"""

from __future__ import annotations

import hashlib
import hmac

DEDUP_PREFIX = "ews-"
ALERT_PREFIX = "al-"


def dedup_key(patient_id: str, risk: str, episode: int, secret: bytes) -> str:
    """The incident key (68 characters, well under PagerDuty's 255)."""
    msg = f"{patient_id}\x1f{risk}\x1f{episode}".encode()
    return DEDUP_PREFIX + hmac.new(secret, msg, hashlib.sha256).hexdigest()


def alert_id(dedup: str, seq: int) -> str:
    """The id of transition ``seq`` of the incident family behind ``dedup``."""
    return ALERT_PREFIX + hashlib.sha256(f"{dedup}\x1f{seq}".encode()).hexdigest()[:32]

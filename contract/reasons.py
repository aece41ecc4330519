"""Stable reason codes for dead-lettered input, counted in metrics and written on each record.

The values are part of the contract: dashboards and alert rules group by them, so add new
codes rather than renaming old ones.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a message (or one part of it) was not accepted."""

    OVERSIZED = "oversized"
    """Larger than the configured message size limit."""
    NOT_UTF8 = "not_utf8"
    """Bytes are not valid UTF-8 text."""
    MALFORMED = "malformed"
    """Not parseable in the topic's format (bad JSON, broken HL7 segments...)."""
    TOO_COMPLEX = "too_complex"
    """Too many fields, entries or nesting levels for the configured limits."""
    SCHEMA = "schema"
    """Parseable but a field is missing, of the wrong type, or out of its allowed set."""
    MISSING_KEY = "missing_key"
    """No Kafka message key: inputs must be keyed by patient id so one patient's events stay
    in one partition (and one worker's state)."""
    MISSING_PATIENT_ID = "missing_patient_id"
    """No patient id, or one that is not a valid identifier."""
    PATIENT_MISMATCH = "patient_mismatch"
    """The Kafka key names a different patient than the message body."""
    UNSUPPORTED = "unsupported"
    """A resource, message type or status the service does not take (e.g. FHIR Patient)."""
    UNKNOWN_CODE = "unknown_code"
    """No coding on the observation is in the code map."""
    MISSING_UNIT = "missing_unit"
    """A quantity without a unit."""
    WRONG_UNIT = "wrong_unit"
    """A unit that cannot be converted to the signal's canonical unit."""
    MISSING_VALUE = "missing_value"
    """No value (HL7 OBX-11 X, FHIR dataAbsentReason, empty OBX-5)."""
    NON_NUMERIC = "non_numeric"
    """A value that should be a number but is not."""
    IMPLAUSIBLE = "implausible"
    """Outside the code map's plausible range for the signal (SpO2 140, HR -5)."""
    BAD_TIME = "bad_time"
    """Missing or unparseable event time, or too far in the future or past."""
    TOO_LATE = "too_late"
    """Arrived after the lateness bound for the patient's event-time state."""
    UNKNOWN_CORRECTION = "unknown_correction"
    """A correction or retraction of an observation the service never saw."""

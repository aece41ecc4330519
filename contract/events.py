"""Canonical event contract, version 1 (see docs/contract.md).

Every hospital feed (FHIR R4, HL7 v2, PhysioNet PSV, the service's own JSON) is turned into
these events by the pure adapters in ``adapters/``. Everything downstream (features, rules,
model, alerts) reads only these types, so a new feed needs a new adapter and nothing else.

Conventions:
- ``time_ms`` is the event time (when it happened at the bedside or the lab collected it),
  in milliseconds since the Unix epoch, UTC. Processing time never enters the contract.
- Values are in the canonical unit of their signal (``contract/codes.csv``).
- ``source_msg_id`` identifies the message that carried the event (FHIR resource id,
  HL7 MSH-10, JSON ``msg_id``), so every alert can name the messages behind it.
- ``obs_id`` identifies one observation across corrections: an amended/corrected value
  with the same ``obs_id`` replaces the earlier one; a :class:`Retraction` removes it.
- Missing is ``None``; it is never encoded as zero.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

SCHEMA_VERSION = "1.1"
"""1.1 added ``PatientContext.hospital_admission_ms`` (optional; 1.0 records still decode)."""

# Observation status, after FHIR ObservationStatus (HL7 OBX-11 maps onto it).
ObsStatus = Literal["preliminary", "final", "amended", "corrected"]
CORRECTION_STATUSES: frozenset[str] = frozenset({"amended", "corrected"})

Source = Literal["fhir", "hl7v2", "physionet", "json", "simulator"]

InfusionAction = Literal["start", "dose_change", "interruption", "restart", "stop"]

# Level of consciousness. Combines ACVPU (NEWS2) with the ASTCT ICANS depressed-level
# domain: "drowsy" = awakens spontaneously (ICANS G1), "voice" = awakens to voice (G2),
# "pain" = awakens only to tactile/painful stimulus (G3), "unresponsive" = unarousable (G4).
Consciousness = Literal["alert", "drowsy", "voice", "pain", "unresponsive"]

MotorWeakness = Literal["none", "mild", "deep_focal"]
CerebralEdema = Literal["none", "focal", "diffuse"]

# ASTCT hypoxia column order (2019): low-flow devices, then high-flow/facemask, then positive
# pressure. "room_air" means no supplemental oxygen.
O2Device = Literal[
    "room_air",
    "blow_by",
    "nasal_cannula",
    "high_flow_nasal_cannula",
    "simple_facemask",
    "venturi_mask",
    "non_rebreather",
    "cpap",
    "bipap",
    "mechanical_ventilation",
]

TreatmentKind = Literal[
    "antipyretic",
    "corticosteroid",
    "tocilizumab",
    "anakinra",
    "antibiotic",
    "transfusion_platelets",
    "transfusion_red_cells",
]

Sex = Literal["female", "male", "other", "unknown"]
DiseaseStatus = Literal["relapsed_refractory", "mrd_positive", "other", "unknown"]

PatientId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")
]
MsgId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
EpochMs = Annotated[int, msgspec.Meta(ge=0, le=32503680000000)]  # before year 3000


class _Event(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="kind"):
    """Fields every canonical event carries."""

    patient_id: PatientId
    time_ms: EpochMs
    source: Source
    source_msg_id: MsgId


class Observation(_Event, frozen=True, tag="observation"):
    """One measured value of one signal (a vital sign, a lab result, a score)."""

    signal: str
    value: float
    unit: str
    obs_id: MsgId
    status: ObsStatus = "final"
    comparator: Literal["<", "<=", ">", ">="] | None = None
    """Set when the lab reported a bound (``>16500``): ``value`` is the bound itself."""
    code: str | None = None
    """The code as received, ``system|code`` (e.g. ``http://loinc.org|8867-4``)."""
    ref_low: float | None = None
    """The message's own lower reference limit (LLN), in the canonical unit."""
    ref_high: float | None = None
    """The message's own upper reference limit (ULN), in the canonical unit."""


class Retraction(_Event, frozen=True, tag="retraction"):
    """An earlier observation was entered in error (FHIR ``entered-in-error``, HL7 OBX-11 D/W).

    ``time_ms`` is the event time of the observation being retracted, so the feature state
    can find and remove it.
    """

    signal: str
    obs_id: MsgId


class InfusionEvent(_Event, frozen=True, tag="infusion"):
    """Blinatumomab infusion start, dose change, interruption, restart or stop."""

    action: InfusionAction
    cycle: Annotated[int, msgspec.Meta(ge=1, le=20)]
    dose_ug_per_day: Annotated[float, msgspec.Meta(ge=0, le=200)] | None = None


class IceItems(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """ICE score items (ASTCT 2019): the total is their sum, 0-10."""

    orientation: Annotated[int, msgspec.Meta(ge=0, le=4)]
    naming: Annotated[int, msgspec.Meta(ge=0, le=3)]
    command: Annotated[int, msgspec.Meta(ge=0, le=1)]
    writing: Annotated[int, msgspec.Meta(ge=0, le=1)]
    attention: Annotated[int, msgspec.Meta(ge=0, le=1)]

    @property
    def total(self) -> int:
        return self.orientation + self.naming + self.command + self.writing + self.attention


class NeuroAssessment(_Event, frozen=True, tag="neuro"):
    """A bedside neurological assessment. Unassessed items are ``None``."""

    ice_score: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None
    ice_items: IceItems | None = None
    consciousness: Consciousness | None = None
    new_confusion: bool | None = None
    seizure: bool | None = None
    """A clinical (or EEG) seizure since the previous assessment."""
    seizure_prolonged: bool | None = None
    """Seizure > 5 min, or repetitive seizures without return to baseline (ICANS G4)."""
    tremor_grade: Annotated[int, msgspec.Meta(ge=0, le=3)] | None = None
    motor_weakness: MotorWeakness | None = None
    cerebral_edema: CerebralEdema | None = None


class RespiratorySupport(_Event, frozen=True, tag="respiratory"):
    """Oxygen therapy in use from ``time_ms`` until the next respiratory event."""

    device: O2Device
    o2_flow_l_min: Annotated[float, msgspec.Meta(ge=0, le=80)] | None = None
    fio2_pct: Annotated[float, msgspec.Meta(ge=21, le=100)] | None = None


class VasopressorState(_Event, frozen=True, tag="vasopressor"):
    """Vasopressors running from ``time_ms`` on (ASTCT counts vasopressin separately)."""

    count: Annotated[int, msgspec.Meta(ge=0, le=6)]
    """Number of vasopressors running, vasopressin not counted."""
    vasopressin: bool = False


class Treatment(_Event, frozen=True, tag="treatment"):
    """A treatment given (the rules need to know what can mask fever or CRP)."""

    treatment: TreatmentKind
    agent: str | None = None
    dose: float | None = None
    dose_unit: str | None = None


class PatientContext(_Event, frozen=True, tag="context"):
    """Patient characteristics known at or before the infusion start."""

    age_years: Annotated[float, msgspec.Meta(ge=0, le=120)] | None = None
    sex: Sex = "unknown"
    weight_kg: Annotated[float, msgspec.Meta(gt=0, le=400)] | None = None
    marrow_blasts_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    """Disease burden: bone-marrow blasts before the cycle."""
    disease_status: DiseaseStatus = "unknown"
    prior_neurotoxicity: bool | None = None
    immunosuppressed: bool | None = None
    hospital_admission_ms: EpochMs | None = None
    """When the current hospital admission began (an ADT admit time, FHIR
    ``Encounter.period.start``); it may precede the first event by days (a ward stay before
    the ICU). Contract 1.1."""


Event = (
    Observation
    | Retraction
    | InfusionEvent
    | NeuroAssessment
    | RespiratorySupport
    | VasopressorState
    | Treatment
    | PatientContext
)

EVENT_TYPES: tuple[type[_Event], ...] = (
    Observation,
    Retraction,
    InfusionEvent,
    NeuroAssessment,
    RespiratorySupport,
    VasopressorState,
    Treatment,
    PatientContext,
)

Outcome = Literal["accepted", "corrected", "retracted", "duplicate"]


class InputRef(msgspec.Struct, frozen=True, array_like=True):
    """Where a message came from: Kafka topic, partition and offset (or file and line)."""

    topic: str
    partition: int
    offset: int


class IngestRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the ingestion stage emits for every accepted input message: exactly one record.

    ``outcome`` says what happened to the message as a whole; ``rejected`` counts parts of it
    (single OBX segments, single Bundle entries) that were dead-lettered separately.
    A duplicate message yields a record with ``outcome="duplicate"`` and no events, so every
    input is accounted for on one topic or the other.
    """

    schema: str = SCHEMA_VERSION
    outcome: Outcome
    patient_id: PatientId
    source: Source
    source_msg_id: MsgId
    input: InputRef | None = None
    events: tuple[Event, ...] = ()
    rejected: int = 0


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A message, or part of one, that could not be accepted, with why and where from."""

    schema: str = SCHEMA_VERSION
    reason: str
    """A stable reason code from ``contract.reasons.Reason``."""
    detail: str
    stage: str = "ingest"
    input: InputRef | None = None
    key: bytes | None = None
    original: bytes = b""
    item: int | None = None
    """Index of the rejected part (OBX segment, Bundle entry, PSV row), if not the whole."""
    received_ms: int = 0


_event_decoder = msgspec.json.Decoder(Event)
_record_decoder = msgspec.json.Decoder(IngestRecord)
_deadletter_decoder = msgspec.json.Decoder(DeadLetter)
_encoder = msgspec.json.Encoder()


def encode(obj: msgspec.Struct) -> bytes:
    """Serialize any contract struct to JSON bytes."""
    return _encoder.encode(obj)


def decode_event(data: bytes | str) -> Event:
    """Parse and validate one canonical event (raises ``msgspec.ValidationError``)."""
    event: Event = _event_decoder.decode(data)
    return event


def decode_record(data: bytes | str) -> IngestRecord:
    """Parse and validate one ingest record."""
    return _record_decoder.decode(data)


def decode_deadletter(data: bytes | str) -> DeadLetter:
    """Parse one dead-letter record."""
    return _deadletter_decoder.decode(data)

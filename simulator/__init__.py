"""Synthetic blinatumomab cohort simulator (issue 3).

Seeded, deterministic patients on blinatumomab with CRS, ICANS, HLH/MAS, infection and
liver toxicity, emitted as canonical contract events (and FHIR R4 / HL7 v2 exports), with
ground-truth labels. See ``docs/simulator.md``.
"""

from simulator.calibration import calibration_report
from simulator.config import PROFILES, CohortConfig, RateProfile
from simulator.generate import generate
from simulator.labels import Label, load_labels, write_labels
from simulator.messages import SimMessage
from simulator.patient import SimPatient, simulate_patient
from simulator.stream import Cohort, StreamItem, iter_messages, iter_stream, iter_timed

__all__ = [
    "PROFILES",
    "Cohort",
    "CohortConfig",
    "Label",
    "RateProfile",
    "SimMessage",
    "SimPatient",
    "StreamItem",
    "calibration_report",
    "generate",
    "iter_messages",
    "iter_stream",
    "iter_timed",
    "load_labels",
    "simulate_patient",
    "write_labels",
]

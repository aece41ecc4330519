"""The simulator's cohort as training rows (CRS, ICANS and HLH models).

Patients are simulated inside the worker processes (``simulator.Cohort.patient``) and
replayed there, so a cohort of thousands never sits in memory as events. The labels come
from the cohort's plans (``Cohort.labels``), the same rows the simulator writes to
``labels.csv``.
"""

from __future__ import annotations

from models.history_data import HistoryRows, PatientRows, collect, parallel_map, patient_rows
from simulator.config import CohortConfig
from simulator.labels import Label
from simulator.stream import Cohort


def _simulated(item: tuple[CohortConfig, int, float]) -> PatientRows:
    config, index, step_h = item
    patient = Cohort(config).patient(index)
    events = [e for m in patient.messages for e in m.events]
    return patient_rows(patient.patient_id, events, step_h)


def cohort_rows(
    config: CohortConfig, step_h: float = 1.0, workers: int | None = None
) -> tuple[HistoryRows, list[Label]]:
    """Rows and labels of a simulated cohort."""
    items = ((config, i, step_h) for i in range(config.n_patients))
    rows = collect(parallel_map(_simulated, items, workers))
    return rows, Cohort(config).labels()

"""A snapshot never carries inf or nan, whatever the (contract-valid) inputs."""

from __future__ import annotations

import math

from contract.events import Observation
from features.compute import snapshot
from features.state import PatientState

T = 1_708_426_800_001


def test_overflowing_multiple_of_uln_is_missing_not_inf() -> None:
    # Found by the structured fuzzer: 9e307 U/L over an own ULN of 0.5 overflowed to inf.
    state = PatientState(patient_id="p-001")
    state.apply(
        Observation(
            patient_id="p-001",
            time_ms=T,
            source="fhir",
            source_msg_id="m0",
            obs_id="o0",
            signal="alt",
            value=8.98846567431158e307,
            unit="U/L",
            ref_high=0.5,
        )
    )
    snap = snapshot(state, T)
    assert snap.values["alt_x_uln"] is None
    assert "alt_x_uln" in snap.missing
    assert all(v is None or math.isfinite(v) for v in snap.values.values())

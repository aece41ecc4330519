"""encode_record writes exactly msgspec's bytes, also when it joins kept series encodings.

A monitored patient's record is re-encoded after every batch; long series are joined in from
the encoding they keep of their columns (streams/pipeline.py, features/series.py). Through
growth, late points, corrections, retractions, pruning and thinning the stored bytes must
stay what msgspec writes for the record, so stored records decode as before either way.
"""

from __future__ import annotations

import random

import msgspec

from contract.events import Observation, Retraction
from features.series import INCREMENTAL_FROM
from features.state import PatientState
from streams.pipeline import PatientRecord, decode_record, encode_record

T0 = 1_767_225_600_000
SIGNALS = ("hr", "rr", "spo2", "temp", "sbp", "dbp", "map", "etco2")


def _obs(t: int, signal: str, value: float, obs_id: str, status: str = "final") -> Observation:
    return Observation(
        patient_id="p",
        time_ms=t,
        source="json",
        source_msg_id=f"m{t}",
        signal=signal,
        value=value,
        unit="x",
        obs_id=obs_id,
        status=status,  # type: ignore[arg-type]
    )


def test_a_monitored_record_encodes_as_msgspec_through_75_minutes_of_1_hz_frames() -> None:
    rng = random.Random(7)
    record = PatientRecord(state=PatientState(patient_id="p"), recent_ids=["a", "b"])
    encodings = 0
    for second in range(75 * 60):  # past the first thinning (1 h) and 5 prunings
        t = T0 + second * 1000
        for signal in SIGNALS:
            record.state.apply(_obs(t, signal, rng.uniform(30, 140), f"{signal}-{second}"))
        if second % 97 == 0 and second > 10:  # a late point, a correction, a retraction
            late = T0 + (second - rng.randint(1, 10)) * 1000
            record.state.apply(_obs(late, "hr", 77.0, f"late-{second}"))
            old = second - rng.randint(1, 10)
            record.state.apply(_obs(T0 + old * 1000, "rr", 19.0, f"rr-{old}", status="corrected"))
            gone = second - rng.randint(1, 10)
            record.state.apply(
                Retraction(
                    patient_id="p",
                    time_ms=T0 + gone * 1000,
                    source="json",
                    source_msg_id=f"r{second}",
                    signal="spo2",
                    obs_id=f"spo2-{gone}",
                )
            )
        if second % rng.choice([1, 13, 60, 301]) == 0 and rng.random() < 0.3:  # batches
            value = encode_record(record)
            assert value == msgspec.msgpack.encode(record), f"at second {second}"
            encodings += 1
    assert encodings > 100
    assert max(len(s) for s in record.state.series.values()) > INCREMENTAL_FROM
    assert decode_record(encode_record(record)) == record


def test_a_record_decoded_from_the_table_encodes_the_same() -> None:
    record = PatientRecord(state=PatientState(patient_id="p"))
    for second in range(INCREMENTAL_FROM * 2):
        record.state.apply(_obs(T0 + second * 1000, "hr", 80.0 + second % 7, f"o{second}"))
    stored = msgspec.msgpack.encode(record)  # as an older worker wrote it
    again = decode_record(stored)
    assert encode_record(again) == stored
    again.state.apply(_obs(T0 + 10**7, "hr", 90.0, "new"))
    assert encode_record(again) == msgspec.msgpack.encode(again)
    assert encode_record(record) == stored  # the original is untouched by encoding the copy

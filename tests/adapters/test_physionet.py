"""PhysioNet 2019 PSV adapter: synthetic text and real stays read in place from the tarball."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from adapters.physionet import (
    PHYSIONET_EPOCH_MS,
    PsvFormatError,
    iter_tar_psv,
    iter_tar_stays,
    parse_psv_text,
    psv_events,
    read_psv,
)
from contract.events import Observation, PatientContext
from contract.reasons import Reason

TARBALL = Path(__file__).resolve().parents[3] / "shared/data/physionet2019/training_setB_dev.tar.gz"
HOUR = 3_600_000

HEADER = "HR|O2Sat|Temp|FiO2|WBC|Platelets|Creatinine|Age|Gender|Unit1|ICULOS|SepsisLabel"
TEXT = "\n".join(
    [
        HEADER,
        "NaN|NaN|NaN|NaN|NaN|NaN|NaN|67|0|1|1|0",
        "88|97|38.3|0.4|12.1|150|1.2|67|0|1|2|0",
        "90|140|NaN|1.5|NaN|NaN|NaN|67|0|1|3|1",
        "NaN|95|NaN|NaN|NaN|NaN|NaN|67|0|1|NaN|1",
    ]
)


def test_parse_text() -> None:
    stay = read_psv(TEXT, stay_id="p000001")
    assert stay.columns[0] == "HR" and len(stay.rows) == 4
    assert stay.rows[0][0] is None
    assert stay.column("Temp") == [None, 38.3, None, None]
    with pytest.raises(KeyError):
        stay.column("Nope")


def test_events_per_row() -> None:
    stay = read_psv(TEXT, stay_id="p000001")
    result = psv_events("p000001", stay.rows)
    assert [index for index, _ in result] == [0, 1, 2, 3]
    (context,) = result[0][1]
    assert isinstance(context, PatientContext)
    assert (context.age_years, context.sex, context.time_ms) == (
        67.0,
        "female",
        PHYSIONET_EPOCH_MS + HOUR,
    )
    row1 = {e.signal: e for e in result[1][1] if isinstance(e, Observation)}
    assert set(row1) == {"hr", "spo2", "temp", "fio2", "wbc", "platelets", "creatinine"}
    assert row1["fio2"].value == pytest.approx(40.0)
    assert row1["hr"].obs_id == "p000001:2:HR"
    assert row1["hr"].source_msg_id == "p000001:1"
    assert row1["hr"].time_ms == PHYSIONET_EPOCH_MS + 2 * HOUR
    assert row1["hr"].source == "physionet"
    assert [e.signal for e in result[2][1]] == ["hr"]
    assert result[3][1] == []
    assert [(r.reason, r.item) for r in result.rejects] == [
        (Reason.IMPLAUSIBLE, 2),
        (Reason.IMPLAUSIBLE, 2),
        (Reason.BAD_TIME, 3),
    ]
    assert "O2Sat" in result.rejects[0].detail and "FiO2" in result.rejects[1].detail


def test_mapping_rows_and_custom_epoch() -> None:
    rows = [{"HR": 80.0, "ICULOS": 5.0, "Gender": 1.0}]
    result = psv_events("s1", rows, epoch_ms=0)
    context, hr = result[0][1]
    assert (
        isinstance(context, PatientContext) and context.sex == "male" and context.age_years is None
    )
    assert isinstance(hr, Observation) and hr.time_ms == 5 * HOUR


@pytest.mark.parametrize(
    ("hosp_adm_h", "admitted_ms", "rejected"),
    [
        (-30.5, -30.5 * HOUR, False),  # 30.5 h on a ward before the ICU
        (0.0, 0, False),  # admitted straight to the ICU
        (-0.01, -36_000, False),
        (0.5, None, True),  # admitted to hospital after the ICU: impossible
        (-24 * 365 * 5 - 1, None, True),  # over five years
    ],
)
def test_hospital_admission_time(
    hosp_adm_h: float, admitted_ms: float | None, rejected: bool
) -> None:
    rows = [{"HR": 80.0, "ICULOS": 3.0, "HospAdmTime": hosp_adm_h}]
    result = psv_events("s1", rows, epoch_ms=10**12)
    context, hr = result[0][1]
    assert isinstance(context, PatientContext) and isinstance(hr, Observation)
    want = None if admitted_ms is None else 10**12 + round(admitted_ms)
    assert context.hospital_admission_ms == want
    assert [(r.reason, r.item) for r in result.rejects] == (
        [(Reason.IMPLAUSIBLE, 0)] if rejected else []
    )
    if rejected:
        assert "HospAdmTime" in result.rejects[0].detail


@pytest.mark.parametrize(
    "text",
    ["", "no header", "HR|Temp\n80|37", "HR|ICULOS\n80", "HR|ICULOS\nabc|1"],
)
def test_format_errors(text: str) -> None:
    with pytest.raises(PsvFormatError):
        parse_psv_text(text, "x")


def test_read_psv_from_path(tmp_path: Path) -> None:
    path = tmp_path / "p123.psv"
    path.write_text(TEXT)
    assert read_psv(path).stay_id == "p123"
    assert read_psv(str(path)).stay_id == "p123"


needs_tarball = pytest.mark.skipif(not TARBALL.exists(), reason="PhysioNet tarball not present")


@needs_tarball
def test_real_stays_from_the_tarball() -> None:
    stays = list(iter_tar_psv(TARBALL, limit=25))
    assert len(stays) == 25
    assert [s.stay_id for s in stays][:2] == ["p100002", "p100004"]
    for stay in stays:
        assert stay.columns[-2:] == ("ICULOS", "SepsisLabel") and len(stay.columns) == 41
        result = psv_events(stay.stay_id, stay.rows)
        assert len(result) == len(stay.rows)
        measured = sum(
            1
            for row in stay.rows
            for name, v in zip(stay.columns, row, strict=True)
            if v is not None
            and name
            not in {"Age", "Gender", "Unit1", "Unit2", "HospAdmTime", "ICULOS", "SepsisLabel"}
        )
        observations = sum(isinstance(e, Observation) for _, events in result for e in events)
        # Every measured cell is either an observation or a reject: nothing is dropped.
        assert observations + len(result.rejects) == measured
        assert all(
            math.isfinite(e.value)
            for _, events in result
            for e in events
            if isinstance(e, Observation)
        )
        assert isinstance(result[0][1][0], PatientContext)


@needs_tarball
def test_first_real_stay_values() -> None:
    stay_id, text = next(iter_tar_stays(TARBALL))
    assert stay_id == "p100002"
    result = psv_events(stay_id, parse_psv_text(text, stay_id))
    # p100002 row 1 (ICULOS 2) reads HR 56.5, O2Sat 100, Temp 35.2 and no BUN.
    row = {e.signal: e.value for e in result[1][1] if isinstance(e, Observation)}
    assert (row["hr"], row["spo2"], row["temp"]) == (56.5, 100, 35.2)
    assert "bun" not in row

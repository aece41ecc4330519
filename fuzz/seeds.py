"""The seed corpus: valid messages from the sample builders, written to ``fuzz/corpus/``.

``python -m fuzz.seeds`` (re)writes the ``seed-*`` files of every target; files found by
fuzzing (``found-*``, ``crash-*``, ``hang-*``) are left alone. Seeds for ``normalize`` and
``ingest`` carry the header bytes those targets read first (format, key, limits...).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from fuzz.targets import PATIENT
from tests.adapters import samples as s

CORPUS = Path(__file__).resolve().parent / "corpus"

PSV_HEADER = (
    "HR|O2Sat|Temp|SBP|MAP|DBP|Resp|EtCO2|BaseExcess|HCO3|FiO2|pH|PaCO2|SaO2|AST|BUN|"
    "Alkalinephos|Calcium|Chloride|Creatinine|Bilirubin_direct|Glucose|Lactate|Magnesium|"
    "Phosphate|Potassium|Bilirubin_total|TroponinI|Hct|Hgb|PTT|WBC|Fibrinogen|Platelets|Age|"
    "Gender|Unit1|Unit2|HospAdmTime|ICULOS|SepsisLabel"
)


def fhir_seeds() -> Iterator[tuple[str, bytes]]:
    """Observations of several kinds, a BP panel, an inpatient Encounter, a Bundle, a
    correction and a retraction."""
    yield "hr", s.encode(s.fhir_observation())
    yield "crp-ref", s.encode(s.fhir_lab("1988-5", 12, "mg/L", ref_low=0, ref_high=5))
    yield "temp-degf", s.encode(s.fhir_observation(code="8310-5", value=101.2, unit="[degF]"))
    yield "comparator", s.encode(s.fhir_lab("2276-4", 16500, "ng/mL", comparator=">"))
    yield "bp-panel", s.encode(s.fhir_bp_panel(mean=93))
    yield "amended", s.encode(s.fhir_observation(status="amended", value=85))
    yield "retracted", s.encode(s.fhir_observation(status="entered-in-error"))
    yield "absent", s.encode(s.fhir_observation(data_absent=True))
    yield "offset", s.encode(s.fhir_observation(effective="2024-03-01T15:30:00+05:30"))
    yield "encounter", s.encode(s.fhir_encounter())
    yield (
        "bundle",
        s.encode(
            s.fhir_bundle(
                [
                    s.fhir_observation(id="o1"),
                    s.fhir_bp_panel(id="bp1"),
                    s.fhir_observation(id="o2", code="59408-5", value=97, unit="%"),
                    s.fhir_encounter(id="e1"),
                    {"resourceType": "Patient", "id": PATIENT},
                ]
            )
        ),
    )


def hl7_seeds() -> Iterator[tuple[str, bytes]]:
    """ORU^R01 with one or several OBX, zones, comparators, ranges, statuses and SN values."""
    yield "crp", s.hl7_oru()
    yield (
        "panel",
        s.hl7_oru(
            [
                s.Obx(),
                s.Obx(code="2276-4", value=">16500", unit="ng/mL", text="FERR"),
                s.Obx(code="1742-6", value="45", unit="U/L", ref_range="10-40", text="ALT"),
                s.Obx(code="6690-2", value="3.2", unit="10*3/uL", status="C", sub_id="1"),
            ]
        ),
    )
    yield "no-zone", s.hl7_oru(obr_time="20240301100000")
    yield "obx14", s.hl7_oru([s.Obx(time="202403010930-0500")])
    yield "sn", s.hl7_oru([s.Obx(value_type="SN", value=">^12.5")])
    yield "retract", s.hl7_oru([s.Obx(status="D")])
    yield "x-status", s.hl7_oru([s.Obx(status="X", value="")])
    yield "newlines", s.hl7_oru(separator="\n")
    yield "escapes", s.hl7_oru([s.Obx(text="C\\S\\RP \\T\\ \\X41\\", value="12.5")])


def hl7_adt_seeds() -> Iterator[tuple[str, bytes]]:
    """ADT: an inpatient admit, an outpatient registration, an update dated by EVN-2, a birth
    date to the month only, and a cancel admit (not taken)."""
    yield "adt-a01", s.hl7_adt()
    yield "adt-a04-outpatient", s.hl7_adt(event="A04", patient_class="O", sex="M")
    yield "adt-a08-no-admit-time", s.hl7_adt(event="A08", admit_time="", birth_date="19800301")
    yield "adt-month-of-birth", s.hl7_adt(birth_date="198003", sex="U", separator="\n")
    yield "adt-a11", s.hl7_adt(event="A11")


def json_seeds() -> Iterator[tuple[str, bytes]]:
    """Single events of every kind and a batch."""
    yield "observation", s.encode(s.json_observation())
    yield "by-code", s.encode(s.json_observation(signal=None, code="http://loinc.org|1988-5"))
    yield "infusion", s.encode(s.json_event("infusion", action="start", cycle=1, dose_ug_per_day=9))
    yield "neuro", s.encode(s.json_event("neuro", ice_score=8, consciousness="alert"))
    yield (
        "respiratory",
        s.encode(s.json_event("respiratory", device="nasal_cannula", o2_flow_l_min=2)),
    )
    yield "vasopressor", s.encode(s.json_event("vasopressor", count=1))
    yield "treatment", s.encode(s.json_event("treatment", treatment="tocilizumab", dose=8.0))
    yield "context", s.encode(s.json_event("context", age_years=54, sex="female"))
    yield "retraction", s.encode(s.json_event("retraction", signal="hr", obs_id="j-obs-1"))
    yield (
        "batch",
        s.encode(
            s.json_batch(
                [
                    {k: v for k, v in s.json_observation().items() if k != "patient_id"},
                    s.json_observation(obs_id="j-obs-2", signal="temp", value=38.4, unit="Cel"),
                    s.json_event("vasopressor", count=0),
                ]
            )
        ),
    )


def psv_seeds() -> Iterator[tuple[str, bytes]]:
    """Synthetic stays with the challenge's 41 columns (made-up values, no real patient)."""
    width = len(PSV_HEADER.split("|"))
    rng = random.Random(2019)
    rows = []
    for hour in range(1, 7):
        cells = ["NaN"] * width
        for position in rng.sample(range(34), 8):
            cells[position] = f"{rng.uniform(1, 150):.2f}"
        cells[34:41] = ["61", "0", "1", "0", "-10.5", str(hour), "0"]
        rows.append("|".join(cells))
    yield "stay", (PSV_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    yield (
        "short",
        b"HR|O2Sat|Temp|FiO2|Age|Gender|ICULOS\n80|97|37.2|0.4|54|1|1\nNaN|NaN|39|NaN|54|1|2\n",
    )
    yield "implausible", b"HR|Temp|Age|ICULOS\n400|12|130|1\n"
    yield "implausible_admission", b"HR|Temp|HospAdmTime|ICULOS\n80|37|5|1\n"


def _with_header(header: bytes, seeds: Iterator[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    for name, data in seeds:
        yield name, header + data


def all_seeds() -> dict[str, list[tuple[str, bytes]]]:
    """Target name -> [(seed name, bytes)]."""
    fhir, oru, adt, js = (
        list(fhir_seeds()),
        list(hl7_seeds()),
        list(hl7_adt_seeds()),
        list(json_seeds()),
    )
    hl7 = oru + adt
    state_rng = random.Random(7)
    return {
        "fhir": fhir,
        "hl7v2": hl7,
        "json": js,
        "psv": list(psv_seeds()),
        # header: format, key (1 = the body's patient), limits (0 default), zone, skew
        "normalize": [
            *_with_header(b"\x00\x01\x00\x00\x00\x00", iter(fhir)),
            *_with_header(b"\x01\x01\x01\x01\x00\x00", iter(hl7)),
            *_with_header(b"\x02\x00\x00\x00\x00\x00", iter(js)),
        ],
        # header: format, key, require_key
        "ingest": [
            *_with_header(b"\x00\x01\x01", iter(fhir[:4])),
            *_with_header(b"\x01\x01\x01", iter(oru[:4] + adt[:1])),
            *_with_header(b"\x02\x01\x01", iter(js[:4])),
            *_with_header(b"\x02\x00\x01", iter(js[:1])),
        ],
        "state": [(f"random-{i}", state_rng.randbytes(4096)) for i in range(6)],
    }


def write_seeds(corpus: Path = CORPUS) -> int:
    """Write every seed file; returns how many were written."""
    count = 0
    for target, seeds in all_seeds().items():
        folder = corpus / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        for name, data in seeds:
            (folder / f"seed-{name}").write_bytes(data)
            count += 1
    return count


if __name__ == "__main__":
    print(f"wrote {write_seeds()} seed files under {CORPUS}")

"""FHIR R4 and HL7 v2 exports parse with standard tooling; labels and CLI round-trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import hl7
import pytest
from fhir.resources.R4B.bundle import Bundle

from contract.events import Observation, Retraction, decode_event
from simulator.__main__ import main
from simulator.config import CohortConfig
from simulator.export import fhir_bundle, hl7_message, read_hl7
from simulator.generate import generate
from simulator.labels import load_labels
from simulator.patient import SimPatient
from simulator.stream import Cohort


def test_fhir_bundles_validate(default_patients: list[SimPatient]) -> None:
    statuses: set[str] = set()
    panels = 0
    for p in default_patients[:4]:
        for m in p.messages:
            bundle = fhir_bundle(m)
            has_obs = any(isinstance(e, Observation | Retraction) for e in m.events)
            if bundle is None:
                assert not has_obs
                continue
            parsed = Bundle.model_validate(bundle)
            for entry in parsed.entry or []:
                obs = entry.resource
                statuses.add(obs.status)
                assert obs.subject.reference == f"Patient/{p.patient_id}"
                if obs.code.coding[0].code == "85354-9":
                    codes = {c.code.coding[0].code for c in obs.component}
                    assert codes == {"8480-6", "8462-4"}
                    panels += 1
    assert panels > 100
    assert {"final", "corrected", "entered-in-error"} <= statuses


def test_hl7_messages_parse(default_patients: list[SimPatient]) -> None:
    control_ids: dict[str, str] = {}
    for p in default_patients[:4]:
        for m in p.messages:
            text = hl7_message(m)
            if text is None:
                continue
            msg = hl7.parse(text)
            msh10 = str(msg.segment("MSH")[10])
            assert control_ids.setdefault(msh10, text) == text  # duplicates are exact resends
            assert str(msg.segment("PID")[3][0][0]) == p.patient_id
            obxs = msg.segments("OBX")
            obs = [e for e in m.events if isinstance(e, Observation)]
            for seg, e in zip(obxs, obs, strict=False):
                assert str(seg[3][0][2]) in ("LN", "L")
                assert str(seg[6]) == e.unit
                if e.comparator is None:
                    assert float(str(seg[5])) == pytest.approx(e.value)
                assert str(seg[11]) == ("C" if e.status == "corrected" else "F")
            collected = datetime.fromtimestamp(m.time_ms / 1000, tz=UTC)
            assert str(msg.segment("OBR")[7]) == collected.strftime("%Y%m%d%H%M%S") + "+0000"
    assert control_ids


def test_generate_writes_all_formats(tmp_path: Path) -> None:
    summary = generate(CohortConfig(n_patients=3, seed=2), tmp_path)
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == summary["events"]
    for line in lines[:500]:
        decode_event(line)
    meta = (tmp_path / "events_meta.csv").read_text().splitlines()
    assert len(meta) == len(lines) + 1
    for raw in (tmp_path / "fhir" / "bundles.ndjson").read_text().splitlines()[:300]:
        Bundle.model_validate(json.loads(raw))
    for text in read_hl7(tmp_path / "hl7" / "oru_r01.hl7")[:300]:
        assert str(hl7.parse(text).segment("MSH")[9][0][0]) == "ORU"
    labels = load_labels(tmp_path / "labels.csv")
    assert labels == Cohort(CohortConfig(n_patients=3, seed=2)).labels()
    assert json.loads((tmp_path / "summary.json").read_text())["events"] == len(lines)


def test_cli_generate_and_report(tmp_path: Path) -> None:
    assert (
        main(
            [
                "generate",
                "--n",
                "2",
                "--seed",
                "1",
                "--formats",
                "jsonl",
                "--out",
                str(tmp_path / "g"),
            ]
        )
        == 0
    )
    assert (tmp_path / "g" / "events.jsonl").stat().st_size > 0
    assert not (tmp_path / "g" / "fhir").exists()
    assert (
        main(["report", "--n", "120", "--seed", "1", "--no-timing", "--out", str(tmp_path / "r")])
        == 0
    )
    text = (tmp_path / "r" / "calibration.md").read_text()
    assert "| CRS, any grade |" in text and "51%" in text
    assert (tmp_path / "r" / "onset_days.png").read_bytes()[:4] == b"\x89PNG"
    assert any(p.name.startswith("example_") for p in (tmp_path / "r").iterdir())


def test_unknown_format_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(CohortConfig(n_patients=1), tmp_path, ("csv",))

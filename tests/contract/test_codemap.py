"""The reviewed code map: consistency of the shipped files and site extensions."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.limits import Limits
from adapters.physionet import COLUMNS
from contract.codemap import LOINC, CodeMapError, default_codemap, load_codemap
from contract.events import InputRef
from streams.ingest import Ingestor
from tests.adapters import samples as s

INTERFACES_LOINC = {
    "8867-4": "hr", "9279-1": "rr", "2708-6": "spo2", "59408-5": "spo2", "8310-5": "temp",
    "8480-6": "sbp", "8462-4": "dbp", "8478-0": "map", "9269-2": "gcs", "1988-5": "crp",
    "2276-4": "ferritin", "20567-4": "ferritin", "1742-6": "alt", "1920-8": "ast",
    "1975-2": "bilirubin", "2532-0": "ldh", "2160-0": "creatinine", "3255-7": "fibrinogen",
    "2571-8": "triglycerides", "6690-2": "wbc", "751-8": "anc", "777-3": "platelets",
    "718-7": "hgb", "26881-3": "il6", "48065-7": "ddimer_feu", "48066-5": "ddimer_ddu",
}  # fmt: skip


def test_every_loinc_code_of_interfaces_md_maps_to_its_signal() -> None:
    cm = default_codemap()
    for code, signal in INTERFACES_LOINC.items():
        spec = cm.lookup(LOINC, code)
        assert spec is not None, code
        assert spec.signal == signal


def test_hl7_system_names_are_aliases_of_loinc() -> None:
    cm = default_codemap()
    assert cm.lookup("LN", "1988-5") == cm.lookup(LOINC, "1988-5")


def test_every_physionet_column_is_in_the_code_map_with_its_signal() -> None:
    cm = default_codemap()
    for column, (signal, _unit) in COLUMNS.items():
        spec = cm.lookup("urn:physionet:challenge-2019", column)
        assert spec is not None and spec.signal == signal, column


def test_plausible_ranges_are_ordered_and_bounds_inclusive() -> None:
    for spec in default_codemap().signals.values():
        assert spec.plausible_min < spec.plausible_max, spec.signal
        assert spec.plausible(spec.plausible_min) and spec.plausible(spec.plausible_max)


def test_a_site_adds_a_lab_code_without_a_code_change(tmp_path: Path) -> None:
    extra = tmp_path / "site-codes.csv"
    extra.write_text("system,code,signal,display,provenance\nLN,99999-9,crp,CRP (site),site\n")
    data = s.encode(s.fhir_observation(code="99999-9", unit="mg/L", value=5))
    assert s.run("fhir", data).outcome == "rejected"  # the shipped map does not know it
    ingestor = Ingestor(load_codemap(extra_codes=extra), Limits(), require_key=False)
    result = ingestor.ingest("fhir", InputRef("t", 0, 0), None, data, s.RECEIVED_MS)
    assert result.outcome == "accepted"
    assert result.record is not None
    assert result.record.events[0].signal == "crp"  # type: ignore[union-attr]


def test_a_code_mapped_to_two_signals_is_refused(tmp_path: Path) -> None:
    extra = tmp_path / "bad.csv"
    extra.write_text("system,code,signal,display,provenance\nLN,1988-5,ferritin,x,site\n")
    with pytest.raises(CodeMapError):
        load_codemap(extra_codes=extra)

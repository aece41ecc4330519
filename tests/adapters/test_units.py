"""contract.units: aliases, every conversion factor, and the unit errors."""

from __future__ import annotations

import pytest

from contract.codemap import default_codemap
from contract.reasons import Reason
from contract.units import ALIASES, UCUM_UNITS, UnitError, normalize_unit, to_canonical

CODEMAP = default_codemap()


def conv(signal: str, value: float, unit: str) -> float:
    return to_canonical(CODEMAP.signal(signal), value, unit)


@pytest.mark.parametrize(
    ("alias", "ucum"),
    [
        ("bpm", "/min"),
        ("beats/min", "/min"),
        ("1/min", "/min"),
        ("degC", "Cel"),
        ("°C", "Cel"),
        ("C", "Cel"),
        ("degF", "[degF]"),
        ("°F", "[degF]"),
        ("F", "[degF]"),
        ("mmHg", "mm[Hg]"),
        ("K/uL", "10*3/uL"),
        ("x10^3/uL", "10*3/uL"),
        ("10^3/uL", "10*3/uL"),
        ("10*9/L", "10*9/L"),
        ("10^9/L", "10*9/L"),
        ("x10E9/L", "10*9/L"),
        ("cells/uL", "/uL"),
        ("IU/L", "U/L"),
        ("µg/L", "ug/L"),
        ("mcg/mL", "ug/mL"),
        ("mEq/L", "meq/L"),
        ("MG/DL", "mg/dL"),
        ("mg/L FEU", "mg/L{FEU}"),
        ("ug/mL{FEU}", "ug/mL{FEU}"),
    ],
)
def test_normalize_unit_aliases(alias: str, ucum: str) -> None:
    assert normalize_unit(alias) == ucum


def test_every_alias_resolves_to_a_known_ucum_unit() -> None:
    for alias, ucum in ALIASES.items():
        assert ucum in UCUM_UNITS, alias
        assert normalize_unit(alias) == ucum


def test_ucum_is_case_sensitive_before_aliases() -> None:
    # G/L is giga-cells per litre, g/L grams per litre: case decides, no fold-over.
    assert normalize_unit("G/L") == "10*9/L"
    assert normalize_unit("g/L") == "g/L"
    with pytest.raises(UnitError):
        normalize_unit("g/l")  # ambiguous in lower case


@pytest.mark.parametrize("unit", ["", "   "])
def test_missing_unit(unit: str) -> None:
    with pytest.raises(UnitError) as err:
        conv("crp", 5, unit)
    assert err.value.reason is Reason.MISSING_UNIT


@pytest.mark.parametrize(
    ("signal", "unit"),
    [
        ("crp", "furlongs"),
        ("hr", "mg/dL"),
        ("temp", "mm[Hg]"),
        ("ddimer_ddu", "mg/L FEU"),
        ("crp", "mg/L FEU"),
    ],
)
def test_wrong_unit(signal: str, unit: str) -> None:
    with pytest.raises(UnitError) as err:
        conv(signal, 1, unit)
    assert err.value.reason is Reason.WRONG_UNIT
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("signal", "value", "unit", "expected"),
    [
        # clinical-reference.md section 9
        ("bilirubin", 17.1, "umol/L", 1.0),
        ("bilirubin_direct", 34.2, "umol/L", 2.0),
        ("creatinine", 88.4, "umol/L", 1.0),
        ("triglycerides", 1.0, "mmol/L", 88.5),
        ("fibrinogen", 3.0, "g/L", 300.0),
        ("crp", 1.5, "mg/dL", 15.0),
        ("ferritin", 250, "ug/L", 250.0),
        ("ferritin", 250, "mcg/L", 250.0),
        ("hgb", 120, "g/L", 12.0),
        ("hgb", 8.0, "mmol/L", 12.8916),
        ("wbc", 4500, "/uL", 4.5),
        ("wbc", 4500, "cells/uL", 4.5),
        ("wbc", 4.5, "10^9/L", 4.5),
        ("wbc", 4.5, "10*9/L", 4.5),
        ("platelets", 150, "x10E9/L", 150.0),
        ("platelets", 150, "K/uL", 150.0),
        ("platelets", 150, "G/L", 150.0),
        ("anc", 500, "/mm3", 0.5),
        ("temp", 98.6, "[degF]", 37.0),
        ("temp", 212, "F", 100.0),
        ("temp", 37.0, "degC", 37.0),
        ("temp", 310.15, "K", 37.0),
        ("paco2", 5.0, "kPa", 37.5031),
        ("pao2", 13.3, "kPa", 99.758246),
        ("fio2", 0.4, "1", 40.0),
        ("fio2", 40, "%", 40.0),
        ("spo2", 0.97, "1", 97.0),
        ("hct", 0.42, "L/L", 42.0),
        ("ddimer_feu", 0.5, "ug/mL", 500.0),
        ("ddimer_feu", 0.5, "mg/L FEU", 500.0),
        ("ddimer_feu", 0.5, "ug/mL{FEU}", 500.0),
        ("ddimer_ddu", 250, "ng/mL DDU", 250.0),
        ("il6", 40, "ng/L", 40.0),
        ("alt", 1.0, "ukat/L", 60.0),
        ("ast", 55, "IU/L", 55.0),
        ("ldh", 300, "U/L", 300.0),
        ("glucose", 5.5, "mmol/L", 99.0858),
        ("bun", 7.14, "mmol/L", 20.00),
        ("calcium", 2.5, "mmol/L", 10.0195),
        ("calcium", 5.0, "mEq/L", 10.0195),
        ("magnesium", 1.0, "mmol/L", 2.4305),
        ("phosphate", 1.0, "mmol/L", 3.0974),
        ("lactate", 18.016, "mg/dL", 2.0),
        ("potassium", 4.1, "mEq/L", 4.1),
        ("hr", 72, "bpm", 72.0),
        ("rr", 16, "breaths/min", 16.0),
        ("sbp", 120, "mmHg", 120.0),
        ("ptt", 32, "sec", 32.0),
        ("o2_flow", 2000, "mL/min", 2.0),
        ("ph", 7.4, "", 7.4),
        ("ice_score", 8, "", 8.0),
        ("ice_score", 8, "1", 8.0),
        ("troponin_i", 40, "ng/L", 0.04),
    ],
)
def test_conversions(signal: str, value: float, unit: str, expected: float) -> None:
    assert conv(signal, value, unit) == pytest.approx(expected, rel=1e-4)


def test_exact_ucum_identity_keeps_the_value() -> None:
    for name, spec in CODEMAP.signals.items():
        assert to_canonical(spec, 12.5, spec.unit) == 12.5, name


def test_overflow_is_a_unit_error_not_infinity() -> None:
    with pytest.raises(UnitError) as err:
        conv("wbc", 1e308, "10*12/L")
    assert err.value.reason is Reason.WRONG_UNIT

"""Unit normalisation and conversion to each signal's canonical unit (``contract/signals.csv``).

A feed's unit string is resolved in three steps: an exact UCUM code first (UCUM codes are
case-sensitive: ``mg/dL`` is not ``Mg/dL``), then the alias table (common lab spellings such
as ``bpm``, ``K/uL``, ``mmHg``), then the alias table case-insensitively for spellings that
are unambiguous in every case (``MG/DL``; never ``G/L``, which is giga-cells per litre and
not grams). The resolved UCUM code is then converted to the signal's canonical unit by, in
order:

1. identity;
2. a decimal family (units that differ only by SI prefixes, e.g. ``ug/L`` and ``ng/mL``);
3. a non-decimal pair (temperature, pressure, katal);
4. a signal-specific molar conversion (``umol/L`` bilirubin -> ``mg/dL``), where the
   factor depends on the analyte's molar mass, or an equivalents conversion (``meq/L``).

Every table below is data, with the source of each factor beside it, so a reviewer can check
it against the lab's own conversion list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from contract.codemap import SignalSpec
from contract.reasons import Reason


class UnitError(ValueError):
    """A unit that is missing or cannot be converted to the signal's canonical unit."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# --- Decimal families ---------------------------------------------------------------------
# log10 of each unit's size relative to the family's base unit. Units within one family
# differ only by SI prefixes (UCUM 2.1 section 4.3, table 1; BIPM SI Brochure 9th ed.
# table 7), so converting is an exact power of ten.
DECIMAL_FAMILIES: dict[str, dict[str, int]] = {
    # Mass concentration, base g/L. Covers CRP mg/dL x10 -> mg/L, ferritin ug/L = ng/mL,
    # Hb g/L /10 -> g/dL, fibrinogen g/L x100 -> mg/dL, IL-6 ng/L = pg/mL,
    # D-dimer ug/mL and mg/L -> ng/mL x1000 (clinical-reference.md section 9).
    "mass_concentration": {
        "g/L": 0,
        "g/dL": 1,
        "mg/mL": 0,
        "mg/dL": -2,
        "mg/L": -3,
        "ug/mL": -3,
        "ug/dL": -5,
        "ug/L": -6,
        "ng/mL": -6,
        "ng/dL": -8,
        "ng/L": -9,
        "pg/mL": -9,
        "pg/L": -12,
    },
    # Number concentration (cell counts), base /L. 1000/uL = 1.0 x10^9/L
    # (clinical-reference.md section 9): /uL -> 10*3/uL divides by 1000.
    "number_concentration": {
        "/L": 0,
        "/uL": 6,
        "/mm3": 6,
        "/nL": 9,
        "10*3/uL": 9,
        "10*3/mm3": 9,
        "10*9/L": 9,
        "10*6/uL": 12,
        "10*12/L": 12,
    },
    # Substance concentration, base mol/L.
    "substance_concentration": {
        "mol/L": 0,
        "mmol/L": -3,
        "umol/L": -6,
        "nmol/L": -9,
        "pmol/L": -12,
    },
    # Equivalents concentration, base eq/L (converted to moles via the analyte's valence).
    "equivalent_concentration": {"eq/L": 0, "meq/L": -3, "ueq/L": -6},
    # Catalytic activity concentration in enzyme units, base U/L (U = umol/min, UCUM).
    "enzyme_activity": {"U/L": 0, "U/mL": 3, "mU/mL": 0, "kU/L": 3, "mU/L": -3},
    # Katal-based activity, base kat/L (SI); linked to U/L by a pair below.
    "katal_activity": {"kat/L": 0, "ukat/L": -6, "nkat/L": -9},
    # Fractions: "1" is a plain fraction (FiO2 0.21), % is 10^-2 of it; L/L is the SI
    # spelling of haematocrit as a fraction.
    "fraction": {"1": 0, "%": -2, "L/L": 0},
    # Pressure in pascals; mm[Hg] is not decimal and is linked by a pair below.
    "pressure_pa": {"Pa": 0, "kPa": 3, "hPa": 2},
    "time": {"s": 0, "ms": -3},
    "volume_flow": {"L/min": 0, "mL/min": -3},
    "rate": {"/min": 0},
}


@dataclass(frozen=True, slots=True)
class Linear:
    """``canonical = (value + offset) * multiply / divide`` (divide kept apart for exactness)."""

    multiply: float = 1.0
    divide: float = 1.0
    offset: float = 0.0

    def __call__(self, value: float) -> float:
        return (value + self.offset) * self.multiply / self.divide


# --- Non-decimal pairs (unit -> canonical unit) ----------------------------------------------
PAIR_CONVERSIONS: dict[tuple[str, str], Linear] = {
    # F = C x 1.8 + 32 (clinical-reference.md section 9), so C = (F - 32) / 1.8.
    ("[degF]", "Cel"): Linear(offset=-32.0, divide=1.8),
    # K = C + 273.15 (SI Brochure 9th ed., section 2.3.1).
    ("K", "Cel"): Linear(offset=-273.15),
    # 1 kPa = 7.50062 mmHg (760 mmHg = 101.325 kPa, standard atmosphere; brief's factor).
    ("kPa", "mm[Hg]"): Linear(multiply=7.50062),
    ("Pa", "mm[Hg]"): Linear(multiply=7.50062, divide=1000.0),
    ("hPa", "mm[Hg]"): Linear(multiply=7.50062, divide=10.0),
    # 1 U = 1 umol/min = 16.67 nkat, so 1 ukat/L = 60 U/L (IFCC; UCUM defines U = umol/min).
    ("ukat/L", "U/L"): Linear(multiply=60.0),
    ("nkat/L", "U/L"): Linear(multiply=60.0, divide=1000.0),
    ("kat/L", "U/L"): Linear(multiply=60e6),
}

# --- Signal-specific molar masses (g/mol) -----------------------------------------------------
# Used to convert between substance concentration (mmol/L, umol/L) and mass concentration.
# Where the clinical reference gives a conventional factor, the molar mass is the one that
# factor implies, so the result matches the lab's own conversion exactly.
MOLAR_MASS_G_PER_MOL: dict[str, float] = {
    # mg/dL x 17.1 = umol/L (clinical-reference.md section 9) -> 10000/17.1 g/mol.
    "bilirubin": 10000 / 17.1,
    "bilirubin_direct": 10000 / 17.1,
    # mg/dL x 88.4 = umol/L (clinical-reference.md section 9).
    "creatinine": 10000 / 88.4,
    # mg/dL / 88.5 = mmol/L (clinical-reference.md section 9; triolein 885 g/mol).
    "triglycerides": 885.0,
    # Glucose C6H12O6 180.156 g/mol (IUPAC standard atomic weights): mmol/L x 18.016.
    "glucose": 180.156,
    # Urea nitrogen: 2 N per urea, 2 x 14.007 = 28.014 g/mol: urea mmol/L x 2.8014 = BUN mg/dL.
    "bun": 28.014,
    # Calcium 40.078 g/mol (IUPAC): mmol/L x 4.008 = mg/dL.
    "calcium": 40.078,
    # Magnesium 24.305 g/mol (IUPAC): mmol/L x 2.431 = mg/dL.
    "magnesium": 24.305,
    # Phosphate reported as phosphorus, 30.974 g/mol (IUPAC): mmol/L x 3.097 = mg/dL.
    "phosphate": 30.974,
    # Lactate C3H5O3- 89.07 g/mol; labs use 9.01 (lactic acid 90.08): mg/dL / 9.008 = mmol/L.
    "lactate": 90.08,
    # Haemoglobin monomer 16 114.5 g/mol: Hb mmol/L x 1.611 = g/dL (Dutch/SI Hb reporting).
    "hgb": 16114.5,
    # Electrolytes reported by mass are rare; these allow mg/dL <-> mmol/L when they occur.
    "potassium": 39.098,
    "chloride": 35.45,
    "hco3": 61.017,
}

# Charge per ion, to turn meq/L into mmol/L (mmol/L = meq/L / valence).
VALENCE: dict[str, int] = {
    "potassium": 1,
    "chloride": 1,
    "hco3": 1,
    "base_excess": 1,
    "calcium": 2,
    "magnesium": 2,
}

# Canonical units that have no dimension: a feed may leave the unit out for them.
DIMENSIONLESS_UNITS: frozenset[str] = frozenset({"[pH]", "{score}", "{count}"})

# --- Aliases -> UCUM --------------------------------------------------------------------------
# Spellings seen in HL7 v2 OBX-6, lab systems and monitors, mapped onto the UCUM code with the
# same magnitude. Magnitude changes (``/uL`` -> ``10*3/uL``) are conversions, not aliases.
ALIASES: dict[str, str] = {
    # rates
    "bpm": "/min",
    "beats/min": "/min",
    "{beats}/min": "/min",
    "breaths/min": "/min",
    "{breaths}/min": "/min",
    "1/min": "/min",
    "/min": "/min",
    "per min": "/min",
    # temperature
    "degC": "Cel",
    "°C": "Cel",
    "C": "Cel",
    "deg C": "Cel",
    "celsius": "Cel",
    "degF": "[degF]",
    "°F": "[degF]",
    "F": "[degF]",
    "deg F": "[degF]",
    "fahrenheit": "[degF]",
    # pressure
    "mmHg": "mm[Hg]",
    "mm Hg": "mm[Hg]",
    "torr": "mm[Hg]",
    # counts (10^3 per uL == 10^9 per L)
    "K/uL": "10*3/uL",
    "k/uL": "10*3/uL",
    "K/mcL": "10*3/uL",
    "thou/uL": "10*3/uL",
    "x10^3/uL": "10*3/uL",
    "x10E3/uL": "10*3/uL",
    "10^3/uL": "10*3/uL",
    "10E3/uL": "10*3/uL",
    "10*3/ul": "10*3/uL",
    "10^3/mm3": "10*3/mm3",
    "10*9/L": "10*9/L",
    "10^9/L": "10*9/L",
    "x10^9/L": "10*9/L",
    "x10E9/L": "10*9/L",
    "10E9/L": "10*9/L",
    "x10*9/L": "10*9/L",
    "G/L": "10*9/L",
    "Gpt/L": "10*9/L",
    "10^12/L": "10*12/L",
    "x10^12/L": "10*12/L",
    "T/L": "10*12/L",
    "10^6/uL": "10*6/uL",
    "M/uL": "10*6/uL",
    "cells/uL": "/uL",
    "{cells}/uL": "/uL",
    "cells/mm3": "/mm3",
    "/cumm": "/mm3",
    # enzymes
    "IU/L": "U/L",
    "[IU]/L": "U/L",
    "U/l": "U/L",
    "units/L": "U/L",
    "mIU/mL": "mU/mL",
    "µkat/L": "ukat/L",
    # mass concentrations (micro written as mc or with the micro sign)
    "mcg/L": "ug/L",
    "mcg/mL": "ug/mL",
    "mcg/dL": "ug/dL",
    # substance
    "mmol/l": "mmol/L",
    "umol/l": "umol/L",
    "mEq/L": "meq/L",
    "meq/l": "meq/L",
    "mval/L": "meq/L",
    # fractions, pH, time, flow
    "fraction": "1",
    "ratio": "1",
    "percent": "%",
    "pH": "[pH]",
    "pH units": "[pH]",
    "sec": "s",
    "seconds": "s",
    "l/min": "L/min",
    "LPM": "L/min",
    "lpm": "L/min",
    "L/min": "L/min",
    "score": "{score}",
    "points": "{score}",
    "{points}": "{score}",
}

_DECIMAL_UNIT_FAMILY: dict[str, str] = {
    unit: family for family, units in DECIMAL_FAMILIES.items() for unit in units
}
UCUM_UNITS: frozenset[str] = frozenset(
    set(_DECIMAL_UNIT_FAMILY)
    | {u for pair in PAIR_CONVERSIONS for u in pair}
    | {"Cel", "[degF]", "K", "mm[Hg]", "[pH]", "{score}", "{count}"}
)


def _case_insensitive_aliases() -> dict[str, str]:
    """Lower-cased spellings that name one unit only (``g/l`` is dropped: g/L vs G/L)."""
    seen: dict[str, set[str]] = {}
    for spelling, code in [*ALIASES.items(), *((u, u) for u in UCUM_UNITS)]:
        seen.setdefault(spelling.lower(), set()).add(code)
    return {low: next(iter(codes)) for low, codes in seen.items() if len(codes) == 1}


_CI_ALIASES = _case_insensitive_aliases()

# D-dimer is reported against two different calibrators; the annotation must match the signal.
_ANNOTATION = re.compile(
    r"^(?P<base>.*?)\s*(?:\{(?P<a1>FEU|DDU)\}|\((?P<a2>FEU|DDU)\)|\s(?P<a3>FEU|DDU))$"
)
_ANNOTATED_SIGNALS: dict[str, str] = {"ddimer_feu": "FEU", "ddimer_ddu": "DDU"}


def _resolve_plain(unit: str) -> str | None:
    if unit in UCUM_UNITS:
        return unit
    alias = ALIASES.get(unit)
    if alias is not None:
        return alias
    cleaned = unit.replace("µ", "u").replace("μ", "u").replace(" ", "") if unit else unit
    if cleaned in UCUM_UNITS:
        return cleaned
    alias = ALIASES.get(cleaned)
    if alias is not None:
        return alias
    return _CI_ALIASES.get(unit.lower()) or _CI_ALIASES.get(cleaned.lower())


def normalize_unit(unit: str) -> str:
    """The UCUM code for a unit spelling: exact UCUM first, then the alias table.

    A D-dimer calibrator annotation is kept in UCUM form (``mg/L FEU`` -> ``mg/L{FEU}``).
    Raises :class:`UnitError` (``MISSING_UNIT`` for an empty unit, ``WRONG_UNIT`` for one
    that is not known).
    """
    text = unit.strip()
    if not text:
        raise UnitError(Reason.MISSING_UNIT, "no unit")
    resolved = _resolve_plain(text)
    if resolved is not None:
        return resolved
    match = _ANNOTATION.match(text)
    if match is not None:
        base = _resolve_plain(match["base"].strip())
        annotation = match["a1"] or match["a2"] or match["a3"]
        if base is not None:
            return f"{base}{{{annotation}}}"
    raise UnitError(Reason.WRONG_UNIT, f"unknown unit {text[:40]!r}")


def _scale10(exponent: int) -> Linear:
    # Exact for the exponents used here: 10**n is exact in binary floating point for n <= 22.
    if exponent >= 0:
        return Linear(multiply=float(10**exponent))
    return Linear(divide=float(10**-exponent))


def _family(unit: str) -> str | None:
    return _DECIMAL_UNIT_FAMILY.get(unit)


def _molar(signal: str, source: str, target: str) -> Callable[[float], float] | None:
    """Substance <-> mass concentration (and meq/L) for one analyte, or ``None``."""
    mass = MOLAR_MASS_G_PER_MOL.get(signal)
    exponents = DECIMAL_FAMILIES
    src_family, dst_family = _family(source), _family(target)
    to_mol: Callable[[float], float] | None = None
    if src_family == "equivalent_concentration" and signal in VALENCE:
        # meq -> mmol: divide by the ion's charge.
        to_mol = Linear(
            multiply=float(10.0 ** exponents["equivalent_concentration"][source]),
            divide=float(VALENCE[signal]),
        )
    elif src_family == "substance_concentration":
        to_mol = _scale10(exponents["substance_concentration"][source])
    if to_mol is not None:
        if dst_family == "substance_concentration":
            out = _scale10(-exponents["substance_concentration"][target])
            convert_mol = to_mol
            return lambda value: out(convert_mol(value))
        if dst_family == "mass_concentration" and mass is not None:
            out = _scale10(-exponents["mass_concentration"][target])
            convert_mol = to_mol
            return lambda value: out(convert_mol(value) * mass)
        return None
    if src_family == "mass_concentration" and dst_family == "substance_concentration":
        if mass is None:
            return None
        to_g = _scale10(exponents["mass_concentration"][source])
        out = _scale10(-exponents["substance_concentration"][target])
        return lambda value: out(to_g(value) / mass)
    return None


@lru_cache(maxsize=4096)
def converter(signal: str, canonical_unit: str, unit: str) -> Callable[[float], float]:
    """A function converting values of ``signal`` in ``unit`` to ``canonical_unit``.

    Cached, so per-value conversion in hot loops (PSV replay) costs one call.
    Raises :class:`UnitError`.
    """
    text = unit.strip()
    if not text and canonical_unit in DIMENSIONLESS_UNITS:
        return _identity
    code = normalize_unit(text)
    annotation_needed = _ANNOTATED_SIGNALS.get(signal)
    if code.endswith("}") and "{" in code and not code.startswith("{"):
        code, annotation = code[:-1].split("{", 1)
        if annotation != annotation_needed:
            raise UnitError(Reason.WRONG_UNIT, f"{annotation} unit for signal {signal}")
    if code == canonical_unit:
        return _identity
    if canonical_unit.startswith("{") and (code == "1" or code.startswith("{")):
        return _identity  # UCUM annotations are dimensionless: {score} == 1
    family = _family(code)
    if family is not None and family == _family(canonical_unit):
        table = DECIMAL_FAMILIES[family]
        return _scale10(table[code] - table[canonical_unit])
    pair = PAIR_CONVERSIONS.get((code, canonical_unit))
    if pair is not None:
        return pair
    molar = _molar(signal, code, canonical_unit)
    if molar is not None:
        return molar
    raise UnitError(
        Reason.WRONG_UNIT, f"cannot convert {code} to {canonical_unit} for signal {signal}"
    )


def _identity(value: float) -> float:
    return value


def to_canonical(spec: SignalSpec, value: float, unit: str) -> float:
    """``value`` (in ``unit``) expressed in the signal's canonical unit.

    Raises :class:`UnitError` with ``reason`` ``MISSING_UNIT`` or ``WRONG_UNIT``; a result
    that is not finite (overflow) is ``WRONG_UNIT`` too, never a silent infinity.
    """
    result = converter(spec.signal, spec.unit, unit)(value)
    if not math.isfinite(result):
        raise UnitError(Reason.WRONG_UNIT, f"conversion of {value!r} {unit} overflowed")
    return result

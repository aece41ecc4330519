"""The reviewed code map: which codes the service knows, and each signal's unit and range.

Two data files ship with the service (``signals.csv`` and ``codes.csv`` beside this module);
a site adds its own lab codes or signals by pointing ``EWS_EXTRA_CODES_FILE`` /
``EWS_EXTRA_SIGNALS_FILE`` at CSV files with the same columns, no code change needed.
Codes are matched on (system, code) exactly; HL7 v2 coding-system names (``LN``, ``LOINC``)
are aliases of ``http://loinc.org``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
LOINC = "http://loinc.org"
LOCAL = "urn:ews:local"
SYSTEM_ALIASES: dict[str, str] = {
    "LN": LOINC,
    "LNC": LOINC,
    "LOINC": LOINC,
    "http://loinc.org/": LOINC,
    "L": LOCAL,
    "EWS": LOCAL,
    LOCAL: LOCAL,
    LOINC: LOINC,
}


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """A canonical signal: its unit and the range a real measurement can take."""

    signal: str
    unit: str
    plausible_min: float
    plausible_max: float
    description: str

    def plausible(self, value: float) -> bool:
        """True when ``value`` (in the canonical unit) could be a real measurement."""
        return self.plausible_min <= value <= self.plausible_max


class CodeMapError(ValueError):
    """The code map files are inconsistent (unknown signal, duplicate code...)."""


class CodeMap:
    """Lookup from (system, code) to :class:`SignalSpec`."""

    def __init__(self, signals: Iterable[SignalSpec], codes: Iterable[tuple[str, str, str]]):
        self.signals: dict[str, SignalSpec] = {}
        for spec in signals:
            self.signals[spec.signal] = spec
        self._codes: dict[tuple[str, str], SignalSpec] = {}
        for system, code, signal in codes:
            if signal not in self.signals:
                raise CodeMapError(f"code {system}|{code} names unknown signal {signal!r}")
            key = (normalize_system(system), code.strip())
            known = self._codes.get(key)
            if known is not None and known.signal != signal:
                raise CodeMapError(f"code {system}|{code} mapped to {known.signal} and {signal}")
            self._codes[key] = self.signals[signal]

    def lookup(self, system: str | None, code: str) -> SignalSpec | None:
        """The signal for a coding, or ``None`` when the code map does not know it."""
        return self._codes.get((normalize_system(system or LOINC), code.strip()))

    def signal(self, name: str) -> SignalSpec:
        """The spec of a canonical signal name (raises ``KeyError`` if unknown)."""
        return self.signals[name]

    def codes(self) -> list[tuple[str, str, str]]:
        """Every (system, code, signal) the map knows, sorted."""
        return sorted((s, c, spec.signal) for (s, c), spec in self._codes.items())


def normalize_system(system: str) -> str:
    """Map HL7 v2 coding-system names and URL variants onto one system URI."""
    s = system.strip()
    return SYSTEM_ALIASES.get(s, SYSTEM_ALIASES.get(s.upper(), s))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if any(v.strip() for v in row.values() if v)]


def _signals(path: Path) -> list[SignalSpec]:
    return [
        SignalSpec(
            signal=r["signal"].strip(),
            unit=r["canonical_unit"].strip(),
            plausible_min=float(r["plausible_min"]),
            plausible_max=float(r["plausible_max"]),
            description=r.get("description", "").strip(),
        )
        for r in _read_csv(path)
    ]


def _codes(path: Path) -> list[tuple[str, str, str]]:
    return [(r["system"], r["code"], r["signal"].strip()) for r in _read_csv(path)]


def load_codemap(extra_signals: Path | None = None, extra_codes: Path | None = None) -> CodeMap:
    """Build the code map from the shipped files plus a site's optional extra files."""
    signals = _signals(_HERE / "signals.csv")
    codes = _codes(_HERE / "codes.csv")
    if extra_signals is not None:
        signals += _signals(extra_signals)
    if extra_codes is not None:
        codes += _codes(extra_codes)
    return CodeMap(signals, codes)


@lru_cache(maxsize=1)
def default_codemap() -> CodeMap:
    """The shipped code map (cached); use :func:`load_codemap` for site extensions."""
    return load_codemap()

"""Codes and units the simulator writes, taken from the reviewed code map files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import contract
from contract.codemap import LOINC, default_codemap

# Where a signal has several codes, the one a pulse oximeter / most labs send.
_PREFERRED: dict[str, str] = {"spo2": "59408-5", "ferritin": "2276-4"}
# The second simulated laboratory codes ferritin by immunoassay (interfaces.md).
_SITE_B: dict[str, str] = {"ferritin": "20567-4"}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")


@dataclass(frozen=True, slots=True)
class Coding:
    """A code with its system and display text."""

    system: str
    code: str
    display: str

    @property
    def token(self) -> str:
        """``system|code``, the form the canonical contract carries."""
        return f"{self.system}|{self.code}"


@lru_cache(maxsize=1)
def _codings() -> dict[tuple[str, str], Coding]:
    path = Path(contract.__file__).resolve().parent / "codes.csv"
    out: dict[tuple[str, str], Coding] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            coding = Coding(row["system"].strip(), row["code"].strip(), row["display"].strip())
            out[(row["signal"].strip(), coding.code)] = coding
    return out


@lru_cache(maxsize=64)
def coding_for(signal: str, site: str = "A") -> Coding:
    """The LOINC coding the simulator uses for ``signal`` (site-specific for ferritin)."""
    wanted = (_SITE_B if site == "B" else {}).get(signal) or _PREFERRED.get(signal)
    candidates = [c for (s, _), c in _codings().items() if s == signal]
    for c in candidates:
        if c.code == wanted:
            return c
    loinc = [c for c in candidates if c.system == LOINC]
    if not loinc:
        raise KeyError(f"no LOINC code for signal {signal!r}")
    return loinc[0]


def unit_of(signal: str) -> str:
    """Canonical UCUM unit of a signal."""
    return default_codemap().signal(signal).unit

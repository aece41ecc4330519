"""Systemic inflammatory response syndrome (SIRS) criteria, >= 2 of 4.

Citation: Bone RC, Balk RA, Cerra FB, et al. Definitions for sepsis and organ failure and
guidelines for the use of innovative therapies in sepsis (ACCP/SCCM Consensus Conference).
Chest 1992;101(6):1644-1655.

Inputs: temp_max_24h, temp_min_24h; hr_max_1h; rr_max_1h, paco2_last; wbc_last, bands_last.
Strict inequalities as published: HR 90 does not count, temperature 38.0 does not count.

| criterion   | threshold                                              |
|-------------|--------------------------------------------------------|
| temperature | > 38.0 C or < 36.0 C                                   |
| heart rate  | > 90 /min                                              |
| respiration | RR > 20 /min or PaCO2 < 32 mmHg                        |
| white cells | WBC > 12 or < 4 x10^9/L, or > 10% immature (band) forms |

Windows: worst temperature of 24 h, worst heart and respiratory rate of the last hour.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.bands import Op
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import InputSpec, RuleSpec, down, up

NAME = "sirs"
CRITERIA = "SIRS criteria"
VERSION = "ACCP-SCCM-1992"
CITATION = "Bone RC et al. Chest 1992;101:1644-1655"
REQUIRED = 2

# criterion -> alternatives (feature, op, threshold, meaning); any alternative fulfils it.
TABLE: dict[str, tuple[tuple[str, Op, float, str], ...]] = {
    "temperature": (
        ("temp_max_24h", ">", 38.0, "temperature > 38 C"),
        ("temp_min_24h", "<", 36.0, "temperature < 36 C"),
    ),
    "heart_rate": (("hr_max_1h", ">", 90.0, "HR > 90 /min"),),
    "respiration": (
        ("rr_max_1h", ">", 20.0, "RR > 20 /min"),
        ("paco2_last", "<", 32.0, "PaCO2 < 32 mmHg"),
    ),
    "white_cells": (
        ("wbc_last", ">", 12.0, "WBC > 12 x10^9/L"),
        ("wbc_last", "<", 4.0, "WBC < 4 x10^9/L"),
        ("bands_last", ">", 10.0, "bands > 10%"),
    ),
}
# PaCO2 and bands are extra routes to a criterion: when absent they are listed as missing
# (they could have fulfilled it) but the criterion is still scored on its core input.
OPTIONAL_ALTERNATIVES = frozenset({"paco2_last", "bands_last"})


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """Count SIRS criteria; >= 2 is SIRS."""
    del cfg
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="criteria"
    )
    for criterion, alternatives in TABLE.items():
        hit = False
        core_missing = False
        for feature, op, threshold, meaning in alternatives:
            v = ctx.value(feature)
            if v is None:
                core_missing |= feature not in OPTIONAL_ALTERNATIVES
                continue
            hit |= ctx.test(feature, v, op, threshold, f"{meaning} (SIRS)")
        ctx.components[criterion] = 1 if hit else (None if core_missing else 0)
        if hit:
            ctx.reason(f"SIRS criterion met: {criterion}")
    met_n = sum(1 for v in ctx.components.values() if v)
    open_n = sum(1 for v in ctx.components.values() if v is None)
    met: bool | None
    if met_n >= REQUIRED:
        met, status = True, "met"
        ctx.reason(f"SIRS: {met_n} of 4 criteria (>= 2)")
    elif met_n + open_n < REQUIRED:
        met, status = False, "not_met"
    else:
        met, status = None, "undetermined"
    return ctx.result(points=float(met_n), points_max=float(met_n + open_n), met=met, status=status)


INPUTS = (
    *up("temp_max_24h", "hr_max_1h", "rr_max_1h", "bands_last"),
    *down("temp_min_24h", "paco2_last"),
    InputSpec("wbc_last", "away", 8.0),
)
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

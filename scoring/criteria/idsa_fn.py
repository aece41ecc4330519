"""IDSA definition of febrile neutropenia.

Citation: Freifeld AG, Bow EJ, Sepkowitz KA, et al. Clinical practice guideline for the use
of antimicrobial agents in neutropenic patients with cancer: 2010 update by the Infectious
Diseases Society of America. Clin Infect Dis 2011;52(4):e56-e93.

Inputs: temp_max_24h, fever_sustained_1h, anc_last.

| part        | criterion                                                         |
|-------------|-------------------------------------------------------------------|
| fever       | single oral temperature >= 38.3 C, or >= 38.0 C sustained over 1 h |
| neutropenia | ANC < 0.5 x10^9/L, or expected to fall below 0.5 within 48 h       |

Decision: "expected to fall" cannot be read from one snapshot. ANC < 0.5 fulfils the
neutropenia part; 0.5 <= ANC < 1.0 with fever is "undetermined" (clinician to judge the
expected fall); ANC >= 1.0 is read as not neutropenic.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "idsa_fn"
CRITERIA = "IDSA febrile neutropenia"
VERSION = "IDSA-2010"
CITATION = "Freifeld AG et al. Clin Infect Dis 2011;52:e56-e93"

SINGLE_TEMP_GE = 38.3
ANC_LT = 0.5
ANC_MAY_FALL_LT = 1.0


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """IDSA febrile neutropenia: met, not met, or undetermined."""
    del cfg
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="criteria"
    )
    temp = ctx.value("temp_max_24h")
    sustained = ctx.value("fever_sustained_1h")
    anc = ctx.value("anc_last")
    fever: bool | None = None
    if temp is not None and ctx.test(
        "temp_max_24h", temp, ">=", SINGLE_TEMP_GE, "single temperature >= 38.3 C (IDSA fever)"
    ):
        fever = True
    elif sustained is not None and sustained >= 1:
        ctx.hit("fever_sustained_1h", sustained, "= 1: >= 38.0 C sustained over 1 h (IDSA fever)")
        fever = True
    elif temp is not None and (sustained is not None or temp < 38.0):
        fever = False
    neutropenia: bool | None = None
    if anc is not None:
        if ctx.test("anc_last", anc, "<", ANC_LT, "ANC < 0.5 x10^9/L (IDSA neutropenia)"):
            neutropenia = True
        elif anc < ANC_MAY_FALL_LT:
            ctx.hit(
                "anc_last",
                anc,
                "< 1.0 x10^9/L: may fall below 0.5 within 48 h (clinician judgement)",
            )
            ctx.add_unknown("ANC expected to fall below 0.5 x10^9/L within 48 h (clinician)")
        else:
            neutropenia = False
    ctx.components.update(
        {
            "fever": None if fever is None else int(fever),
            "neutropenia": None if neutropenia is None else int(neutropenia),
        }
    )
    met: bool | None
    if fever and neutropenia:
        met, status = True, "met"
        ctx.reason("IDSA 2010 febrile neutropenia: fever with ANC < 0.5 x10^9/L")
    elif fever is False or neutropenia is False:
        met, status = False, "not_met"
    else:
        met, status = None, "undetermined"
        if fever:
            ctx.reason(
                "IDSA 2010: fever with ANC 0.5-1.0 x10^9/L - febrile neutropenia if the ANC is "
                "expected to fall below 0.5 within 48 h"
            )
    return ctx.result(
        met=met, status=status, points=float(int(bool(fever)) + int(bool(neutropenia)))
    )


INPUTS = (*up("temp_max_24h", "fever_sustained_1h"), *down("anc_last"))
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

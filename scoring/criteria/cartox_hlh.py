"""CARTOX criteria for CAR-T-related HLH/MAS (wording UNVERIFIED: versioned separately).

Citation: Neelapu SS, Tummala S, Kebriaei P, et al. Chimeric antigen receptor T-cell
therapy - assessment and management of toxicities. Nat Rev Clin Oncol 2018;15(1):47-62.
The reference (clinical-reference.md section 4) marks this wording unverified; it lives
behind its own version string so it can be corrected without touching other rules.

Inputs: ferritin_max_cycle; CRS now (ASTCT 2019 grade, from astct_crs); alt_x_uln,
ast_x_uln, bilirubin_x_uln; creatinine_x_uln, creatinine_fold_from_baseline.

| criterion | stream reading |
|-|-|
| peak ferritin > 10,000 ng/mL during CRS | ferritin_max_cycle > 10000 and ASTCT CRS grade >= 1 |
| plus two of: |  |
| grade >= 3 bilirubin, AST or ALT increase | CTCAE v5: ALT/AST > 5 x ULN or bilirubin > 3 x ULN |
| grade >= 3 oliguria or creatinine increase | creatinine > 3 x ULN or baseline; oliguria unknown |
| grade >= 3 pulmonary edema | unknown (imaging/clinical) |
| hemophagocytosis in marrow or organs | unknown (biopsy) |
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.criteria import astct_crs
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "cartox_hlh"
CRITERIA = "CARTOX HLH/MAS criteria"
VERSION = "CARTOX-Neelapu2018-unverified-r1"
CITATION = "Neelapu SS et al. Nat Rev Clin Oncol 2018;15:47-62 (wording unverified)"

FERRITIN_GT = 10_000.0
TRANSAMINASE_G3_X_ULN = 5.0  # CTCAE v5 grade 3 starts above 5.0 x ULN
BILIRUBIN_G3_X_ULN = 3.0  # CTCAE v5 grade 3 starts above 3.0 x ULN
CREATININE_G3_X = 3.0  # CTCAE v5 creatinine increased grade 3: > 3.0 x baseline or x ULN
ORGAN_NEEDED = 2


def _any_above(ctx: RuleContext, tests: tuple[tuple[str, float, str], ...]) -> bool | None:
    seen_all = True
    for feature, limit, meaning in tests:
        v = ctx.value(feature)
        if v is None:
            seen_all = False
        elif ctx.test(feature, v, ">", limit, meaning):
            return True
    return False if seen_all else None


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """CARTOX HLH/MAS: ferritin > 10,000 during CRS plus two organ criteria."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="criteria"
    )
    ferritin = ctx.value("ferritin_max_cycle")
    high_ferritin = (
        None
        if ferritin is None
        else ctx.test(
            "ferritin_max_cycle",
            ferritin,
            ">",
            FERRITIN_GT,
            "peak ferritin > 10,000 ng/mL (CARTOX)",
        )
    )
    crs = astct_crs.score(snapshot, cfg)
    during_crs: bool | None = None
    if crs.grade:
        during_crs = True
        ctx.reason(f"CRS present now (ASTCT 2019 grade {crs.grade})")
    else:
        ctx.add_unknown("ferritin peak during CRS: CRS history is not in the snapshot")
        for feature in crs.missing:  # CRS presence undetermined: its gaps are ours
            if feature not in ctx.missing:
                ctx.missing.append(feature)
    liver = _any_above(
        ctx,
        (
            (
                "alt_x_uln",
                TRANSAMINASE_G3_X_ULN,
                "ALT > 5 x ULN, grade >= 3 (CARTOX organ criterion)",
            ),
            (
                "ast_x_uln",
                TRANSAMINASE_G3_X_ULN,
                "AST > 5 x ULN, grade >= 3 (CARTOX organ criterion)",
            ),
            (
                "bilirubin_x_uln",
                BILIRUBIN_G3_X_ULN,
                "bilirubin > 3 x ULN, grade >= 3 (CARTOX organ criterion)",
            ),
        ),
    )
    renal = _any_above(
        ctx,
        (
            (
                "creatinine_x_uln",
                CREATININE_G3_X,
                "creatinine > 3 x ULN, grade >= 3 (CARTOX organ criterion)",
            ),
            (
                "creatinine_fold_from_baseline",
                CREATININE_G3_X,
                "creatinine > 3 x baseline, grade >= 3 (CARTOX organ criterion)",
            ),
        ),
    )
    organ: dict[str, bool | None] = {
        "liver": liver,
        "renal": renal,
        "pulmonary_edema": None,
        "hemophagocytosis": None,
    }
    ctx.add_unknown("grade >= 3 pulmonary edema: not in the stream")
    ctx.add_unknown("hemophagocytosis in marrow or organs: not in the stream")
    if renal is not True:
        ctx.add_unknown("grade >= 3 oliguria: urine output not in the stream")
        organ["renal"] = None  # oliguria could still fulfil it
    for key, ok in organ.items():
        ctx.components[key] = None if ok is None else int(ok)
    ctx.components["ferritin_gt_10000"] = None if high_ferritin is None else int(high_ferritin)
    n_met = sum(1 for v in organ.values() if v)
    n_open = sum(1 for v in organ.values() if v is None)
    met: bool | None
    if high_ferritin is False or n_met + n_open < ORGAN_NEEDED:
        met, status = False, "not_met"
    elif high_ferritin and during_crs and n_met >= ORGAN_NEEDED:
        met, status = True, "met"
        ctx.reason(
            f"CARTOX HLH/MAS: peak ferritin > 10,000 ng/mL during CRS with {n_met} organ criteria"
        )
    else:
        met, status = None, "undetermined"
    if high_ferritin:
        ctx.reason("CARTOX: peak ferritin > 10,000 ng/mL this cycle")
    ctx.note("Wording of CARTOX HLH/MAS criteria unverified in the project reference.")
    return ctx.result(points=float(n_met), points_max=float(n_met + n_open), met=met, status=status)


INPUTS = (
    *up(
        "ferritin_max_cycle",
        "alt_x_uln",
        "ast_x_uln",
        "bilirubin_x_uln",
        "creatinine_x_uln",
        "creatinine_fold_from_baseline",
    ),
    *up("temp_max_24h", "vasopressor_count_last", "vasopressin_last", "o2_support_level"),
    *down("sbp_min_1h", "map_min_1h"),
)
CONTEXT = ("hours_since_antipyretic", "hours_since_corticosteroid", "hours_since_tocilizumab")
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS, CONTEXT),)

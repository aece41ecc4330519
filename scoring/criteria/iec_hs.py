"""Immune effector cell-associated HLH-like syndrome, IEC-HS (wording UNVERIFIED).

Citation: Hines MR, Knight TE, McNerney KO, et al. Immune Effector Cell-Associated
Hemophagocytic Lymphohistiocytosis-Like Syndrome. Transplant Cell Ther 2023;29(7):438.e1-
438.e16. The reference (clinical-reference.md section 4) marks this wording unverified; it
lives behind its own version string so it can be corrected without touching other rules.

Inputs: ferritin_last, ferritin_fold_from_baseline (ULN from RuleConfig.ferritin_uln: no
ferritin ULN feature); alt_x_uln, ast_x_uln; fibrinogen_last; anc_last, platelets_last,
hgb_last; ldh_x_uln; triglycerides_last.

| part | criterion | stream reading |
|-|-|-|
| hallmark | rising ferritin, > 2 x ULN or above infusion baseline | > 2 x ULN or > 2 x baseline |
| timing | onset as CRS resolves, or CRS worsening again | unknown (clinician) |
| supporting (any) | ALT or AST > 5 x ULN | alt_x_uln / ast_x_uln > 5 |
|  | fibrinogen < 150 mg/dL | fibrinogen_last < 150 |
|  | new cytopenias | ANC < 1.0, platelets < 50 or Hb < 8.0 (CTCAE >= 3); "new" is unknown |
|  | LDH > ULN | ldh_x_uln > 1 |
|  | coagulopathy | unknown (no PT/INR feature) |
|  | triglycerides > 265 mg/dL | triglycerides_last > 265 |

Decision: "> 2x ULN or above infusion baseline" is read as "> 2 x ULN or > 2 x the infusion
baseline" (Hines 2023 reads "> 2 x ULN or baseline"). Met = hallmark plus one supporting
feature; timing and attribution stay clinician judgements and are listed as unknown.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.bands import Op
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "iec_hs"
CRITERIA = "IEC-HS (immune effector cell HLH-like syndrome)"
VERSION = "IEC-HS-Hines2023-unverified-r1"
CITATION = "Hines MR et al. Transplant Cell Ther 2023;29:438.e1-e16 (wording unverified)"

FERRITIN_X_ULN = 2.0
FERRITIN_X_BASELINE = 2.0
SUPPORTING: tuple[tuple[str, Op, float, str], ...] = (
    ("alt_x_uln", ">", 5.0, "ALT > 5 x ULN"),
    ("ast_x_uln", ">", 5.0, "AST > 5 x ULN"),
    ("fibrinogen_last", "<", 150.0, "fibrinogen < 150 mg/dL"),
    ("anc_last", "<", 1.0, "ANC < 1.0 x10^9/L (cytopenia)"),
    ("platelets_last", "<", 50.0, "platelets < 50 x10^9/L (cytopenia)"),
    ("hgb_last", "<", 8.0, "Hb < 8.0 g/dL (cytopenia)"),
    ("ldh_x_uln", ">", 1.0, "LDH > ULN"),
    ("triglycerides_last", ">", 265.0, "triglycerides > 265 mg/dL"),
)


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """IEC-HS screen: ferritin hallmark plus at least one supporting feature."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="criteria"
    )
    ferritin = ctx.value("ferritin_last")
    fold = ctx.value("ferritin_fold_from_baseline")
    limit = FERRITIN_X_ULN * cfg.ferritin_uln
    hallmark: bool | None = None
    if (
        ferritin is not None
        and ctx.test(
            "ferritin_last", ferritin, ">", limit, f"> 2 x ULN ({limit:g} ng/mL; IEC-HS hallmark)"
        )
    ) or (
        fold is not None
        and ctx.test(
            "ferritin_fold_from_baseline",
            fold,
            ">",
            FERRITIN_X_BASELINE,
            "> 2 x infusion baseline (IEC-HS hallmark)",
        )
    ):
        hallmark = True
    elif ferritin is not None and fold is not None:
        hallmark = False
    ctx.components["ferritin_hallmark"] = None if hallmark is None else int(hallmark)
    n_support = n_open = 0
    for feature, op, threshold, meaning in SUPPORTING:
        v = ctx.value(feature)
        if v is None:
            n_open += 1
        elif ctx.test(feature, v, op, threshold, f"{meaning} (IEC-HS supporting)"):
            n_support += 1
    ctx.add_unknown("coagulopathy (PT/INR, D-dimer): not in the snapshot")
    ctx.add_unknown("timing: onset as CRS resolves or CRS worsening again (clinician)")
    ctx.add_unknown("cytopenias new versus pre-existing (clinician)")
    ctx.components["supporting"] = n_support
    met: bool | None
    if hallmark is False:
        met, status = False, "not_met"
    elif hallmark and n_support >= 1:
        met, status = True, "met"
        ctx.reason(
            f"IEC-HS: ferritin hallmark with {n_support} supporting feature(s); timing and "
            "attribution to be confirmed by a clinician"
        )
    else:
        # A hallmark without supporting features stays open, not absent: coagulopathy and
        # any missing supporting input could still fulfil it.
        met, status = None, "undetermined"
    if hallmark:
        ctx.reason("IEC-HS hallmark: ferritin > 2 x ULN or > 2 x baseline")
    ctx.note(
        "Wording of IEC-HS criteria unverified in the project reference; IEC-HS grading (Hines "
        "2023) needs treatment response and is not computed."
    )
    return ctx.result(points=float(n_support + (1 if hallmark else 0)), met=met, status=status)


INPUTS = (
    *up(
        "ferritin_last",
        "ferritin_fold_from_baseline",
        "alt_x_uln",
        "ast_x_uln",
        "ldh_x_uln",
        "triglycerides_last",
    ),
    *down("fibrinogen_last", "anc_last", "platelets_last", "hgb_last"),
)
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

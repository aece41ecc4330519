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
| hallmark | rising ferritin, > 2 x ULN or above infusion baseline | > 2 x ULN and > 2 x baseline |
| timing | onset as CRS resolves, or CRS worsening again | unknown (clinician) |
| specific (any) | ALT or AST > 5 x ULN | alt_x_uln / ast_x_uln > 5 |
|  | fibrinogen < 150 mg/dL | fibrinogen_last < 150 |
|  | triglycerides > 265 mg/dL | triglycerides_last > 265 |
|  | coagulopathy | unknown (no PT/INR feature) |
| context (not counted) | new cytopenias; LDH > ULN | CTCAE >= 3 cytopenia; ldh_x_uln > 1 |

Decisions (r2). The hallmark is a *rising* ferritin: above 2 x ULN and more than doubled from
the infusion baseline. Patients with acute lymphoblastic leukemia often start blinatumomab with
ferritin above 2 x ULN (inflammation, transfusions), and with cytopenias and a raised LDH from
the leukemia itself; in r1, where "> 2 x ULN" alone was a hallmark and LDH or a cytopenia
counted as support, the screen was met in about a third of the snapshots of simulated patients
who never had HLH. Cytopenias and LDH are therefore reported as context but do not confirm the
screen: one of the HLH-specific features must (transaminases > 5 x ULN, fibrinogen < 150 mg/dL,
triglycerides > 265 mg/dL). Without a baseline the hallmark is undetermined, never met. Timing
and attribution stay clinician judgements and are listed as unknown.
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
VERSION = "IEC-HS-Hines2023-unverified-r2"
CITATION = "Hines MR et al. Transplant Cell Ther 2023;29:438.e1-e16 (wording unverified)"

FERRITIN_X_ULN = 2.0
FERRITIN_X_BASELINE = 2.0
SPECIFIC: tuple[tuple[str, Op, float, str], ...] = (
    ("alt_x_uln", ">", 5.0, "ALT > 5 x ULN"),
    ("ast_x_uln", ">", 5.0, "AST > 5 x ULN"),
    ("fibrinogen_last", "<", 150.0, "fibrinogen < 150 mg/dL"),
    ("triglycerides_last", ">", 265.0, "triglycerides > 265 mg/dL"),
)
CONTEXT: tuple[tuple[str, Op, float, str], ...] = (
    ("anc_last", "<", 1.0, "ANC < 1.0 x10^9/L (cytopenia)"),
    ("platelets_last", "<", 50.0, "platelets < 50 x10^9/L (cytopenia)"),
    ("hgb_last", "<", 8.0, "Hb < 8.0 g/dL (cytopenia)"),
    ("ldh_x_uln", ">", 1.0, "LDH > ULN"),
)


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """IEC-HS screen: rising ferritin plus at least one HLH-specific feature."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="criteria"
    )
    ferritin = ctx.value("ferritin_last")
    fold = ctx.value("ferritin_fold_from_baseline")
    limit = FERRITIN_X_ULN * cfg.ferritin_uln
    above_uln = None if ferritin is None else ferritin > limit
    rising = None if fold is None else fold > FERRITIN_X_BASELINE
    hallmark: bool | None
    if above_uln is False or rising is False:
        hallmark = False
    elif above_uln and rising:
        assert ferritin is not None and fold is not None
        ctx.test("ferritin_last", ferritin, ">", limit, f"> 2 x ULN ({limit:g} ng/mL)")
        ctx.test(
            "ferritin_fold_from_baseline",
            fold,
            ">",
            FERRITIN_X_BASELINE,
            "> 2 x infusion baseline (rising ferritin: IEC-HS hallmark)",
        )
        hallmark = True
    else:
        hallmark = None
    ctx.components["ferritin_hallmark"] = None if hallmark is None else int(hallmark)
    n_support = 0
    for feature, op, threshold, meaning in SPECIFIC:
        v = ctx.value(feature)
        if v is not None and ctx.test(feature, v, op, threshold, f"{meaning} (IEC-HS)"):
            n_support += 1
    context = [
        meaning
        for feature, op, threshold, meaning in CONTEXT
        if (v := ctx.value(feature)) is not None and (v < threshold if op == "<" else v > threshold)
    ]
    if context:
        ctx.note(
            "Present but not counted (common in leukemia before any HLH): " + "; ".join(context)
        )
    ctx.add_unknown("coagulopathy (PT/INR, D-dimer): not in the snapshot")
    ctx.add_unknown("timing: onset as CRS resolves or CRS worsening again (clinician)")
    ctx.add_unknown("cytopenias new versus pre-existing (clinician)")
    ctx.components["specific"] = n_support
    met: bool | None
    if hallmark is False:
        met, status = False, "not_met"
    elif hallmark and n_support >= 1:
        met, status = True, "met"
        ctx.reason(
            f"IEC-HS: rising ferritin with {n_support} HLH-specific feature(s); timing and "
            "attribution to be confirmed by a clinician"
        )
    else:
        # A hallmark without a specific feature stays open, not absent: coagulopathy and
        # any missing input could still fulfil it.
        met, status = None, "undetermined"
    if hallmark:
        ctx.reason("IEC-HS hallmark: ferritin > 2 x ULN and > 2 x the infusion baseline")
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

"""HLH-2004 diagnostic criteria (5 of 8).

Citation: Henter JI, Horne A, Arico M, et al. HLH-2004: Diagnostic and therapeutic
guidelines for hemophagocytic lymphohistiocytosis. Pediatr Blood Cancer 2007;48(2):124-131.

Inputs: temp_max_24h; hgb_last, platelets_last, anc_last; triglycerides_last,
fibrinogen_last; ferritin_last. Splenomegaly, hemophagocytosis, NK activity and sCD25 are
not in the stream: always "unknown", never "absent".

| # | criterion | threshold |
|-|-|-|
| 1 | fever | >= 38.5 C (in common use; configurable) |
| 2 | splenomegaly | unknown in the stream |
| 3 | cytopenias, >= 2 of 3 lineages | Hb < 9.0 g/dL; platelets < 100; ANC < 1.0 x10^9/L |
| 4 | high triglycerides and/or low fibrinogen | TG >= 265 mg/dL; fibrinogen <= 150 mg/dL |
| 5 | hemophagocytosis (marrow, spleen, nodes) | unknown in the stream |
| 6 | low or absent NK-cell activity | unknown in the stream |
| 7 | ferritin | >= 500 ng/mL |
| 8 | soluble CD25 (sIL-2R) | >= 2400 U/mL; unknown in the stream |

Result: ``met`` when 5 are fulfilled; ``not_reachable`` when met + unknown < 5;
``undetermined`` otherwise. A molecular diagnosis (the protocol's alternative) is unknown.
With four criteria never streamed, the stream alone can reach at most 4 of 8.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "hlh2004"
CRITERIA = "HLH-2004 diagnostic criteria"
VERSION = "HLH-2004"
CITATION = "Henter JI et al. Pediatr Blood Cancer 2007;48:124-131"

REQUIRED = 5
HGB_LT = 9.0
PLATELETS_LT = 100.0
ANC_LT = 1.0
TRIGLYCERIDES_GE = 265.0
FIBRINOGEN_LE = 150.0
FERRITIN_GE = 500.0
NOT_STREAMED = (
    "splenomegaly",
    "hemophagocytosis (marrow, spleen or lymph node biopsy)",
    "low/absent NK-cell activity",
    "soluble CD25 >= 2400 U/mL",
)


def _cytopenias(ctx: RuleContext) -> bool | None:
    tests = (
        ("hgb_last", HGB_LT, "Hb < 9.0 g/dL (HLH-2004 cytopenia)"),
        ("platelets_last", PLATELETS_LT, "platelets < 100 x10^9/L (HLH-2004 cytopenia)"),
        ("anc_last", ANC_LT, "ANC < 1.0 x10^9/L (HLH-2004 cytopenia)"),
    )
    low = unknown = 0
    for feature, threshold, meaning in tests:
        v = ctx.value(feature)
        if v is None:
            unknown += 1
        elif ctx.test(feature, v, "<", threshold, meaning):
            low += 1
    if low >= 2:
        return True
    return None if low + unknown >= 2 else False


def _lipids(ctx: RuleContext) -> bool | None:
    tg = ctx.value("triglycerides_last")
    fib = ctx.value("fibrinogen_last")
    hit = False
    if tg is not None:
        hit |= ctx.test(
            "triglycerides_last", tg, ">=", TRIGLYCERIDES_GE, "TG >= 265 mg/dL (HLH-2004)"
        )
    if fib is not None:
        hit |= ctx.test(
            "fibrinogen_last", fib, "<=", FIBRINOGEN_LE, "fibrinogen <= 150 mg/dL (HLH-2004)"
        )
    if hit:
        return True
    return None if tg is None or fib is None else False


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """Count HLH-2004 criteria met, and say whether 5 is reached, not reachable or open."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="criteria"
    )
    temp = ctx.value("temp_max_24h")
    ferritin = ctx.value("ferritin_last")
    status: dict[str, bool | None] = {
        "fever": None
        if temp is None
        else ctx.test(
            "temp_max_24h",
            temp,
            ">=",
            cfg.hlh2004_fever_c,
            f"fever >= {cfg.hlh2004_fever_c:g} C (HLH-2004)",
        ),
        "cytopenias": _cytopenias(ctx),
        "triglycerides_or_fibrinogen": _lipids(ctx),
        "ferritin": None
        if ferritin is None
        else ctx.test(
            "ferritin_last", ferritin, ">=", FERRITIN_GE, "ferritin >= 500 ng/mL (HLH-2004)"
        ),
    }
    for item in NOT_STREAMED:
        ctx.add_unknown(item)
    for key, ok in status.items():
        ctx.components[key] = None if ok is None else int(ok)
        if ok:
            ctx.reason(f"HLH-2004 criterion fulfilled: {key}")
        elif ok is None:
            ctx.add_unknown(f"{key} (inputs missing)")
    met = sum(1 for v in status.values() if v)
    open_ = sum(1 for v in status.values() if v is None) + len(NOT_STREAMED)
    if met >= REQUIRED:
        outcome, is_met = "met", True
    elif met + open_ < REQUIRED:
        outcome, is_met = "not_reachable", False
    else:
        outcome, is_met = "undetermined", None
    ctx.note(f"{met} of 8 criteria fulfilled, {open_} unknown; 5 needed ({outcome}).")
    ctx.note("Splenomegaly, hemophagocytosis, NK activity and sCD25 are not in the stream.")
    return ctx.result(points=float(met), points_max=float(met + open_), met=is_met, status=outcome)


INPUTS = (
    *up("temp_max_24h", "triglycerides_last", "ferritin_last"),
    *down("hgb_last", "platelets_last", "anc_last", "fibrinogen_last"),
)
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

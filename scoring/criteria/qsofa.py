"""quick SOFA (qSOFA), >= 2 of 3.

Citation: Seymour CW, Liu VX, Iwashyna TJ, et al. Assessment of Clinical Criteria for Sepsis
(Sepsis-3). JAMA 2016;315(8):762-774; Singer M et al. JAMA 2016;315(8):801-810.

Inputs: rr_max_1h; gcs_last, new_confusion_last, consciousness_level_last; sbp_min_1h.

| criterion          | threshold                                                      |
|--------------------|----------------------------------------------------------------|
| respiratory rate   | >= 22 /min                                                     |
| altered mentation  | GCS < 15 (also: new confusion, or not alert on ACVPU)          |
| systolic BP        | <= 100 mmHg                                                    |
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "qsofa"
CRITERIA = "qSOFA"
VERSION = "Sepsis-3-2016"
CITATION = "Seymour CW et al. JAMA 2016;315:762-774 (Sepsis-3)"
REQUIRED = 2
RR_GE = 22.0
GCS_LT = 15.0
SBP_LE = 100.0


def _mentation(ctx: RuleContext) -> bool | None:
    """Altered mentation: any sign of it counts; normal only if every known sign is normal."""
    gcs = ctx.optional("gcs_last")
    confusion = ctx.optional("new_confusion_last")
    level = ctx.optional("consciousness_level_last")
    altered = False
    if gcs is not None:
        altered |= ctx.test("gcs_last", gcs, "<", GCS_LT, "GCS < 15, altered mentation (qSOFA)")
    if confusion is not None and confusion >= 1:
        ctx.hit("new_confusion_last", confusion, "= 1: new confusion, altered mentation (qSOFA)")
        altered = True
    if level is not None and level >= 1:
        ctx.hit("consciousness_level_last", level, ">= 1: not alert, altered mentation (qSOFA)")
        altered = True
    if altered:
        return True
    # Not altered on what is known: every unknown sign is still listed as missing, since
    # it could have shown altered mentation.
    signs = {"gcs_last": gcs, "new_confusion_last": confusion, "consciousness_level_last": level}
    for feature, value in signs.items():
        if value is None:
            ctx.value(feature)
    if all(v is None for v in signs.values()):
        return None
    return False


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """Count qSOFA criteria; >= 2 is positive."""
    del cfg
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="criteria"
    )
    rr = ctx.value("rr_max_1h")
    sbp = ctx.value("sbp_min_1h")
    parts: dict[str, bool | None] = {
        "respiratory_rate": None
        if rr is None
        else ctx.test("rr_max_1h", rr, ">=", RR_GE, "RR >= 22 /min (qSOFA)"),
        "mentation": _mentation(ctx),
        "systolic_bp": None
        if sbp is None
        else ctx.test("sbp_min_1h", sbp, "<=", SBP_LE, "SBP <= 100 mmHg (qSOFA)"),
    }
    for key, ok in parts.items():
        ctx.components[key] = None if ok is None else int(ok)
        if ok:
            ctx.reason(f"qSOFA point: {key}")
    points = sum(1 for v in parts.values() if v)
    open_n = sum(1 for v in parts.values() if v is None)
    met: bool | None
    if points >= REQUIRED:
        met, status = True, "positive"
        ctx.reason(
            f"qSOFA {points} (>= 2): high risk of poor outcome if infection is present (Sepsis-3)"
        )
    elif points + open_n < REQUIRED:
        met, status = False, "negative"
    else:
        met, status = None, "undetermined"
    return ctx.result(
        points=float(points), points_max=float(points + open_n), met=met, status=status
    )


INPUTS = (
    *up("rr_max_1h", "new_confusion_last", "consciousness_level_last"),
    *down("sbp_min_1h", "gcs_last"),
)
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

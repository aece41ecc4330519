"""ASTCT consensus grading of cytokine release syndrome.

Citation: Lee DW, Santomasso BD, Locke FL, et al. ASTCT Consensus Grading for Cytokine
Release Syndrome and Neurologic Toxicity Associated with Immune Effector Cells. Biol Blood
Marrow Transplant 2019;25(4):625-638.

Inputs: temp_max_24h; sbp_min_1h, map_min_1h (configured hypotension cut-off);
vasopressor_count_last, vasopressin_last; o2_support_level, o2_flow_last; treatment context
hours_since_antipyretic / _corticosteroid / _tocilizumab (fever masking).

| grade | fever | hypotension | hypoxia |
|-|-|-|-|
| 1 | >= 38.0 C | none | none |
| 2 | >= 38.0 C | not needing vasopressors | low-flow nasal cannula <= 6 L/min or blow-by |
| 3 | >= 38.0 C | one vasopressor (+/- vasopressin) | high-flow > 6 L/min, facemask, NRB, Venturi |
| 4 | >= 38.0 C | several vasopressors (not vasopressin) | positive pressure (CPAP, BiPAP, MV) |

The grade is the worse of the hypotension and hypoxia columns. Fever is required unless it
was masked by antipyretics or anti-cytokine therapy. Organ toxicities are graded separately
(CTCAE) and never raise the CRS grade.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.criteria import crs_common
from scoring.result import CriteriaResult
from scoring.rule import InputSpec, RuleSpec, down, up

NAME = "astct_crs"
CRITERIA = "ASTCT CRS grade"
VERSION = "ASTCT-2019"
CITATION = "Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT consensus)"

# o2_support_level code (features.snapshot.ORDINAL_CODES) -> ASTCT hypoxia grade.
HYPOXIA_GRADE: dict[int, tuple[int, str]] = {
    0: (0, "room air"),
    1: (2, "low-flow nasal cannula <= 6 L/min or blow-by"),
    2: (3, "high-flow nasal cannula > 6 L/min, facemask, non-rebreather or Venturi"),
    3: (4, "positive pressure (CPAP, BiPAP, mechanical ventilation)"),
}
LOW_FLOW_MAX_L_MIN = 6.0


def hypotension_grade(ctx: RuleContext, cfg: RuleConfig) -> int | None:
    """ASTCT hypotension column: 4 several pressors, 3 one, 2 hypotension without pressors.

    A missing vasopressor state gives the grade the blood pressure supports (a floor) and is
    listed as missing; ``None`` only when nothing about circulation is known.
    """
    count, vasopressin = crs_common.vasopressors(ctx)
    if count is not None and count >= 2:
        ctx.hit("vasopressor_count_last", count, ">= 2: several vasopressors (ASTCT grade 4)")
        return 4
    if count is not None and count == 1:
        ctx.hit("vasopressor_count_last", count, "= 1: one vasopressor (ASTCT grade 3)")
        return 3
    if vasopressin:
        # Vasopressin alone is still "a vasopressor" (grade 3); it is only excluded from the
        # count of several vasopressors that makes grade 4.
        ctx.hit(
            "vasopressin_last",
            1.0,
            "= 1: vasopressin alone counts as one vasopressor (ASTCT grade 3)",
        )
        return 3
    low = crs_common.hypotension(ctx, cfg)
    if low:
        return 2
    if low is None and count is None:
        return None
    return 0


def hypoxia_grade(ctx: RuleContext) -> int | None:
    """ASTCT hypoxia column from the respiratory support level (and flow, for cannulas)."""
    level_value = ctx.value("o2_support_level")
    if level_value is None:
        return None
    level = int(level_value)
    if level == 1:
        # The flow decides between low-flow (grade 2) and high-flow (grade 3) cannula.
        flow = ctx.value("o2_flow_last")
        if flow is not None and flow > LOW_FLOW_MAX_L_MIN:
            # A nasal cannula above 6 L/min is high-flow by the ASTCT table.
            ctx.hit("o2_flow_last", flow, "> 6 L/min: high-flow oxygen (ASTCT grade 3)")
            level = 2
    grade, label = HYPOXIA_GRADE[min(max(level, 0), 3)]
    if grade:
        ctx.hit("o2_support_level", level_value, f"= {level}: {label} (ASTCT grade {grade})")
    return grade


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """Grade CRS by ASTCT 2019 at the snapshot time."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="grade"
    )
    has_fever = crs_common.fever(ctx)
    masked = crs_common.masking_treatments(ctx, cfg)
    hypo_bp = hypotension_grade(ctx, cfg)
    hypo_o2 = hypoxia_grade(ctx)
    ctx.components.update({"fever": None if has_fever is None else int(has_fever)})
    ctx.components.update({"hypotension": hypo_bp, "hypoxia": hypo_o2})
    organ = max(hypo_bp or 0, hypo_o2 or 0)
    ctx.note(
        f"Hypotension cut-off (configurable, not part of ASTCT 2019): SBP < "
        f"{cfg.hypotension_sbp_lt:g} mmHg or MAP < {cfg.hypotension_map_lt:g} mmHg."
    )

    grade: int | None
    if has_fever:
        grade = max(1, organ)
        ctx.reason("ASTCT 2019 CRS: fever >= 38.0 C" + (" (grade 1)" if organ == 0 else ""))
    elif masked:
        grade = organ
        ctx.note(
            "Fever may be masked by " + ", ".join(masked) + ": per ASTCT 2019 graded on "
            "hypotension and hypoxia alone."
        )
        ctx.flag("fever_masked_by_treatment")
    elif has_fever is False:
        grade = 0
        if organ:
            ctx.note(
                "Hypotension or hypoxia without fever and without masking treatment: not CRS "
                "by ASTCT 2019 (fever required); consider other causes."
            )
    else:
        grade = None
        ctx.note("No temperature in the last 24 h: whether CRS is present cannot be determined.")

    if grade:
        if hypo_bp and hypo_bp == grade:
            ctx.reason(f"ASTCT 2019 CRS grade {grade}: hypotension column")
        if hypo_o2 and hypo_o2 == grade:
            ctx.reason(f"ASTCT 2019 CRS grade {grade}: hypoxia column")
        if grade >= 2 and masked and not has_fever:
            ctx.reason(
                f"ASTCT 2019 CRS grade {grade}: fever masked by treatment, graded on organ support"
            )
    return ctx.result(grade=grade, status="undetermined" if grade is None else f"grade {grade}")


INPUTS = (
    *up("temp_max_24h"),
    *down("sbp_min_1h", "map_min_1h"),
    *up("vasopressor_count_last", "vasopressin_last", "o2_support_level"),
    InputSpec("o2_flow_last", "up"),
)
CONTEXT = ("hours_since_antipyretic", "hours_since_corticosteroid", "hours_since_tocilizumab")
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS, CONTEXT),)

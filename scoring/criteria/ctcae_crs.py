"""CTCAE v5.0 grading of cytokine release syndrome (as used by the blinatumomab trials/label).

Citation: National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE)
v5.0, 27 Nov 2017: Immune system disorders - Cytokine release syndrome.

Inputs: temp_max_24h; sbp_min_1h, map_min_1h; vasopressor_count_last, vasopressin_last;
o2_support_level, fio2_last; treatment context (fever masking, as in ASTCT 2019).

| grade | criterion (CTCAE v5.0) | stream proxy |
|-|-|-|
| 1 | fever, with or without constitutional symptoms | temp_max_24h >= 38.0 C |
| 2 | hypotension responding to fluids; hypoxia responding to < 40% O2 | no pressor; FiO2 < 40% |
| 3 | hypotension managed with one pressor; hypoxia requiring >= 40% O2 | 1 pressor; FiO2 >= 40% |
| 4 | life-threatening consequences; urgent intervention | >= 2 pressors; positive pressure |

Decisions (docs/rules.md): grade 4 "life-threatening" is read from several vasopressors or
positive-pressure support, the stream's markers of urgent intervention; fever (or its
masking by treatment) is required for any grade, as in ASTCT 2019, so that hypotension of
another cause is not graded as CRS. "Responding to fluids" cannot be observed: hypotension
without vasopressors is grade 2.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.criteria import crs_common
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "ctcae_crs"
CRITERIA = "CTCAE CRS grade"
VERSION = "CTCAE-5.0"
CITATION = "NCI CTCAE v5.0 (2017), Immune system disorders: Cytokine release syndrome"

FIO2_HIGH_PCT = 40.0  # ">= 40% O2" is grade 3; "< 40% O2" grade 2
POSITIVE_PRESSURE_LEVEL = 3


def _hypotension(ctx: RuleContext, cfg: RuleConfig) -> int | None:
    count, vasopressin = crs_common.vasopressors(ctx)
    if count is not None and count >= 2:
        ctx.hit(
            "vasopressor_count_last",
            count,
            ">= 2: several vasopressors, life-threatening (CTCAE grade 4 proxy)",
        )
        return 4
    if (count is not None and count == 1) or vasopressin:
        feature = "vasopressor_count_last" if count else "vasopressin_last"
        ctx.hit(feature, 1.0, "= 1: hypotension managed with one pressor (CTCAE grade 3)")
        return 3
    low = crs_common.hypotension(ctx, cfg)
    if low:
        return 2
    if low is None and count is None:
        return None
    return 0


def _hypoxia(ctx: RuleContext) -> int | None:
    level = ctx.value("o2_support_level")
    if level is None:
        return None
    if level >= POSITIVE_PRESSURE_LEVEL:
        ctx.hit(
            "o2_support_level",
            level,
            "= 3: positive-pressure support, urgent intervention (CTCAE grade 4 proxy)",
        )
        return 4
    if level < 1:
        return 0
    fio2 = ctx.value("fio2_last")
    if fio2 is not None and ctx.test(
        "fio2_last", fio2, ">=", FIO2_HIGH_PCT, "hypoxia requiring >= 40% O2 (CTCAE grade 3)"
    ):
        return 3
    # Oxygen with FiO2 < 40%, or FiO2 unknown (then 2 is a floor and fio2_last is missing).
    ctx.hit("o2_support_level", level, ">= 1: supplemental oxygen (CTCAE grade 2)")
    return 2


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """Grade CRS by CTCAE v5.0 at the snapshot time."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="grade"
    )
    has_fever = crs_common.fever(ctx)
    masked = crs_common.masking_treatments(ctx, cfg)
    bp = _hypotension(ctx, cfg)
    o2 = _hypoxia(ctx)
    ctx.components.update({"fever": None if has_fever is None else int(has_fever)})
    ctx.components.update({"hypotension": bp, "hypoxia": o2})
    organ = max(bp or 0, o2 or 0)
    grade: int | None
    if has_fever:
        grade = max(1, organ)
        ctx.reason("CTCAE v5.0 CRS: fever >= 38.0 C" + (" (grade 1)" if organ == 0 else ""))
    elif masked:
        grade = organ
        ctx.note(
            "Fever may be masked by "
            + ", ".join(masked)
            + ": graded on hypotension and hypoxia alone."
        )
        ctx.flag("fever_masked_by_treatment")
    elif has_fever is False:
        grade = 0
        if organ:
            ctx.note("Hypotension or hypoxia without fever: not graded as CRS (fever required).")
    else:
        grade = None
        ctx.note("No temperature in the last 24 h: whether CRS is present cannot be determined.")
    if grade:
        if bp == grade:
            ctx.reason(f"CTCAE v5.0 CRS grade {grade}: hypotension")
        if o2 == grade:
            ctx.reason(f"CTCAE v5.0 CRS grade {grade}: hypoxia")
        if not has_fever:
            ctx.reason(f"CTCAE v5.0 CRS grade {grade}: fever masked by treatment")
    if grade == 4:
        ctx.note(
            "CTCAE grade 4 is 'life-threatening'; read here from several vasopressors or positive "
            "pressure."
        )
    return ctx.result(grade=grade, status="undetermined" if grade is None else f"grade {grade}")


INPUTS = (
    *up("temp_max_24h"),
    *down("sbp_min_1h", "map_min_1h"),
    *up("vasopressor_count_last", "vasopressin_last", "o2_support_level", "fio2_last"),
)
CONTEXT = ("hours_since_antipyretic", "hours_since_corticosteroid", "hours_since_tocilizumab")
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS, CONTEXT),)

"""CTCAE v5.0 fever and febrile neutropenia.

Citation: National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE)
v5.0, 27 Nov 2017: General disorders - Fever; Blood and lymphatic system disorders -
Febrile neutropenia.

Inputs: temp_max_24h, temp_min_24h (fever); anc_last, temp_max_24h, fever_sustained_1h,
vasopressor_count_last, o2_support_level (febrile neutropenia).

| term                | G1          | G2          | G3                 | G4                  |
|---------------------|-------------|-------------|--------------------|---------------------|
| fever (C)           | 38.0 - 39.0 | > 39.0-40.0 | > 40.0 for <= 24 h | > 40.0 for > 24 h   |
| febrile neutropenia | - | - | ANC < 1.0; one T > 38.3 or >= 38.0 C for > 1 h | life-threatening |

Decisions: fever is graded on the highest temperature of the last 24 h; "> 40.0 for > 24 h"
(grade 4) is read as every temperature of the last 24 h above 40.0 (temp_min_24h > 40.0),
the only duration the snapshot can show. Febrile neutropenia grade 4 is read from one or
more vasopressors or positive-pressure support (the stream's urgent interventions).
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.bands import Band, classify
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

VERSION = "CTCAE-5.0"
CITATION = "NCI CTCAE v5.0 (2017)"

FEVER: tuple[Band, ...] = (
    Band(">", 40.0, 3, "> 40.0 C"),
    Band(">", 39.0, 2, "> 39.0-40.0 C"),
    Band(">=", 38.0, 1, "38.0-39.0 C"),
)
FEVER_G4_SUSTAINED_ABOVE_C = 40.0
FN_ANC_LT = 1.0
FN_SINGLE_TEMP_GT = 38.3


def score_fever(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """CTCAE v5.0 fever grade on the last 24 h."""
    del cfg
    ctx = RuleContext(
        snapshot,
        name="ctcae_fever",
        criteria="CTCAE fever",
        version=VERSION,
        citation=CITATION,
        kind="grade",
    )
    temp = ctx.value("temp_max_24h")
    if temp is None:
        return ctx.result(grade=None, status="undetermined")
    band = classify(temp, FEVER)
    grade = 0 if band is None else band.level
    if band is not None:
        ctx.band("temp_max_24h", temp, band, f"{band.label} (CTCAE fever grade {grade})")
    if grade == 3:
        low = ctx.value("temp_min_24h")
        if low is not None and ctx.test(
            "temp_min_24h",
            low,
            ">",
            FEVER_G4_SUSTAINED_ABOVE_C,
            "every temperature of 24 h above 40.0 C (> 40.0 C for > 24 h, grade 4)",
        ):
            grade = 4
        elif low is None:
            ctx.note("Duration above 40.0 C unknown: grade 3 may be grade 4 (> 24 h).")
    if grade:
        ctx.reason(
            f"CTCAE v5.0 fever grade {grade}: "
            + ("> 40.0 C for > 24 h" if grade == 4 else band.label if band else "")
        )
    return ctx.result(grade=grade, status=f"grade {grade}")


def score_febrile_neutropenia(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """CTCAE v5.0 febrile neutropenia (grade 3; grade 4 with organ support)."""
    del cfg
    ctx = RuleContext(
        snapshot,
        name="ctcae_febrile_neutropenia",
        criteria="CTCAE febrile neutropenia",
        version=VERSION,
        citation=CITATION,
        kind="grade",
    )
    anc = ctx.value("anc_last")
    temp = ctx.value("temp_max_24h")
    sustained = ctx.value("fever_sustained_1h")
    neutropenic = (
        None
        if anc is None
        else ctx.test("anc_last", anc, "<", FN_ANC_LT, "ANC < 1.0 x10^9/L (febrile neutropenia)")
    )
    febrile: bool | None = None
    if temp is not None and ctx.test(
        "temp_max_24h",
        temp,
        ">",
        FN_SINGLE_TEMP_GT,
        "single temperature > 38.3 C (febrile neutropenia)",
    ):
        febrile = True
    elif sustained is not None and sustained >= 1:
        ctx.hit(
            "fever_sustained_1h", sustained, "= 1: >= 38.0 C sustained > 1 h (febrile neutropenia)"
        )
        febrile = True
    elif temp is not None and sustained is not None:
        febrile = False
    elif temp is not None and temp < 38.0:
        febrile = False  # below 38.0 C neither arm can hold, whatever the duration
    ctx.components.update(
        {
            "neutropenia": None if neutropenic is None else int(neutropenic),
            "fever": None if febrile is None else int(febrile),
        }
    )
    if neutropenic is False or febrile is False:
        return ctx.result(grade=0, status="not met")
    if neutropenic is None or febrile is None:
        return ctx.result(grade=None, status="undetermined")
    grade = 3
    ctx.reason("CTCAE v5.0 febrile neutropenia grade 3: ANC < 1.0 x10^9/L with fever")
    # Organ support decides grade 3 versus 4, so once neutropenic fever is established a
    # missing support state is reported as missing (grade 3 is then a floor).
    pressors = ctx.value("vasopressor_count_last")
    support = ctx.value("o2_support_level")
    if pressors is not None and pressors >= 1:
        ctx.hit(
            "vasopressor_count_last",
            pressors,
            ">= 1: vasopressor, urgent intervention (grade 4 proxy)",
        )
        grade = 4
    if support is not None and support >= 3:
        ctx.hit(
            "o2_support_level",
            support,
            "= 3: positive-pressure support, urgent intervention (grade 4 proxy)",
        )
        grade = 4
    if grade == 4:
        ctx.reason("CTCAE v5.0 febrile neutropenia grade 4: life-threatening (organ support)")
    return ctx.result(grade=grade, status="met")


RULES = (
    RuleSpec(
        "ctcae_fever",
        score_fever,
        "CTCAE fever",
        VERSION,
        CITATION,
        up("temp_max_24h", "temp_min_24h"),
    ),
    RuleSpec(
        "ctcae_febrile_neutropenia",
        score_febrile_neutropenia,
        "CTCAE febrile neutropenia",
        VERSION,
        CITATION,
        (
            *down("anc_last"),
            *up("temp_max_24h", "fever_sustained_1h", "vasopressor_count_last", "o2_support_level"),
        ),
    ),
)

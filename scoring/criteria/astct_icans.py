"""ASTCT consensus grading of immune effector cell-associated neurotoxicity (ICANS).

Citation: Lee DW, Santomasso BD, Locke FL, et al. ASTCT Consensus Grading for Cytokine
Release Syndrome and Neurologic Toxicity Associated with Immune Effector Cells. Biol Blood
Marrow Transplant 2019;25(4):625-638.

ICE score 0-10: orientation (year, month, city, hospital) 4; naming 3 objects 3; following
a command 1; writing a standard sentence 1; counting back from 100 by 10 1.

Inputs: ice_last, consciousness_level_last (ORDINAL_CODES), seizure_count_24h,
seizure_prolonged_24h, motor_weakness_last, cerebral_edema_last; context: age_years.

| domain | G1 | G2 | G3 | G4 |
|-|-|-|-|-|
| ICE score | 7-9 | 3-6 | 0-2 | 0 and unarousable (via consciousness) |
| consciousness | awakens spontaneously | to voice | only to touch | unarousable; stupor, coma |
| seizure | - | - | any, resolving rapidly | > 5 min, or repetitive without return to baseline |
| motor findings | - | - | - | deep focal weakness (hemi-/paraparesis) |
| ICP / edema | - | - | focal edema | diffuse edema, posturing, CN VI palsy, papilledema, Cushing |

Grade = most severe domain. Tremor and myoclonus are CTCAE items, not ICANS. Children under
12 are assessed with CAPD instead of ICE (reference: unverified): their ICE domain is unknown.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.bands import Band, classify
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "astct_icans"
CRITERIA = "ASTCT ICANS grade"
VERSION = "ASTCT-2019"
CITATION = "Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT consensus)"

ICE_BANDS: tuple[Band, ...] = (
    Band("<=", 2, 3, "ICE 0-2"),
    Band("<=", 6, 2, "ICE 3-6"),
    Band("<=", 9, 1, "ICE 7-9"),
)
# consciousness_level code -> ICANS grade (codes in features.snapshot.ORDINAL_CODES).
CONSCIOUSNESS_GRADE: dict[int, tuple[int, str]] = {
    0: (0, "alert"),
    1: (1, "awakens spontaneously"),
    2: (2, "awakens to voice"),
    3: (3, "awakens only to tactile stimulus"),
    4: (4, "unarousable, stupor or coma"),
}
MOTOR_GRADE: dict[int, int] = {0: 0, 1: 0, 2: 4}  # only deep focal weakness is graded
EDEMA_GRADE: dict[int, int] = {0: 0, 1: 3, 2: 4}
CAPD_AGE_LT = 12.0


def _ice(ctx: RuleContext) -> int | None:
    age = ctx.optional("age_years")
    if age is not None and age < CAPD_AGE_LT:
        ctx.add_unknown("CAPD (age < 12: ICE score not valid; CAPD not in the stream)")
        ctx.note(
            "Under 12 years: ICANS is assessed with CAPD instead of ICE (unverified); ICE not used."
        )
        return None
    ice = ctx.value("ice_last")
    if ice is None:
        return None
    band = classify(ice, ICE_BANDS)
    if band is None:
        return 0
    ctx.band("ice_last", ice, band, f"{band.label} (ICANS grade {band.level})")
    return band.level


def _coded(ctx: RuleContext, feature: str, grades: dict[int, int], meaning: str) -> int | None:
    value = ctx.value(feature)
    if value is None:
        return None
    code = int(value)
    grade = grades.get(code, max(grades.values()) if code > max(grades) else 0)
    if grade:
        ctx.hit(feature, value, f"= {code}: {meaning} (ICANS grade {grade})")
    return grade


def _seizure(ctx: RuleContext) -> int | None:
    prolonged = ctx.value("seizure_prolonged_24h")
    count = ctx.value("seizure_count_24h")
    if prolonged is not None and prolonged >= 1:
        ctx.hit(
            "seizure_prolonged_24h",
            prolonged,
            "= 1: prolonged or repetitive seizure without return to baseline (ICANS grade 4)",
        )
        return 4
    if count is not None and count >= 1:
        ctx.hit("seizure_count_24h", count, ">= 1: clinical seizure (ICANS grade 3)")
        if count >= 2:
            ctx.note(
                "More than one seizure in 24 h: grade 4 if there was no return to baseline in "
                "between (clinician)."
            )
        return 3
    if prolonged is None and count is None:
        return None
    return 0


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """Grade ICANS by ASTCT 2019 at the snapshot time."""
    del cfg  # no tunable parameter: ASTCT ICANS bands are fixed
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="grade"
    )
    level = ctx.value("consciousness_level_last")
    consciousness: int | None = None
    if level is not None:
        code = min(max(int(level), 0), 4)
        consciousness, label = CONSCIOUSNESS_GRADE[code]
        if consciousness:
            ctx.hit(
                "consciousness_level_last",
                level,
                f"= {code}: {label} (ICANS grade {consciousness})",
            )
    domains: dict[str, int | None] = {
        "ice": _ice(ctx),
        "consciousness": consciousness,
        "seizure": _seizure(ctx),
        "motor": _coded(ctx, "motor_weakness_last", MOTOR_GRADE, "deep focal motor weakness"),
        "cerebral_edema": _coded(
            ctx, "cerebral_edema_last", EDEMA_GRADE, "cerebral edema on imaging"
        ),
    }
    ctx.components.update(domains)
    known = [g for g in domains.values() if g is not None]
    grade = max(known) if known else None
    for domain, g in domains.items():
        if grade and g == grade:
            ctx.reason(f"ASTCT 2019 ICANS grade {grade}: {domain} domain")
    if domains["ice"] == 0 and consciousness == 0:
        ctx.note("ICE 10 and alert.")
    tremor = ctx.optional("tremor_grade_last")
    if tremor is not None and tremor > 0:
        ctx.note(f"Tremor grade {tremor:g}: a CTCAE item, not part of ICANS (ASTCT 2019).")
    if grade:
        ctx.note("ICANS is graded only when not attributable to another cause (clinician).")
    return ctx.result(grade=grade, status="undetermined" if grade is None else f"grade {grade}")


INPUTS = (
    *down("ice_last"),
    *up(
        "consciousness_level_last",
        "seizure_count_24h",
        "seizure_prolonged_24h",
        "motor_weakness_last",
        "cerebral_edema_last",
    ),
)
CONTEXT = ("age_years", "tremor_grade_last")
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS, CONTEXT),)

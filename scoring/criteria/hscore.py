"""HScore for reactive hemophagocytic syndrome, with its probability table.

Citation: Fardet L, Galicier L, Lambotte O, et al. Development and validation of the
HScore, a score for the diagnosis of reactive hemophagocytic syndrome. Arthritis Rheumatol
2014;66(9):2613-2620. Maximum 337; cut-off 169 (sensitivity 93%, specificity 86%).

Inputs: immunosuppressed; temp_max_24h; hgb_last, wbc_last, platelets_last; ferritin_last;
triglycerides_last (mg/dL, / 88.5 -> mmol/L); fibrinogen_last (mg/dL, / 100 -> g/L);
ast_last. Organomegaly and marrow hemophagocytosis are not in the stream (unknown).

| item                                   | points                                           |
|----------------------------------------|--------------------------------------------------|
| known immunosuppression                | no 0; yes 18                                     |
| temperature (C)                        | < 38.4: 0; 38.4-39.4: 33; > 39.4: 49             |
| organomegaly                           | none 0; liver or spleen 23; both 38 (unknown)    |
| cytopenias (Hb <= 9.2 g/dL, WBC <= 5, PLT <= 110 x10^9/L) | 1 lineage 0; 2: 24; 3: 34 |
| ferritin (ng/mL)                       | < 2000: 0; 2000-6000: 35; > 6000: 50             |
| triglycerides (mmol/L)                 | < 1.5: 0; 1.5-4: 44; > 4: 64                     |
| fibrinogen (g/L)                       | > 2.5: 0; <= 2.5: 30                             |
| AST (U/L)                              | < 30: 0; >= 30: 19                               |
| marrow hemophagocytosis                | no 0; yes 35 (unknown)                           |

Probability of HLH by score (published table), interpolated linearly between its points:
90 < 1%, 130 9%, 150 25%, 160 40%, 170 54%, 180 70%, 200 88%, 220 96%, >= 250 > 99%.
"""

from __future__ import annotations

from itertools import pairwise

from features.snapshot import Snapshot
from scoring.bands import Band, classify
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "hscore"
CRITERIA = "HScore"
VERSION = "HScore-2014"
CITATION = "Fardet L et al. Arthritis Rheumatol 2014;66:2613-2620"

TEMPERATURE: tuple[Band, ...] = (
    Band(">", 39.4, 49, "> 39.4 C"),
    Band(">=", 38.4, 33, "38.4-39.4 C"),
)
FERRITIN: tuple[Band, ...] = (
    Band(">", 6000.0, 50, "> 6000 ng/mL"),
    Band(">=", 2000.0, 35, "2000-6000 ng/mL"),
)
TRIGLYCERIDES_MMOL: tuple[Band, ...] = (
    Band(">", 4.0, 64, "> 4 mmol/L"),
    Band(">=", 1.5, 44, "1.5-4 mmol/L"),
)
FIBRINOGEN_G_L: tuple[Band, ...] = (Band("<=", 2.5, 30, "<= 2.5 g/L"),)
AST: tuple[Band, ...] = (Band(">=", 30.0, 19, ">= 30 U/L"),)
CYTOPENIA_POINTS: dict[int, int] = {0: 0, 1: 0, 2: 24, 3: 34}
IMMUNOSUPPRESSION_POINTS = 18
ORGANOMEGALY_MAX = 38
HEMOPHAGOCYTOSIS_POINTS = 35
TG_MG_DL_PER_MMOL = 88.5
FIBRINOGEN_MG_DL_PER_G_L = 100.0

# (score, probability %) from the published table; below 90 "< 1%", from 250 "> 99%".
PROBABILITY: tuple[tuple[float, float], ...] = (
    (90, 1.0), (130, 9.0), (150, 25.0), (160, 40.0), (170, 54.0),
    (180, 70.0), (200, 88.0), (220, 96.0), (250, 99.0),
)  # fmt: skip


def probability_pct(points: float) -> float:
    """Probability of HLH (%) for a score: linear interpolation of the published table.

    Clamped at the ends: <= 90 gives 1.0 (read "< 1%") and >= 250 gives 99.0 ("> 99%").
    """
    if points <= PROBABILITY[0][0]:
        return PROBABILITY[0][1]
    for (x0, y0), (x1, y1) in pairwise(PROBABILITY):
        if points <= x1:
            return y0 + (y1 - y0) * (points - x0) / (x1 - x0)
    return PROBABILITY[-1][1]


def _banded(
    ctx: RuleContext,
    key: str,
    feature: str,
    value: float | None,
    table: tuple[Band, ...],
    scale: float = 1.0,
) -> int | None:
    if value is None:
        ctx.components[key] = None
        return None
    band = classify(value / scale, table)
    pts = 0 if band is None else band.level
    if band is not None:
        ctx.hit(feature, value, f"-> {band.label}: {pts} points (HScore {key})")
    ctx.components[key] = pts
    return pts


def _cytopenias(ctx: RuleContext) -> tuple[int, int]:
    """Points for the lineages known low, and the most points possible if some are missing."""
    tests = (
        ("hgb_last", 9.2, "Hb <= 9.2 g/dL"),
        ("wbc_last", 5.0, "WBC <= 5 x10^9/L"),
        ("platelets_last", 110.0, "platelets <= 110 x10^9/L"),
    )
    low = unknown = 0
    for feature, limit, meaning in tests:
        v = ctx.value(feature)
        if v is None:
            unknown += 1
        elif ctx.test(feature, v, "<=", limit, f"{meaning} (HScore cytopenia)"):
            low += 1
    floor, best = CYTOPENIA_POINTS[low], CYTOPENIA_POINTS[low + unknown]
    ctx.components["cytopenias"] = None if unknown else floor
    return floor, best


def _span(points: int | None, most: int) -> tuple[int, int]:
    """(points counted, most points possible): a missing item counts 0 but could give most."""
    return (0, most) if points is None else (points, points)


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """HScore from the stream; unknown items bound the score from above (``points_max``)."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="score"
    )
    immuno = ctx.value("immunosuppressed")
    if immuno is None:
        ctx.components["immunosuppression"] = None
    else:
        ctx.components["immunosuppression"] = IMMUNOSUPPRESSION_POINTS if immuno >= 1 else 0
        if immuno >= 1:
            ctx.hit("immunosuppressed", immuno, "= 1: known immunosuppression, 18 points (HScore)")
    parts: list[tuple[int, int]] = [
        _span(ctx.components["immunosuppression"], IMMUNOSUPPRESSION_POINTS),
        _span(
            _banded(ctx, "temperature", "temp_max_24h", ctx.value("temp_max_24h"), TEMPERATURE), 49
        ),
        _span(_banded(ctx, "ferritin", "ferritin_last", ctx.value("ferritin_last"), FERRITIN), 50),
        _span(
            _banded(
                ctx,
                "triglycerides",
                "triglycerides_last",
                ctx.value("triglycerides_last"),
                TRIGLYCERIDES_MMOL,
                TG_MG_DL_PER_MMOL,
            ),
            64,
        ),
        _span(
            _banded(
                ctx,
                "fibrinogen",
                "fibrinogen_last",
                ctx.value("fibrinogen_last"),
                FIBRINOGEN_G_L,
                FIBRINOGEN_MG_DL_PER_G_L,
            ),
            30,
        ),
        _span(_banded(ctx, "ast", "ast_last", ctx.value("ast_last"), AST), 19),
        _cytopenias(ctx),
    ]
    ctx.components["organomegaly"] = None
    ctx.components["marrow_hemophagocytosis"] = None
    ctx.add_unknown("organomegaly (hepatomegaly/splenomegaly): not in the stream")
    ctx.add_unknown("marrow hemophagocytosis: not in the stream")
    points = sum(floor for floor, _ in parts)
    points_max = sum(best for _, best in parts)
    points_max += ORGANOMEGALY_MAX + HEMOPHAGOCYTOSIS_POINTS
    prob = probability_pct(points)
    ctx.values.update(
        {
            "probability_pct": round(prob, 1),
            "probability_pct_max": round(probability_pct(points_max), 1),
        }
    )
    if points >= cfg.hscore_cutoff:
        met, status = True, "met"
        ctx.reason(
            f"HScore {points} >= {cfg.hscore_cutoff:g} (Fardet 2014 cut-off): probability of HLH "
            f"about {prob:.0f}%"
        )
    elif points_max < cfg.hscore_cutoff:
        met, status = False, "not_reachable"
    else:
        met, status = None, "undetermined"
    if points > 0:
        ctx.reason(
            f"HScore {points} points from the stream (probability {prob:.0f}% by the published "
            "table)"
        )
    ctx.note(
        f"Score {points} counts known items only; unknown and missing items could add up to "
        f"{points_max - points} points (at most {points_max})."
    )
    return ctx.result(points=float(points), points_max=float(points_max), met=met, status=status)


INPUTS = (
    *up("immunosuppressed", "temp_max_24h", "ferritin_last", "triglycerides_last", "ast_last"),
    *down("fibrinogen_last", "hgb_last", "wbc_last", "platelets_last"),
)
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

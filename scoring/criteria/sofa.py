"""Sequential (sepsis-related) Organ Failure Assessment, SOFA - partial where inputs lack.

Citation: Vincent JL, Moreno R, Takala J, et al. The SOFA (Sepsis-related Organ Failure
Assessment) score to describe organ dysfunction/failure. Intensive Care Med
1996;22(7):707-710. Sepsis-3 (Singer 2016): infection plus an acute rise of >= 2 points.

Inputs: pf_ratio (or pao2_last / fio2_last), o2_support_level; platelets_last;
bilirubin_last; map_min_1h, vasopressor_count_last; gcs_last; creatinine_last.

| component | 1          | 2             | 3                         | 4                          |
|-----------|------------|---------------|---------------------------|----------------------------|
| PaO2/FiO2 | < 400      | < 300         | < 200 with resp. support  | < 100 with resp. support   |
| platelets | < 150      | < 100         | < 50                      | < 20                       |
| bilirubin mg/dL | 1.2-1.9 | 2.0-5.9    | 6.0-11.9                  | >= 12.0                    |
| cardiovascular | MAP < 70 | dopa <= 5 or dobu | dopa > 5, NE/epi <= .1 | dopa > 15, NE/epi > .1 |
| GCS       | 13-14      | 10-12         | 6-9                       | < 6                        |
| creatinine mg/dL | 1.2-1.9 | 2.0-3.4 | 3.5-4.9 | >= 5.0 (or urine output) |

Decisions: the printed bands for bilirubin and creatinine are read as half-open intervals
(1.95 mg/dL scores 1, 2.0 scores 2). "Respiratory support" is positive pressure
(o2_support_level 3); without it a ratio < 200 scores 2. Vasopressor doses and agents are not
in the stream: any vasopressor scores 2 (the lowest vasopressor row) and the exact points
are unknown. Urine output is not in the stream. The acute rise (Sepsis-3) needs a baseline
SOFA that one snapshot does not have.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.bands import Band, classify
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "sofa"
CRITERIA = "SOFA score"
VERSION = "SOFA-1996"
CITATION = "Vincent JL et al. Intensive Care Med 1996;22:707-710"

PF_WITH_SUPPORT: tuple[Band, ...] = (
    Band("<", 100.0, 4, "< 100 with respiratory support"),
    Band("<", 200.0, 3, "< 200 with respiratory support"),
    Band("<", 300.0, 2, "< 300"),
    Band("<", 400.0, 1, "< 400"),
)
PF_WITHOUT_SUPPORT: tuple[Band, ...] = (
    Band("<", 300.0, 2, "< 300 (no positive-pressure support: at most 2)"),
    Band("<", 400.0, 1, "< 400"),
)
PLATELETS: tuple[Band, ...] = (
    Band("<", 20.0, 4, "< 20 x10^9/L"),
    Band("<", 50.0, 3, "< 50 x10^9/L"),
    Band("<", 100.0, 2, "< 100 x10^9/L"),
    Band("<", 150.0, 1, "< 150 x10^9/L"),
)
BILIRUBIN: tuple[Band, ...] = (
    Band(">=", 12.0, 4, ">= 12.0 mg/dL"),
    Band(">=", 6.0, 3, "6.0-11.9 mg/dL"),
    Band(">=", 2.0, 2, "2.0-5.9 mg/dL"),
    Band(">=", 1.2, 1, "1.2-1.9 mg/dL"),
)
GCS: tuple[Band, ...] = (
    Band("<", 6.0, 4, "GCS < 6"),
    Band("<=", 9.0, 3, "GCS 6-9"),
    Band("<=", 12.0, 2, "GCS 10-12"),
    Band("<=", 14.0, 1, "GCS 13-14"),
)
CREATININE: tuple[Band, ...] = (
    Band(">=", 5.0, 4, ">= 5.0 mg/dL"),
    Band(">=", 3.5, 3, "3.5-4.9 mg/dL"),
    Band(">=", 2.0, 2, "2.0-3.4 mg/dL"),
    Band(">=", 1.2, 1, "1.2-1.9 mg/dL"),
)
MAP_LT = 70.0
ROOM_AIR_FIO2_PCT = 21.0
POSITIVE_PRESSURE_LEVEL = 3


def _banded(ctx: RuleContext, component: str, feature: str, table: tuple[Band, ...]) -> int | None:
    v = ctx.value(feature)
    if v is None:
        return None
    band = classify(v, table)
    if band is None:
        return 0
    ctx.band(feature, v, band, f"{band.label} (SOFA {component} {band.level})")
    return band.level


def _respiration(ctx: RuleContext) -> int | None:
    pf = ctx.optional("pf_ratio")
    feature = "pf_ratio"
    if pf is None:
        pao2 = ctx.optional("pao2_last")
        fio2 = ctx.optional("fio2_last")
        if fio2 is None and ctx.optional("o2_support_level") == 0:
            fio2 = ROOM_AIR_FIO2_PCT  # breathing room air
        if pao2 is None or fio2 is None or fio2 <= 0:
            ctx.value("pf_ratio")  # lists it as missing
            return None
        pf = pao2 / (fio2 / 100.0)
        ctx.note("PaO2/FiO2 computed from pao2_last and FiO2 (fio2_last, or 21% on room air).")
    support = ctx.value("o2_support_level")
    positive_pressure = support is not None and support >= POSITIVE_PRESSURE_LEVEL
    band = classify(pf, PF_WITH_SUPPORT if positive_pressure else PF_WITHOUT_SUPPORT)
    if band is None:
        return 0
    ctx.band(feature, pf, band, f"PaO2/FiO2 {band.label} (SOFA respiration {band.level})")
    return band.level


def _cardiovascular(ctx: RuleContext) -> int | None:
    count = ctx.value("vasopressor_count_last")
    if count is not None and count >= 1:
        ctx.hit(
            "vasopressor_count_last",
            count,
            ">= 1: vasopressor running (SOFA cardiovascular >= 2; dose unknown)",
        )
        ctx.add_unknown("vasopressor agent and dose (SOFA cardiovascular 2-4)")
        return 2
    map_ = ctx.value("map_min_1h")
    if map_ is not None and ctx.test(
        "map_min_1h", map_, "<", MAP_LT, "MAP < 70 mmHg (SOFA cardiovascular 1)"
    ):
        return 1
    if map_ is None:
        return None
    return 0


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """SOFA from the available components; says which were scored and which are missing."""
    del cfg
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="score"
    )
    parts: dict[str, int | None] = {
        "respiration": _respiration(ctx),
        "coagulation": _banded(ctx, "coagulation", "platelets_last", PLATELETS),
        "liver": _banded(ctx, "liver", "bilirubin_last", BILIRUBIN),
        "cardiovascular": _cardiovascular(ctx),
        "cns": _banded(ctx, "CNS", "gcs_last", GCS),
        "renal": _banded(ctx, "renal", "creatinine_last", CREATININE),
    }
    ctx.components.update(parts)
    scored = [k for k, v in parts.items() if v is not None]
    unscored = [k for k, v in parts.items() if v is None]
    points = sum(v for v in parts.values() if v is not None)
    for key, v in parts.items():
        if v:
            ctx.reason(f"SOFA {key} {v}")
    ctx.note(
        "Scored components: "
        + (", ".join(scored) or "none")
        + "; not scored (inputs missing): "
        + (", ".join(unscored) or "none")
        + "."
    )
    ctx.add_unknown("urine output (SOFA renal): not in the stream")
    ctx.note(
        "Sepsis-3 needs an acute rise of >= 2 from the baseline SOFA, which this snapshot does "
        "not hold."
    )
    if not scored:
        return ctx.result(points=None, points_max=24.0, status="undetermined")
    status = "complete" if not unscored else "partial"
    return ctx.result(
        points=float(points), points_max=float(points + 4 * len(unscored)), status=status
    )


INPUTS = (
    *down("pf_ratio", "platelets_last", "map_min_1h", "gcs_last"),
    *up("bilirubin_last", "vasopressor_count_last", "creatinine_last", "o2_support_level"),
)
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

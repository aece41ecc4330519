"""National Early Warning Score 2 (NEWS2), with both SpO2 scales.

Citation: Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising
the assessment of acute-illness severity in the NHS. Updated report of a working party.
London: RCP, 2017.

Inputs: rr_last, spo2_last, o2_support_level, sbp_last, hr_last, consciousness_level_last,
new_confusion_last, temp_last. The scale is RuleConfig.news2_spo2_scale (default 1; scale 2
only for confirmed hypercapnic respiratory failure, on clinical decision).

| parameter | 3 | 2 | 1 | 0 | 1 | 2 | 3 |
|-|-|-|-|-|-|-|-|
| resp rate | <= 8 |  | 9-11 | 12-20 |  | 21-24 | >= 25 |
| SpO2 scale 1 | <= 91 | 92-93 | 94-95 | >= 96 |  |  |  |
| SpO2 scale 2 | <= 83 | 84-85 | 86-87 | 88-92; >= 93 air | 93-94 O2 | 95-96 O2 | >= 97 O2 |
| air or oxygen |  | oxygen |  | air |  |  |  |
| systolic BP | <= 90 | 91-100 | 101-110 | 111-219 |  |  | >= 220 |
| pulse | <= 40 |  | 41-50 | 51-90 | 91-110 | 111-130 | >= 131 |
| consciousness | new confusion, V, P, U |  |  | alert |  |  |  |
| temperature C | <= 35.0 |  | 35.1-36.0 | 36.1-38.0 | 38.1-39.0 | >= 39.1 |  |

Bands are upper-inclusive on the printed values: a value between two printed bands (20.5
/min, 38.05 C) falls in the higher band. Risk: 0-4 low; a 3 in any single parameter
low-medium (urgent ward review); 5-6 medium (urgent response); >= 7 high (emergency).
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.bands import Band, classify
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import InputSpec, RuleSpec, down, up

NAME = "news2"
CRITERIA = "NEWS2"
VERSION = "NEWS2-RCP-2017"
CITATION = "Royal College of Physicians. National Early Warning Score (NEWS) 2. London: RCP, 2017"

# Read top to bottom, first band that holds; the last row catches the rest.
RESP_RATE: tuple[Band, ...] = (
    Band("<=", 8, 3, "<= 8"), Band("<=", 11, 1, "9-11"), Band("<=", 20, 0, "12-20"),
    Band("<=", 24, 2, "21-24"), Band(">", 24, 3, ">= 25"),
)  # fmt: skip
SPO2_SCALE1: tuple[Band, ...] = (
    Band("<=", 91, 3, "<= 91"), Band("<=", 93, 2, "92-93"), Band("<=", 95, 1, "94-95"),
    Band(">", 95, 0, ">= 96"),
)  # fmt: skip
SPO2_SCALE2_LOW: tuple[Band, ...] = (
    Band("<=", 83, 3, "<= 83"), Band("<=", 85, 2, "84-85"), Band("<=", 87, 1, "86-87"),
    Band("<=", 92, 0, "88-92"),
)  # fmt: skip
SPO2_SCALE2_ON_O2: tuple[Band, ...] = (
    Band("<=", 94, 1, "93-94 on oxygen"), Band("<=", 96, 2, "95-96 on oxygen"),
    Band(">", 96, 3, ">= 97 on oxygen"),
)  # fmt: skip
SYSTOLIC_BP: tuple[Band, ...] = (
    Band("<=", 90, 3, "<= 90"), Band("<=", 100, 2, "91-100"), Band("<=", 110, 1, "101-110"),
    Band("<=", 219, 0, "111-219"), Band(">", 219, 3, ">= 220"),
)  # fmt: skip
PULSE: tuple[Band, ...] = (
    Band("<=", 40, 3, "<= 40"), Band("<=", 50, 1, "41-50"), Band("<=", 90, 0, "51-90"),
    Band("<=", 110, 1, "91-110"), Band("<=", 130, 2, "111-130"), Band(">", 130, 3, ">= 131"),
)  # fmt: skip
TEMPERATURE: tuple[Band, ...] = (
    Band("<=", 35.0, 3, "<= 35.0"), Band("<=", 36.0, 1, "35.1-36.0"),
    Band("<=", 38.0, 0, "36.1-38.0"), Band("<=", 39.0, 1, "38.1-39.0"),
    Band(">", 39.0, 2, ">= 39.1"),
)  # fmt: skip
OXYGEN_POINTS = 2


def _param(ctx: RuleContext, key: str, feature: str, table: tuple[Band, ...]) -> int | None:
    v = ctx.value(feature)
    if v is None:
        return None
    band = classify(v, table)
    pts = 0 if band is None else band.level
    if band is not None and pts:
        ctx.band(feature, v, band, f"{band.label}: {pts} (NEWS2 {key})")
    return pts


def _spo2(ctx: RuleContext, scale: int, on_oxygen: bool | None) -> int | None:
    spo2 = ctx.value("spo2_last")
    if spo2 is None:
        return None
    if scale == 1:
        band = classify(spo2, SPO2_SCALE1)
    else:
        band = classify(spo2, SPO2_SCALE2_LOW)
        if band is None:  # >= 93: scores only on oxygen
            if on_oxygen is None:
                return None
            band = (
                classify(spo2, SPO2_SCALE2_ON_O2) if on_oxygen else Band(">", 92, 0, ">= 93 on air")
            )
    pts = 0 if band is None else band.level
    if band is not None and pts:
        ctx.band("spo2_last", spo2, band, f"{band.label}: {pts} (NEWS2 SpO2 scale {scale})")
    return pts


def _consciousness(ctx: RuleContext) -> int | None:
    level = ctx.value("consciousness_level_last")
    confusion = ctx.value("new_confusion_last")
    if confusion is not None and confusion >= 1:
        ctx.hit("new_confusion_last", confusion, "= 1: new confusion: 3 (NEWS2 consciousness)")
        return 3
    if level is not None and level >= 1:
        # "drowsy" (code 1) is not fully alert; NEWS2 scores any reduced level as 3.
        ctx.hit(
            "consciousness_level_last",
            level,
            ">= 1: not alert (V, P or U): 3 (NEWS2 consciousness)",
        )
        return 3
    if level is None:
        return None
    return 0


def risk(total: int, any_three: bool) -> str:
    """NEWS2 clinical risk band for a total and whether any single parameter scored 3."""
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    if any_three:
        return "low-medium"
    return "low"


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """NEWS2 total with the configured SpO2 scale; partial when parameters are missing."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="score"
    )
    support = ctx.value("o2_support_level")
    on_oxygen = None if support is None else support >= 1
    if on_oxygen:
        ctx.hit(
            "o2_support_level", support or 0.0, ">= 1: supplemental oxygen: 2 (NEWS2 air or oxygen)"
        )
    parts: dict[str, int | None] = {
        "respiration_rate": _param(ctx, "respiration rate", "rr_last", RESP_RATE),
        "spo2": _spo2(ctx, cfg.news2_spo2_scale, on_oxygen),
        "air_or_oxygen": None if on_oxygen is None else (OXYGEN_POINTS if on_oxygen else 0),
        "systolic_bp": _param(ctx, "systolic BP", "sbp_last", SYSTOLIC_BP),
        "pulse": _param(ctx, "pulse", "hr_last", PULSE),
        "consciousness": _consciousness(ctx),
        "temperature": _param(ctx, "temperature", "temp_last", TEMPERATURE),
    }
    ctx.components.update(parts)
    known = {k: v for k, v in parts.items() if v is not None}
    if not known:
        return ctx.result(points=None, status="undetermined")
    total = sum(known.values())
    any_three = any(v == 3 for v in known.values())
    band = risk(total, any_three)
    for key, v in known.items():
        if v:
            ctx.reason(f"NEWS2 {key}: {v}")
    if total:
        ctx.reason(f"NEWS2 total {total}: {band} clinical risk (RCP 2017)")
    unscored = [k for k, v in parts.items() if v is None]
    if unscored:
        ctx.note("NEWS2 partial: not scored (inputs missing): " + ", ".join(unscored) + ".")
    ctx.note(f"SpO2 scale {cfg.news2_spo2_scale} used.")
    return ctx.result(points=float(total), points_max=float(total + 3 * len(unscored)), status=band)


INPUTS = (
    InputSpec("rr_last", "away", 16.0),
    *down("spo2_last"),
    *up("o2_support_level", "consciousness_level_last", "new_confusion_last"),
    InputSpec("sbp_last", "away", 150.0),
    InputSpec("hr_last", "away", 70.0),
    InputSpec("temp_last", "away", 37.0),
)
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS),)

"""Worked clinical vignettes: event streams, the grade a clinician would give, the criterion.

Each vignette is data: the canonical events of one patient (``events``), the time of the
assessment (``at_h`` hours after the cycle start), the feature values the pipeline should
produce there (``features``, on top of ``NORMAL``), and the expected results with the
criterion cited. Tests run them now through a snapshot built from ``features`` and, once
features/ is integrated, through ``features.replay.snapshots_for_history``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contract.events import Event
from tests.scoring.vignettes.events import (
    context,
    neuro,
    normal_vitals,
    obs,
    pressors,
    resp,
    start,
    treat,
)


@dataclass(frozen=True)
class Expect:
    """``target`` is a rule name or ``syndrome:<risk>``; ``attr`` a result field."""

    target: str
    attr: str
    value: Any


@dataclass(frozen=True)
class Vignette:
    id: str
    story: str
    events: list[Event]
    at_h: float
    features: dict[str, float | None]
    expect: tuple[Expect, ...]
    citation: str
    suggests: tuple[str, ...] = ()
    """Substrings that must appear in the assessment's label suggestions."""
    timeline: dict[str, Any] = field(default_factory=dict)
    pipeline_checks: tuple[int, ...] | None = None
    """Indexes of ``expect`` to check through the feature pipeline (default: all)."""


# Everything measured and normal: a patient on day 2 of cycle 1, on room air, alert.
NORMAL: dict[str, float | None] = {
    "temp_last": 36.8, "temp_max_1h": 36.8, "temp_max_6h": 36.9, "temp_max_24h": 37.0,
    "temp_min_24h": 36.5, "hr_last": 78.0, "hr_max_1h": 80.0, "rr_last": 14.0, "rr_max_1h": 15.0,
    "spo2_last": 98.0, "spo2_min_1h": 97.0, "sbp_last": 122.0, "sbp_min_1h": 118.0,
    "sbp_min_6h": 115.0, "dbp_last": 74.0, "map_last": 90.0, "map_min_1h": 86.0, "gcs_last": 15.0,
    "fever_hours_24h": 0.0, "fever_sustained_1h": 0.0, "crp_last": 8.0, "ferritin_last": 300.0,
    "ferritin_max_24h": 300.0, "ferritin_max_cycle": 320.0, "ferritin_fold_from_baseline": 1.0,
    "alt_last": 25.0, "alt_x_uln": 0.63, "alt_uln": 40.0, "ast_last": 22.0, "ast_x_uln": 0.55,
    "ast_uln": 40.0, "bilirubin_last": 0.6, "bilirubin_x_uln": 0.5, "bilirubin_uln": 1.2,
    "ldh_last": 220.0, "ldh_x_uln": 0.79, "creatinine_last": 0.8, "creatinine_x_uln": 0.59,
    "creatinine_fold_from_baseline": 1.0, "fibrinogen_last": 320.0, "triglycerides_last": 120.0,
    "wbc_last": 5.5, "anc_last": 3.2, "anc_lln": 2.0, "platelets_last": 210.0,
    "platelets_lln": 150.0, "hgb_last": 12.8, "hgb_lln": 12.0, "paco2_last": None,
    "bands_last": None, "ice_last": 10.0, "ice_min_12h": 10.0, "ice_min_24h": 10.0,
    "consciousness_level_last": 0.0, "new_confusion_last": 0.0, "seizure_count_24h": 0.0,
    "seizure_count_cycle": 0.0, "seizure_prolonged_24h": 0.0, "tremor_grade_last": 0.0,
    "motor_weakness_last": 0.0, "cerebral_edema_last": 0.0, "o2_support_level": 0.0,
    "fio2_last": 21.0, "vasopressor_count_last": 0.0, "vasopressin_last": 0.0,
    "age_years": 45.0, "weight_kg": 72.0, "immunosuppressed": 0.0, "prior_neurotoxicity": 0.0,
}  # fmt: skip

DAY2 = {
    "cycle": 1,
    "infusion_day": 2,
    "hours_since_start": 30.0,
    "dose_ug_per_day": 9.0,
    "on_infusion": True,
}
DAY8 = {
    "cycle": 1,
    "infusion_day": 8,
    "hours_since_start": 170.0,
    "dose_ug_per_day": 28.0,
    "on_infusion": True,
}
DAY15 = {
    "cycle": 1,
    "infusion_day": 15,
    "hours_since_start": 340.0,
    "dose_ug_per_day": 28.0,
    "on_infusion": True,
}

ASTCT = "Lee DW et al. BBMT 2019 (ASTCT consensus)"
CTCAE = "NCI CTCAE v5.0"


def crs(grade: int) -> Expect:
    return Expect("syndrome:crs", "grade", grade)


def icans(grade: int) -> Expect:
    return Expect("syndrome:icans", "grade", grade)


def fever(h: float, t: float) -> list[Event]:
    return obs(h, temp=t)


VIGNETTES: list[Vignette] = [
    Vignette(
        "crs-g1-day2-fever",
        "Day 2 of cycle 1, fever 38.6 C, blood pressure and SpO2 normal on room air.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *pressors(20, 0),
            *fever(29, 38.6),
            *obs(29.5, sbp=118, map=84),
        ],
        30,
        {"temp_max_24h": 38.6, "temp_last": 38.6},
        (crs(1), Expect("ctcae_crs", "grade", 1)),
        ASTCT,
        timeline=DAY2,
    ),
    Vignette(
        "crs-g2-hypotension-fluids",
        "Fever 38.9 C with SBP 84 mmHg responding to fluids, no vasopressor.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *pressors(20, 0),
            *fever(28, 38.9),
            *obs(29.5, sbp=84, map=62),
        ],
        30,
        {"temp_max_24h": 38.9, "sbp_min_1h": 84.0, "map_min_1h": 62.0},
        (crs(2), Expect("ctcae_crs", "grade", 2)),
        ASTCT,
        timeline=DAY2,
    ),
    Vignette(
        "crs-g3-one-pressor",
        "Day 2: fever 38.6 C, then SBP 85 mmHg needing one vasopressor (norepinephrine).",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *fever(26, 38.6),
            *obs(28, sbp=85, map=60),
            *pressors(28.5, 1),
        ],
        30,
        {
            "temp_max_24h": 38.6,
            "sbp_min_1h": 96.0,
            "map_min_1h": 70.0,
            "vasopressor_count_last": 1.0,
        },
        (crs(3), Expect("astct_crs", "grade", 3), Expect("ctcae_crs", "grade", 3)),
        ASTCT,
        suggests=("CRS grade 3 - interrupt",),
        timeline=DAY2,
    ),
    Vignette(
        "crs-g4-two-pressors",
        "Fever 39.5 C, refractory shock on norepinephrine and epinephrine.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *fever(26, 39.5),
            *obs(28, sbp=78, map=52),
            *pressors(28.5, 2),
        ],
        30,
        {
            "temp_max_24h": 39.5,
            "sbp_min_1h": 92.0,
            "map_min_1h": 66.0,
            "vasopressor_count_last": 2.0,
        },
        (crs(4),),
        ASTCT,
        suggests=("CRS grade 4 - discontinue",),
        timeline=DAY2,
    ),
    Vignette(
        "crs-g2-low-flow",
        "Fever 38.4 C, SpO2 91% corrected with nasal cannula 2 L/min.",
        [
            *start(),
            *normal_vitals(20),
            *pressors(20, 0),
            *fever(27, 38.4),
            *obs(28, spo2=91),
            *resp(28, "nasal_cannula", 2.0, 28.0),
        ],
        30,
        {
            "temp_max_24h": 38.4,
            "o2_support_level": 1.0,
            "o2_flow_last": 2.0,
            "fio2_last": 28.0,
            "spo2_last": 95.0,
        },
        (crs(2), Expect("ctcae_crs", "grade", 2)),
        ASTCT,
        timeline=DAY2,
    ),
    Vignette(
        "crs-g3-high-flow",
        "Fever 38.8 C, high-flow nasal cannula 30 L/min at FiO2 50%.",
        [
            *start(),
            *normal_vitals(20),
            *pressors(20, 0),
            *fever(27, 38.8),
            *resp(28, "high_flow_nasal_cannula", 30.0, 50.0),
        ],
        30,
        {
            "temp_max_24h": 38.8,
            "o2_support_level": 2.0,
            "o2_flow_last": 30.0,
            "fio2_last": 50.0,
            "spo2_last": 94.0,
        },
        (crs(3), Expect("ctcae_crs", "grade", 3)),
        ASTCT,
        suggests=("CRS grade 3",),
        timeline=DAY2,
    ),
    Vignette(
        "crs-g4-bipap",
        "Fever 39.0 C, respiratory failure on BiPAP.",
        [
            *start(),
            *normal_vitals(20),
            *pressors(20, 0),
            *fever(27, 39.0),
            *resp(28, "bipap", None, 60.0),
        ],
        30,
        {"temp_max_24h": 39.0, "o2_support_level": 3.0, "fio2_last": 60.0, "spo2_last": 93.0},
        (crs(4), Expect("ctcae_crs", "grade", 4)),
        ASTCT,
        timeline=DAY2,
    ),
    Vignette(
        "crs-masked-by-tocilizumab",
        "CRS treated with tocilizumab 10 h ago; now afebrile 37.2 C, SBP 86 mmHg, no pressor.",
        [
            *start(),
            *normal_vitals(10),
            *resp(10, "room_air"),
            *pressors(10, 0),
            *fever(18, 38.9),
            *treat(20, "tocilizumab"),
            *fever(29, 37.2),
            *obs(29.5, sbp=86, map=63),
        ],
        30,
        {
            "temp_max_24h": 38.9,
            "temp_last": 37.2,
            "sbp_min_1h": 86.0,
            "map_min_1h": 63.0,
            "hours_since_tocilizumab": 10.0,
        },
        (crs(2), Expect("astct_crs", "grade", 2)),
        ASTCT + ": fever masked after anti-cytokine therapy",
        timeline=DAY2,
    ),
    Vignette(
        "crs-masked-afebrile",
        "Tocilizumab 10 h ago, temperature now 37.0 C throughout, SBP 86 mmHg: graded on "
        "hypotension alone.",
        [
            *start(),
            *normal_vitals(4),
            *resp(4, "room_air"),
            *pressors(4, 0),
            *treat(20, "tocilizumab"),
            *obs(29.5, sbp=86, map=63),
        ],
        30,
        {
            "temp_max_24h": 37.0,
            "sbp_min_1h": 86.0,
            "map_min_1h": 63.0,
            "hours_since_tocilizumab": 10.0,
        },
        (crs(2), Expect("astct_crs", "grade", 2)),
        ASTCT + ": fever not required after tocilizumab",
        timeline=DAY2,
    ),
    Vignette(
        "hypotension-without-fever",
        "Afebrile 36.9 C, SBP 84 mmHg (dehydration), no antipyretic or anti-cytokine therapy: not "
        "CRS.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *pressors(20, 0),
            *obs(29.5, sbp=84, map=61),
        ],
        30,
        {"sbp_min_1h": 84.0, "map_min_1h": 61.0},
        (crs(0),),
        ASTCT + ": fever is required",
        timeline=DAY2,
    ),
    Vignette(
        "crs-vasopressin-only",
        "Fever 38.7 C, hypotension treated with vasopressin alone.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *fever(27, 38.7),
            *obs(28, sbp=82, map=58),
            *pressors(28.5, 0, vasopressin=True),
        ],
        30,
        {"temp_max_24h": 38.7, "sbp_min_1h": 95.0, "vasopressin_last": 1.0},
        (crs(3),),
        ASTCT,
        timeline=DAY2,
    ),
    Vignette(
        "crs-pressor-plus-vasopressin",
        "Fever 39.1 C, norepinephrine plus vasopressin: still grade 3 (vasopressin not counted).",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *fever(27, 39.1),
            *obs(28, sbp=80, map=55),
            *pressors(28.5, 1, vasopressin=True),
        ],
        30,
        {
            "temp_max_24h": 39.1,
            "sbp_min_1h": 95.0,
            "vasopressor_count_last": 1.0,
            "vasopressin_last": 1.0,
        },
        (crs(3),),
        ASTCT,
        timeline=DAY2,
    ),
    Vignette(
        "crs-step-up-6l",
        "Day 8 step-up to 28 ug/day, fever 38.2 C, nasal cannula at 6 L/min (still low-flow).",
        [
            *start(),
            *start(168, 28.0),
            *normal_vitals(160),
            *pressors(160, 0),
            *fever(169, 38.2),
            *resp(169, "nasal_cannula", 6.0, 40.0),
        ],
        170,
        {"temp_max_24h": 38.2, "o2_support_level": 1.0, "o2_flow_last": 6.0, "fio2_last": 40.0},
        (Expect("astct_crs", "grade", 2), Expect("ctcae_crs", "grade", 3)),
        ASTCT + "; CTCAE v5.0 (>= 40% O2 is grade 3)",
        timeline=DAY8,
    ),
    Vignette(
        "crs-cannula-8l",
        "Fever 38.5 C, nasal cannula at 8 L/min: high-flow by the ASTCT table.",
        [
            *start(),
            *normal_vitals(20),
            *pressors(20, 0),
            *fever(27, 38.5),
            *resp(28, "nasal_cannula", 8.0),
        ],
        30,
        {"temp_max_24h": 38.5, "o2_support_level": 1.0, "o2_flow_last": 8.0, "fio2_last": None},
        (crs(3),),
        ASTCT,
        timeline=DAY2,
    ),
    Vignette(
        "icans-g1",
        "Day 7: ICE 8 (misses year and one object), awake.",
        [
            *start(),
            *neuro(
                160,
                ice_score=8,
                consciousness="alert",
                seizure=False,
                motor_weakness="none",
                cerebral_edema="none",
            ),
        ],
        162,
        {"ice_last": 8.0},
        (icans(1),),
        ASTCT + " (ICANS)",
        timeline=DAY8,
    ),
    Vignette(
        "icans-g2",
        "ICE 5, awakens to voice.",
        [*start(), *neuro(160, ice_score=5, consciousness="voice", seizure=False)],
        162,
        {"ice_last": 5.0, "consciousness_level_last": 2.0},
        (icans(2),),
        ASTCT + " (ICANS)",
        timeline=DAY8,
    ),
    Vignette(
        "icans-g3-ice2",
        "Global aphasia: ICE 2, awake.",
        [*start(), *neuro(160, ice_score=2, consciousness="alert", seizure=False)],
        162,
        {"ice_last": 2.0},
        (icans(3),),
        ASTCT + " (ICANS: ICE 0-2)",
        suggests=("neurological toxicity grade 3 - interrupt",),
        timeline=DAY8,
    ),
    Vignette(
        "icans-g3-seizure",
        "A single generalized seizure resolving within 1 minute; ICE 9 afterwards.",
        [
            *start(),
            *neuro(158, seizure=True, seizure_prolonged=False),
            *neuro(160, ice_score=9, consciousness="alert"),
        ],
        162,
        {"ice_last": 9.0, "seizure_count_24h": 1.0, "seizure_count_cycle": 1.0},
        (icans(3),),
        ASTCT + " (ICANS seizure)",
        timeline=DAY8,
    ),
    Vignette(
        "icans-g4-unarousable",
        "ICE 0 and unarousable.",
        [*start(), *neuro(160, ice_score=0, consciousness="unresponsive")],
        162,
        {"ice_last": 0.0, "consciousness_level_last": 4.0, "gcs_last": 6.0},
        (icans(4),),
        ASTCT + " (ICANS)",
        suggests=("neurological toxicity grade 4 - discontinue",),
        timeline=DAY8,
    ),
    Vignette(
        "icans-g4-diffuse-edema",
        "Diffuse cerebral edema on CT, ICE 3, awakens to voice.",
        [*start(), *neuro(160, ice_score=3, consciousness="voice", cerebral_edema="diffuse")],
        162,
        {"ice_last": 3.0, "consciousness_level_last": 2.0, "cerebral_edema_last": 2.0},
        (icans(4),),
        ASTCT + " (ICANS raised ICP)",
        timeline=DAY8,
    ),
    Vignette(
        "icans-two-seizures",
        "Second seizure this cycle (days 6 and 8), each resolving rapidly.",
        [
            *start(),
            *neuro(130, seizure=True),
            *neuro(160, seizure=True),
            *neuro(161, ice_score=9, consciousness="alert"),
        ],
        162,
        {"ice_last": 9.0, "seizure_count_24h": 1.0, "seizure_count_cycle": 2.0},
        (icans(3),),
        ASTCT + "; label: more than one seizure",
        suggests=("seizures this cycle (more than one) - discontinue",),
        timeline=DAY8,
    ),
    Vignette(
        "tremor-not-icans",
        "Grade 2 tremor, ICE 10, alert: a CTCAE item, not ICANS.",
        [*start(), *neuro(160, ice_score=10, consciousness="alert", tremor_grade=2)],
        162,
        {"tremor_grade_last": 2.0},
        (icans(0),),
        ASTCT + " (tremor is not ICANS)",
        timeline=DAY8,
    ),
    Vignette(
        "hepatic-alt-g3",
        "Day 15, ALT 220 U/L (ULN 40: 5.5 x ULN), no CRS.",
        [*start(), *obs(330, alt=220)],
        340,
        {"alt_last": 220.0, "alt_x_uln": 5.5},
        (Expect("ctcae_alt", "grade", 3), Expect("syndrome:hepatotoxicity", "grade", 3)),
        CTCAE + " ALT increased; label: > 5 x ULN interrupt",
        suggests=("interrupt blinatumomab",),
        timeline=DAY15,
    ),
    Vignette(
        "hepatic-bilirubin-g3",
        "Total bilirubin 3.9 mg/dL (ULN 1.2: 3.25 x ULN).",
        [*start(), *obs(330, bilirubin=3.9)],
        340,
        {"bilirubin_last": 3.9, "bilirubin_x_uln": 3.25},
        (Expect("ctcae_bilirubin", "grade", 3),),
        CTCAE + " bilirubin increased; label: > 3 x ULN interrupt",
        suggests=("bilirubin 3.2 x ULN",),
        timeline=DAY15,
    ),
    Vignette(
        "hepatic-alt-g2",
        "ALT 130 U/L (3.25 x ULN): grade 2, no label action.",
        [*start(), *obs(330, alt=130)],
        340,
        {"alt_last": 130.0, "alt_x_uln": 3.25},
        (Expect("ctcae_alt", "grade", 2), Expect("syndrome:hepatotoxicity", "grade", 2)),
        CTCAE,
        timeline=DAY15,
    ),
    Vignette(
        "febrile-neutropenia",
        "ANC 0.3 x10^9/L, single temperature 38.4 C: febrile neutropenia and possible CRS, both "
        "reported.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *pressors(20, 0),
            *obs(22, anc=0.3, wbc=0.9),
            *fever(29, 38.4),
        ],
        30,
        {"anc_last": 0.3, "wbc_last": 0.9, "temp_max_24h": 38.4},
        (
            Expect("ctcae_febrile_neutropenia", "grade", 3),
            Expect("idsa_fn", "met", True),
            Expect("syndrome:infection", "grade", 3),
            crs(1),
        ),
        "IDSA 2010 (Freifeld 2011); CTCAE v5.0 febrile neutropenia",
        timeline=DAY2,
    ),
    Vignette(
        "febrile-neutropenia-sustained",
        "ANC 0.4, temperature 38.1 C sustained for 2 hours.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *pressors(20, 0),
            *obs(22, anc=0.4),
            *fever(27.5, 38.1),
            *fever(28.5, 38.1),
            *fever(29.6, 38.1),
        ],
        30,
        {"anc_last": 0.4, "temp_max_24h": 38.1, "fever_sustained_1h": 1.0},
        (Expect("idsa_fn", "met", True), Expect("ctcae_febrile_neutropenia", "grade", 3)),
        "IDSA 2010: >= 38.0 C sustained over 1 h",
        timeline=DAY2,
    ),
    Vignette(
        "neutropenic-sepsis-shock",
        "ANC 0.2, fever 39.0 C, SBP 80 mmHg on one vasopressor.",
        [
            *start(),
            *normal_vitals(20),
            *resp(20, "room_air"),
            *obs(22, anc=0.2),
            *fever(27, 39.0),
            *obs(28, sbp=80, map=55),
            *pressors(28.5, 1),
        ],
        30,
        {"anc_last": 0.2, "temp_max_24h": 39.0, "sbp_min_1h": 95.0, "vasopressor_count_last": 1.0},
        (
            Expect("ctcae_febrile_neutropenia", "grade", 4),
            Expect("syndrome:infection", "grade", 4),
            crs(3),
        ),
        CTCAE + " febrile neutropenia (life-threatening); ASTCT 2019",
        timeline=DAY2,
    ),
    Vignette(
        "sirs-positive",
        "Temperature 38.5 C, HR 112, RR 24, WBC 14: SIRS 4/4, qSOFA 1.",
        [
            *start(),
            *obs(29, temp=38.5, hr=112, rr=24, sbp=118, map=84),
            *obs(22, wbc=14.0, anc=10.5),
        ],
        30,
        {
            "temp_max_24h": 38.5,
            "hr_max_1h": 112.0,
            "hr_last": 112.0,
            "rr_max_1h": 24.0,
            "rr_last": 24.0,
            "wbc_last": 14.0,
            "anc_last": 10.5,
        },
        (
            Expect("sirs", "met", True),
            Expect("qsofa", "met", False),
            Expect("syndrome:infection", "grade", 2),
        ),
        "Bone 1992 (SIRS); Seymour 2016 (qSOFA)",
        timeline=DAY2,
        pipeline_checks=(0,),
    ),
    Vignette(
        "qsofa-positive",
        "RR 26, SBP 95, GCS 13, temperature 38.7 C, HR 120: qSOFA 3 with SIRS.",
        [*start(), *obs(29.5, temp=38.7, hr=120, rr=26, sbp=95, map=68, gcs=13)],
        30,
        {
            "temp_max_24h": 38.7,
            "hr_max_1h": 120.0,
            "rr_max_1h": 26.0,
            "sbp_min_1h": 95.0,
            "map_min_1h": 68.0,
            "gcs_last": 13.0,
        },
        (
            Expect("qsofa", "points", 3.0),
            Expect("sirs", "met", True),
            Expect("syndrome:infection", "grade", 3),
        ),
        "Seymour 2016 (qSOFA >= 2)",
        timeline=DAY2,
        pipeline_checks=(0, 1),
    ),
    Vignette(
        "hlh-hscore-high",
        "Fever 39.6 C, ferritin 12,000, TG 400 mg/dL, fibrinogen 120 mg/dL, AST 150, "
        "pancytopenia, on immunosuppression.",
        [
            *start(),
            *context(immunosuppressed=True),
            *fever(290, 39.6),
            *obs(
                300,
                ferritin=12000,
                triglycerides=400,
                fibrinogen=120,
                ast=150,
                hgb=8.5,
                wbc=1.5,
                platelets=40,
                anc=0.8,
            ),
        ],
        310,
        {
            "temp_max_24h": 39.6,
            "ferritin_last": 12000.0,
            "ferritin_max_cycle": 12000.0,
            "triglycerides_last": 400.0,
            "fibrinogen_last": 120.0,
            "ast_last": 150.0,
            "ast_x_uln": 3.75,
            "hgb_last": 8.5,
            "wbc_last": 1.5,
            "platelets_last": 40.0,
            "anc_last": 0.8,
            "immunosuppressed": 1.0,
        },
        (
            Expect("hscore", "points", 264.0),
            Expect("hscore", "met", True),
            Expect("hlh2004", "status", "undetermined"),
            Expect("syndrome:hlh", "grade", 3),
        ),
        "Fardet 2014 (HScore >= 169); Henter 2007 (HLH-2004)",
        timeline=DAY15,
    ),
    Vignette(
        "hlh-ruled-out",
        "Routine labs normal, afebrile: HScore cannot reach 169.",
        [
            *start(),
            *normal_vitals(300),
            *obs(
                300,
                ferritin=300,
                triglycerides=120,
                fibrinogen=320,
                ast=22,
                hgb=12.8,
                wbc=5.5,
                platelets=210,
            ),
        ],
        310,
        {},
        (
            Expect("hscore", "met", False),
            Expect("hlh2004", "status", "not_reachable"),
            Expect("syndrome:hlh", "grade", 0),
        ),
        "Fardet 2014; Henter 2007",
        timeline=DAY15,
        pipeline_checks=(0,),
    ),
    Vignette(
        "news2-high",
        "RR 26, SpO2 90% on 4 L/min, SBP 95, HR 125, alert, 38.6 C: NEWS2 13.",
        [
            *start(),
            *resp(29, "nasal_cannula", 4.0),
            *obs(29.5, rr=26, spo2=90, sbp=95, hr=125, temp=38.6),
        ],
        30,
        {
            "rr_last": 26.0,
            "spo2_last": 90.0,
            "o2_support_level": 1.0,
            "o2_flow_last": 4.0,
            "sbp_last": 95.0,
            "hr_last": 125.0,
            "temp_last": 38.6,
        },
        (Expect("news2", "points", 13.0), Expect("news2", "status", "high")),
        "RCP 2017 (NEWS2 >= 7: emergency response)",
        timeline=DAY2,
    ),
    Vignette(
        "news2-single-three",
        "SpO2 91% on air, everything else normal: a single 3 (urgent ward review).",
        [*start(), *resp(20, "room_air"), *obs(29.5, rr=14, spo2=91, sbp=122, hr=78, temp=36.8)],
        30,
        {"spo2_last": 91.0},
        (Expect("news2", "points", 3.0), Expect("news2", "status", "low-medium")),
        "RCP 2017",
        timeline=DAY2,
    ),
    Vignette(
        "easix-pre-high",
        "Before cycle 1: LDH 600 U/L, creatinine 1.0 mg/dL, platelets 100: EASIX 6.0 > 4.67.",
        [*context(age_years=60.0), *obs(-2, ldh=600, creatinine=1.0, platelets=100)],
        -1,
        {"ldh_last": 600.0, "creatinine_last": 1.0, "platelets_last": 100.0},
        (Expect("easix", "met", True),),
        "Korell 2022 (EASIX-pre > 4.67)",
    ),
    Vignette(
        "pediatric-icans-capd",
        "Child aged 8, awakens to voice; ICE is not valid under 12 (CAPD).",
        [*context(age_years=8.0), *start(), *neuro(160, ice_score=4, consciousness="voice")],
        162,
        {"age_years": 8.0, "ice_last": 4.0, "consciousness_level_last": 2.0},
        (icans(2),),
        ASTCT + " (children < 12: CAPD, not ICE)",
        timeline=DAY8,
    ),
]

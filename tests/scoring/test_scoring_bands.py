"""Table-driven tests at every published band boundary, and its neighbour +/- epsilon.

Each row: rule, the feature values, what to read from the result, the expected value. The
comment on each block names the published inequality being pinned (strict or not).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from scoring.config import RuleConfig
from scoring.criteria import ctcae_labs, hscore
from scoring.registry import REGISTRY
from tests.scoring.scoring_helpers import ON_TREATMENT, snap

E = 0.01  # epsilon: values are charted to 0.1 at best, so 0.01 is between any two

CRS_OK = {
    "sbp_min_1h": 120.0,
    "map_min_1h": 85.0,
    "vasopressor_count_last": 0.0,
    "vasopressin_last": 0.0,
    "o2_support_level": 0.0,
}
FEVER = {**CRS_OK, "temp_max_24h": 38.5}
ICANS_OK = {
    "ice_last": 10.0,
    "consciousness_level_last": 0.0,
    "seizure_count_24h": 0.0,
    "seizure_prolonged_24h": 0.0,
    "motor_weakness_last": 0.0,
    "cerebral_edema_last": 0.0,
}
NEWS_OK = {
    "rr_last": 16.0,
    "spo2_last": 98.0,
    "o2_support_level": 0.0,
    "sbp_last": 130.0,
    "hr_last": 70.0,
    "consciousness_level_last": 0.0,
    "new_confusion_last": 0.0,
    "temp_last": 37.0,
}
SIRS_OK = {
    "temp_max_24h": 37.0,
    "temp_min_24h": 36.5,
    "hr_max_1h": 70.0,
    "rr_max_1h": 14.0,
    "paco2_last": 40.0,
    "wbc_last": 7.0,
    "bands_last": 2.0,
}
SOFA_OK = {
    "pf_ratio": 450.0,
    "o2_support_level": 0.0,
    "platelets_last": 200.0,
    "bilirubin_last": 0.8,
    "map_min_1h": 80.0,
    "vasopressor_count_last": 0.0,
    "gcs_last": 15.0,
    "creatinine_last": 0.9,
}

CASES: list[tuple[str, dict[str, float], str, Any]] = [
    # ASTCT CRS: fever >= 38.0 (non-strict)
    ("astct_crs", {**CRS_OK, "temp_max_24h": 38.0}, "grade", 1),
    ("astct_crs", {**CRS_OK, "temp_max_24h": 38.0 - E}, "grade", 0),
    # hypotension cut-off (configurable default): SBP < 90, MAP < 65 (strict)
    ("astct_crs", {**FEVER, "sbp_min_1h": 90.0 - E}, "grade", 2),
    ("astct_crs", {**FEVER, "sbp_min_1h": 90.0}, "grade", 1),
    ("astct_crs", {**FEVER, "map_min_1h": 65.0 - E}, "grade", 2),
    ("astct_crs", {**FEVER, "map_min_1h": 65.0}, "grade", 1),
    # vasopressors: one (with or without vasopressin) 3; several 4; vasopressin not counted
    ("astct_crs", {**FEVER, "vasopressor_count_last": 1.0}, "grade", 3),
    ("astct_crs", {**FEVER, "vasopressor_count_last": 1.0, "vasopressin_last": 1.0}, "grade", 3),
    ("astct_crs", {**FEVER, "vasopressor_count_last": 0.0, "vasopressin_last": 1.0}, "grade", 3),
    ("astct_crs", {**FEVER, "vasopressor_count_last": 2.0}, "grade", 4),
    # hypoxia: low-flow <= 6 L/min 2; > 6 L/min 3; positive pressure 4
    ("astct_crs", {**FEVER, "o2_support_level": 1.0, "o2_flow_last": 6.0}, "grade", 2),
    ("astct_crs", {**FEVER, "o2_support_level": 1.0, "o2_flow_last": 6.0 + E}, "grade", 3),
    ("astct_crs", {**FEVER, "o2_support_level": 2.0}, "grade", 3),
    ("astct_crs", {**FEVER, "o2_support_level": 3.0}, "grade", 4),
    # no fever, no masking: not CRS whatever the organ support; temperature missing: None
    ("astct_crs", {**CRS_OK, "temp_max_24h": 37.0, "sbp_min_1h": 80.0}, "grade", 0),
    ("astct_crs", {**CRS_OK, "sbp_min_1h": 80.0}, "grade", None),
    # masking windows (config): antipyretic <= 6 h, tocilizumab <= 72 h, steroid <= 24 h
    (
        "astct_crs",
        {**CRS_OK, "temp_max_24h": 37.0, "sbp_min_1h": 80.0, "hours_since_antipyretic": 6.0},
        "grade",
        2,
    ),
    (
        "astct_crs",
        {**CRS_OK, "temp_max_24h": 37.0, "sbp_min_1h": 80.0, "hours_since_antipyretic": 6.0 + E},
        "grade",
        0,
    ),
    (
        "astct_crs",
        {**CRS_OK, "temp_max_24h": 37.0, "o2_support_level": 2.0, "hours_since_tocilizumab": 72.0},
        "grade",
        3,
    ),
    (
        "astct_crs",
        {
            **CRS_OK,
            "temp_max_24h": 37.0,
            "o2_support_level": 2.0,
            "hours_since_tocilizumab": 72.0 + E,
        },
        "grade",
        0,
    ),
    (
        "astct_crs",
        {
            **CRS_OK,
            "temp_max_24h": 37.0,
            "vasopressor_count_last": 1.0,
            "hours_since_corticosteroid": 24.0,
        },
        "grade",
        3,
    ),
    # CTCAE CRS: FiO2 < 40% grade 2, >= 40% grade 3 (non-strict)
    ("ctcae_crs", {**FEVER, "o2_support_level": 1.0, "fio2_last": 40.0 - E}, "grade", 2),
    ("ctcae_crs", {**FEVER, "o2_support_level": 1.0, "fio2_last": 40.0}, "grade", 3),
    ("ctcae_crs", {**FEVER, "sbp_min_1h": 85.0}, "grade", 2),
    ("ctcae_crs", {**FEVER, "vasopressor_count_last": 1.0}, "grade", 3),
    ("ctcae_crs", {**FEVER, "vasopressor_count_last": 2.0}, "grade", 4),
    ("ctcae_crs", {**FEVER, "o2_support_level": 3.0, "fio2_last": 30.0}, "grade", 4),
    ("ctcae_crs", {**CRS_OK, "temp_max_24h": 38.0}, "grade", 1),
    ("ctcae_crs", {**CRS_OK, "temp_max_24h": 38.0 - E}, "grade", 0),
    # ICANS ICE bands: 10 -> 0, 7-9 -> 1, 3-6 -> 2, 0-2 -> 3
    *[
        ("astct_icans", {**ICANS_OK, "ice_last": float(ice)}, "grade", g)
        for ice, g in ((10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3))
    ],
    ("astct_icans", {**ICANS_OK, "ice_last": 0.0, "consciousness_level_last": 4.0}, "grade", 4),
    *[
        ("astct_icans", {**ICANS_OK, "consciousness_level_last": float(c)}, "grade", c)
        for c in range(5)
    ],
    ("astct_icans", {**ICANS_OK, "seizure_count_24h": 1.0}, "grade", 3),
    ("astct_icans", {**ICANS_OK, "seizure_prolonged_24h": 1.0}, "grade", 4),
    ("astct_icans", {**ICANS_OK, "motor_weakness_last": 1.0}, "grade", 0),
    ("astct_icans", {**ICANS_OK, "motor_weakness_last": 2.0}, "grade", 4),
    ("astct_icans", {**ICANS_OK, "cerebral_edema_last": 1.0}, "grade", 3),
    ("astct_icans", {**ICANS_OK, "cerebral_edema_last": 2.0}, "grade", 4),
    # CTCAE ALT/AST (x ULN): > 1 G1, > 3 G2, > 5 G3, > 20 G4 ("> 3-5x" = > 3 and <= 5)
    *[
        ("ctcae_alt", {"alt_x_uln": x}, "grade", g)
        for x, g in (
            (1.0, 0),
            (1.0 + E, 1),
            (3.0, 1),
            (3.0 + E, 2),
            (5.0, 2),
            (5.0 + E, 3),
            (20.0, 3),
            (20.0 + E, 4),
        )
    ],
    *[
        ("ctcae_ast", {"ast_x_uln": x}, "grade", g)
        for x, g in (
            (1.0, 0),
            (1.0 + E, 1),
            (3.0, 1),
            (3.0 + E, 2),
            (5.0, 2),
            (5.0 + E, 3),
            (20.0, 3),
            (20.0 + E, 4),
        )
    ],
    ("ctcae_alt", {"alt_last": 200.0, "alt_uln": 40.0}, "grade", 2),  # 5.0 x from own ULN
    ("ctcae_alt", {"alt_last": 200.4}, "grade", 3),  # default ULN 40: 5.01 x
    # bilirubin: > 1 G1, > 1.5 G2, > 3 G3, > 10 G4
    *[
        ("ctcae_bilirubin", {"bilirubin_x_uln": x}, "grade", g)
        for x, g in (
            (1.0, 0),
            (1.0 + E, 1),
            (1.5, 1),
            (1.5 + E, 2),
            (3.0, 2),
            (3.0 + E, 3),
            (10.0, 3),
            (10.0 + E, 4),
        )
    ],
    # neutrophils (LLN 2.0): < LLN G1, < 1.5 G2, < 1.0 G3, < 0.5 G4 (strict)
    *[
        ("ctcae_neutrophils", {"anc_last": v, "anc_lln": 2.0}, "grade", g)
        for v, g in (
            (2.0, 0),
            (2.0 - E, 1),
            (1.5, 1),
            (1.5 - E, 2),
            (1.0, 2),
            (1.0 - E, 3),
            (0.5, 3),
            (0.5 - E, 4),
        )
    ],
    # platelets (LLN 150): < LLN G1, < 75 G2, < 50 G3, < 25 G4
    *[
        ("ctcae_platelets", {"platelets_last": v, "platelets_lln": 150.0}, "grade", g)
        for v, g in (
            (150.0, 0),
            (150.0 - E, 1),
            (75.0, 1),
            (75.0 - E, 2),
            (50.0, 2),
            (50.0 - E, 3),
            (25.0, 3),
            (25.0 - E, 4),
        )
    ],
    # anemia (LLN 12.0): < LLN G1, < 10.0 G2, < 8.0 G3
    *[
        ("ctcae_anemia", {"hgb_last": v, "hgb_lln": 12.0}, "grade", g)
        for v, g in ((12.0, 0), (12.0 - E, 1), (10.0, 1), (10.0 - E, 2), (8.0, 2), (8.0 - E, 3))
    ],
    # CTCAE fever: 38.0-39.0 G1, > 39.0-40.0 G2, > 40.0 G3; > 40 for > 24 h G4
    *[
        ("ctcae_fever", {"temp_max_24h": t, "temp_min_24h": 37.0}, "grade", g)
        for t, g in ((38.0 - E, 0), (38.0, 1), (39.0, 1), (39.0 + E, 2), (40.0, 2), (40.0 + E, 3))
    ],
    ("ctcae_fever", {"temp_max_24h": 40.6, "temp_min_24h": 40.0 + E}, "grade", 4),
    ("ctcae_fever", {"temp_max_24h": 40.6, "temp_min_24h": 40.0}, "grade", 3),
    # CTCAE febrile neutropenia: ANC < 1.0 and temp > 38.3 (strict) or >= 38.0 sustained > 1 h
    (
        "ctcae_febrile_neutropenia",
        {
            "anc_last": 1.0 - E,
            "temp_max_24h": 38.3 + E,
            "fever_sustained_1h": 0.0,
            "vasopressor_count_last": 0.0,
            "o2_support_level": 0.0,
        },
        "grade",
        3,
    ),
    (
        "ctcae_febrile_neutropenia",
        {"anc_last": 1.0 - E, "temp_max_24h": 38.3, "fever_sustained_1h": 0.0},
        "grade",
        0,
    ),
    (
        "ctcae_febrile_neutropenia",
        {
            "anc_last": 1.0 - E,
            "temp_max_24h": 38.3,
            "fever_sustained_1h": 1.0,
            "vasopressor_count_last": 0.0,
            "o2_support_level": 0.0,
        },
        "grade",
        3,
    ),
    (
        "ctcae_febrile_neutropenia",
        {"anc_last": 1.0, "temp_max_24h": 39.0, "fever_sustained_1h": 1.0},
        "grade",
        0,
    ),
    (
        "ctcae_febrile_neutropenia",
        {
            "anc_last": 0.2,
            "temp_max_24h": 39.0,
            "fever_sustained_1h": 1.0,
            "vasopressor_count_last": 1.0,
            "o2_support_level": 0.0,
        },
        "grade",
        4,
    ),
    # IDSA: temp >= 38.3 (non-strict) with ANC < 0.5 (strict)
    (
        "idsa_fn",
        {"temp_max_24h": 38.3, "fever_sustained_1h": 0.0, "anc_last": 0.5 - E},
        "met",
        True,
    ),
    (
        "idsa_fn",
        {"temp_max_24h": 38.3 - E, "fever_sustained_1h": 0.0, "anc_last": 0.1},
        "met",
        False,
    ),
    ("idsa_fn", {"temp_max_24h": 38.1, "fever_sustained_1h": 1.0, "anc_last": 0.1}, "met", True),
    ("idsa_fn", {"temp_max_24h": 38.5, "fever_sustained_1h": 0.0, "anc_last": 0.5}, "met", None),
    ("idsa_fn", {"temp_max_24h": 38.5, "fever_sustained_1h": 0.0, "anc_last": 1.0}, "met", False),
    # HLH-2004 items
    ("hlh2004", {"temp_max_24h": 38.5}, "components.fever", 1),
    ("hlh2004", {"temp_max_24h": 38.5 - E}, "components.fever", 0),
    ("hlh2004", {"ferritin_last": 500.0}, "components.ferritin", 1),
    ("hlh2004", {"ferritin_last": 500.0 - E}, "components.ferritin", 0),
    (
        "hlh2004",
        {"hgb_last": 9.0 - E, "platelets_last": 100.0 - E, "anc_last": 2.0},
        "components.cytopenias",
        1,
    ),
    (
        "hlh2004",
        {"hgb_last": 9.0, "platelets_last": 100.0 - E, "anc_last": 2.0},
        "components.cytopenias",
        0,
    ),
    (
        "hlh2004",
        {"hgb_last": 12.0, "platelets_last": 100.0, "anc_last": 1.0 - E},
        "components.cytopenias",
        0,
    ),
    (
        "hlh2004",
        {"triglycerides_last": 265.0, "fibrinogen_last": 300.0},
        "components.triglycerides_or_fibrinogen",
        1,
    ),
    (
        "hlh2004",
        {"triglycerides_last": 265.0 - E, "fibrinogen_last": 150.0 + E},
        "components.triglycerides_or_fibrinogen",
        0,
    ),
    (
        "hlh2004",
        {"triglycerides_last": 100.0, "fibrinogen_last": 150.0},
        "components.triglycerides_or_fibrinogen",
        1,
    ),
    # HScore items: temperature < 38.4 / 38.4-39.4 / > 39.4
    *[
        ("hscore", {"temp_max_24h": t}, "components.temperature", p)
        for t, p in ((38.4 - E, 0), (38.4, 33), (39.4, 33), (39.4 + E, 49))
    ],
    *[
        ("hscore", {"ferritin_last": f}, "components.ferritin", p)
        for f, p in ((2000.0 - E, 0), (2000.0, 35), (6000.0, 35), (6000.0 + E, 50))
    ],
    # triglycerides 1.5 mmol/L = 132.75 mg/dL, 4 mmol/L = 354 mg/dL (/ 88.5)
    *[
        ("hscore", {"triglycerides_last": tg}, "components.triglycerides", p)
        for tg, p in ((132.75 - E, 0), (132.75, 44), (354.0, 44), (354.0 + E, 64))
    ],
    *[
        ("hscore", {"fibrinogen_last": fb}, "components.fibrinogen", p)
        for fb, p in ((250.0, 30), (250.0 + E, 0))
    ],
    *[("hscore", {"ast_last": a}, "components.ast", p) for a, p in ((30.0 - E, 0), (30.0, 19))],
    (
        "hscore",
        {"hgb_last": 9.2, "wbc_last": 5.0, "platelets_last": 110.0},
        "components.cytopenias",
        34,
    ),
    (
        "hscore",
        {"hgb_last": 9.2 + E, "wbc_last": 5.0, "platelets_last": 110.0},
        "components.cytopenias",
        24,
    ),
    (
        "hscore",
        {"hgb_last": 9.2 + E, "wbc_last": 5.0 + E, "platelets_last": 110.0},
        "components.cytopenias",
        0,
    ),
    ("hscore", {"immunosuppressed": 1.0}, "components.immunosuppression", 18),
    # SIRS: strict inequalities
    *[
        ("sirs", {**SIRS_OK, f: v}, f"components.{c}", hit)
        for f, v, c, hit in (
            ("hr_max_1h", 90.0, "heart_rate", 0),
            ("hr_max_1h", 90.0 + E, "heart_rate", 1),
            ("temp_max_24h", 38.0, "temperature", 0),
            ("temp_max_24h", 38.0 + E, "temperature", 1),
            ("temp_min_24h", 36.0, "temperature", 0),
            ("temp_min_24h", 36.0 - E, "temperature", 1),
            ("rr_max_1h", 20.0, "respiration", 0),
            ("rr_max_1h", 20.0 + E, "respiration", 1),
            ("paco2_last", 32.0, "respiration", 0),
            ("paco2_last", 32.0 - E, "respiration", 1),
            ("wbc_last", 12.0, "white_cells", 0),
            ("wbc_last", 12.0 + E, "white_cells", 1),
            ("wbc_last", 4.0, "white_cells", 0),
            ("wbc_last", 4.0 - E, "white_cells", 1),
            ("bands_last", 10.0, "white_cells", 0),
            ("bands_last", 10.0 + E, "white_cells", 1),
        )
    ],
    ("sirs", {**SIRS_OK, "hr_max_1h": 91.0, "rr_max_1h": 21.0}, "met", True),
    ("sirs", {**SIRS_OK, "hr_max_1h": 91.0}, "met", False),
    # qSOFA: RR >= 22, SBP <= 100 (non-strict), GCS < 15
    *[
        (
            "qsofa",
            {"rr_max_1h": rr, "sbp_min_1h": 120.0, "gcs_last": 15.0},
            "components.respiratory_rate",
            p,
        )
        for rr, p in ((22.0 - E, 0), (22.0, 1))
    ],
    *[
        (
            "qsofa",
            {"rr_max_1h": 16.0, "sbp_min_1h": s, "gcs_last": 15.0},
            "components.systolic_bp",
            p,
        )
        for s, p in ((100.0, 1), (100.0 + E, 0))
    ],
    *[
        (
            "qsofa",
            {"rr_max_1h": 16.0, "sbp_min_1h": 120.0, "gcs_last": g},
            "components.mentation",
            p,
        )
        for g, p in ((15.0, 0), (14.0, 1))
    ],
    ("qsofa", {"rr_max_1h": 22.0, "sbp_min_1h": 100.0, "gcs_last": 15.0}, "met", True),
    # SOFA components
    *[
        ("sofa", {**SOFA_OK, "pf_ratio": pf, "o2_support_level": 3.0}, "components.respiration", p)
        for pf, p in (
            (400.0, 0),
            (400.0 - E, 1),
            (300.0, 1),
            (300.0 - E, 2),
            (200.0, 2),
            (200.0 - E, 3),
            (100.0, 3),
            (100.0 - E, 4),
        )
    ],
    ("sofa", {**SOFA_OK, "pf_ratio": 150.0, "o2_support_level": 1.0}, "components.respiration", 2),
    *[
        ("sofa", {**SOFA_OK, "platelets_last": v}, "components.coagulation", p)
        for v, p in (
            (150.0, 0),
            (150.0 - E, 1),
            (100.0, 1),
            (100.0 - E, 2),
            (50.0, 2),
            (50.0 - E, 3),
            (20.0, 3),
            (20.0 - E, 4),
        )
    ],
    *[
        ("sofa", {**SOFA_OK, "bilirubin_last": v}, "components.liver", p)
        for v, p in (
            (1.2 - E, 0),
            (1.2, 1),
            (1.9, 1),
            (2.0 - E, 1),
            (2.0, 2),
            (6.0 - E, 2),
            (6.0, 3),
            (12.0 - E, 3),
            (12.0, 4),
        )
    ],
    *[
        ("sofa", {**SOFA_OK, "creatinine_last": v}, "components.renal", p)
        for v, p in (
            (1.2 - E, 0),
            (1.2, 1),
            (2.0 - E, 1),
            (2.0, 2),
            (3.5 - E, 2),
            (3.5, 3),
            (5.0 - E, 3),
            (5.0, 4),
        )
    ],
    *[
        ("sofa", {**SOFA_OK, "gcs_last": g}, "components.cns", p)
        for g, p in (
            (15.0, 0),
            (14.0, 1),
            (13.0, 1),
            (12.0, 2),
            (10.0, 2),
            (9.0, 3),
            (6.0, 3),
            (5.0, 4),
        )
    ],
    *[
        ("sofa", {**SOFA_OK, "map_min_1h": m}, "components.cardiovascular", p)
        for m, p in ((70.0, 0), (70.0 - E, 1))
    ],
    ("sofa", {**SOFA_OK, "vasopressor_count_last": 1.0}, "components.cardiovascular", 2),
    # NEWS2 bands (upper-inclusive on the printed values)
    *[
        ("news2", {**NEWS_OK, "rr_last": v}, "components.respiration_rate", p)
        for v, p in (
            (8.0, 3),
            (8.0 + E, 1),
            (11.0, 1),
            (11.0 + E, 0),
            (12.0, 0),
            (20.0, 0),
            (20.0 + E, 2),
            (24.0, 2),
            (24.0 + E, 3),
            (25.0, 3),
        )
    ],
    *[
        ("news2", {**NEWS_OK, "spo2_last": v}, "components.spo2", p)
        for v, p in (
            (91.0, 3),
            (91.0 + E, 2),
            (93.0, 2),
            (93.0 + E, 1),
            (95.0, 1),
            (95.0 + E, 0),
            (96.0, 0),
        )
    ],
    *[
        ("news2", {**NEWS_OK, "sbp_last": v}, "components.systolic_bp", p)
        for v, p in (
            (90.0, 3),
            (90.0 + E, 2),
            (100.0, 2),
            (100.0 + E, 1),
            (110.0, 1),
            (110.0 + E, 0),
            (219.0, 0),
            (219.0 + E, 3),
            (220.0, 3),
        )
    ],
    *[
        ("news2", {**NEWS_OK, "hr_last": v}, "components.pulse", p)
        for v, p in (
            (40.0, 3),
            (40.0 + E, 1),
            (50.0, 1),
            (50.0 + E, 0),
            (90.0, 0),
            (90.0 + E, 1),
            (110.0, 1),
            (110.0 + E, 2),
            (130.0, 2),
            (130.0 + E, 3),
            (131.0, 3),
        )
    ],
    *[
        ("news2", {**NEWS_OK, "temp_last": v}, "components.temperature", p)
        for v, p in (
            (35.0, 3),
            (35.0 + E, 1),
            (36.0, 1),
            (36.0 + E, 0),
            (38.0, 0),
            (38.0 + E, 1),
            (39.0, 1),
            (39.0 + E, 2),
            (39.1, 2),
        )
    ],
    ("news2", {**NEWS_OK, "o2_support_level": 1.0}, "components.air_or_oxygen", 2),
    ("news2", {**NEWS_OK, "consciousness_level_last": 2.0}, "components.consciousness", 3),
    ("news2", {**NEWS_OK, "new_confusion_last": 1.0}, "components.consciousness", 3),
    ("news2", NEWS_OK, "status", "low"),
    ("news2", {**NEWS_OK, "spo2_last": 91.0}, "status", "low-medium"),
    (
        "news2",
        {**NEWS_OK, "rr_last": 22.0, "hr_last": 115.0, "temp_last": 38.5},
        "status",
        "medium",
    ),
    (
        "news2",
        {**NEWS_OK, "rr_last": 22.0, "hr_last": 115.0, "temp_last": 39.5, "sbp_last": 105.0},
        "status",
        "high",
    ),
]


def _read(result: Any, path: str) -> Any:
    if path.startswith("components."):
        return result.components[path.split(".", 1)[1]]
    return getattr(result, path)


@pytest.mark.parametrize(("rule", "values", "path", "expected"), CASES)
def test_band_boundary(rule: str, values: dict[str, float], path: str, expected: Any) -> None:
    result = REGISTRY[rule].fn(snap(values), RuleConfig())
    assert _read(result, path) == expected, (result.reasons, result.evidence, result.notes)


# NEWS2 SpO2 scale 2 (hypercapnic), chosen by a parameter
SCALE2 = [
    (83.0, 0.0, 3), (83.0 + E, 0.0, 2), (85.0, 0.0, 2), (85.0 + E, 0.0, 1), (87.0, 0.0, 1),
    (87.0 + E, 0.0, 0), (92.0, 1.0, 0), (93.0, 0.0, 0), (99.0, 0.0, 0), (92.0 + E, 1.0, 1),
    (94.0, 1.0, 1), (94.0 + E, 1.0, 2), (96.0, 1.0, 2), (96.0 + E, 1.0, 3), (97.0, 1.0, 3),
]  # fmt: skip


@pytest.mark.parametrize(("spo2", "oxygen", "points"), SCALE2)
def test_news2_spo2_scale2(spo2: float, oxygen: float, points: int) -> None:
    values = {**NEWS_OK, "spo2_last": spo2, "o2_support_level": oxygen}
    result = REGISTRY["news2"].fn(snap(values), RuleConfig(news2_spo2_scale=2))
    assert result.components["spo2"] == points


def test_news2_default_is_scale1() -> None:
    values = {**NEWS_OK, "spo2_last": 97.0, "o2_support_level": 1.0}
    assert REGISTRY["news2"].fn(snap(values), RuleConfig()).components["spo2"] == 0


@pytest.mark.parametrize(
    ("x", "baseline", "grade"),
    [(2.98, 2.0, 0), (3.0, 2.0, 1), (6.0, 2.0, 1), (6.02, 2.0, 2), (10.0, 2.0, 2), (10.02, 2.0, 3),
     (40.0, 2.0, 3), (40.02, 2.0, 4), (1.2, 1.0, 1), (1.2, None, 1)],
)  # fmt: skip
def test_transaminase_abnormal_baseline(x: float, baseline: float | None, grade: int) -> None:
    """CTCAE v5.0: abnormal baseline -> 1.5-3.0, > 3.0-5.0, > 5.0-20.0, > 20.0 x baseline."""
    band = ctcae_labs.grade_transaminase(x, baseline)
    assert (0 if band is None else band.level) == grade


@pytest.mark.parametrize(
    ("points", "pct"),
    [(50, 1.0), (90, 1.0), (130, 9.0), (140, 17.0), (150, 25.0), (160, 40.0), (165, 47.0),
     (170, 54.0), (180, 70.0), (190, 79.0), (200, 88.0), (220, 96.0), (235, 97.5),
     (250, 99.0), (337, 99.0)],
)  # fmt: skip
def test_hscore_probability_interpolation(points: float, pct: float) -> None:
    assert hscore.probability_pct(points) == pytest.approx(pct)


def test_easix_korell_threshold_strict_and_pre_treatment_only() -> None:
    t = math.log2(4.67)
    rule = REGISTRY["easix"].fn  # the precomputed feature stands in when labs are missing
    assert rule(snap(easix_log2=t), RuleConfig()).met is False
    above = rule(snap(easix_log2=t + 1e-6), RuleConfig())
    assert above.met is True
    assert "easix_pre_above_korell_threshold" in above.flags
    on = rule(snap(easix_log2=t + 1.0, timeline=ON_TREATMENT), RuleConfig())
    assert on.met is None
    assert any("pre-treatment" in n for n in on.notes)


def test_easix_computed_from_labs() -> None:
    r = REGISTRY["easix"].fn(
        snap(ldh_last=600.0, creatinine_last=1.0, platelets_last=100.0), RuleConfig()
    )
    assert r.points == pytest.approx(math.log2(6.0), abs=1e-3)
    assert r.values["easix"] == pytest.approx(6.0)


def test_hypotension_cutoff_is_configurable_and_stated() -> None:
    cfg = RuleConfig(hypotension_sbp_lt=100.0)
    r = REGISTRY["astct_crs"].fn(snap({**FEVER, "sbp_min_1h": 95.0}), cfg)
    assert r.grade == 2
    assert any("< 100" in e.rule and "ASTCT 2019 gives no number" in e.rule for e in r.evidence)
    assert any("SBP < 100" in n for n in r.notes)

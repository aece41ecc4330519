"""Units of the snapshot features the rules read, for evidence strings.

Canonical units follow ``contract/signals.csv``; derived features carry their own unit.
"""

from __future__ import annotations

_SIGNAL_UNITS: dict[str, str] = {
    "temp": "Cel",
    "hr": "/min",
    "rr": "/min",
    "spo2": "%",
    "sbp": "mm[Hg]",
    "dbp": "mm[Hg]",
    "map": "mm[Hg]",
    "gcs": "{score}",
    "crp": "mg/L",
    "ferritin": "ng/mL",
    "alt": "U/L",
    "ast": "U/L",
    "bilirubin": "mg/dL",
    "ldh": "U/L",
    "creatinine": "mg/dL",
    "fibrinogen": "mg/dL",
    "triglycerides": "mg/dL",
    "wbc": "10*9/L",
    "anc": "10*9/L",
    "platelets": "10*9/L",
    "hgb": "g/dL",
    "il6": "pg/mL",
    "pao2": "mm[Hg]",
    "paco2": "mm[Hg]",
    "bands": "%",
    "ice": "{score}",
    "fio2": "%",
    "o2_flow": "L/min",
}

_EXACT: dict[str, str] = {
    "pf_ratio": "mm[Hg]",
    "easix_log2": "log2",
    "m_easix_log2": "log2",
    "age_years": "a",
    "weight_kg": "kg",
    "fever_hours_24h": "h",
    "hours_since_fever_onset": "h",
}


def unit_of(feature: str) -> str:
    """The unit of a feature value (empty for codes, flags and counts)."""
    if feature in _EXACT:
        return _EXACT[feature]
    if feature.startswith("hours_since_"):
        return "h"
    if feature.endswith(("_x_uln", "_fold_from_baseline")):
        return "x"
    if feature.endswith(("_ctcae_grade", "_count_24h", "_count_cycle", "_count_last")):
        return ""
    if feature.endswith("_slope_24h"):
        return f"{_SIGNAL_UNITS.get(feature.split('_', maxsplit=1)[0], '')}/24h"
    signal = feature.split("_", maxsplit=1)[0]
    if feature.startswith("o2_flow"):
        return "L/min"
    return _SIGNAL_UNITS.get(signal, "")

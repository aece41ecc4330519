"""Default reference limits, used when a lab message carries none of its own.

Source: /work/shared/clinical-reference.md section 9 (default adult values), canonical units
of contract/signals.csv. The message's own ``ref_high``/``ref_low`` always win.

Section 9 gives no LLN for neutrophils, platelets or haemoglobin; the values marked
"(unverified)" below are common adult lower limits chosen here so that CTCAE grade 1 can be
told from grade 0 without the lab's own range. They belong in the clinical reference and
should be reviewed there.
"""

from __future__ import annotations

from typing import Literal

SexKey = Literal["female", "male"]

# Upper limits of normal: a number for every patient, or one per sex (None when unknown).
DEFAULT_ULN: dict[str, float | dict[SexKey, float]] = {
    "alt": 40.0,  # U/L
    "ast": 40.0,  # U/L
    "bilirubin": 1.2,  # mg/dL, total
    "crp": 10.0,  # mg/L
    "ldh": 280.0,  # U/L
    "creatinine": {"male": 1.35, "female": 1.04},  # mg/dL
    "ferritin": {"male": 336.0, "female": 307.0},  # ng/mL
}

DEFAULT_LLN: dict[str, float | dict[SexKey, float]] = {
    "anc": 1.8,  # 10^9/L (unverified: not in section 9)
    "platelets": 150.0,  # 10^9/L (unverified: not in section 9)
    "hgb": {"male": 13.5, "female": 12.0},  # g/dL (unverified: not in section 9)
}


def default_limit(
    table: dict[str, float | dict[SexKey, float]], signal: str, sex_female: float | None
) -> float | None:
    """The default limit of ``signal`` for the patient's sex; ``None`` if it depends on an
    unknown sex or there is no default. ``sex_female`` is 1.0, 0.0 or ``None`` (unknown)."""
    entry = table.get(signal)
    if entry is None or isinstance(entry, float):
        return entry
    if sex_female is None:
        return None
    return entry["female"] if sex_female >= 0.5 else entry["male"]

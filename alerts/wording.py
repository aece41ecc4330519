"""Plain-language texts of the alert policy's transitions.

Short sentences a nurse or physician reads on a pager: what the risk is, what crossed which
threshold, what changed. No absolute clock times (a pager shows its own, in local time) and
no patient identifiers.
"""

from __future__ import annotations

from scoring.risk import Risk

RISK_NAMES: dict[Risk, str] = {
    "crs": "CRS",
    "icans": "ICANS",
    "hlh": "HLH",
    "infection": "Infection",
    "hepatotoxicity": "Hepatotoxicity",
}

_SUPPRESSION_WORDS: dict[str, str] = {
    "tocilizumab": "tocilizumab given",
    "corticosteroid": "corticosteroid given",
    "comfort_care": "comfort care",
    "icu_transfer": "ICU transfer",
    "snooze": "snoozed",
    "other": "suppressed",
}


def duration(ms: int) -> str:
    """``90 min``, ``6 h``, ``2 d`` - the largest unit that keeps the number whole-ish."""
    minutes = ms / 60_000
    if minutes < 120:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def grade_text(grade: int | None) -> str:
    """``grade 2`` or ``grade unknown``."""
    return "grade unknown" if grade is None else f"grade {grade}"


def suppression_text(reason: str) -> str:
    """Human words for a suppression reason."""
    return _SUPPRESSION_WORDS.get(reason, reason)


def trigger_text(
    risk: Risk,
    grade: int | None,
    trigger_grade: int | None,
    probability: float | None,
    threshold: float | None,
    rule_active: bool,
    model_active: bool,
) -> str:
    """Why a risk is at or above trigger: the grade, the model, or both."""
    parts: list[str] = []
    if rule_active:
        parts.append(f"{RISK_NAMES[risk]} {grade_text(grade)} (alert at >= {trigger_grade})")
    if model_active and probability is not None and threshold is not None:
        who = "" if rule_active else f"{RISK_NAMES[risk]} "
        parts.append(f"{who}model probability {probability:.2f} >= threshold {threshold:.2f}")
        if not rule_active:
            parts.append(f"rules: {grade_text(grade)}")
    return "; ".join(parts)

"""What of an alert may leave the hospital: the one place that decides it.

Pager payloads and external webhooks carry the opaque alert id and dedup key, the risk,
grade, criteria and model numbers, the infusion cycle and day, the plain-language reason and
a link to the alert picture (served behind the hospital's authentication). Never the patient
or encounter reference, the source message ids, the staff ids, or free-text notes.
"""

from __future__ import annotations

from typing import Any

from alerts.record import AlertRecord
from alerts.wording import RISK_NAMES, grade_text

PUBLIC_FIELDS: tuple[str, ...] = (
    "schema",
    "alert_id",
    "dedup_key",
    "episode",
    "transition",
    "status",
    "action",
    "risk",
    "grade",
    "previous_grade",
    "criteria",
    "probability",
    "model_version",
    "model_threshold",
    "ruleset_version",
    "cycle",
    "infusion_day",
    "cause",
    "reason",
    "suppression_reason",
    "event_ms",
    "emit_ms",
    "picture_url",
)


def public_details(alert: AlertRecord) -> dict[str, Any]:
    """The alert without anything that identifies the patient (``None`` fields dropped)."""
    out: dict[str, Any] = {}
    for name in PUBLIC_FIELDS:
        value = getattr(alert, name)
        if value is None or value == ():
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def summary_line(alert: AlertRecord, max_chars: int = 1024) -> str:
    """``CRS grade 3 - escalated (cycle 1 day 2): <reason>``, cut to ``max_chars``."""
    where = ""
    if alert.cycle is not None and alert.infusion_day is not None:
        where = f" (cycle {alert.cycle} day {alert.infusion_day})"
    text = f"{RISK_NAMES[alert.risk]} {grade_text(alert.grade)} - {alert.transition}{where}: "
    text += alert.reason
    if len(text) > max_chars:
        text = text[: max_chars - 3].rstrip() + "..."
    return text

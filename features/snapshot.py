"""The feature snapshot: what ``features/`` hands to ``scoring/`` and ``models/``.

A snapshot is a pure value: a patient's infusion timeline and every catalog feature at one
event time. Rules read features by name (``snap.get("temp_max_6h")``) and cite the evidence
behind them (``snap.evidence_for("temp_max_6h")``). A feature that cannot be computed (no
data in its window, stale, retracted) is ``None`` and is listed in ``missing``; it is never
zero.

Naming: ``<signal>_<aggregate>[_<window>]`` (``temp_max_6h``, ``crp_slope_24h``,
``ferritin_fold_from_baseline``, ``anc_last``, ``alt_x_uln``). Ordinal states are numbers
with documented codes so that every value is a float (see ``ORDINAL_CODES``).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

SNAPSHOT_VERSION = "1.0"

# Ordinal encodings used in snapshot values.
ORDINAL_CODES: dict[str, dict[int, str]] = {
    # ASTCT ICANS depressed level of consciousness / ACVPU.
    "consciousness_level": {
        0: "alert",
        1: "drowsy (awakens spontaneously)",
        2: "voice (awakens to voice)",
        3: "pain (awakens only to tactile stimulus)",
        4: "unresponsive (unarousable)",
    },
    # ASTCT CRS hypoxia column.
    "o2_support_level": {
        0: "room air",
        1: "low-flow nasal cannula <= 6 L/min or blow-by",
        2: "high-flow nasal cannula > 6 L/min, facemask, non-rebreather or Venturi",
        3: "positive pressure (CPAP, BiPAP, mechanical ventilation)",
    },
    "motor_weakness": {0: "none", 1: "mild", 2: "deep focal (hemiparesis, paraparesis)"},
    "cerebral_edema": {0: "none", 1: "focal", 2: "diffuse"},
}


class Timeline(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where the patient is in their blinatumomab course at the snapshot time."""

    cycle: int | None = None
    """Cycle number of the current or last infusion; ``None`` before any infusion event."""
    infusion_day: int | None = None
    """Day of the cycle, day 1 = the day of the cycle's start (24 h blocks from the start)."""
    hours_since_start: float | None = None
    """Hours since the current cycle started."""
    hours_since_dose_change: float | None = None
    """Hours since the last start, restart or dose change."""
    dose_ug_per_day: float | None = None
    """Current dose; 0 while interrupted or stopped."""
    on_infusion: bool = False
    interruptions: int = 0
    """Interruptions in the current cycle."""
    restarts: int = 0
    """Interruptions of >= 4 h in the current cycle (label: a restart, premedicate again)."""
    hours_off_infusion: float = 0.0
    """Total hours interrupted in the current cycle, including a running interruption."""


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One observation behind a feature value, enough for a clinician to check it."""

    signal: str
    value: float
    unit: str
    time_ms: int
    source_msg_id: str
    obs_id: str | None = None


class Snapshot(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """All features of one patient at ``time_ms``."""

    patient_id: str
    time_ms: int
    timeline: Timeline
    values: dict[str, float | None]
    evidence: dict[str, Evidence] = {}
    version: str = SNAPSHOT_VERSION

    def get(self, name: str) -> float | None:
        """A feature value, ``None`` when missing (raises ``KeyError`` for unknown names)."""
        return self.values[name]

    def evidence_for(self, name: str) -> Evidence | None:
        """The observation behind a feature value, where one observation decides it."""
        return self.evidence.get(name)

    @property
    def missing(self) -> list[str]:
        """Names of features that are ``None`` at this time, sorted."""
        return sorted(k for k, v in self.values.items() if v is None)


# Features the rule layers (scoring/) rely on. The catalog in features/ must declare every
# one of them (a test checks); it may declare more.
REQUIRED_FEATURES: tuple[str, ...] = (
    # vital signs
    "temp_last", "temp_max_1h", "temp_max_6h", "temp_max_24h", "temp_min_24h",
    "hr_last", "hr_max_1h", "rr_last", "rr_max_1h", "spo2_last", "spo2_min_1h",
    "sbp_last", "sbp_min_1h", "sbp_min_6h", "dbp_last", "map_last", "map_min_1h", "gcs_last",
    # fever
    "fever_hours_24h", "hours_since_fever_onset", "fever_sustained_1h",
    # labs: last values, their limits (message's own or default), multiples of the limits
    "crp_last", "crp_slope_24h", "crp_fold_from_baseline", "crp_max_24h",
    "ferritin_last", "ferritin_max_24h", "ferritin_max_cycle", "ferritin_fold_from_baseline",
    "alt_last", "alt_x_uln", "alt_uln", "ast_last", "ast_x_uln", "ast_uln",
    "bilirubin_last", "bilirubin_x_uln", "bilirubin_uln",
    "ldh_last", "ldh_x_uln", "creatinine_last", "creatinine_x_uln",
    "creatinine_fold_from_baseline", "fibrinogen_last", "triglycerides_last",
    "wbc_last", "anc_last", "anc_lln", "platelets_last", "platelets_lln",
    "hgb_last", "hgb_lln", "il6_last", "pao2_last", "paco2_last", "bands_last",
    # CTCAE v5 grades of the last lab values (against own or default limits)
    "alt_ctcae_grade", "ast_ctcae_grade", "bilirubin_ctcae_grade", "anc_ctcae_grade",
    "platelets_ctcae_grade", "hgb_ctcae_grade",
    # neuro
    "ice_last", "ice_min_12h", "ice_min_24h", "consciousness_level_last",
    "new_confusion_last", "seizure_count_24h", "seizure_count_cycle",
    "seizure_prolonged_24h", "tremor_grade_last", "motor_weakness_last",
    "cerebral_edema_last",
    # respiratory support and vasopressors
    "o2_support_level", "o2_flow_last", "fio2_last", "vasopressor_count_last",
    "vasopressin_last",
    # treatments (hours since the last dose; None if never in this cycle's window)
    "hours_since_antipyretic", "hours_since_corticosteroid", "hours_since_tocilizumab",
    "hours_since_antibiotic",
    # derived markers
    "easix_log2", "m_easix_log2", "pf_ratio",
    # context
    "age_years", "weight_kg", "prior_neurotoxicity", "immunosuppressed",
)  # fmt: skip


def values_view(snapshot: Snapshot) -> Mapping[str, float | None]:
    """Read-only mapping of a snapshot's feature values."""
    return snapshot.values

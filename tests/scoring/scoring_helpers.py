"""Test helpers for the rule layers: snapshots from a few feature values.

Named ``scoring_helpers`` (not ``helpers``) because test folders are not packages here and
module names must stay unique across the whole test tree.
"""

from __future__ import annotations

from features.snapshot import REQUIRED_FEATURES, Evidence, Snapshot, Timeline

T0_MS = 1_700_000_000_000

# Plausible ranges (lo, hi, integer) for every feature a rule reads, for property tests.
RANGES: dict[str, tuple[float, float, bool]] = {
    "temp_last": (34.0, 42.0, False), "temp_max_1h": (34.0, 42.0, False),
    "temp_max_6h": (34.0, 42.0, False), "temp_max_24h": (34.0, 42.0, False),
    "temp_min_24h": (34.0, 42.0, False), "hr_last": (25.0, 200.0, False),
    "hr_max_1h": (25.0, 200.0, False), "rr_last": (4.0, 50.0, False),
    "rr_max_1h": (4.0, 50.0, False), "spo2_last": (70.0, 100.0, False),
    "spo2_min_1h": (70.0, 100.0, False), "sbp_last": (50.0, 240.0, False),
    "sbp_min_1h": (50.0, 240.0, False), "sbp_min_6h": (50.0, 240.0, False),
    "map_last": (30.0, 150.0, False), "map_min_1h": (30.0, 150.0, False),
    "gcs_last": (3.0, 15.0, True), "fever_sustained_1h": (0.0, 1.0, True),
    "crp_last": (0.1, 400.0, False), "ferritin_last": (10.0, 60000.0, False),
    "ferritin_max_cycle": (10.0, 60000.0, False), "ferritin_fold_from_baseline": (0.2, 50.0, False),
    "alt_x_uln": (0.1, 40.0, False), "ast_x_uln": (0.1, 40.0, False),
    "bilirubin_x_uln": (0.1, 20.0, False), "ast_last": (5.0, 2000.0, False),
    "bilirubin_last": (0.1, 25.0, False), "ldh_last": (50.0, 5000.0, False),
    "ldh_x_uln": (0.2, 20.0, False), "creatinine_last": (0.2, 10.0, False),
    "creatinine_x_uln": (0.2, 10.0, False), "creatinine_fold_from_baseline": (0.5, 10.0, False),
    "fibrinogen_last": (30.0, 800.0, False), "triglycerides_last": (30.0, 1500.0, False),
    "wbc_last": (0.1, 60.0, False), "anc_last": (0.0, 30.0, False),
    "platelets_last": (1.0, 600.0, False), "hgb_last": (4.0, 18.0, False),
    "pao2_last": (30.0, 400.0, False), "paco2_last": (15.0, 90.0, False),
    "bands_last": (0.0, 40.0, False), "ice_last": (0.0, 10.0, True),
    "consciousness_level_last": (0.0, 4.0, True), "new_confusion_last": (0.0, 1.0, True),
    "seizure_count_24h": (0.0, 4.0, True), "seizure_prolonged_24h": (0.0, 1.0, True),
    "motor_weakness_last": (0.0, 2.0, True), "cerebral_edema_last": (0.0, 2.0, True),
    "o2_support_level": (0.0, 3.0, True), "o2_flow_last": (0.0, 60.0, False),
    "fio2_last": (21.0, 100.0, False), "vasopressor_count_last": (0.0, 4.0, True),
    "vasopressin_last": (0.0, 1.0, True), "easix_log2": (-4.0, 8.0, False),
    "pf_ratio": (40.0, 600.0, False), "immunosuppressed": (0.0, 1.0, True),
}  # fmt: skip


def snap(
    values: dict[str, float | None] | None = None,
    *,
    timeline: Timeline | None = None,
    evidence: dict[str, Evidence] | None = None,
    time_ms: int = T0_MS,
    **kw: float | None,
) -> Snapshot:
    """A snapshot with every REQUIRED_FEATURES value None except the ones given."""
    given = {**(values or {}), **kw}
    unknown = set(given) - set(REQUIRED_FEATURES)
    if unknown:
        raise KeyError(f"not in REQUIRED_FEATURES: {sorted(unknown)}")
    full: dict[str, float | None] = dict.fromkeys(REQUIRED_FEATURES)
    full.update(given)
    return Snapshot(
        patient_id="p1",
        time_ms=time_ms,
        timeline=timeline or Timeline(),
        values=full,
        evidence=evidence or {},
    )


ON_TREATMENT = Timeline(
    cycle=1, infusion_day=2, hours_since_start=30.0, dose_ug_per_day=9.0, on_infusion=True
)

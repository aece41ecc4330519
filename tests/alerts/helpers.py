"""Builders shared by the alert tests."""

from __future__ import annotations

from alerts.config import HOUR_MS, MINUTE_MS, PolicyConfig, RiskPolicy
from features.snapshot import Evidence
from scoring.result import RuleEvidence, Suggestion
from scoring.risk import Risk, RiskAssessment

T0 = 1_735_689_600_000  # 2025-01-01T00:00Z
PATIENT = "MRN-0042317"

# A compact configuration for tests: CRS alerts at grade 2, resolves after 1 h clear.
TEST_CONFIG = PolicyConfig(
    risks={
        "crs": RiskPolicy(trigger_grade=2, quiet_period_ms=HOUR_MS, expire_after_ms=6 * HOUR_MS),
        "icans": RiskPolicy(trigger_grade=1, quiet_period_ms=2 * HOUR_MS),
        "hlh": RiskPolicy(trigger_grade=3, quiet_period_ms=HOUR_MS),
        "infection": RiskPolicy(trigger_grade=2, quiet_period_ms=HOUR_MS),
        "hepatotoxicity": RiskPolicy(trigger_grade=3, quiet_period_ms=HOUR_MS),
    },
    ack_timeout_ms=30 * MINUTE_MS,
    ack_review_ms=2 * HOUR_MS,
    max_renotifications=2,
)


def assess(
    minutes: float,
    grade: int | None,
    *,
    risk: Risk = "crs",
    probability: float | None = None,
    threshold: float | None = None,
    patient: str = PATIENT,
    evidence: bool = False,
) -> RiskAssessment:
    """An assessment ``minutes`` after T0."""
    t = T0 + int(minutes * MINUTE_MS)
    ev: tuple[RuleEvidence, ...] = ()
    sugg: tuple[Suggestion, ...] = ()
    if evidence:
        ev = (
            RuleEvidence(
                feature="temp_max_24h",
                value=38.9,
                rule="temp_max_24h 38.9 Cel >= 38: fever",
                source=Evidence(
                    signal="temp", value=38.9, unit="Cel", time_ms=t - 60_000, source_msg_id="m-17"
                ),
            ),
            RuleEvidence(
                feature="sbp_min_1h",
                value=84.0,
                rule="sbp_min_1h 84 mm[Hg] < 90: hypotension",
                source=Evidence(
                    signal="sbp",
                    value=84.0,
                    unit="mm[Hg]",
                    time_ms=t - 120_000,
                    source_msg_id="m-18",
                ),
            ),
            RuleEvidence(feature="fever_hours_24h", value=5.0, rule="fever for 5 h"),
        )
        sugg = (
            Suggestion(
                text="For clinician review, per the blinatumomab label (a suggestion, not an "
                "order): CRS grade 3 - interrupt blinatumomab until CRS resolves.",
                source="Blincyto USPI section 2.3",
            ),
        )
    return RiskAssessment(
        risk=risk,
        patient_id=patient,
        time_ms=t,
        ruleset_version="blina-ews-rules-1.0.0",
        grade=grade,
        criteria=("ASTCT-CRS-2019",),
        reasons=(f"ASTCT 2019 CRS grade {grade}: hypotension column",) if grade else (),
        evidence=ev,
        suggestions=sugg,
        probability=probability,
        model_version=None if probability is None else "crs-gbm-1.0",
        model_threshold=threshold,
        model_alert=probability is not None and threshold is not None and probability >= threshold,
    )


def at(minutes: float) -> int:
    """Epoch ms ``minutes`` after T0."""
    return T0 + int(minutes * MINUTE_MS)

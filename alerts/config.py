"""Settings of the alert policy: when each risk alerts, resolves and re-notifies.

One frozen value passed to every policy call (settings are inputs, never globals). The
defaults are documented starting points for a site to tune against its alert burden
(``alerts.burden``; clinical-reference section 8: deployed systems run at a PPV of 8-26%,
and about 0.03 alerts per patient-day is a common design budget).

Trigger grades (default): CRS >= 2 (ASTCT; hypotension or hypoxia, where the label's
actions begin), ICANS >= 1 (any ICANS: neurological events need early review on
blinatumomab), HLH >= 3 (the rule layer's "screen positive"), infection >= 2 (SIRS; a
project level, docs/rules.md) sustained 4 h, or >= 3 at once, hepatotoxicity >= 3 (CTCAE;
ALT/AST > 5 x ULN or bilirubin > 3 x ULN, the label's interruption threshold). A model whose
probability reaches its own threshold and the risk's floor (``min_probability``) also
triggers. Policy 1.0's defaults stay available as :func:`policy_1_0`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

import msgspec

from contract.events import TreatmentKind
from scoring.risk import Risk

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

POLICY_VERSION = "alert-policy-1.1"
"""Version of the policy logic; bump when a transition rule changes."""

SuppressionReason = Literal[
    "tocilizumab", "corticosteroid", "comfort_care", "icu_transfer", "snooze", "other"
]
"""Why a risk's notifications are held back: a treatment that masks or answers the signals,
a change of care goal or place, a clinician's snooze, or another documented reason."""

Grade = Annotated[int, msgspec.Meta(ge=0, le=4)]
NonNegativeMs = Annotated[int, msgspec.Meta(ge=0)]
PositiveMs = Annotated[int, msgspec.Meta(gt=0)]


class RiskPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """When one risk alerts and when it counts as resolved."""

    trigger_grade: Grade | None
    """Rule grade at or above which the risk alerts; ``None``: the rule grade never triggers
    (and is not needed for resolution)."""
    model_trigger: bool = True
    """Whether the model's probability at or above its threshold triggers."""
    model_margin: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.05
    """Hysteresis: after a trigger, the probability counts as below only under
    ``threshold - margin``, so a probability hovering at the threshold does not flap."""
    min_probability: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.0
    """Floor on the model's own threshold: the model triggers at ``max(model_threshold,
    min_probability)`` (and counts as below under that minus ``model_margin``). A model's
    threshold is chosen for discrimination (F1 on rows); a site may page only on higher
    probabilities."""
    confirm_ms: NonNegativeMs = 0
    """Persistence before a trigger: a new episode opens only once the risk has been active
    for this long, with no ``clear`` assessment in between (holding keeps the clock). A
    grade above ``trigger_grade`` opens at once. 0: the first active assessment triggers."""
    quiet_period_ms: NonNegativeMs = 6 * HOUR_MS
    """How long everything must stay below trigger before an incident resolves."""
    expire_after_ms: PositiveMs | None = 24 * HOUR_MS
    """Close an incident that has not been at alert level for this long even though it is
    not known to be below (its grade unknown, or the model inside its margin): an alert must
    not stand for days on data that no longer confirms it (``None``: never)."""


class TreatmentSuppression(msgspec.Struct, frozen=True, kw_only=True):
    """A suppression a treatment event may start (the lead decides whether to apply it)."""

    risk: Risk
    duration_ms: NonNegativeMs
    breakthrough_grade: Grade | None
    """Grades at or above this still notify during the suppression (``None``: none do)."""


def _default_risks() -> dict[Risk, RiskPolicy]:
    # Policy 1.1, tuned on the 2,000-patient synthetic cohort (docs/alerts.md, "Alert
    # burden"). Model floors: every model's own threshold maximizes row-level F1 (0.03-0.06),
    # a discrimination choice, not a paging one: at those probabilities the ICANS and HLH
    # models paged dozens of times for each true episode. A page on a model alone now needs
    # a probability a clinician would act on; the rule grades keep their triggers.
    return {
        # CRS waxes and wanes with fever and antipyretics: 6 h below grade 2 to resolve.
        # Grade 2 (hypotension or hypoxia) is where the label's actions begin: no waiting.
        "crs": RiskPolicy(trigger_grade=2, min_probability=0.2, quiet_period_ms=6 * HOUR_MS),
        # ICE is assessed every few hours and fluctuates: 12 h without ICANS to resolve.
        "icans": RiskPolicy(trigger_grade=1, min_probability=0.3, quiet_period_ms=12 * HOUR_MS),
        # HLH labs arrive about daily; a day below the screen before calling it resolved.
        "hlh": RiskPolicy(
            trigger_grade=3,
            min_probability=0.3,
            quiet_period_ms=24 * HOUR_MS,
            expire_after_ms=72 * HOUR_MS,
        ),
        # Infection level 2 is SIRS (>= 2 of temperature, heart rate, respiratory rate, white
        # cells). On blinatumomab for ALL the white-cell criterion (< 4 x10^9/L) is met by the
        # disease and its treatment most of the time, so SIRS reduces to one abnormal vital
        # sign, and one tachycardic observation round paged. Level 2 therefore pages only
        # when it persists across two observation rounds (4 h, no normal set in between);
        # level >= 3 (febrile neutropenia per IDSA, or SIRS with qSOFA >= 2) pages at once:
        # neutropenic fever is an emergency. On the 2,000-patient cohort this cut infection
        # incidents by a third with sensitivity unchanged; longer quiet periods (24-48 h)
        # cut more but let a false episode that is still open absorb a real infection
        # (sensitivity -4 to -6 points), so they stay a site choice (docs/alerts.md).
        "infection": RiskPolicy(
            trigger_grade=2,
            confirm_ms=4 * HOUR_MS,
            min_probability=0.2,
            quiet_period_ms=12 * HOUR_MS,
        ),
        # Liver tests arrive about daily: one day below grade 3.
        "hepatotoxicity": RiskPolicy(
            trigger_grade=3, quiet_period_ms=24 * HOUR_MS, expire_after_ms=72 * HOUR_MS
        ),
    }


def policy_1_0() -> PolicyConfig:
    """The defaults of policy 1.0 (before the burden tuning), for comparisons."""
    return PolicyConfig(
        version="alert-policy-1.0",
        risks={
            "crs": RiskPolicy(trigger_grade=2, quiet_period_ms=6 * HOUR_MS),
            "icans": RiskPolicy(trigger_grade=1, quiet_period_ms=12 * HOUR_MS),
            "hlh": RiskPolicy(
                trigger_grade=3, quiet_period_ms=24 * HOUR_MS, expire_after_ms=72 * HOUR_MS
            ),
            "infection": RiskPolicy(trigger_grade=2, quiet_period_ms=12 * HOUR_MS),
            "hepatotoxicity": RiskPolicy(
                trigger_grade=3, quiet_period_ms=24 * HOUR_MS, expire_after_ms=72 * HOUR_MS
            ),
        },
    )


def _default_treatment_suppressions() -> dict[TreatmentKind, tuple[TreatmentSuppression, ...]]:
    # Tocilizumab is the treatment of CRS: repeating CRS grade 2 pages while it acts is noise,
    # but a rise to grade 3 (vasopressors, high-flow oxygen) must still reach the team.
    # Corticosteroids get no default: dexamethasone premedication is routine at every cycle
    # start and step-up, and an automatic suppression there would mute the riskiest days.
    return {
        "tocilizumab": (
            TreatmentSuppression(risk="crs", duration_ms=24 * HOUR_MS, breakthrough_grade=3),
        ),
    }


class PolicyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the alert policy."""

    version: str = POLICY_VERSION
    risks: dict[Risk, RiskPolicy] = msgspec.field(default_factory=_default_risks)
    ack_timeout_ms: PositiveMs | None = 30 * MINUTE_MS
    """Re-notify when a notification is not acknowledged within this time (``None``: never)."""
    ack_review_ms: PositiveMs | None = 4 * HOUR_MS
    """After an acknowledgement, re-notify when the grade has not improved by then."""
    max_renotifications: Annotated[int, msgspec.Meta(ge=0)] = 3
    """Re-notifications per episode and grade (an escalation starts the count again)."""
    treatment_suppressions: dict[TreatmentKind, tuple[TreatmentSuppression, ...]] = msgspec.field(
        default_factory=_default_treatment_suppressions
    )

    def __post_init__(self) -> None:
        # msgspec checks the annotated bounds only when decoding; direct construction is
        # checked here, because a zero deadline would re-notify in a loop.
        for name in ("ack_timeout_ms", "ack_review_ms"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None, got {value}")
        for risk, policy in self.risks.items():
            bad_expiry = policy.expire_after_ms is not None and policy.expire_after_ms <= 0
            if policy.quiet_period_ms < 0 or bad_expiry or not 0.0 <= policy.model_margin <= 1.0:
                raise ValueError(f"invalid policy for {risk}: {policy}")
        if self.max_renotifications < 0:
            raise ValueError("max_renotifications must be >= 0")

    def for_risk(self, risk: Risk) -> RiskPolicy:
        """The settings of one risk (``KeyError`` names the risk when it has none)."""
        try:
            return self.risks[risk]
        except KeyError:
            raise KeyError(f"no alert policy configured for risk {risk!r}") from None


DEFAULT_POLICY = PolicyConfig()


def config_fingerprint(config: PolicyConfig) -> str:
    """A short hash of every setting: audit records name the exact configuration they ran."""
    data = msgspec.json.encode(config, order="sorted")
    return f"{config.version}:{hashlib.sha256(data).hexdigest()[:16]}"


_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder(PolicyConfig)


def encode_config(config: PolicyConfig) -> bytes:
    """JSON of a configuration (keys sorted)."""
    return _encoder.encode(config)


def decode_config(data: bytes | str) -> PolicyConfig:
    """Parse and validate a configuration from JSON."""
    return _decoder.decode(data)

"""IEC-HS r2 (unverified wording): rising ferritin plus an HLH-specific feature.

Boundaries are strict as the reference writes them ("> 2 x ULN", "> 5 x ULN", "< 150",
"> 265"); the default ferritin ULN is RuleConfig.ferritin_uln.
"""

from __future__ import annotations

import pytest

from scoring.config import RuleConfig
from scoring.criteria import iec_hs
from tests.scoring.scoring_helpers import snap

ULN = RuleConfig().ferritin_uln
HIGH = 2 * ULN + 1  # just above 2 x ULN


def _score(**values: float | None):  # type: ignore[no-untyped-def]
    return iec_hs.score(snap(**values), RuleConfig())


@pytest.mark.parametrize(
    ("ferritin", "fold", "alt", "met"),
    [
        (HIGH, 2.01, 5.01, True),  # rising ferritin with ALT > 5 x ULN
        (2 * ULN, 2.01, 5.01, False),  # ferritin exactly 2 x ULN is not "> 2 x ULN"
        (HIGH, 2.0, 5.01, False),  # exactly doubled is not "more than doubled"
        (HIGH, 2.01, 5.0, None),  # ALT exactly 5 x ULN: no specific feature yet
    ],
)
def test_hallmark_and_transaminase_boundaries(
    ferritin: float, fold: float, alt: float, met: bool | None
) -> None:
    assert (
        _score(ferritin_last=ferritin, ferritin_fold_from_baseline=fold, alt_x_uln=alt).met is met
    )


@pytest.mark.parametrize(
    ("feature", "value", "met"),
    [
        ("fibrinogen_last", 149.9, True),
        ("fibrinogen_last", 150.0, None),
        ("triglycerides_last", 265.1, True),
        ("triglycerides_last", 265.0, None),
    ],
)
def test_specific_feature_boundaries(feature: str, value: float, met: bool | None) -> None:
    result = _score(ferritin_last=HIGH, ferritin_fold_from_baseline=3.0, **{feature: value})
    assert result.met is met


def test_leukemia_cytopenias_and_ldh_do_not_confirm_the_screen() -> None:
    # A patient starting with high ferritin, pancytopenia and a raised LDH from the leukemia:
    # before r2 this was "met" in a third of simulated snapshots of patients without HLH.
    result = _score(
        ferritin_last=HIGH,
        ferritin_fold_from_baseline=1.2,
        anc_last=0.3,
        platelets_last=20.0,
        hgb_last=7.5,
        ldh_x_uln=3.0,
    )
    assert result.met is False
    assert result.version == "IEC-HS-Hines2023-unverified-r2"


def test_without_a_baseline_the_hallmark_is_undetermined_not_met() -> None:
    result = _score(ferritin_last=HIGH, ferritin_fold_from_baseline=None, alt_x_uln=9.0)
    assert result.met is None

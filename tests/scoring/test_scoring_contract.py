"""One contract suite run over every registered rule (river-style shared checks).

- determinism: the same snapshot gives the same result;
- worse inputs never lower the grade (hypothesis): each input moved in its "worse"
  direction, as declared in the registry, never lowers the result's severity;
- missing is never normal: setting an input to None never yields a confident lower grade
  (the input is listed as missing, or the result becomes undetermined);
- every non-zero grade, and every met criteria set, has a reason and evidence;
- metadata: name, version and citation are set and match the result.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.snapshot import REQUIRED_FEATURES
from scoring.config import RuleConfig
from scoring.registry import REGISTRY
from scoring.rule import InputSpec, RuleSpec
from tests.scoring.scoring_helpers import ON_TREATMENT, RANGES, snap

RULES = list(REGISTRY.values())
IDS = [r.name for r in RULES]
CFG = RuleConfig()
SETTINGS = settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def _value(feature: str) -> st.SearchStrategy[float]:
    lo, hi, integer = RANGES[feature]
    if integer:
        return st.integers(int(lo), int(hi)).map(float)
    return st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, 2))


def inputs_of(spec: RuleSpec) -> st.SearchStrategy[dict[str, float | None]]:
    """Every input present (a full picture), so that missing-data checks start from one."""
    return st.fixed_dictionaries({i.feature: _value(i.feature) for i in spec.inputs})


def partial_inputs_of(spec: RuleSpec) -> st.SearchStrategy[dict[str, float | None]]:
    """Each input present or None."""
    return st.fixed_dictionaries(
        {i.feature: st.one_of(st.none(), _value(i.feature)) for i in spec.inputs}
    )


def worse(i: InputSpec, value: float) -> float:
    """A worse value of one input, inside its plausible range."""
    lo, hi, integer = RANGES[i.feature]
    step = 1.0 if integer else max((hi - lo) / 10.0, 0.5)
    if i.worse == "up":
        return min(hi, value + step)
    if i.worse == "down":
        return max(lo, value - step)
    assert i.centre is not None
    return min(hi, value + step) if value >= i.centre else max(lo, value - step)


def test_registry_inputs_are_required_features() -> None:
    for spec in RULES:
        for name in (*spec.input_names, *spec.context):
            assert name in REQUIRED_FEATURES, (spec.name, name)
            assert name in RANGES or name in spec.context, (spec.name, name)


@pytest.mark.parametrize("spec", RULES, ids=IDS)
def test_metadata(spec: RuleSpec) -> None:
    r = spec.fn(snap(), CFG)
    assert (r.name, r.version, r.criteria) == (spec.name, spec.version, spec.criteria)
    assert spec.citation and r.citation == spec.citation
    assert spec.inputs, "a rule reads at least one input"


@pytest.mark.parametrize("spec", RULES, ids=IDS)
def test_everything_missing_is_never_a_confident_normal(spec: RuleSpec) -> None:
    r = spec.fn(snap(), CFG)
    assert r.missing, "with no data, the result must list what is missing"
    assert not r.complete
    assert r.grade in (None,) or r.kind != "grade"
    assert r.met is not True


@pytest.mark.parametrize("spec", RULES, ids=IDS)
def test_determinism(spec: RuleSpec) -> None:
    @SETTINGS
    @given(values=partial_inputs_of(spec), on_treatment=st.booleans())
    def check(values: dict[str, float | None], on_treatment: bool) -> None:
        s = snap(values, timeline=ON_TREATMENT if on_treatment else None)
        assert spec.fn(s, CFG) == spec.fn(s, CFG)

    check()


@pytest.mark.parametrize("spec", RULES, ids=IDS)
def test_worse_inputs_never_lower_the_grade(spec: RuleSpec) -> None:
    movable = [i for i in spec.inputs if i.worse != "none"]

    @SETTINGS
    @given(values=partial_inputs_of(spec), which=st.sampled_from(movable))
    def check(values: dict[str, float | None], which: InputSpec) -> None:
        before = spec.fn(snap(values), CFG)
        if values[which.feature] is None:
            return
        changed = {**values, which.feature: worse(which, values[which.feature] or 0.0)}
        after = spec.fn(snap(changed), CFG)
        b, a = before.severity(), after.severity()
        if b is None:
            return
        if a is None:
            # Worse may make the result undetermined (another input now matters), never lower.
            assert after.missing or after.unknown, (which, values, changed)
            return
        assert a >= b, (which.feature, values[which.feature], changed[which.feature], b, a)

    check()


@pytest.mark.parametrize("spec", RULES, ids=IDS)
def test_missing_input_is_never_read_as_normal(spec: RuleSpec) -> None:
    @SETTINGS
    @given(values=inputs_of(spec), which=st.sampled_from(list(spec.input_names)))
    def check(values: dict[str, float | None], which: str) -> None:
        full = spec.fn(snap(values), CFG)
        gone = spec.fn(snap({**values, which: None}), CFG)
        f, g = full.severity(), gone.severity()
        if f is None or g is None or g >= f:
            return
        assert which in gone.missing, (which, values, f, g, gone.missing)
        assert not gone.complete

    check()


@pytest.mark.parametrize("spec", RULES, ids=IDS)
def test_nonzero_grades_have_reasons_and_evidence(spec: RuleSpec) -> None:
    @SETTINGS
    @given(values=partial_inputs_of(spec))
    def check(values: dict[str, float | None]) -> None:
        r = spec.fn(snap(values), CFG)
        if (r.kind == "grade" and r.grade) or r.met:
            assert r.reasons, values
            assert r.evidence, values
            assert all(e.rule.startswith(e.feature) for e in r.evidence)
            cited = (r.version.split("-")[0], r.criteria.split()[0])
            assert any(c in reason for reason in r.reasons for c in cited) or r.kind != "grade", (
                r.reasons
            )

    check()


def _grade_of(r: Any) -> float | None:
    return r.severity()


@pytest.mark.parametrize("spec", RULES, ids=IDS)
def test_missing_inputs_are_listed_by_name(spec: RuleSpec) -> None:
    @SETTINGS
    @given(values=partial_inputs_of(spec))
    def check(values: dict[str, float | None]) -> None:
        r = spec.fn(snap(values), CFG)
        assert set(r.missing) <= set(REQUIRED_FEATURES)
        assert r.complete == (not r.missing)

    check()

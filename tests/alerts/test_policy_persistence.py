"""The tuning knobs of policy 1.1: persistence before a trigger (``confirm_ms``) and a floor
on the model's threshold (``min_probability``), over hand-made and generated streams."""

from __future__ import annotations

import random

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.audit import audited_step, replay_audit
from alerts.config import DEFAULT_POLICY, HOUR_MS, MINUTE_MS, PolicyConfig, RiskPolicy
from alerts.policy import step
from alerts.state import AlertState, Transition
from tests.alerts.helpers import TEST_CONFIG, assess, at

CONFIRM = msgspec.structs.replace(
    TEST_CONFIG,
    risks={
        **TEST_CONFIG.risks,
        "crs": RiskPolicy(
            trigger_grade=2,
            confirm_ms=2 * HOUR_MS,
            quiet_period_ms=HOUR_MS,
            min_probability=0.3,
        ),
    },
)


def run(grades: list[tuple[float, int | None]], config: PolicyConfig = CONFIRM) -> list[Transition]:
    state: AlertState | None = None
    out: list[Transition] = []
    for minutes, grade in grades:
        state, tr = step(state, assess(minutes, grade), at(minutes), config)
        out += tr
    return out


def test_a_stretch_at_the_trigger_grade_must_last_confirm_ms() -> None:
    # Grade 2 at 0 and 60 min: not yet 2 h; at 120 min it has lasted 2 h -> trigger then.
    tr = run([(0, 2), (60, 2), (120, 2)])
    assert [(t.kind, t.time_ms) for t in tr] == [("triggered", at(120))]
    assert "sustained 2.0 h" in tr[0].reason


def test_a_clear_assessment_restarts_the_persistence_clock() -> None:
    assert run([(0, 2), (60, 0), (90, 2), (180, 2)]) == []
    assert [t.kind for t in run([(0, 2), (60, 0), (90, 2), (210, 2)])] == ["triggered"]


def test_unknown_grade_holds_the_clock() -> None:
    assert [t.time_ms for t in run([(0, 2), (60, None), (120, 2)])] == [at(120)]


def test_a_grade_above_the_trigger_does_not_wait() -> None:
    tr = run([(0, 3)])
    assert [(t.kind, t.grade) for t in tr] == [("triggered", 3)]
    assert "sustained" not in tr[0].reason
    # A pending stretch at grade 2 that rises to 3 triggers at the rise.
    assert [(t.kind, t.time_ms) for t in run([(0, 2), (30, 3)])] == [("triggered", at(30))]


def test_persistence_applies_only_before_an_episode() -> None:
    tr = run([(0, 3), (20, 2), (25, 4)])  # before the 30 min reminder
    assert [t.kind for t in tr] == ["triggered", "escalated"]


def test_model_floor_raises_the_threshold_and_its_hysteresis() -> None:
    def model(minutes: float, p: float) -> tuple[float, float]:
        return minutes, p

    cfg = msgspec.structs.replace(
        CONFIRM,
        risks={**CONFIRM.risks, "crs": msgspec.structs.replace(CONFIRM.risks["crs"], confirm_ms=0)},
    )
    state: AlertState | None = None
    kinds: list[str] = []
    # Model threshold 0.1, floor 0.3: 0.2 does not trigger, 0.35 does; 0.27 holds (inside
    # the 0.05 margin below 0.3), 0.2 is clear and resolves after the quiet period.
    for minutes, p in [(0, 0.2), (10, 0.35), (20, 0.27), (30, 0.2), (100, 0.2)]:
        a = assess(minutes, 0, probability=p, threshold=0.1)
        state, tr = step(state, a, at(minutes), cfg)
        kinds += [t.kind for t in tr]
        if minutes == 10:
            assert "threshold 0.30" in tr[0].reason
    assert kinds == ["triggered", "resolved"]


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    confirm_h=st.integers(0, 4),
    hover=st.booleans(),
)
def test_generated_streams_persistence_never_flaps_and_replays(
    seed: int, confirm_h: int, hover: bool
) -> None:
    """Long generated grade streams: with persistence, episodes are at least as few as
    without; none opens before its stretch lasted confirm_ms (unless above the trigger);
    the audit trail replays exactly."""
    rng = random.Random(seed)
    policy = RiskPolicy(trigger_grade=2, confirm_ms=confirm_h * HOUR_MS, quiet_period_ms=HOUR_MS)
    cfg = msgspec.structs.replace(TEST_CONFIG, risks={**TEST_CONFIG.risks, "crs": policy})
    base = msgspec.structs.replace(
        cfg, risks={**cfg.risks, "crs": msgspec.structs.replace(policy, confirm_ms=0)}
    )
    grades: list[tuple[float, int | None]] = []
    minutes = 0.0
    for _ in range(300):
        minutes += rng.choice((15, 30, 60, 240))
        g: int | None = rng.choice((1, 2)) if hover else rng.choice((0, 0, 1, 2, 2, 3, None))
        grades.append((minutes, g))
    with_confirm = run(grades, cfg)
    without = run(grades, base)
    opened = [t for t in with_confirm if t.kind == "triggered"]
    assert len(opened) <= len([t for t in without if t.kind == "triggered"])
    for t in opened:
        if t.grade is not None and t.grade > 2:
            continue
        # The stretch before it: no grade < 2 (clear) in the last confirm_ms.
        since = [
            g for m, g in grades if at(m) > t.time_ms - policy.confirm_ms and at(m) <= t.time_ms
        ]
        assert all(g is None or g >= 2 for g in since)
    state: AlertState | None = None
    records = []
    for m, g in grades:
        done = audited_step(state, assess(m, g), at(m), cfg, ())
        state = done.state
        if done.record is not None:
            records.append(done.record)
    replayed = replay_audit(records, cfg)
    assert state is not None and replayed[(state.patient_id, "crs")] == state


def test_default_policy_version_names_the_new_knobs() -> None:
    assert DEFAULT_POLICY.version >= "alert-policy-1.1"
    assert MINUTE_MS == 60_000

"""Scenario tests of the alert policy state machine."""

from __future__ import annotations

import msgspec
import pytest

from alerts.config import (
    DEFAULT_POLICY,
    HOUR_MS,
    MINUTE_MS,
    PolicyConfig,
    decode_config,
    encode_config,
)
from alerts.policy import acknowledge, snooze, step, suppress, tick, unsuppress
from alerts.state import Acknowledgement, AlertState, Transition, decode_state, encode_state
from tests.alerts.helpers import PATIENT, TEST_CONFIG, assess, at

C = TEST_CONFIG


def run(
    grades: list[tuple[float, int | None]], state: AlertState | None = None, **kw: object
) -> tuple[AlertState, list[Transition]]:
    out: list[Transition] = []
    st = state
    for minutes, grade in grades:
        st, tr = step(st, assess(minutes, grade, **kw), at(minutes), C)  # type: ignore[arg-type]
        out.extend(tr)
    assert st is not None
    return st, out


def kinds(ts: list[Transition]) -> list[str]:
    return [t.kind for t in ts]


def test_below_trigger_makes_nothing() -> None:
    st, tr = run([(0, 0), (10, 1), (20, 1), (30, None)])
    assert tr == []
    assert not st.open and st.episode == 0


def test_trigger_escalate_and_no_repeat_while_grade_holds() -> None:
    st, tr = run([(0, 1), (5, 2), (10, 2), (15, 2), (20, 3), (25, 3), (26, 2), (27, 3)])
    assert kinds(tr) == ["triggered", "escalated"]
    trig, esc = tr
    assert trig.grade == 2 and trig.action == "notify" and trig.cause == "rule"
    assert trig.status == "triggered" and trig.episode == 1 and trig.seq == 1
    assert esc.grade == 3 and esc.previous_grade == 2 and esc.status == "escalated"
    assert esc.episode == 1 and esc.seq == 2
    assert "rose from grade 2 to grade 3" in esc.reason
    assert st.open and st.notified_grade == 3 and st.peak_grade == 3


def test_resolves_after_quiet_period_and_new_episode_after() -> None:
    st, tr = run([(0, 2), (10, 0), (69, 0)])
    assert kinds(tr) == ["triggered"]  # 59 min clear: not yet
    st, more = tick(st, at(70), C)
    assert kinds(more) == ["resolved"]
    assert more[0].time_ms == at(70) and more[0].action == "resolve"
    assert not st.open
    st, again = run([(100, 2)], st)
    assert kinds(again) == ["triggered"] and again[0].episode == 2


def test_grade_hovering_at_trigger_keeps_one_incident() -> None:
    seq = [(float(m), 2 if (m // 5) % 2 == 0 else 1) for m in range(0, 600, 5)]
    _st, tr = run(seq)
    assert kinds(tr).count("triggered") == 1
    assert "resolved" not in kinds(tr)


def test_unknown_grade_does_not_resolve_but_expires() -> None:
    st, tr = run([(0, 2), (10, None), (200, None)])
    # 3 h unknown: no quiet period ran; the missed reminders collapse into one
    assert kinds(tr) == ["triggered", "renotified"]
    st, tr2 = tick(st, at(10 + 6 * 60), C)
    assert kinds(tr2) == ["renotified", "resolved"]  # the second (last) reminder, then expiry
    assert tr2[1].time_ms == at(6 * 60)  # expire_after_ms after the last active reading
    assert "not confirmed" in tr2[1].reason and not st.open


def test_unknown_interrupts_quiet_period() -> None:
    st, tr = run([(0, 2), (10, 0), (50, None), (60, 0), (100, 0)])
    # The reminder due at 30 waited while clear and fires when the grade turned unknown.
    assert kinds(tr) == ["triggered", "renotified"] and tr[1].time_ms == at(50)
    _, tr2 = tick(st, at(120), C)
    assert kinds(tr2) == ["resolved"] and tr2[0].time_ms == at(120)


def test_model_trigger_with_hysteresis() -> None:
    p = [(0, 0.31), (10, 0.29), (20, 0.27), (30, 0.31), (40, 0.26), (300, 0.26)]
    out: list[Transition] = []
    st: AlertState | None = None
    for m, prob in p:
        st, tr = step(st, assess(m, 0, probability=prob, threshold=0.3), at(m), C)
        out.extend(tr)
    # 0.29, 0.27 and 0.26 sit inside the 0.05 margin (>= 0.25): never "below", so nothing
    # resolves and there is one incident.
    assert kinds(out)[0] == "triggered" and kinds(out).count("triggered") == 1
    assert out[0].cause == "model" and out[0].probability == 0.31
    assert "resolved" not in kinds(out)
    assert st is not None and st.condition == "holding"
    st, tr = step(st, assess(310, 0, probability=0.2, threshold=0.3), at(310), C)
    st, tr = tick(st, at(370), C)
    assert kinds(tr) == ["resolved"]


def test_model_only_trigger_escalates_when_rules_confirm() -> None:
    st, tr = step(None, assess(0, 1, probability=0.5, threshold=0.3), at(0), C)
    assert kinds(tr) == ["triggered"] and tr[0].cause == "model"
    st, tr = step(st, assess(10, 1, probability=0.6, threshold=0.3), at(10), C)
    assert tr == []  # probability moves, grade holds: no repeat
    st, tr = step(st, assess(20, 2, probability=0.6, threshold=0.3), at(20), C)
    assert kinds(tr) == ["escalated"] and tr[0].cause == "rule_and_model"


def test_unacknowledged_reminders_capped() -> None:
    st, tr = run([(0, 2)])
    st, tr = tick(st, at(29), C)
    assert tr == []
    st, tr = tick(st, at(30), C)
    assert kinds(tr) == ["renotified"] and tr[0].action == "notify"
    st, tr = tick(st, at(60), C)
    assert kinds(tr) == ["renotified"]
    st, tr = tick(st, at(600), C)
    assert tr == []  # max_renotifications = 2


def test_outage_collapses_missed_reminders_into_one() -> None:
    st, _ = run([(0, 2)])
    config = msgspec.structs.replace(C, max_renotifications=10)
    st, tr = tick(st, at(200), config)
    assert kinds(tr) == ["renotified"]
    assert tr[0].time_ms == at(180)


def test_acknowledgement_stops_reminders_and_review_renotifies_without_improvement() -> None:
    st, _ = run([(0, 2)])
    ack = Acknowledgement(by="rn-204", at_ms=at(10), episode=1, note="seen, MRN 123")
    st, tr = acknowledge(st, ack, at(10), C)
    assert kinds(tr) == ["acknowledged"] and tr[0].actor == "rn-204"
    assert tr[0].action == "acknowledge" and "MRN" not in tr[0].reason
    st, tr = tick(st, at(100), C)
    assert tr == []  # no unacknowledged reminders after the acknowledgement
    st, tr = tick(st, at(130), C)
    assert kinds(tr) == ["renotified"] and "not improved" in tr[0].reason
    assert st.ack is None
    # a second acknowledgement of the same episode is accepted after the reminder
    st, tr = acknowledge(st, Acknowledgement(by="md-7", at_ms=at(131)), at(131), C)
    assert kinds(tr) == ["acknowledged"]


def test_review_skipped_when_improved() -> None:
    st, _ = run([(0, 3)])
    st, _ = acknowledge(st, Acknowledgement(by="rn-1", at_ms=at(5)), at(5), C)
    st, tr = step(st, assess(60, 2), at(60), C)
    assert tr == []
    st, tr = tick(st, at(200), C)
    assert tr == []


def test_ack_ignored_when_nothing_open_or_other_episode() -> None:
    st, _ = run([(0, 1)])
    st2, tr = acknowledge(st, Acknowledgement(by="x", at_ms=at(1)), at(1), C)
    assert tr == [] and st2 == st
    st, _ = run([(2, 2)], st)
    st2, tr = acknowledge(st, Acknowledgement(by="x", at_ms=at(3), episode=7), at(3), C)
    assert tr == [] and st2 == st


def test_suppression_mutes_then_notifies_when_it_ends() -> None:
    st, _ = run([(0, 0)])
    st, tr = suppress(st, "tocilizumab", at(120), at(1), C, by="md-3", breakthrough_grade=4)
    assert kinds(tr) == ["suppressed"] and tr[0].action is None and not tr[0].muted
    st, tr = run([(10, 2), (20, 2), (30, 3), (40, 3)], st)
    assert kinds(tr) == ["suppressed", "suppressed"]
    assert all(t.muted and t.action is None for t in tr)
    assert [t.grade for t in tr] == [2, 3]
    st, tr = run([(50, 4)], st)
    assert kinds(tr) == ["triggered"] and tr[0].grade == 4  # breakthrough
    st, tr = run([(60, 3)], st)
    assert tr == []
    st, tr = tick(st, at(125), C)
    # The reminder of the grade-4 page (due at 80) was held back with grade 3 < breakthrough.
    assert kinds(tr) == ["unsuppressed", "renotified"]
    assert tr[0].time_ms == at(120) and tr[1].time_ms == at(120)


def test_suppression_end_pages_what_is_still_active() -> None:
    st, _ = run([(0, 0)])
    st, _ = suppress(st, "comfort_care", at(60), at(0), C)
    st, tr = run([(10, 2)], st)
    assert kinds(tr) == ["suppressed"] and tr[0].muted
    st, tr = tick(st, at(61), C)
    assert kinds(tr) == ["unsuppressed", "triggered"]
    assert tr[1].time_ms == at(60) and tr[1].action == "notify"


def test_muted_episode_resolves_without_paging() -> None:
    st, _ = run([(0, 0)])
    st, _ = suppress(st, "icu_transfer", at(600), at(0), C)
    st, tr = run([(10, 2), (20, 0)], st)
    st, tr = tick(st, at(90), C)
    assert kinds(tr) == ["resolved"] and tr[0].action is None


def test_suppress_is_idempotent_and_validates() -> None:
    st, _ = run([(0, 0)])
    st, tr = suppress(st, "other", at(60), at(1), C)
    st2, tr2 = suppress(st, "other", at(60), at(2), C)
    assert len(tr) == 1 and tr2 == [] and st2 == st
    with pytest.raises(ValueError):
        suppress(st, "other", at(1), at(1), C)


def test_unsuppress_early() -> None:
    st, _ = run([(0, 0)])
    st, _ = suppress(st, "icu_transfer", at(600), at(0), C)
    st, _ = run([(10, 2)], st)
    st, tr = unsuppress(st, at(20), C, by="md-1")
    assert kinds(tr) == ["unsuppressed", "triggered"]
    assert tr[0].cause == "suppression" and tr[0].actor == "md-1"


def test_snooze_postpones_reminders_but_escalation_breaks_through() -> None:
    st, _ = run([(0, 2)])
    st, tr = snooze(st, at(90), at(5), C, by="rn-9")
    assert kinds(tr) == ["suppressed"] and tr[0].suppression_reason == "snooze"
    st, tr = tick(st, at(60), C)
    assert tr == []  # the 30-min reminder waits
    st, tr = tick(st, at(91), C)
    assert kinds(tr) == ["unsuppressed", "renotified"]
    assert tr[1].time_ms == at(90)
    st, _ = snooze(st, at(300), at(100), C, by="rn-9")
    st, tr = step(st, assess(110, 3), at(110), C)
    assert kinds(tr) == ["escalated"]


def test_state_rejects_other_patient_and_serializes() -> None:
    st, _ = run([(0, 2)])
    with pytest.raises(ValueError):
        step(st, assess(1, 2, patient="other"), at(1), C)
    with pytest.raises(ValueError):
        step(st, assess(1, 2, risk="icans"), at(1), C)
    assert decode_state(encode_state(st)) == st
    assert st.patient_id == PATIENT


def test_config_roundtrip_and_validation() -> None:
    assert decode_config(encode_config(DEFAULT_POLICY)) == DEFAULT_POLICY
    assert DEFAULT_POLICY.for_risk("crs").trigger_grade == 2
    assert DEFAULT_POLICY.for_risk("icans").trigger_grade == 1
    with pytest.raises(ValueError):
        PolicyConfig(ack_timeout_ms=0)
    with pytest.raises(KeyError, match="crs"):
        PolicyConfig(risks={}).for_risk("crs")


def test_time_driven_transitions_are_ordered() -> None:
    # reminder due at 30, quiet period ends at 10+60=70: both fire in one tick, in time order
    st, _ = run([(0, 2), (10, 0)])
    st, tr = tick(st, at(500), C)
    assert kinds(tr) == ["resolved"]  # clear since 10: no reminders while below trigger
    st, _ = run([(600, 2)], st)
    st, _ = run([(650, 2)], st)
    st, tr = tick(st, at(700), C)
    assert kinds(tr) == ["renotified"]
    assert [t.seq for t in tr] == [st.seq]


def test_hours_constants() -> None:
    assert HOUR_MS == 60 * MINUTE_MS

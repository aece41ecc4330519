"""Property tests of the alert policy over long generated streams (hypothesis).

Each example drives one (patient, risk) through hundreds of calls - assessments with grades
and model probabilities, ticks, acknowledgements, suppressions and snoozes - and checks the
invariants the policy promises, plus that the audit trail replays to the same result.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.audit import (
    AuditRecord,
    SuppressCommand,
    audited_acknowledge,
    audited_snooze,
    audited_step,
    audited_suppress,
    audited_tick,
    audited_unsuppress,
    replay_audit,
)
from alerts.policy import condition_of
from alerts.state import (
    Acknowledgement,
    AlertState,
    Transition,
    decode_state,
    encode_state,
    summarize,
)
from tests.alerts.helpers import TEST_CONFIG, assess, at

C = TEST_CONFIG
P = C.for_risk("crs")
QUIET = P.quiet_period_ms
EXPIRE = P.expire_after_ms or 0
TIMEOUT = C.ack_timeout_ms or 0
REVIEW = C.ack_review_ms or 0
NOTIFY = {"triggered", "escalated", "renotified"}

grades = st.one_of(st.none(), st.integers(0, 4))
probs = st.one_of(st.none(), st.floats(0.0, 1.0))
op = st.one_of(
    st.tuples(st.just("assess"), st.integers(1, 90), grades, probs),
    st.tuples(st.just("tick"), st.integers(1, 240)),
    st.tuples(st.just("ack"), st.integers(0, 30)),
    st.tuples(
        st.just("suppress"),
        st.integers(0, 30),
        st.sampled_from(["tocilizumab", "comfort_care", "icu_transfer", "other"]),
        st.integers(10, 600),
        st.one_of(st.none(), st.integers(2, 4)),
    ),
    st.tuples(st.just("snooze"), st.integers(0, 30), st.integers(10, 240)),
    st.tuples(st.just("unsuppress"), st.integers(0, 30)),
)


@dataclass
class Run:
    transitions: list[Transition] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)
    readings: list[tuple[int, str]] = field(default_factory=list)
    """(time, condition) of every assessment."""
    breakthrough: dict[int, int | None] = field(default_factory=dict)
    """Breakthrough grade of each suppression, by the seq of its ``suppressed`` transition."""
    acks: list[int] = field(default_factory=list)
    state: AlertState | None = None


def drive(ops: list[tuple[object, ...]]) -> Run:
    run = Run()
    minutes = 0
    for o in ops:
        kind = o[0]
        minutes += int(o[1])  # type: ignore[call-overload]
        now = at(minutes)
        st_ = run.state
        if kind == "assess":
            prob = o[3]
            a = assess(minutes, o[2], probability=prob, threshold=None if prob is None else 0.5)  # type: ignore[arg-type]
            res = audited_step(st_, a, now, C)
            run.readings.append((now, condition_of(summarize(a), C)))
        elif st_ is None:
            continue
        elif kind == "tick":
            res = audited_tick(st_, now, C)
        elif kind == "ack":
            res = audited_acknowledge(st_, Acknowledgement(by="rn-1", at_ms=now), now, C)
        elif kind in ("suppress", "snooze"):
            if kind == "suppress":
                until = now + int(o[3]) * 60_000  # type: ignore[call-overload]
                bt = o[4]
                res = audited_suppress(
                    st_,
                    SuppressCommand(reason=o[2], until_ms=until, by="md-1", breakthrough_grade=bt),
                    now,
                    C,  # type: ignore[arg-type]
                )
            else:
                until = now + int(o[2]) * 60_000  # type: ignore[call-overload]
                res = audited_snooze(st_, until, now, C, by="rn-2")
            sup = res.state.suppression
            for t in res.transitions:
                if t.kind == "suppressed" and not t.muted and sup is not None:
                    run.breakthrough[t.seq] = sup.breakthrough_grade
        else:
            res = audited_unsuppress(st_, now, C, by="md-1")
        # Only an acknowledgement that took effect starts a deadline: one of an incident
        # already acknowledged is ignored, even when the call emitted other transitions that
        # were due (a snooze ending).
        if kind == "ack" and any(t.kind == "acknowledged" for t in res.transitions):
            run.acks.append(now)
        run.transitions.extend(res.transitions)
        if res.record is not None:
            run.records.append(res.record)
        else:
            assert res.state == st_  # only no-op calls go unrecorded
        run.state = res.state
        assert decode_state(encode_state(res.state)) == res.state
    return run


streams = st.lists(op, min_size=50, max_size=250)


@settings(max_examples=35)
@given(streams)
def test_sequence_numbers_and_actions(ops: list[tuple[object, ...]]) -> None:
    run = drive(ops)
    assert [t.seq for t in run.transitions] == list(range(1, len(run.transitions) + 1))
    times = [t.time_ms for t in run.transitions]
    assert times == sorted(times)
    paged: dict[int, bool] = {}
    for t in run.transitions:
        # exactly one notification per notifying transition, none for the others
        if t.kind in NOTIFY:
            assert t.action == "notify" and not t.muted
            paged[t.episode] = True
        elif t.kind == "acknowledged":
            assert t.action == ("acknowledge" if paged.get(t.episode) else None)
        elif t.kind == "resolved":
            assert t.action == ("resolve" if paged.get(t.episode) else None)
        else:
            assert t.action is None


@settings(max_examples=35)
@given(streams)
def test_one_trigger_per_episode_and_rising_escalations(ops: list[tuple[object, ...]]) -> None:
    run = drive(ops)
    by_episode: dict[int, list[Transition]] = {}
    for t in run.transitions:
        by_episode.setdefault(t.episode, []).append(t)
    for ts in by_episode.values():
        pages = [t for t in ts if t.kind in ("triggered", "escalated")]
        assert [t.kind for t in pages].count("triggered") <= 1
        if pages:
            assert pages[0].kind == "triggered"
        graded = [t.grade for t in pages if t.grade is not None]
        assert graded == sorted(set(graded))  # no repeat while a grade holds
        for t in pages[1:]:
            assert t.grade is not None and t.grade >= (P.trigger_grade or 0)


@settings(max_examples=35)
@given(streams)
def test_no_flapping_episodes_open_at_most_once_per_hysteresis_period(
    ops: list[tuple[object, ...]],
) -> None:
    run = drive(ops)
    opened: dict[int, int] = {}
    for t in run.transitions:
        opened.setdefault(t.episode, t.time_ms)
    starts = [opened[e] for e in sorted(opened) if e > 0]
    for a, b in itertools.pairwise(starts):
        assert b - a >= min(QUIET, EXPIRE)


@settings(max_examples=35)
@given(streams)
def test_resolution_only_after_quiet_period_or_expiry(ops: list[tuple[object, ...]]) -> None:
    run = drive(ops)
    for t in run.transitions:
        if t.kind != "resolved":
            continue
        if "not confirmed" in t.reason:
            recent = [c for (x, c) in run.readings if t.time_ms - EXPIRE < x <= t.time_ms]
            assert "active" not in recent
        else:
            recent = [c for (x, c) in run.readings if t.time_ms - QUIET <= x < t.time_ms]
            assert all(c == "clear" for c in recent)
            before = [c for (x, c) in run.readings if x <= t.time_ms - QUIET]
            assert before  # something was assessed at least a quiet period before


@settings(max_examples=35)
@given(streams)
def test_suppression_and_snooze_honoured(ops: list[tuple[object, ...]]) -> None:
    run = drive(ops)
    active: tuple[int, int | None] | None = None  # (until, breakthrough) in effect
    for t in run.transitions:
        if t.kind == "suppressed" and not t.muted:
            assert t.suppressed_until_ms is not None and t.seq in run.breakthrough
            active = (t.suppressed_until_ms, run.breakthrough[t.seq])
        elif t.kind == "unsuppressed":
            assert active is not None and t.time_ms <= active[0]
            active = None
        elif t.kind in NOTIFY and active is not None:
            until, bt = active
            assert t.time_ms <= until
            assert bt is not None and t.grade is not None and t.grade >= bt
        elif t.muted:
            assert active is not None  # muted only under a suppression


@settings(max_examples=35)
@given(streams)
def test_reminders_respect_deadlines(ops: list[tuple[object, ...]]) -> None:
    run = drive(ops)
    last_page: dict[int, int] = {}
    since_page = 0
    for t in run.transitions:
        if t.kind in ("triggered", "escalated"):
            last_page[t.episode] = t.time_ms
            since_page = 0
        elif t.kind == "renotified":
            assert t.time_ms - last_page[t.episode] >= min(TIMEOUT, REVIEW)
            last_page[t.episode] = t.time_ms
            since_page += 1
            # capped per page: an escalation starts the count again
            assert since_page <= C.max_renotifications
    for ack_time in run.acks:
        for t in run.transitions:
            if t.kind == "renotified" and ack_time < t.time_ms < ack_time + min(TIMEOUT, REVIEW):
                raise AssertionError("reminder before the deadline after an acknowledgement")


@settings(max_examples=40)
@given(streams)
def test_audit_trail_replays(ops: list[tuple[object, ...]]) -> None:
    run = drive(ops)
    if run.state is None:
        return
    states = replay_audit(run.records, C)
    assert states[(run.state.patient_id, run.state.risk)] == run.state
    replayed = [t for r in run.records for t in r.transitions]
    assert replayed == run.transitions


@settings(max_examples=40)
@given(st.lists(st.integers(1, 59), min_size=20, max_size=200), st.booleans())
def test_hovering_at_threshold_is_one_incident(dwells: list[int], start_above: bool) -> None:
    """Grade 2 and 1 alternate, each held for less than the quiet period: one incident,
    never resolved, never re-triggered."""
    st_: AlertState | None = None
    minutes = 0
    out: list[Transition] = []
    for i, dt in enumerate(dwells):
        above = (i % 2 == 0) == start_above
        st_, tr = audited_step(st_, assess(minutes, 2 if above else 1), at(minutes), C)[:2]
        out.extend(tr)
        minutes += dt
    assert [t.kind for t in out if t.kind in ("triggered", "resolved")] == ["triggered"]
    assert not [t for t in out if t.kind == "escalated"]


@settings(max_examples=30)
@given(st.integers(1, 400), st.sampled_from([1, 2, 5]))
def test_unacknowledged_reminders_at_each_deadline(total: int, tick_every: int) -> None:
    st_, _tr = audited_step(None, assess(0, 3), at(0), C)[:2]
    reminders: list[Transition] = []
    for m in range(tick_every, total + 1, tick_every):
        st_, tr2 = audited_tick(st_, at(m), C)[:2]
        reminders.extend(tr2)
    expected = min(C.max_renotifications, total // 30)
    assert [t.kind for t in reminders] == ["renotified"] * expected
    for i, t in enumerate(reminders):
        # each reminder is dated at its deadline, rounded up to the tick that saw it
        assert at(30 * (i + 1)) <= t.time_ms < at(30 * (i + 1) + tick_every)

"""The alert policy: a pure state machine per (patient, risk).

Inputs are a state (or ``None`` for a risk not seen yet), one call's data and the time; the
output is the next state and the transitions it made. No clock, no I/O: the worker passes
the time (normally the assessment's event time, so a replay decides the same way) and stores
the state.

Rules (docs/alerts.md has the full table):

- **Trigger** when the rule grade reaches the risk's trigger grade, or the model probability
  reaches the model's threshold. A new incident gets the next episode number.
- **Escalate** (same episode, new notification) when the grade rises above the highest grade
  notified in the episode; a grade that holds, or falls and comes back, does not repeat.
- **Resolve** after the risk has been ``clear`` for the quiet period: the grade below trigger
  *and* the model below its threshold minus a margin (hysteresis). An unknown grade or a
  probability inside the margin stops the clock; missing data never resolves an incident
  quickly. **Expire** one that has not been at alert level for ``expire_after_ms`` (its grade
  unknown for days), so an alert never stands on data that no longer confirms it.
- **Re-notify** when a notification is not acknowledged within ``ack_timeout_ms``, or when an
  acknowledged incident has not improved ``ack_review_ms`` after the acknowledgement; at most
  ``max_renotifications`` times per grade.
- **Suppress** (a treatment, comfort care, ICU transfer, a snooze) until an end time:
  triggers, escalations and re-notifications are held back (recorded as muted) unless the
  grade reaches the suppression's breakthrough grade; what is still active when the
  suppression ends is notified then.

Time-driven transitions (resolution, deadlines, end of a suppression) happen at their due
time, in time order, whenever any call brings the clock past them; ``tick`` does only that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from alerts.config import HOUR_MS, PolicyConfig, RiskPolicy, SuppressionReason
from alerts.state import (
    Acknowledgement,
    AlertState,
    AlertStatus,
    AssessmentSummary,
    Cause,
    Condition,
    NotifyAction,
    Suppression,
    Transition,
    TransitionKind,
    new_state,
    status_of,
    summarize,
)
from alerts.wording import (
    RISK_NAMES,
    duration,
    grade_text,
    suppression_text,
    trigger_text,
)
from scoring.risk import RiskAssessment

__all__ = [
    "acknowledge",
    "condition_of",
    "snooze",
    "step",
    "step_summary",
    "suppress",
    "tick",
    "unsuppress",
]

_replace = msgspec.structs.replace


@dataclass(frozen=True, slots=True)
class _Reading:
    """How one assessment stands against the risk's policy."""

    condition: Condition
    rule_active: bool
    model_active: bool

    @property
    def cause(self) -> Cause:
        if self.rule_active and self.model_active:
            return "rule_and_model"
        return "rule" if self.rule_active else "model"


def _read(s: AssessmentSummary, policy: RiskPolicy) -> _Reading:
    rule_on = policy.trigger_grade is not None
    rule_active = rule_on and s.grade is not None and s.grade >= (policy.trigger_grade or 0)
    rule_clear = not rule_on or (s.grade is not None and s.grade < (policy.trigger_grade or 0))
    model_on = policy.model_trigger and s.probability is not None and s.model_threshold is not None
    model_active = False
    model_clear = True
    if model_on and s.probability is not None and s.model_threshold is not None:
        threshold = max(s.model_threshold, policy.min_probability)
        model_active = s.probability >= threshold
        model_clear = s.probability < threshold - policy.model_margin
    if rule_active or model_active:
        condition: Condition = "active"
    elif rule_clear and model_clear and (rule_on or model_on):
        condition = "clear"
    else:
        condition = "holding"
    return _Reading(condition, rule_active, model_active)


def condition_of(summary: AssessmentSummary, config: PolicyConfig) -> Condition:
    """``active``, ``holding`` or ``clear`` for one assessment under the configuration."""
    return _read(summary, config.for_risk(summary.risk)).condition


@dataclass(slots=True)
class _Run:
    """Transitions made during one call (the state is threaded through explicitly)."""

    config: PolicyConfig
    out: list[Transition] = field(default_factory=list)

    def emit(
        self,
        st: AlertState,
        kind: TransitionKind,
        at_ms: int,
        status: AlertStatus,
        cause: Cause,
        reason: str,
        action: NotifyAction | None = None,
        extra: dict[str, object] | None = None,
        **fields: object,
    ) -> AlertState:
        """Record one transition of ``st`` (numbered ``st.seq + 1``) and count it."""
        seq = st.seq + 1
        fields = {"grade": st.grade, **(extra or {}), **fields}
        self.out.append(
            msgspec.convert(
                {
                    "kind": kind,
                    "seq": seq,
                    "episode": st.episode,
                    "time_ms": at_ms,
                    "status": status,
                    "cause": cause,
                    "reason": reason,
                    "action": action,
                    **fields,
                },
                Transition,
            )
        )
        return _replace(st, seq=seq)


def _max_grade(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _escalates(grade: int | None, notified_grade: int | None, policy: RiskPolicy) -> bool:
    """A rise to a grade at or above trigger that no one has been paged about yet."""
    if grade is None or policy.trigger_grade is None or grade < policy.trigger_grade:
        return False
    return notified_grade is None or grade > notified_grade


def _muted(st: AlertState, grade: int | None) -> bool:
    sup = st.suppression
    if sup is None:
        return False
    breaks = sup.breakthrough_grade is not None and grade is not None
    return not (breaks and grade is not None and grade >= (sup.breakthrough_grade or 0))


def _renotify_due(config: PolicyConfig, at_ms: int, renotifications: int) -> int | None:
    if config.ack_timeout_ms is None or renotifications >= config.max_renotifications:
        return None
    return at_ms + config.ack_timeout_ms


def _open_episode(st: AlertState, at_ms: int, cause: Cause) -> AlertState:
    return _replace(
        st,
        episode=st.episode + 1,
        open=True,
        opened_ms=at_ms,
        trigger_cause=cause,
        peak_grade=st.grade,
        notified=False,
        notified_grade=None,
        muted_grade=None,
        escalated=False,
        below_since_ms=None,
        renotify_due_ms=None,
        renotifications=0,
        ack=None,
        ack_grade=None,
        review_due_ms=None,
    )


def _notify_if_needed(
    run: _Run,
    st: AlertState,
    at_ms: int,
    cause: Cause,
    reason: str,
    extra: dict[str, object],
) -> AlertState:
    """Page for an open episode that has something no one was told: its first notification
    or a grade above the notified one. Held back (and recorded once) while suppressed."""
    policy = run.config.for_risk(st.risk)
    if st.notified and not _escalates(st.grade, st.notified_grade, policy):
        return st
    if _muted(st, st.grade):
        sup = st.suppression
        assert sup is not None  # _muted is only true with a suppression
        level = -1 if st.grade is None else st.grade
        if st.muted_grade is not None and level <= st.muted_grade:
            return st
        st = run.emit(
            st,
            "suppressed",
            at_ms,
            "suppressed",
            cause,
            f"{reason}. Not notified: {suppression_text(sup.reason)} "
            f"(suppressed for {duration(sup.until_ms - at_ms)} more).",
            extra=extra,
            muted=True,
            suppression_reason=sup.reason,
            suppressed_until_ms=sup.until_ms,
            actor=sup.by,
        )
        return _replace(st, muted_grade=level)
    kind: TransitionKind = "escalated" if st.notified else "triggered"
    status: AlertStatus = "escalated" if st.notified else "triggered"
    if kind == "escalated":
        reason = (
            f"{RISK_NAMES[st.risk]} rose from {grade_text(st.notified_grade)} to "
            f"{grade_text(st.grade)}. {reason}"
        )
        extra = {**extra, "previous_grade": st.notified_grade}
    st = run.emit(st, kind, at_ms, status, cause, reason, "notify", extra)
    return _replace(
        st,
        notified=True,
        notified_grade=_max_grade(st.notified_grade, st.grade),
        escalated=st.escalated or kind == "escalated",
        ack=None,
        ack_grade=None,
        review_due_ms=None,
        renotifications=0,
        renotify_due_ms=_renotify_due(run.config, at_ms, 0),
    )


# --- time-driven transitions -------------------------------------------------------------

_UNSUPPRESS, _RESOLVE, _EXPIRE, _REVIEW, _RENOTIFY = 0, 1, 2, 3, 4


def _due_events(st: AlertState, config: PolicyConfig, now_ms: int) -> list[tuple[int, int]]:
    """(due time, kind) of every time-driven transition due by ``now_ms``."""
    due: list[tuple[int, int]] = []
    if st.suppression is not None and st.suppression.until_ms <= now_ms:
        due.append((st.suppression.until_ms, _UNSUPPRESS))
    if not st.open:
        return due
    policy = config.for_risk(st.risk)
    if st.condition == "clear" and st.below_since_ms is not None:
        at = st.below_since_ms + policy.quiet_period_ms
        if at <= now_ms:
            due.append((at, _RESOLVE))
    if (
        st.condition != "active"
        and policy.expire_after_ms is not None
        and st.last_active_ms is not None
        and st.last_active_ms + policy.expire_after_ms <= now_ms
    ):
        due.append((st.last_active_ms + policy.expire_after_ms, _EXPIRE))
    # No reminders while the risk is back below trigger (resolution is pending), and none
    # while suppressed below the breakthrough grade: a snooze postpones, it does not cancel.
    if st.condition == "clear" or _muted(st, st.grade):
        return due
    # A review reminder only follows a page: an episode acknowledged while muted has had
    # none, and its first page is a trigger, not a reminder.
    if (
        st.notified
        and st.ack is not None
        and st.review_due_ms is not None
        and st.review_due_ms <= now_ms
    ):
        due.append((st.review_due_ms, _REVIEW))
    if (
        st.ack is None
        and st.notified
        and st.renotify_due_ms is not None
        and st.renotify_due_ms <= now_ms
    ):
        due.append((st.renotify_due_ms, _RENOTIFY))
    return due


def _resolve(run: _Run, st: AlertState, at_ms: int, expired: bool = False) -> AlertState:
    policy = run.config.for_risk(st.risk)
    name = RISK_NAMES[st.risk]
    if expired:
        reason = (
            f"{name} not confirmed at alert level for {duration(policy.expire_after_ms or 0)} "
            f"(now {grade_text(st.grade)}): alert closed; it re-alerts if the risk returns."
        )
    else:
        reason = f"{name} below alert threshold for {duration(policy.quiet_period_ms)}: resolved."
    st = run.emit(
        st,
        "resolved",
        at_ms,
        "resolved",
        "time",
        reason,
        "resolve" if st.notified else None,
        previous_grade=st.peak_grade,
    )
    return _replace(
        st,
        open=False,
        opened_ms=None,
        trigger_cause=None,
        peak_grade=None,
        notified=False,
        notified_grade=None,
        muted_grade=None,
        escalated=False,
        last_active_ms=None,
        below_since_ms=None,
        renotify_due_ms=None,
        renotifications=0,
        ack=None,
        ack_grade=None,
        review_due_ms=None,
    )


def _review(run: _Run, st: AlertState, at_ms: int) -> AlertState:
    ack = st.ack
    assert ack is not None  # only due with an acknowledgement
    improved = st.condition == "clear" or (
        st.grade is not None and st.ack_grade is not None and st.grade < st.ack_grade
    )
    if improved or st.renotifications >= run.config.max_renotifications:
        return _replace(st, review_due_ms=None)
    count = st.renotifications + 1
    st = run.emit(
        st,
        "renotified",
        at_ms,
        "escalated" if st.escalated else "triggered",
        "time",
        f"{RISK_NAMES[st.risk]} not improved {duration(at_ms - ack.at_ms)} after "
        f"acknowledgement (still {grade_text(st.grade)}): please review again.",
        "notify",
    )
    return _replace(
        st,
        ack=None,
        ack_grade=None,
        review_due_ms=None,
        renotifications=count,
        renotify_due_ms=_renotify_due(run.config, at_ms, count),
    )


def _renotify(run: _Run, st: AlertState, at_ms: int) -> AlertState:
    count = st.renotifications + 1
    timeout = run.config.ack_timeout_ms or 0
    st = run.emit(
        st,
        "renotified",
        at_ms,
        "escalated" if st.escalated else "triggered",
        "time",
        f"{RISK_NAMES[st.risk]} {grade_text(st.grade)} alert not acknowledged within "
        f"{duration(timeout)} (reminder {count} of {run.config.max_renotifications}).",
        "notify",
    )
    return _replace(
        st, renotifications=count, renotify_due_ms=_renotify_due(run.config, at_ms, count)
    )


def _lift(run: _Run, st: AlertState, at_ms: int, cause: Cause, actor: str | None) -> AlertState:
    sup = st.suppression
    assert sup is not None  # only lifted when present
    st = _replace(st, suppression=None)
    ended = "ended" if cause == "time" else "lifted"
    st = run.emit(
        st,
        "unsuppressed",
        at_ms,
        status_of(st),
        cause,
        f"{RISK_NAMES[st.risk]} suppression ({suppression_text(sup.reason)}) {ended}.",
        actor=actor,
        suppression_reason=sup.reason,
    )
    if st.open and st.condition == "active":
        st = _notify_if_needed(
            run,
            st,
            at_ms,
            cause,
            f"{RISK_NAMES[st.risk]} still at alert level ({grade_text(st.grade)}) when the "
            f"suppression {ended}",
            {},
        )
    return st


def _advance(run: _Run, st: AlertState, now_ms: int, floor: int | None = None) -> AlertState:
    """Apply every time-driven transition due by ``now_ms``, earliest first.

    ``floor``: no transition is dated before it. A deadline that passed while it could not
    fire (suppressed, or the risk below trigger) fires when it becomes possible, not in the
    past.
    """
    while True:
        due = _due_events(st, run.config, now_ms)
        if not due:
            return st
        at, kind = min(due)
        at = at if floor is None else max(at, floor)
        floor = at
        if kind == _UNSUPPRESS:
            st = _lift(run, st, at, "time", None)
        elif kind in (_RESOLVE, _EXPIRE):
            st = _resolve(run, st, at, expired=kind == _EXPIRE)
        elif kind == _REVIEW:
            st = _review(run, st, at)
        else:
            # Reminders missed while no call came (a worker outage) collapse into one, dated
            # at the latest missed deadline, instead of a burst of pages.
            # Never past another due transition, which must keep its place in time.
            timeout = run.config.ack_timeout_ms or 1
            limit = min([now_ms, *(t for t, k in due if k != _RENOTIFY)])
            at += max(0, limit - at) // timeout * timeout
            st = _renotify(run, st, at)


# --- public calls ------------------------------------------------------------------------


def _check(st: AlertState, patient_id: str, risk: str) -> None:
    if st.patient_id != patient_id or st.risk != risk:
        raise ValueError(
            f"state is for ({st.patient_id}, {st.risk}), input for ({patient_id}, {risk})"
        )


def step_summary(
    state: AlertState | None, summary: AssessmentSummary, now_ms: int, config: PolicyConfig
) -> tuple[AlertState, list[Transition]]:
    """:func:`step` on the policy-relevant summary of an assessment (what audit replays)."""
    policy = config.for_risk(summary.risk)
    st = state if state is not None else new_state(summary.patient_id, summary.risk)
    _check(st, summary.patient_id, summary.risk)
    run = _Run(config)
    st = _advance(run, st, now_ms)
    reading = _read(summary, policy)
    below_since: int | None = None
    if st.open and reading.condition == "clear":
        below_since = st.below_since_ms if st.below_since_ms is not None else now_ms
    st = _replace(
        st,
        grade=summary.grade,
        condition=reading.condition,
        below_since_ms=below_since,
        peak_grade=_max_grade(st.peak_grade, summary.grade) if st.open else None,
    )
    confirmed = True
    sustained_ms = 0
    if reading.condition == "active" and not st.open and policy.confirm_ms > 0:
        # Persistence: a stretch at the trigger level (or model-only) must last confirm_ms;
        # a grade above the trigger grade does not wait.
        above = (
            policy.trigger_grade is not None
            and summary.grade is not None
            and summary.grade > policy.trigger_grade
        )
        pending = st.pending_since_ms if st.pending_since_ms is not None else now_ms
        confirmed = above or now_ms - pending >= policy.confirm_ms
        sustained_ms = 0 if above else now_ms - pending
        st = _replace(st, pending_since_ms=None if confirmed else pending)
    elif reading.condition == "clear" or st.open:
        st = _replace(st, pending_since_ms=None)
    if reading.condition == "active" and confirmed:
        if not st.open:
            st = _open_episode(st, now_ms, reading.cause)
        st = _replace(st, last_active_ms=now_ms)
        threshold = summary.model_threshold
        if threshold is not None:
            threshold = max(threshold, policy.min_probability)
        reason = trigger_text(
            summary.risk,
            summary.grade,
            policy.trigger_grade,
            summary.probability,
            threshold,
            reading.rule_active,
            reading.model_active,
        )
        if sustained_ms:
            reason += f"; sustained {sustained_ms / HOUR_MS:.1f} h"
        extra: dict[str, object] = {
            "probability": summary.probability,
            "model_threshold": summary.model_threshold,
            "model_version": summary.model_version,
            "criteria": summary.criteria,
        }
        st = _notify_if_needed(run, st, now_ms, reading.cause, reason, extra)
    st = _advance(run, st, now_ms, floor=now_ms)
    return st, run.out


def step(
    state: AlertState | None, assessment: RiskAssessment, now_ms: int, config: PolicyConfig
) -> tuple[AlertState, list[Transition]]:
    """Apply one assessment at ``now_ms``: the time-driven transitions due by then first,
    then trigger, escalation or the start of the quiet period."""
    return step_summary(state, summarize(assessment), now_ms, config)


def tick(
    state: AlertState, now_ms: int, config: PolicyConfig
) -> tuple[AlertState, list[Transition]]:
    """Apply only the time-driven transitions due by ``now_ms`` (resolution after the quiet
    period, re-notification at a deadline, the end of a suppression)."""
    run = _Run(config)
    st = _advance(run, state, now_ms)
    return st, run.out


def acknowledge(
    state: AlertState, ack: Acknowledgement, now_ms: int, config: PolicyConfig
) -> tuple[AlertState, list[Transition]]:
    """A clinician acknowledges the open incident. Stops the unacknowledged reminders and
    starts the review deadline. Ignored (no transition) when nothing is open, the incident
    is already acknowledged, or the acknowledgement names another episode."""
    run = _Run(config)
    st = _advance(run, state, now_ms)
    stale = ack.episode is not None and ack.episode != st.episode
    if not st.open or st.ack is not None or stale:
        return st, run.out
    # The free-text note stays in the state: it may name the patient, and reasons travel.
    reason = f"{RISK_NAMES[st.risk]} {grade_text(st.grade)} alert acknowledged."
    st = run.emit(
        st,
        "acknowledged",
        now_ms,
        "acknowledged",
        "acknowledgement",
        reason,
        "acknowledge" if st.notified else None,
        actor=ack.by,
    )
    review = None if config.ack_review_ms is None else now_ms + config.ack_review_ms
    st = _replace(st, ack=ack, ack_grade=st.grade, renotify_due_ms=None, review_due_ms=review)
    st = _advance(run, st, now_ms, floor=now_ms)
    return st, run.out


def suppress(
    state: AlertState,
    reason: SuppressionReason,
    until_ms: int,
    now_ms: int,
    config: PolicyConfig,
    *,
    by: str = "system",
    breakthrough_grade: int | None = None,
    note: str = "",
) -> tuple[AlertState, list[Transition]]:
    """Hold back this risk's notifications until ``until_ms`` (replaces a running
    suppression). Grades at or above ``breakthrough_grade`` still notify. Repeating the
    same suppression is a no-op, so a replayed command does not record twice."""
    if until_ms <= now_ms:
        raise ValueError("a suppression must end after it starts")
    run = _Run(config)
    st = _advance(run, state, now_ms)
    cur = st.suppression
    if cur is not None and (cur.reason, cur.until_ms, cur.by, cur.breakthrough_grade) == (
        reason,
        until_ms,
        by,
        breakthrough_grade,
    ):
        return st, run.out
    sup = Suppression(
        reason=reason,
        since_ms=now_ms,
        until_ms=until_ms,
        by=by,
        breakthrough_grade=breakthrough_grade,
        note=note,
    )
    st = _replace(st, suppression=sup, muted_grade=None)
    text = (
        f"{RISK_NAMES[st.risk]} notifications suppressed for {duration(until_ms - now_ms)}: "
        f"{suppression_text(reason)}"
    )
    if breakthrough_grade is not None:
        text += f" (grade {breakthrough_grade} or higher still notifies)"
    st = run.emit(
        st,
        "suppressed",
        now_ms,
        "suppressed",
        "suppression",
        text + ".",
        actor=by,
        suppression_reason=reason,
        suppressed_until_ms=until_ms,
    )
    st = _advance(run, st, now_ms, floor=now_ms)
    return st, run.out


def unsuppress(
    state: AlertState, now_ms: int, config: PolicyConfig, *, by: str = "system"
) -> tuple[AlertState, list[Transition]]:
    """Lift a running suppression early (ICU discharge, comfort care withdrawn); whatever is
    still at alert level is notified now. No-op without a suppression."""
    run = _Run(config)
    st = _advance(run, state, now_ms)
    if st.suppression is None:
        return st, run.out
    st = _lift(run, st, now_ms, "suppression", by)
    st = _advance(run, st, now_ms, floor=now_ms)
    return st, run.out


def snooze(
    state: AlertState, until_ms: int, now_ms: int, config: PolicyConfig, *, by: str
) -> tuple[AlertState, list[Transition]]:
    """A clinician's snooze: reminders and repeats wait until ``until_ms``; anything worse
    than what was already notified (a higher grade) still breaks through."""
    policy = config.for_risk(state.risk)
    known = state.notified_grade if state.open else None
    floor = policy.trigger_grade if policy.trigger_grade is not None else 0
    breakthrough = max(floor, known + 1) if known is not None else floor
    return suppress(
        state, "snooze", until_ms, now_ms, config, by=by, breakthrough_grade=breakthrough
    )

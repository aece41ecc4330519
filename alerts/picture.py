"""An alert's picture drawn from the patient's stored feature state.

The worker keeps no raw event log, only each patient's :class:`~features.state.PatientState`
(every series' points for as long as its longest window needs them, the infusion events of
the course). :func:`render_from_state` takes the points around the alert from that state,
recomputes the rule grade every hour over the window through the same feature and rule code
the stream runs (so the grade line shows how the alert came about, not only its last value),
and draws it with :func:`alerts.plot.render_alert_png`. The model probability is the alert's
own (printed in the title): models are not re-run for a picture.

Pure: state and alert record in, PNG bytes out. The picture shows the data as stored now:
a value corrected or retracted after the alert appears corrected (the alert record's
evidence keeps what the alert saw), and a picture of an old alert shows only what the state
still holds (points older than a series' retention are gone). Snapshots before the
patient's newest event are recomputed from the stored points, exact while those points are
retained.
"""

from __future__ import annotations

from alerts.config import DEFAULT_POLICY, HOUR_MS, PolicyConfig
from alerts.plot import HistoryItem, render_alert_png
from alerts.record import AlertRecord
from contract.events import InfusionEvent, Observation
from features.compute import snapshot
from features.state import PatientState
from models.combine import assess
from scoring.api import score_snapshot

BEFORE_MS = 48 * HOUR_MS
AFTER_MS = 12 * HOUR_MS


def picture_history(
    state: PatientState,
    alert: AlertRecord,
    *,
    before_ms: int = BEFORE_MS,
    after_ms: int = AFTER_MS,
    step_ms: int = HOUR_MS,
) -> tuple[list[HistoryItem], list[InfusionEvent]]:
    """Observations, hourly snapshots and rule grades of the alert's risk around the alert,
    and the infusion events, from a patient's state."""
    lo = alert.event_ms - before_ms
    hi = alert.event_ms + after_ms
    if state.newest_ms is not None:
        hi = min(hi, state.newest_ms)
    items: list[HistoryItem] = []
    for signal, series in state.series.items():
        for i, t in enumerate(series.t):
            if lo <= t <= hi:
                items.append(
                    Observation(
                        patient_id=state.patient_id,
                        time_ms=t,
                        source="json",
                        source_msg_id=series.msg[i],
                        signal=signal,
                        value=series.v[i],
                        unit="",
                        obs_id=series.obs[i] or series.msg[i],
                        ref_high=series.hi[i],
                    )
                )
    first = min((it.time_ms for it in items), default=hi)
    # Hourly back from the alert's own time, so the line passes through the alert.
    start = alert.event_ms - ((alert.event_ms - max(lo, first)) // step_ms) * step_ms
    for at in range(start, hi + 1, step_ms):
        snap = snapshot(state, at)
        items.append(snap)
        risk = assess(score_snapshot(snap), snap, None).get(alert.risk)
        if risk is not None:
            items.append(risk)
    infusion = [e for e in state.infusions if e.time_ms <= hi]
    return items, infusion


def render_from_state(
    state: PatientState, alert: AlertRecord, config: PolicyConfig = DEFAULT_POLICY
) -> bytes:
    """The alert's PNG, drawn from the patient's state (threshold from the policy)."""
    history, infusion = picture_history(state, alert)
    trigger = config.risks[alert.risk].trigger_grade if alert.risk in config.risks else None
    return render_alert_png(
        alert,
        history,
        infusion,
        before_ms=BEFORE_MS,
        after_ms=AFTER_MS,
        trigger_grade=trigger,
    )

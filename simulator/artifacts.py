"""Feed problems injected on purpose, each marked on its message (``SimMessage.artifact``).

- Charting errors: an implausible value (temperature 3.7 or 98.6 in a Celsius field, SpO2
  140, a heart rate or systolic pressure with an extra digit) followed 10-120 min later by
  a correction with the same ``obs_id`` and status ``corrected``.
- Entered in error: a plausible but wrong value (charted on the wrong patient) followed by
  a :class:`contract.events.Retraction`.
- Duplicates: a message delivered again with the same ``source_msg_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import numpy as np

from contract.events import Observation, Retraction
from simulator.codes import coding_for, unit_of
from simulator.config import MINUTE_MS, CohortConfig
from simulator.messages import SimMessage

if TYPE_CHECKING:
    from simulator.patient import Emitter


def implausible_value(rng: np.random.Generator, signal: str, value: float) -> float:
    """A typing error that lands outside the signal's plausible range."""
    if signal == "temp":
        # A slipped decimal point (3.7) or Fahrenheit typed into the Celsius field (98.6).
        return round(value / 10.0, 2) if rng.random() < 0.5 else round(value * 1.8 + 32.0, 1)
    if signal == "spo2":
        return float(min(value + 40.0, 140.0))
    return float(value * 10.0)  # hr, sbp: an extra digit


_ERROR_SIGNALS = ("temp", "spo2", "hr", "sbp")
# Plausible but wrong values charted on the wrong patient: the kind that fires an alert.
_WRONG_VALUES: dict[str, tuple[float, float, int]] = {
    "temp": (38.4, 39.4, 1),
    "sbp": (78.0, 88.0, 0),
    "spo2": (86.0, 91.0, 0),
    "hr": (125.0, 145.0, 0),
}


def inject_artifacts(rng: np.random.Generator, config: CohortConfig, em: Emitter) -> None:
    """Add charting errors, retractions and duplicates to ``em.messages`` in place."""
    rates = config.artifacts
    vitals = [m for m in em.messages if m.channel == "vitals"]
    out = em.messages
    if vitals:
        hits = np.flatnonzero(rng.random(len(vitals)) < rates.charting_error_per_vitals_set)
        replaced: dict[str, SimMessage] = {}
        for i in hits.tolist():
            msg = vitals[i]
            candidates = [
                k
                for k, e in enumerate(msg.events)
                if isinstance(e, Observation) and e.signal in _ERROR_SIGNALS
            ]
            if not candidates:
                continue
            k = candidates[int(rng.integers(len(candidates)))]
            good = msg.events[k]
            assert isinstance(good, Observation)
            bad = msgspec.structs.replace(
                good, value=implausible_value(rng, good.signal, good.value)
            )
            events = (*msg.events[:k], bad, *msg.events[k + 1 :])
            replaced[msg.msg_id] = SimMessage(
                msg.arrival_ms, msg.msg_id, msg.channel, events, "charting_error"
            )
            mid = em.next_id()
            # A corrected systolic is re-sent with its diastolic: they travel as one BP panel.
            fixed = [good]
            if good.signal == "sbp":
                fixed += [e for e in msg.events if isinstance(e, Observation) and e.signal == "dbp"]
            fixes = tuple(
                msgspec.structs.replace(e, status="corrected", source_msg_id=f"{mid}.{j}")
                for j, e in enumerate(fixed)
            )
            arrival = msg.arrival_ms + int(rng.uniform(10.0, 120.0) * MINUTE_MS)
            out.append(SimMessage(arrival, mid, "vitals", fixes, "correction"))
        if replaced:
            out[:] = [replaced.get(m.msg_id, m) if m.channel == "vitals" else m for m in out]
        n_wrong = int(rng.poisson(rates.entered_in_error_per_patient_cycle * _cycles(em)))
        for _ in range(n_wrong):
            host = vitals[int(rng.integers(len(vitals)))]
            signal = _ERROR_SIGNALS[int(rng.integers(len(_ERROR_SIGNALS)))]
            lo, hi, decimals = _WRONG_VALUES[signal]
            t = host.time_ms + int(rng.uniform(5.0, 50.0) * MINUTE_MS)
            t -= t % MINUTE_MS
            mid = em.next_id()
            wrong = Observation(
                patient_id=em.patient_id,
                time_ms=t,
                source="simulator",
                source_msg_id=f"{mid}.0",
                signal=signal,
                value=round(float(rng.uniform(lo, hi)), decimals),
                unit=unit_of(signal),
                obs_id=f"{mid}.0",
                code=coding_for(signal).token,
            )
            arrival = t + int(rng.uniform(2.0, 15.0) * MINUTE_MS)
            out.append(SimMessage(arrival, mid, "vitals", (wrong,), "entered_in_error"))
            rid = em.next_id()
            retraction = Retraction(
                patient_id=em.patient_id,
                time_ms=t,
                source="simulator",
                source_msg_id=rid,
                signal=signal,
                obs_id=wrong.obs_id,
            )
            later = arrival + int(rng.uniform(20.0, 240.0) * MINUTE_MS)
            out.append(SimMessage(later, rid, "vitals", (retraction,), "retraction"))
    dup = np.flatnonzero(rng.random(len(out)) < rates.duplicate_per_message)
    for i in dup.tolist():
        m = out[i]
        delay = int(rng.uniform(1_000.0, 600_000.0))
        out.append(
            SimMessage(
                m.arrival_ms + delay, m.msg_id, m.channel, m.events, "duplicate", m.composed_ms
            )
        )


def _cycles(em: Emitter) -> int:
    return max(1, sum(1 for m in em.messages if m.channel == "context"))

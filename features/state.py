"""Per-patient feature state: the event-time history the features need, and nothing more.

``PatientState.apply(event)`` places one canonical event by its event time and says what
happened (:class:`ApplyResult`); ``features.compute.snapshot(state, at_ms)`` computes every
catalog feature from the stored points at snapshot time, so a late, corrected or retracted
point changes the next snapshot without any incremental bookkeeping to get wrong.

Guarantees (tested against a batch recomputation in tests/features/test_oracle.py):
- Out-of-order events are placed by event time. An event older than the newest event time
  seen *from the same source feed* minus ``lateness_ms`` is ``too_late`` and not applied, so
  the stream can dead-letter it with ``Reason.TOO_LATE``. The bound is per feed because each
  feed (FHIR vitals, HL7 labs, JSON bedside events) arrives on its own topic: a worker catching
  up on a backlog may read one topic days ahead of another, and measured against the patient's
  overall newest time the lagging feed's events would all look late. PatientContext is
  exempt: it describes the patient, not a moment.
- A snapshot at any ``at_ms >= newest_ms`` equals the features of the cleaned history.
- Duplicates are idempotent: an Observation with a stored ``obs_id``, value and status; any
  other event whose message id and content were seen (``content`` because one message can
  carry several events of one kind, e.g. two drugs in one MAR message).
- Versions of one ``obs_id`` rank preliminary < final < amended/corrected; a lower rank never
  replaces a higher one, whatever the arrival order (an original arriving after its
  correction is a duplicate). Equal ranks: the later arrival wins.
- A Retraction removes the point and leaves a tombstone for the lateness bound, so the
  original arriving after its retraction stays removed.
- A correction or retraction of an ``obs_id`` never seen is ``unknown_correction``: the
  correction is still kept as the value (it is the latest word on that observation) and the
  retraction still leaves its tombstone, so a late original cannot resurrect a wrong value.

Memory: each series keeps the points its longest window or staleness needs behind the newest
event (``catalog.series_lookback_h``), the newest ``KEEP_NEWEST`` points, the whole current
cycle for cycle features, and the baseline candidates around the first infusion start
(before a first start is known, every point of the baseline and cycle signals: a start can
still arrive from a lagging feed). What a feed could still deliver late is judged by the
slowest feed seen, since the lateness bound is per feed.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Literal

import msgspec

from contract.events import (
    CORRECTION_STATUSES,
    Event,
    InfusionEvent,
    Observation,
    PatientContext,
    Retraction,
)
from contract.reasons import Reason
from features.catalog import (
    BASELINE_AFTER_START_H,
    BASELINE_LABS,
    CYCLE_SIGNALS,
    SERIES_BY_SIGNAL,
    series_lookback_h,
)
from features.points import event_points
from features.series import STATUS_CODES, Series, status_rank
from features.timeline import HOUR_MS, current_cycle_start_ms, first_start_ms, infusion_sort_key

DEFAULT_LATENESS_MS = 48 * HOUR_MS
KEEP_NEWEST = 3
"""Newest points kept per series whatever their age: the last value's age stays known, and a
retracted last value falls back to the one before."""
BASELINE_PINNED = 3
"""Points kept before the first infusion start per baseline lab (the baseline and two
fall-backs should the baseline be retracted)."""
PRUNE_EVERY_MS = 15 * 60_000
"""Pruning runs when the newest event time has moved this far: amortized, not per event."""
THIN_AFTER_MS = HOUR_MS
"""Vital-sign points older than this behind the newest event are thinned (see THIN_BUCKET_MS)."""
THIN_BUCKET_MS = 60_000
"""Thinned vital signs keep at most their lowest and highest point per minute of event time.

A bedside monitor sends each numeric every second: 24 h of 8 numerics is 690,000 points, tens
of MiB per patient to store and re-encode with every batch. After an hour only the minute's
extremes are kept (30x fewer at 1 Hz). Window minima and maxima stay exact (to the minute at a
window's start edge); means, slopes and reading counts of windows reaching past the last hour
are then over the kept points. Ward-cadence series (at most two points a minute) are never
changed, so this only touches monitor-cadence data."""

ApplyKind = Literal[
    "applied", "duplicate", "corrected", "retracted", "too_late", "unknown_correction"
]

_RETENTION_MS: dict[str, int] = {s: int(series_lookback_h(s) * HOUR_MS) for s in SERIES_BY_SIGNAL}
_EVENT_SERIES = frozenset(
    s for s, spec in SERIES_BY_SIGNAL.items() if spec.group not in ("context", "admission")
)
"""Series whose points are events in time (patient context and admission are not)."""
_THINNED = frozenset(s for s, spec in SERIES_BY_SIGNAL.items() if spec.group == "vital")
_BASELINE_SIGNALS = frozenset(BASELINE_LABS)
_IN_ORDER_STATUSES = frozenset(STATUS_CODES) - CORRECTION_STATUSES
"""Observation statuses that are not corrections (``preliminary``, ``final``)."""


class ApplyResult(msgspec.Struct, frozen=True):
    """What ``apply`` did with one event, and why."""

    kind: ApplyKind
    reason: str = ""
    changed: bool = False
    """True when the stored history changed, so features may differ at the next snapshot."""

    @property
    def dead_letter_reason(self) -> Reason | None:
        """The contract reason code when the stream should dead-letter the event."""
        if self.kind == "too_late":
            return Reason.TOO_LATE
        if self.kind == "unknown_correction":
            return Reason.UNKNOWN_CORRECTION
        return None


_DUPLICATE_SEEN = ApplyResult("duplicate", "message already applied")
APPLIED = ApplyResult("applied", changed=True)
"""The result of most applied events (shared: callers may test for it by identity)."""


class PatientState(msgspec.Struct, kw_only=True):
    """The feature state of one patient (serialize with :meth:`to_bytes`)."""

    patient_id: str
    lateness_ms: int = DEFAULT_LATENESS_MS
    newest_ms: int | None = None
    """Newest event time applied (PatientContext excluded)."""
    first_ms: int | None = None
    """Earliest event time applied or offered within the lateness bound (PatientContext
    excluded): the start of the patient's record here (an ICU stay's admission hour in the
    PhysioNet replay). Kept forever, never pruned; a min, so arrival order does not matter.
    States stored before this field existed decode with ``None`` and take the earliest time
    they still hold (``__post_init__``, which msgspec also runs when decoding)."""
    newest_by_source: dict[str, int] = {}
    """Newest event time applied per source feed (the reference of the lateness bound)."""
    series: dict[str, Series] = {}
    tombstones: dict[str, int] = {}
    """Retracted ``obs_id`` -> event time, kept for the lateness bound."""
    seen: dict[str, int] = {}
    """Dedup keys of applied non-observation events -> event time."""
    infusions: list[InfusionEvent] = []
    """Infusion events sorted by ``timeline.infusion_sort_key``."""
    pruned_at_ms: int = 0

    def __post_init__(self) -> None:
        # A state stored before ``first_ms`` existed (or built with history but without
        # it): every event that set ``newest_ms`` would also have set ``first_ms``.
        if self.first_ms is None and self.newest_ms is not None:
            self.first_ms = self.earliest_held_ms()

    # --- public API ---------------------------------------------------------------------

    def apply(self, event: Event) -> ApplyResult:
        """Apply one canonical event (any order, duplicates and corrections allowed)."""
        if event.patient_id != self.patient_id:
            raise ValueError(f"event for {event.patient_id!r} applied to {self.patient_id!r}")
        time_ms = event.time_ms
        feed_newest = self.newest_by_source.get(event.source)
        if type(event) is Observation and event.status in _IN_ORDER_STATUSES:
            # The common case (a monitor's next reading) on one path: an observation, not a
            # correction, newer than every stored point of its signal. What the general path
            # below would do with it, step for step (tests/features/test_apply_fast_path.py).
            series = self.series.get(event.signal)
            if (
                series is not None
                and series.t
                and series.t[-1] < time_ms
                and (feed_newest is None or time_ms >= feed_newest - self.lateness_ms)
                and event.signal in SERIES_BY_SIGNAL
                and event.obs_id not in self.tombstones
            ):
                first_ms = self.first_ms
                if first_ms is None or time_ms < first_ms:
                    self.first_ms = time_ms
                series.append(*_point(event, STATUS_CODES[event.status]))
                if feed_newest is None or time_ms > feed_newest:
                    self.newest_by_source[event.source] = time_ms
                self._advance(time_ms)
                return APPLIED
        context = isinstance(event, PatientContext)
        if not context and feed_newest is not None and time_ms < feed_newest - self.lateness_ms:
            return ApplyResult(
                "too_late",
                f"event time is {(feed_newest - time_ms) / HOUR_MS:.1f} h behind "
                f"the newest {event.source} event; the lateness bound is "
                f"{self.lateness_ms / HOUR_MS:g} h",
            )
        if not context and (self.first_ms is None or time_ms < self.first_ms):
            self.first_ms = time_ms
        if isinstance(event, Observation):
            result = self._apply_observation(event)
        elif isinstance(event, Retraction):
            result = self._apply_retraction(event)
        else:
            result = self._apply_other(event)
        if result.changed and not context:
            if feed_newest is None or time_ms > feed_newest:
                self.newest_by_source[event.source] = time_ms
            self._advance(time_ms)
        return result

    def to_bytes(self) -> bytes:
        """msgpack encoding of the whole state (for a Faust table or a RocksDB value)."""
        return _ENCODER.encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> PatientState:
        """Inverse of :meth:`to_bytes`."""
        state = _DECODER.decode(data)
        # Share message-id strings between points again (one message carries many points).
        for s in state.series.values():
            s.msg = [sys.intern(m) for m in s.msg]
        return state

    def earliest_held_ms(self) -> int | None:
        """Earliest event time the state still holds (points other than patient context,
        infusions, tombstones): a later-or-equal stand-in for ``first_ms`` in states stored
        before it was kept (pruning has dropped what is older)."""
        times = [
            s.t[0]
            for signal, s in self.series.items()
            if len(s) and signal in _EVENT_SERIES  # not context, nor a newer version's
        ]
        times += [e.time_ms for e in self.infusions]
        times += list(self.tombstones.values())
        return min(times) if times else None

    # --- observations -------------------------------------------------------------------

    def _apply_observation(self, obs: Observation) -> ApplyResult:
        signal = obs.signal
        if signal not in SERIES_BY_SIGNAL:
            return ApplyResult("applied", f"no feature reads signal {signal!r}")
        if obs.obs_id in self.tombstones:
            return ApplyResult("duplicate", f"obs_id {obs.obs_id} was retracted")
        code = STATUS_CODES[obs.status]
        is_correction = obs.status in CORRECTION_STATUSES
        series = self.series.get(signal)
        if not is_correction and series is not None and series.t and series.t[-1] < obs.time_ms:
            # The common in-order case: newer than every stored point of the signal, so no
            # stored version of this obs_id can share its time (what _locate would look for).
            series.append(*_point(obs, code))
            return APPLIED
        found = self._locate(signal, obs.time_ms, obs.obs_id, scan=is_correction)
        if found is not None:
            series, i = found
            old_code = series.st[i]
            same = (
                series.v[i] == obs.value
                and old_code == code
                and series.t[i] == obs.time_ms
                and series.lo[i] == obs.ref_low
                and series.hi[i] == obs.ref_high
            )
            if same:
                return ApplyResult("duplicate", "same obs_id, value and status")
            if status_rank(code) < status_rank(old_code):
                return ApplyResult(
                    "duplicate",
                    f"{obs.status} version superseded by the stored "
                    f"{_status_name(old_code)} version",
                )
            old_value = series.v[i]
            series.remove(i)
            self._insert(obs, code)
            return ApplyResult(
                "corrected",
                f"{_status_name(old_code)} value {old_value:g} replaced "
                f"by {obs.status} {obs.value:g}",
                changed=True,
            )
        self._insert(obs, code)
        if is_correction:
            return ApplyResult(
                "unknown_correction",
                f"{obs.status} value for unseen obs_id {obs.obs_id}: kept as the value",
                changed=True,
            )
        return APPLIED

    def _insert(self, obs: Observation, code: int) -> None:
        series = self.series.get(obs.signal)
        if series is None:
            series = self.series[obs.signal] = Series()
        series.insert(*_point(obs, code))

    def _locate(
        self, signal: str, time_ms: int, obs_id: str, scan: bool
    ) -> tuple[Series, int] | None:
        """Find a stored observation by its signal, event time and obs_id.

        No obs_id index is kept (it would cost a quarter of the state's memory): the contract
        keeps the event time across versions. A correction that moved the time is found by a
        scan of the series (``scan``), a rare path.
        """
        series = self.series.get(signal)
        if series is None:
            return None
        i = series.find(time_ms, obs_id)
        if i is None and scan:
            try:
                i = series.obs.index(obs_id)
            except ValueError:
                return None
        return None if i is None else (series, i)

    def _apply_retraction(self, r: Retraction) -> ApplyResult:
        if r.obs_id in self.tombstones:
            return ApplyResult("duplicate", f"obs_id {r.obs_id} already retracted")
        self.tombstones[r.obs_id] = r.time_ms
        found = self._locate(r.signal, r.time_ms, r.obs_id, scan=True)
        if found is None:
            return ApplyResult(
                "unknown_correction",
                f"retraction of unseen obs_id {r.obs_id}: remembered for the lateness bound",
                changed=True,
            )
        series, i = found
        series.remove(i)
        return ApplyResult("retracted", f"obs_id {r.obs_id} removed", changed=True)

    # --- other events -------------------------------------------------------------------

    def _apply_other(self, event: Event) -> ApplyResult:
        key = f"{event.source_msg_id}#{_content_digest(event)}"
        if key in self.seen:
            return _DUPLICATE_SEEN
        self.seen[key] = event.time_ms
        if isinstance(event, InfusionEvent):
            self.infusions.append(event)
            self.infusions.sort(key=infusion_sort_key)
            return APPLIED
        points = event_points(event)
        msg = sys.intern(event.source_msg_id)
        for signal, value in points:
            series = self.series.get(signal)
            if series is None:
                series = self.series[signal] = Series()
            series.insert(event.time_ms, value, None, msg)
        if not points:
            return ApplyResult("applied", "no item of the event was assessed")
        return APPLIED

    # --- retention ----------------------------------------------------------------------

    def _advance(self, time_ms: int) -> None:
        if self.newest_ms is None or time_ms > self.newest_ms:
            self.newest_ms = time_ms
        if self.newest_ms - self.pruned_at_ms >= PRUNE_EVERY_MS:
            self.prune()

    def prune(self) -> None:
        """Drop what no snapshot at or after the newest event time can need (see module doc).

        Runs by itself as event time advances; public so a store can compact before saving.
        """
        newest = self.newest_ms
        if newest is None:
            return
        self.pruned_at_ms = newest
        # The lateness bound is per feed: the slowest feed seen can still deliver events
        # back to its own newest minus the bound, so nothing they could combine with (or
        # duplicate) is dropped before that.
        feeds = self.newest_by_source
        horizon = (min(feeds.values()) if feeds else newest) - self.lateness_ms
        first_start = first_start_ms(self.infusions)
        cycle_start = current_cycle_start_ms(self.infusions, newest)
        for signal, series in self.series.items():
            if signal not in _RETENTION_MS:
                # A series only a newer version knows (a state it stored, restored here in
                # a rolling upgrade or a rollback): kept as it is, for that version to read.
                continue
            self._prune_series(signal, series, newest, horizon, first_start, cycle_start)
        self.tombstones = {o: t for o, t in self.tombstones.items() if t >= horizon}
        self.seen = {k: t for k, t in self.seen.items() if t >= horizon}
        self._prune_infusions(horizon, first_start)

    def _prune_series(
        self,
        signal: str,
        series: Series,
        newest: int,
        horizon: int,
        first_start: int | None,
        cycle_start: int | None,
    ) -> None:
        # Windows and staleness read points with t > newest - lookback.
        drop_up_to = newest - _RETENTION_MS[signal]
        if first_start is None and (signal in CYCLE_SIGNALS or signal in _BASELINE_SIGNALS):
            # No infusion start yet: one can still come from a feed not seen so far (a feed's
            # bound is its own), and then any of these points may be its baseline or in its
            # cycle. Labs and seizures only: a few points a day.
            return
        if signal in CYCLE_SIGNALS or signal in _BASELINE_SIGNALS:
            # A start (of a new cycle, or a late first one) can still arrive as far back as
            # the lateness horizon; cycle features read points with t >= the cycle start.
            drop_up_to = min(drop_up_to, horizon - 1)
            if signal in CYCLE_SIGNALS and cycle_start is not None:
                drop_up_to = min(drop_up_to, cycle_start - 1)
        cut = series.window(drop_up_to, 0)[1]  # first index with t > drop_up_to
        cut = min(cut, max(0, len(series) - KEEP_NEWEST))
        if cut > 0:
            kept = range(cut, len(series))
            if signal in _BASELINE_SIGNALS:
                assert first_start is not None  # see above
                series.keep(sorted(_baseline_pins(series, first_start).union(kept)))
            else:
                series.drop_before(cut)
        if signal in _THINNED and len(series) > KEEP_NEWEST + 2:
            # The newest points are never thinned (see KEEP_NEWEST).
            thin_up_to = min(newest - THIN_AFTER_MS, series.t[-KEEP_NEWEST] - 1)
            indices = series.thinned(thin_up_to, THIN_BUCKET_MS)
            if indices is not None:
                series.keep(indices)

    def _prune_infusions(self, horizon: int, first_start: int | None) -> None:
        """Keep the current cycle's events, the first start and anything a late event could
        still combine with (within the lateness horizon)."""
        starts = [e.cycle for e in self.infusions if e.action == "start"]
        current = starts[-1] if starts else None
        self.infusions = [
            e
            for e in self.infusions
            if e.time_ms >= horizon
            or current is None
            or e.cycle == current
            or (e.action == "start" and e.time_ms == first_start)
        ]


def _baseline_pins(series: Series, first_start: int) -> set[int]:
    """Indices of the points a baseline may still need: the last ``BASELINE_PINNED`` points
    before the first start and all points of the 24 h after it. (Before any start nothing
    of a baseline signal is pruned, see ``_prune_series``.)"""
    before = series.window(first_start - 1, 0)[1]  # points with t < first start
    pins = set(range(max(0, before - BASELINE_PINNED), before))
    end = first_start + int(BASELINE_AFTER_START_H * HOUR_MS)
    pins.update(range(before, series.window(end - 1, 0)[1]))
    return pins


def _point(
    obs: Observation, code: int
) -> tuple[int, float, str | None, str, int, float | None, float | None]:
    """The columns of ``obs`` as a series point (``Series.insert``/``append`` arguments)."""
    return (
        obs.time_ms,
        obs.value,
        obs.obs_id,
        sys.intern(obs.source_msg_id),
        code,
        obs.ref_low,
        obs.ref_high,
    )


def _content_digest(event: Event) -> str:
    # Stable across processes (Python's hash() is salted), so dedup survives a restart.
    return hashlib.blake2b(_ENCODER.encode(event), digest_size=8).hexdigest()


def _status_name(code: int) -> str:
    return ("preliminary", "final", "amended", "corrected")[code]


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(PatientState)

"""Reliable HTTP delivery for alert sinks: bounded queues, retries, ledger, dead letters.

The stream hands a request to :meth:`HttpDelivery.submit`, which never blocks: when the
queue is full the request is counted as failed and handed to the dead-letter callback, and
the stream moves on. Worker tasks send each request with retries (exponential backoff with
jitter on 429, 5xx, timeouts and connection errors; ``Retry-After`` honoured), ask the
:class:`~alerts.ledger.DeliveryLedger` first so a transition already delivered is skipped,
and record the outcome after. Requests are spread over ``lanes`` by an ordering key (the
incident's dedup key), so one incident's trigger, acknowledgement and resolution arrive in
order while a slow incident does not hold up the others.

Counters are plain attributes (:class:`DeliveryCounters`) and an optional ``on_event``
callback, which the worker connects to Prometheus; nothing here imports it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec

from alerts.backoff import backoff_delay, parse_retry_after
from alerts.ledger import DeliveryLedger, DeliveryRecord

log = logging.getLogger(__name__)

HeaderFactory = Callable[[bytes, float], Mapping[str, str]]
"""Headers computed at each attempt from the body and the wall-clock time (signatures)."""


class RetrySettings(msgspec.Struct, frozen=True, kw_only=True):
    """How hard a sink tries."""

    timeout_s: float = 10.0
    """Per-attempt timeout (connect, send and read)."""
    max_attempts: int = 6
    """Attempts before a retryably failing request is dead-lettered; 0: until delivered."""
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 15.0
    """Longest wait between attempts: a pager back from an outage is used within seconds."""
    max_retry_after_s: float = 300.0
    """A longer ``Retry-After`` is cut to this, so an alert is not held for an hour."""
    queue_size: int = 1000
    """Requests waiting, over all lanes."""
    lanes: int = 4


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    """One HTTP POST of one transition to one sink."""

    key: str
    """Idempotency key: the transition's alert id."""
    order_key: str
    """Requests with the same order key are sent in submission order (the dedup key)."""
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    sign: HeaderFactory | None = None


class DeadLetterDelivery(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A delivery given up on, with why; the body holds no patient identifiers."""

    sink: str
    key: str
    order_key: str
    url: str
    reason: str
    """``queue_full``, ``http_<status>``, ``timeout``, ``connection``, ``shutdown``..."""
    detail: str = ""
    attempts: int = 0
    http_status: int | None = None
    body: bytes = b""
    time_ms: int = 0


@dataclass(slots=True)
class DeliveryCounters:
    """What happened to submitted requests (plain numbers for the worker's metrics)."""

    submitted: int = 0
    delivered: int = 0
    duplicates: int = 0
    """Skipped: already delivered according to the ledger, or already queued."""
    retries: int = 0
    failed: int = 0
    """Given up on (dead-lettered), including queue overflow."""
    queue_full: int = 0
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    retries_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one request."""

    status: str
    """``delivered``, ``duplicate`` or ``failed``."""
    attempts: int = 0
    http_status: int | None = None
    reason: str = ""


DeadLetterCallback = Callable[[DeadLetterDelivery], None]
EventCallback = Callable[[str, str], None]
"""``(event, reason)``: ``submitted``, ``delivered``, ``duplicate``, ``retry``, ``failed``."""
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Attempt:
    ok: bool
    retryable: bool
    reason: str
    http_status: int | None = None
    retry_after_s: float | None = None
    detail: str = ""


class HttpDelivery:
    """A named sink's delivery engine (see module docstring)."""

    def __init__(
        self,
        name: str,
        settings: RetrySettings,
        ledger: DeliveryLedger,
        on_dead_letter: DeadLetterCallback,
        *,
        session: aiohttp.ClientSession | None = None,
        on_event: EventCallback | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.lanes < 1 or settings.queue_size < settings.lanes:
            raise ValueError("need lanes >= 1 and queue_size >= lanes")
        if settings.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 (0: until delivered)")
        self.name = name
        self.settings = settings
        self.ledger = ledger
        self.counters = DeliveryCounters()
        self._on_dead_letter = on_dead_letter
        self._on_event = on_event
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._clock = clock
        self._session = session
        self._own_session = session is None
        per_lane = settings.queue_size // settings.lanes
        self._queues: list[asyncio.Queue[DeliveryRequest]] = [
            asyncio.Queue(maxsize=per_lane) for _ in range(settings.lanes)
        ]
        self._pending: set[str] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._accepting = False

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the HTTP session (unless one was given) and start the lane workers."""
        if self._workers:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        self._accepting = True
        self._workers = [
            asyncio.create_task(self._work(q), name=f"{self.name}-lane-{i}")
            for i, q in enumerate(self._queues)
        ]

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Stop accepting, let queued requests finish for up to ``drain_timeout_s``, then
        dead-letter whatever is left (reason ``shutdown``) and close an own session."""
        self._accepting = False
        try:
            await asyncio.wait_for(self.join(), timeout=drain_timeout_s)
        except TimeoutError:
            log.warning("%s: %d requests left at shutdown", self.name, self.queued)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for q in self._queues:
            while not q.empty():
                req = q.get_nowait()
                q.task_done()
                self._pending.discard(req.key)
                self._fail(req, "shutdown", "sink stopped before delivery", 0, None)
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def join(self) -> None:
        """Wait until every queued request has been handled."""
        await asyncio.gather(*(q.join() for q in self._queues))

    @property
    def queued(self) -> int:
        """Requests waiting or in flight."""
        return sum(q.qsize() for q in self._queues)

    # --- submission ----------------------------------------------------------------------

    def submit(self, request: DeliveryRequest) -> bool:
        """Queue a request without waiting; ``False`` when it was not queued (a duplicate
        already queued, the queue full, or the sink stopped - the last two dead-lettered)."""
        self.counters.submitted += 1
        self._event("submitted", "")
        if request.key in self._pending:
            self.counters.duplicates += 1
            self._event("duplicate", "queued")
            return False
        if not self._accepting:
            self._fail(request, "not_running", "sink not started or stopping", 0, None)
            return False
        lane = zlib.crc32(request.order_key.encode()) % len(self._queues)
        try:
            self._queues[lane].put_nowait(request)
        except asyncio.QueueFull:
            self.counters.queue_full += 1
            self._fail(request, "queue_full", f"lane {lane} full", 0, None)
            return False
        self._pending.add(request.key)
        return True

    async def _work(self, queue: asyncio.Queue[DeliveryRequest]) -> None:
        while True:
            req = await queue.get()
            try:
                await self.deliver(req)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in a callback must not stop the lane
                log.exception("%s: delivery of %s failed unexpectedly", self.name, req.key)
            finally:
                self._pending.discard(req.key)
                queue.task_done()

    # --- delivery ------------------------------------------------------------------------

    async def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        """Send one request now, with retries; consult and update the ledger."""
        try:
            seen = await self.ledger.get(self.name, request.key)
        except Exception:
            # Better a possible second page than a missed one.
            log.exception("%s: ledger lookup failed for %s", self.name, request.key)
            seen = None
        if seen is not None and seen.status == "delivered":
            self.counters.duplicates += 1
            self._event("duplicate", "ledger")
            return DeliveryResult("duplicate", 0, seen.http_status, "already delivered")
        attempt = 0
        last: _Attempt | None = None
        limit = self.settings.max_attempts
        while limit == 0 or attempt < limit:
            if attempt > 0:
                assert last is not None
                delay = (
                    min(last.retry_after_s, self.settings.max_retry_after_s)
                    if last.retry_after_s is not None
                    else backoff_delay(
                        attempt - 1,
                        self.settings.backoff_base_s,
                        self.settings.backoff_cap_s,
                        self._rng,
                    )
                )
                self.counters.retries += 1
                by = self.counters.retries_by_reason
                by[last.reason] = by.get(last.reason, 0) + 1
                self._event("retry", last.reason)
                await self._sleep(delay)
            attempt += 1
            last = await self._attempt(request)
            if last.ok:
                self.counters.delivered += 1
                self._event("delivered", last.reason)
                await self._record(request, "delivered", attempt, last.http_status, "")
                return DeliveryResult("delivered", attempt, last.http_status, last.reason)
            if not last.retryable:
                break
        assert last is not None
        self._fail(request, last.reason, last.detail, attempt, last.http_status)
        await self._record(request, "dead_lettered", attempt, last.http_status, last.reason)
        return DeliveryResult("failed", attempt, last.http_status, last.reason)

    async def _attempt(self, request: DeliveryRequest) -> _Attempt:
        session = self._session
        if session is None:
            raise RuntimeError(f"{self.name}: start() the sink before delivering")
        headers = {"Content-Type": "application/json", **request.headers}
        if request.sign is not None:
            headers.update(request.sign(request.body, self._clock()))
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        try:
            async with session.post(
                request.url, data=request.body, headers=headers, timeout=timeout
            ) as resp:
                text = (await resp.text(errors="replace"))[:500]
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"), self._clock())
        except TimeoutError:
            return _Attempt(
                False, True, "timeout", detail=f"no answer in {self.settings.timeout_s} s"
            )
        except aiohttp.ClientError as exc:
            return _Attempt(False, True, "connection", detail=f"{type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return _Attempt(True, False, f"http_{status}", status)
        retryable = status == 429 or status >= 500
        return _Attempt(False, retryable, f"http_{status}", status, retry_after, text)

    async def _record(
        self, request: DeliveryRequest, status: str, attempts: int, http: int | None, why: str
    ) -> None:
        record = msgspec.convert(
            {
                "sink": self.name,
                "key": request.key,
                "status": status,
                "attempts": attempts,
                "updated_ms": int(self._clock() * 1000),
                "http_status": http,
                "reason": why,
            },
            DeliveryRecord,
        )
        try:
            await self.ledger.put(record)
        except Exception:
            log.exception("%s: ledger write failed for %s", self.name, request.key)

    def _fail(
        self, request: DeliveryRequest, reason: str, detail: str, attempts: int, http: int | None
    ) -> None:
        self.counters.failed += 1
        by = self.counters.failures_by_reason
        by[reason] = by.get(reason, 0) + 1
        self._event("failed", reason)
        letter = DeadLetterDelivery(
            sink=self.name,
            key=request.key,
            order_key=request.order_key,
            url=request.url,
            reason=reason,
            detail=detail,
            attempts=attempts,
            http_status=http,
            body=request.body,
            time_ms=int(self._clock() * 1000),
        )
        try:
            self._on_dead_letter(letter)
        except Exception:
            log.exception("%s: dead-letter callback failed for %s", self.name, request.key)

    def _event(self, event: str, reason: str) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event, reason)
        except Exception:
            log.exception("%s: event callback failed", self.name)


class DeliverySink:
    """What every sink built on one :class:`HttpDelivery` shares: its construction and its
    lifecycle (the pager and webhook sinks add how a record becomes a request)."""

    def __init__(
        self,
        name: str,
        retry: RetrySettings,
        ledger: DeliveryLedger,
        on_dead_letter: DeadLetterCallback,
        *,
        session: aiohttp.ClientSession | None = None,
        on_event: EventCallback | None = None,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {}
        if sleep is not None:
            kwargs["sleep"] = sleep
        if clock is not None:
            kwargs["clock"] = clock
        self.delivery = HttpDelivery(
            name,
            retry,
            ledger,
            on_dead_letter,
            session=session,
            on_event=on_event,
            rng=rng,
            **kwargs,
        )

    @property
    def counters(self) -> DeliveryCounters:
        """The delivery counters."""
        return self.delivery.counters

    async def start(self) -> None:
        """Start the delivery workers."""
        await self.delivery.start()

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Drain and stop (see :meth:`HttpDelivery.stop`)."""
        await self.delivery.stop(drain_timeout_s)

    async def join(self) -> None:
        """Wait for queued deliveries to be handled."""
        await self.delivery.join()

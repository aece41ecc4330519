"""Publishing input messages to the service's input topics (demo, replay, load tests).

kafka-python's producer is used here (not Faust): these are external producers, like a
hospital's integration engine, and keying by patient id is their job.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterable
from types import TracebackType

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from ews.settings import Settings
from streams.topics import (
    ACKS,
    ALERT_INDEX,
    ALERTS,
    ASSESSMENTS,
    AUDIT,
    CANONICAL,
    DEADLETTER,
    FHIR,
    INPUT_TOPICS,
)

log = logging.getLogger(__name__)


def ensure_topics(settings: Settings, extra: Iterable[str] = ()) -> None:
    """Create the service's topics (inputs, acks, outputs) if they do not exist yet.

    Creating them up front with the configured partition count keeps every topic
    co-partitioned by patient id, whichever side (producer or worker) starts first.
    """
    logical = (
        *INPUT_TOPICS,
        ACKS,
        CANONICAL,
        ALERTS,
        ASSESSMENTS,
        AUDIT,
        DEADLETTER,
        FHIR,
        ALERT_INDEX,
        *extra,
    )
    names = [settings.topic(n) for n in logical]
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="ews-admin")
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(n, settings.topic_partitions, settings.topic_replication)
            for n in names
            if n not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
    finally:
        admin.close()


class FailedSends:
    """Counts the sends that ended without delivery, by error type: a kafka-python errback
    (``future.add_errback(failed)``), called on the producer's I/O thread."""

    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()

    def __call__(self, exc: BaseException) -> None:
        self.by_type[type(exc).__name__] += 1

    @property
    def count(self) -> int:
        return sum(self.by_type.values())


class Publisher:
    """Sends (topic, patient key, bytes) to Kafka; a context manager that flushes on exit.

    Every send ends delivered or counted in :attr:`failed`: kafka-python reports a send the
    broker refuses (a non-retriable error) or could not take within ``delivery_timeout_ms``
    (its default, 2 minutes, of retries) only through the send's future, so a publisher that
    ignored it would drop the message silently. :meth:`close` waits for every send to end
    and logs the count (by error type, never a key or a value).
    """

    def __init__(
        self, settings: Settings, *, linger_ms: int = 5, delivery_timeout_ms: int = 120_000
    ) -> None:
        self.settings = settings
        self.sent = 0
        self._failed = FailedSends()
        self._delivery_timeout_s = delivery_timeout_ms / 1000
        self._producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            linger_ms=linger_ms,
            acks=1,
            max_request_size=max(settings.max_message_bytes * 4, 1_048_576),
            delivery_timeout_ms=delivery_timeout_ms,
            request_timeout_ms=min(30_000, delivery_timeout_ms // 2),
        )

    def send(self, logical_topic: str, key: str | bytes | None, value: bytes) -> None:
        """Queue one message for ``<prefix>.<logical_topic>``."""
        raw_key = key.encode() if isinstance(key, str) else key
        future = self._producer.send(self.settings.topic(logical_topic), key=raw_key, value=value)
        future.add_errback(self._failed)
        self.sent += 1

    @property
    def failed(self) -> int:
        """Sends that never reached the topic."""
        return self._failed.count

    @property
    def failures(self) -> Counter[str]:
        """:attr:`failed` by error type (``KafkaTimeoutError``, ``MessageSizeTooLargeError``)."""
        return self._failed.by_type

    def flush(self, timeout_s: float = 30.0) -> None:
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        """Wait until every send is delivered or has failed (at most the delivery timeout),
        then close; a failed send is logged as a count."""
        self._producer.flush(timeout=self._delivery_timeout_s + 5)
        self._producer.close(timeout=5)
        if self.failed:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.failures.items()))
            log.warning(
                "%d of %d sends never reached the broker (%s)", self.failed, self.sent, kinds
            )

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def paced(times_ms: Iterable[int], speedup: float) -> Iterable[int]:
    """Yield each event time after sleeping so that event time runs ``speedup`` x wall time.

    ``speedup <= 0`` means as fast as possible.
    """
    start_wall: float | None = None
    start_event = 0
    for t in times_ms:
        if speedup > 0:
            if start_wall is None:
                start_wall, start_event = time.monotonic(), t
            due = start_wall + (t - start_event) / 1000 / speedup
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        yield t

"""The publisher (``ews replay --publish``, the demo feed) counts every send that never
reached the broker, against a real broker that goes away mid-run."""

from __future__ import annotations

import logging

import pytest

from ews.settings import Settings
from streams.broker import EmbeddedBroker
from streams.publish import Publisher, ensure_topics


@pytest.mark.broker
@pytest.mark.slow
def test_publisher_counts_the_sends_a_stopped_broker_never_took(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = EmbeddedBroker().start()
    try:
        settings = Settings(
            bootstrap_servers=broker.bootstrap, topic_prefix="pubdelivery", topic_partitions=1
        )
        ensure_topics(settings)
        publisher = Publisher(settings, delivery_timeout_ms=3_000)
        publisher.send("in.json", "patient-7", b'{"delivered": true}')
        publisher.flush()
        assert (publisher.sent, publisher.failed) == (1, 0)

        broker.stop()
        publisher.send("in.json", "patient-7", b'{"delivered": false}')
        publisher.send("in.json", "patient-8", b'{"delivered": false}')
        with caplog.at_level(logging.WARNING, logger="streams.publish"):
            publisher.close()  # waits for both sends to end: they time out, counted
    finally:
        broker.stop()
    assert (publisher.sent, publisher.failed) == (3, 2)
    assert publisher.failures == {"KafkaTimeoutError": 2}
    assert "2 of 3 sends never reached the broker (KafkaTimeoutError 2)" in caplog.text
    assert "patient-" not in caplog.text  # counts only, never a key

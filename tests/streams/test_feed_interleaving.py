"""A patient's feeds (JSON, FHIR, HL7 v2 topics) may be read at different speeds: a worker
catching up on a backlog can be days ahead on one topic. Each feed is in order, but their
interleaving is arbitrary, and the patient's state must not depend on it (the lateness
bound is per feed, features/state.py). Found by tests/integration/test_state_recovery.py:
baseline labs were pruned before an infusion start arrived from a lagging feed."""

from __future__ import annotations

import time
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.codemap import default_codemap
from contract.events import InputRef
from ews.demo import encode_message
from ews.settings import Settings
from features.compute import snapshot
from features.state import PatientState
from simulator.config import CohortConfig
from simulator.stream import Cohort, iter_messages
from streams.ingest import Ingestor, limits_from
from streams.pipeline import InMessage, PatientRecord, Pipeline
from streams.topics import INPUT_TOPICS

PATIENT = "sim11-00014"  # infusion start on JSON, baseline labs on FHIR and HL7 v2
_DAY_MS = 86_400_000


@cache
def _sent() -> tuple[tuple[str, str, bytes], ...]:
    """The patient's messages in send order (one live feed, as the simulator emits them)."""
    now = int(time.time() * 1000)
    config = CohortConfig(n_patients=16, seed=11, start_ms=now - 60 * _DAY_MS, enrollment_days=1.0)
    return tuple(m for m in map(encode_message, iter_messages(Cohort(config))) if m[1] == PATIENT)


def _feeds() -> dict[str, list[tuple[str, str, bytes]]]:
    feeds: dict[str, list[tuple[str, str, bytes]]] = {}
    for message in _sent():
        feeds.setdefault(message[0], []).append(message)
    return feeds


def _state(order: list[tuple[str, str, bytes]]) -> PatientState:
    s = Settings()
    pipeline = Pipeline(
        Ingestor(default_codemap(), limits_from(s)), lateness_ms=int(s.lateness_h * 3_600_000)
    )
    records: dict[str, PatientRecord] = {}
    messages = [
        InMessage(INPUT_TOPICS[topic], InputRef(topic, 0, i), key.encode(), body)
        for i, (topic, key, body) in enumerate(order)
    ]
    for start in range(0, len(messages), 50):
        result = pipeline.process(messages[start : start + 50], records.get)
        assert not result.deadletters
        records.update(result.touched)
    return records[PATIENT].state


@cache
def _reference() -> PatientState:
    return _state(list(_sent()))


@settings(max_examples=12, deadline=None)
@given(chunks=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 200)), min_size=1))
def test_any_interleaving_of_in_order_feeds_gives_the_same_state(
    chunks: list[tuple[int, int]],
) -> None:
    feeds = dict(sorted(_feeds().items()))
    topics = list(feeds)
    order: list[tuple[str, str, bytes]] = []
    for pick, size in chunks:
        topic = topics[pick % len(topics)]
        order.extend(feeds[topic][:size])
        del feeds[topic][:size]
    for messages in feeds.values():
        order.extend(messages)
    got, want = _state(order), _reference()
    assert got.newest_ms == want.newest_ms and want.newest_ms is not None
    for later_h in (0, 1, 12):
        at = want.newest_ms + later_h * 3_600_000
        assert snapshot(got, at) == snapshot(want, at)

"""Smoke tests of the load-test harness: it runs end to end at a tiny scale, and its
accounting catches a lost message. Speed is not tested here (see load_tests/report.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from load_tests.accounting import Accounting, LostMessagesError, metric_total
from load_tests.generate import shard
from load_tests.workload import TIME_TOKEN, Workload, build, template_frames
from streams.bulk import Partitioner


@pytest.fixture(scope="module")
def frames() -> object:
    return template_frames(n_templates=1)


def _output(topic: str, partition: int, offset: int) -> bytes:
    return msgspec.json.encode({"outcome": "accepted", "input": [topic, partition, offset]})


def test_accounting_catches_a_lost_message() -> None:
    acc = Accounting("p.in.json", expected=5)
    for offset in (0, 1, 3, 4):  # offset 2 has no output
        acc.add(_output("p.in.json", 0, offset), 1000 + offset)
    acc.add(_output("other.in.json", 0, 2), 1002)  # another topic's offset 2 does not count
    assert acc.lost == 1
    assert acc.missing() == [(0, 2)]
    with pytest.raises(LostMessagesError, match="1 lost"):
        acc.check()
    acc.add(_output("p.in.json", 0, 2), 1005)
    acc.check()
    rate, seconds = acc.sustained_rate()
    assert seconds == pytest.approx(0.005)
    assert rate == pytest.approx(4 / 0.005)


def test_workload_shapes(frames: object) -> None:
    w1 = Workload(patients=3, messages=20, obs_per_message=1)
    one = build(w1, frames)  # type: ignore[arg-type]
    assert len(one) == 20
    assert {k for k, _ in one} == {w1.patient_id(i) for i in range(3)}
    assert len(msgspec.json.decode(one[0][1])["events"]) == 1
    w8 = Workload(patients=2, messages=4, obs_per_message=8)
    eight = build(w8, frames, stamp_with_token=True)  # type: ignore[arg-type]
    first = msgspec.json.decode(eight[0][1])
    assert [e["signal"] for e in first["events"]] == list(w8.signals)
    assert TIME_TOKEN in eight[0][1]
    hl7 = build(Workload(patients=1, messages=1, obs_per_message=20, fmt="hl7v2"), frames)  # type: ignore[arg-type]
    assert hl7[0][1].count(b"\rOBX|") == 20
    # One patient's messages go to one producer, in order; each partition has one producer.
    parts = shard(one, 2, 4)
    assert sum(len(p) for p in parts) == 20
    owners = [{p for _, _, p in part} for part in parts]
    assert not owners[0] & owners[1]
    for part in parts:
        for key in {k for k, _, _ in part}:
            assert [v for k, v, _ in part if k == key] == [v for k, v in one if k == key]
    partition_of = Partitioner()
    assert all(p == partition_of(k.encode(), 4) for part in parts for k, _, p in part)
    # balanced by message count: the largest partitions first, each to the lighter producer
    many = build(Workload(patients=200, messages=2000, obs_per_message=1), frames)  # type: ignore[arg-type]
    sizes = sorted((len(p) for p in shard(many, 2, 8)), reverse=True)
    biggest = max(Counter(partition_of(k.encode(), 8) for k, _ in many).values())
    assert sum(sizes) == 2000 and sizes[0] - sizes[1] <= biggest


def test_metric_total() -> None:
    text = 'ews_ingest_messages_total{source="json",outcome="accepted"} 7.0\nother 3\n'
    assert metric_total(text, "ews_ingest_messages_total") == 7.0


@pytest.mark.broker
@pytest.mark.slow
def test_harness_end_to_end_tiny(tmp_path: Path, frames: object) -> None:
    from load_tests.baselines import run_baseline
    from load_tests.worker_run import run_worker
    from streams.broker import EmbeddedBroker

    workload = Workload(patients=20, messages=300, obs_per_message=8)
    messages = build(workload, frames)  # type: ignore[arg-type]
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        figures = run_worker(
            broker.bootstrap, "smoke", workload, messages, tmp_path, partitions=2, timeout_s=40
        )
        assert figures.lost == 0
        assert figures.messages == 300 and figures.observations == 2400
        assert figures.rss_end_kb > 0
        raw = run_baseline(
            "raw",
            broker.bootstrap,
            figures.input_topic,
            300,
            tmp_path,
            partitions=2,
            timeout_s=20,
        )
        assert raw.count == 300


@pytest.mark.broker
@pytest.mark.slow
def test_broker_floor_reads_back_every_probe_message() -> None:
    from load_tests.latency import run_broker_floor
    from load_tests.report import Plan, render
    from streams.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        floor = run_broker_floor(broker.bootstrap, rate=200, duration_s=2, partitions=2)
    assert floor.produced is not None and 300 <= floor.produced.sent <= 400  # paced, bounded
    assert floor.produced.failed == 0
    assert len(floor.latencies_ms) == floor.produced.sent
    assert 0 <= floor.percentile(50) < 5_000
    md = render(Plan.quick(), {}, floor, True, "", floor)
    assert "broker alone, no worker" in md and "(broker alone: " in md

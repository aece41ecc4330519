"""Real PhysioNet stays give the same model probabilities through the stream as through
``ews replay --format physionet`` (real broker, real worker, the committed models).
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
import pytest

from adapters.physionet import PHYSIONET_EPOCH_MS, iter_tar_stays
from ews.replay import run_replay
from models.physionet_replay import PhysionetRow
from streams.broker import EmbeddedBroker
from streams.pipeline import AssessmentRecord
from streams.process import read_topics
from tests.integration.conftest import Deployment

pytestmark = [pytest.mark.broker, pytest.mark.slow]

TARBALL = Path(__file__).resolve().parents[3] / "shared/data/physionet2019/training_setB_dev.tar.gz"


@pytest.mark.skipif(not TARBALL.is_file(), reason="PhysioNet data not beside the checkout")
def test_stream_and_replay_give_identical_probabilities(
    broker: EmbeddedBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stays = tmp_path / "stays"
    stays.mkdir()
    for stay_id, text in iter_tar_stays(TARBALL, limit=4):
        (stays / f"{stay_id}.psv").write_text(text)

    # Offline: one row per PSV row.
    offline_out = tmp_path / "offline.jsonl"
    assert run_replay(str(stays), "physionet", str(offline_out), publish=False) == 0
    offline = {
        (r.stay_id, PHYSIONET_EPOCH_MS + round(r.iculos * 3_600_000)): r.probabilities
        for r in (
            msgspec.json.decode(line, type=PhysionetRow)
            for line in offline_out.read_bytes().splitlines()
        )
        if r.iculos is not None
    }

    # Streamed: the same stays published to a worker that scores every message.
    dep = Deployment(
        broker,
        tmp_path,
        EWS_PUBLISH_ASSESSMENTS="true",
        EWS_BATCH_MAX_MESSAGES="1",
        EWS_MAX_EVENT_AGE_DAYS="36500",  # 2019 data
    )
    try:
        dep.start_worker()
        for name, value in dep.env.items():
            monkeypatch.setenv(name, value)
        assert run_replay(str(stays), "physionet", None, publish=True) == 0
        # Rows without any measurement yield no snapshot in the stream: read until quiet.
        growth = [time.monotonic(), 0]

        def quiet(got: list[tuple[str, bytes | None, bytes]]) -> bool:
            if len(got) > growth[1]:
                growth[:] = [time.monotonic(), len(got)]
            return growth[1] > 0 and time.monotonic() - growth[0] > 8.0

        rows = read_topics(broker.bootstrap, [dep.topic("assessments")], until=quiet, timeout_s=240)
    finally:
        dep.stop()
    streamed = [msgspec.json.decode(v, type=AssessmentRecord) for _, _, v in rows]
    assert len(streamed) > len(offline) // 2

    compared = 0
    for rec in streamed:
        want = offline[(rec.patient_id, rec.time_ms)]
        got = {
            risk: out.probability for risk, out in rec.risks.items() if out.probability is not None
        }
        assert got == pytest.approx(want, abs=1e-12), (rec.patient_id, rec.time_ms)
        compared += 1
    assert compared == len(streamed)

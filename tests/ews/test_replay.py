"""Offline replay: every input message yields exactly one output line saying what became of it."""

from __future__ import annotations

from pathlib import Path

import msgspec

from ews.replay import ReplayRow, run_replay
from models.physionet_replay import PhysionetRow
from streams.app import load_models
from tests.adapters import samples as s

PSV_HEADER = "HR|O2Sat|Temp|SBP|MAP|DBP|Resp|FiO2|Age|Gender|ICULOS|SepsisLabel"


def _rows(path: Path) -> list[ReplayRow]:
    return [msgspec.json.decode(line, type=ReplayRow) for line in path.read_bytes().splitlines()]


def test_hl7_file_with_several_messages(tmp_path: Path) -> None:
    src = tmp_path / "labs.hl7"
    good = s.hl7_oru(msg_id="A1")
    bad = s.hl7_oru([s.Obx(code="99999-9")], msg_id="A2")
    src.write_bytes(good.replace(b"\r", b"\n") + b"\n\n" + bad.replace(b"\r", b"\n"))
    out = tmp_path / "out.jsonl"
    assert run_replay(str(src), "hl7v2", str(out), publish=False) == 0
    rows = _rows(out)
    assert [r.outcome for r in rows] == ["accepted", "dead_lettered"]
    assert rows[1].rejects[0].reason == "unknown_code"
    assert rows[0].events[0].signal == "crp"  # type: ignore[union-attr]


def test_physionet_replay_writes_one_model_row_per_input_row(tmp_path: Path) -> None:
    psv = tmp_path / "p000001.psv"
    psv.write_text(
        "\n".join(
            [
                PSV_HEADER,
                "NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN|63.5|1|1|0",
                "88|97|37.1|121|80|62|18|NaN|63.5|1|2|0",
                "122|91|38.9|92|60|48|28|0.4|63.5|1|3|0",
            ]
        )
    )
    out = tmp_path / "out.jsonl"
    assert run_replay(str(psv), "physionet", str(out), publish=False) == 0
    rows = [msgspec.json.decode(line, type=PhysionetRow) for line in out.read_bytes().splitlines()]
    assert [(r.stay_id, r.row, r.iculos) for r in rows] == [
        ("p000001", 0, 1.0),
        ("p000001", 1, 2.0),
        ("p000001", 2, 3.0),
    ]
    models = load_models(None)
    assert models is not None
    for row in rows:
        assert set(row.probabilities) == set(models.risks)
        assert all(0.0 <= p <= 1.0 for p in row.probabilities.values())
        for risk, p in row.probabilities.items():
            assert row.alerts[risk] == (p >= models.manifest(risk).threshold)
    # A febrile, tachycardic, hypotensive, tachypnoeic hour scores higher than a normal one.
    assert rows[2].probabilities["infection"] > rows[1].probabilities["infection"]


def test_replay_needs_an_output_or_publish(tmp_path: Path) -> None:
    assert run_replay(str(tmp_path), "json", None, publish=False) == 2


def test_replay_writes_per_snapshot_grades_from_the_rules(tmp_path: Path) -> None:
    """A febrile, hypotensive patient on pressors: the replayed grades are the rules' grades."""
    t0 = s.EVENT_MS
    h = 3_600_000
    events = [
        s.json_event("infusion", action="start", cycle=1, dose_ug_per_day=9.0, time_ms=t0),
        s.json_observation(signal="temp", value=38.9, unit="Cel", obs_id="t1", time_ms=t0 + h),
        s.json_observation(signal="sbp", value=84, unit="mm[Hg]", obs_id="b1", time_ms=t0 + h),
        s.json_event("vasopressor", count=1, time_ms=t0 + h + 60_000),
    ]
    src = tmp_path / "stay.jsonl"
    src.write_bytes(
        b"\n".join(s.encode(s.json_batch([e], msg_id=f"m{i}")) for i, e in enumerate(events))
    )
    out = tmp_path / "out.jsonl"
    assert run_replay(str(src), "json", str(out), publish=False) == 0
    rows = _rows(out)
    assert len(rows) == len(events)
    last = rows[-1].grades
    assert last is not None
    assert last.cycle == 1 and last.infusion_day == 1
    assert last.syndromes["crs"] == 3  # ASTCT: fever with hypotension needing one vasopressor
    assert last.criteria["astct_crs"].grade == 3
    # Before any vital sign the CRS grade is undetermined, never "0": missing is not normal.
    assert rows[0].grades is not None and rows[0].grades.syndromes["crs"] is None

"""``ews burden``: simulator -> the worker's pipeline -> policy -> burden, on a tiny cohort."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from alerts.burden import evaluate_burden
from alerts.config import DEFAULT_POLICY, HOUR_MS, RiskPolicy, encode_config
from ews.burden import CohortSeries, evaluate, run_burden, summaries
from ews.cli import main


def test_burden_command_and_re_evaluation(tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert main(["burden", "--n", "4", "--seed", "3", "--out", str(out), "--workers", "1"]) == 0
    cohort = msgspec.msgpack.decode((out / "assessments.msgpack").read_bytes(), type=CohortSeries)
    assert len(cohort.patients) == 4
    p = cohort.patients[0]
    assert p.messages > 50 and 1 < p.days < 40
    # Every risk scored by the real pipeline, with the deployed models' probabilities.
    assert {"crs", "icans", "hlh", "infection", "hepatotoxicity"} <= set(p.risks)
    assert any(x is not None for x in p.risks["infection"].probabilities)
    assert p.ruleset_version
    report = json.loads((out / "burden.json").read_bytes())
    text = (out / "burden.md").read_text()
    assert report["patients"] == 4 and "| infection |" in text and "quiet_period" in text
    assert report["policy"]["version"] == DEFAULT_POLICY.version

    # The compact series give the same report as the full policy summaries would.
    direct = evaluate_burden(
        {q.patient_id: summaries(q) for q in cohort.patients},
        cohort.labels,
        DEFAULT_POLICY,
        patient_days={q.patient_id: q.days for q in cohort.patients},
    )
    assert msgspec.to_builtins(direct) == msgspec.to_builtins(evaluate(cohort, DEFAULT_POLICY))

    # --from with another policy re-evaluates without the pipeline: never paging infection
    # leaves no infection incident.
    silent = msgspec.structs.replace(
        DEFAULT_POLICY,
        risks={
            **DEFAULT_POLICY.risks,
            "infection": RiskPolicy(
                trigger_grade=None, model_trigger=False, quiet_period_ms=HOUR_MS
            ),
        },
    )
    policy = tmp_path / "policy.json"
    policy.write_bytes(encode_config(silent))
    again = tmp_path / "again"
    assert run_burden(0, again, source=out / "assessments.msgpack", policy=policy) == 0
    second = json.loads((again / "burden.json").read_bytes())
    assert second["risks"]["infection"]["incidents"] == 0
    assert second["risks"]["crs"] == report["risks"]["crs"]

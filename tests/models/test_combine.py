"""Rule grades and model output in one RiskAssessment per risk."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from features.replay import snapshots_for_history
from models.combine import assess, assess_many
from models.serving import ARTIFACTS_DIR, ModelSet
from scoring.api import score_snapshot
from scoring.risk import RISKS
from tests.models.factory_rows import HOUR, T0, febrile_history, febrile_snapshot
from tests.models.helpers import write_tiny_model


def test_rules_only_without_models() -> None:
    snap = febrile_snapshot()
    rules = score_snapshot(snap)
    out = assess(rules, snap, None)
    assert set(out) == set(RISKS)
    for risk, ra in out.items():
        assert ra.grade == rules.syndromes[risk].grade
        assert ra.probability is None and ra.model_version is None and not ra.model_alert
    infection = out["infection"]
    assert infection.grade is not None and infection.grade >= 2  # SIRS: fever, HR, RR, WBC
    assert any(c.startswith("sirs (") for c in infection.criteria)
    assert infection.evidence


def test_model_output_beside_the_grade(tmp_path: Path) -> None:
    manifest = write_tiny_model(tmp_path)
    models = ModelSet.load(tmp_path)
    snap = febrile_snapshot()
    rules = score_snapshot(snap)
    out = assess(rules, snap, models, explain="always", top_k=3)
    ra = out["infection"]
    assert ra.grade == rules.syndromes["infection"].grade
    assert ra.probability is not None and 0.0 <= ra.probability <= 1.0
    assert ra.model_version == f"tiny-infection@{manifest.version}"
    assert ra.model_threshold == manifest.threshold
    assert ra.model_alert == (ra.probability >= manifest.threshold)
    assert 0 < len(ra.contributions) <= 3
    assert out["crs"].probability is None  # no CRS model in this set
    msgspec.json.encode(ra)  # serializable as the alert policy receives it


def test_explain_only_on_alert_by_default(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    models = ModelSet.load(tmp_path)
    snap = febrile_snapshot()
    ra = assess(score_snapshot(snap), snap, models)["infection"]
    assert bool(ra.contributions) == ra.model_alert


def test_refuses_a_mismatched_snapshot() -> None:
    snap = febrile_snapshot()
    rules = score_snapshot(snap)
    later = msgspec.structs.replace(snap, time_ms=snap.time_ms + 1)
    with pytest.raises(ValueError, match="different"):
        assess(rules, later, None)


def test_batched_assessment_equals_one_at_a_time() -> None:
    """The stream scores a batch of patients with one ONNX call per risk; the result must be
    exactly what scoring each snapshot alone gives (shipped models, every risk)."""
    models = ModelSet.load(ARTIFACTS_DIR)
    history = febrile_history()
    snaps = snapshots_for_history(history, [T0 + h * HOUR for h in (0, 1, 2, 4, 6, 9, 12)])
    items = [(score_snapshot(s), s) for s in snaps]
    batched = assess_many(items, models, explain="always")
    assert len({ra["infection"].probability for ra in batched}) > 1  # rows really differ
    for (rules, snap), got in zip(items, batched, strict=True):
        assert got == assess(rules, snap, models, explain="always")
    assert assess_many([], models) == []

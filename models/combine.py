"""One ``RiskAssessment`` per risk: the rule syndrome grade beside the model's probability.

Neither replaces the other. The grade, its criteria, reasons, evidence and suggestions come
from the rule assessment unchanged; where a model is deployed for the risk, its probability,
version, threshold and alert flag are added, and, when the model alerts (or ``explain`` is
``"always"``), the inputs that moved its probability most (``ModelSet.explain``). A risk
without a model (hepatotoxicity, or every risk when ``models`` is ``None``) carries the rule
result only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from features.snapshot import Snapshot
from models.serving import LoadedModel, ModelSet, Rows
from scoring.result import Assessment, RuleEvidence, SyndromeResult
from scoring.risk import RISKS, Contribution, Risk, RiskAssessment

Explain = Literal["never", "alert", "always"]


def _criteria(assessment: Assessment, syndrome: SyndromeResult) -> tuple[str, ...]:
    out = []
    for name in syndrome.based_on:
        result = assessment.criteria.get(name)
        out.append(name if result is None else f"{name} ({result.version})")
    return tuple(out)


def _evidence(assessment: Assessment, syndrome: SyndromeResult) -> tuple[RuleEvidence, ...]:
    seen: list[RuleEvidence] = []
    for name in syndrome.based_on:
        result = assessment.criteria.get(name)
        if result is not None:
            seen.extend(e for e in result.evidence if e not in seen)
    return tuple(seen)


def assess(
    assessment: Assessment,
    snapshot: Snapshot,
    models: ModelSet | None,
    *,
    explain: Explain = "alert",
    top_k: int = 5,
) -> dict[Risk, RiskAssessment]:
    """Combine a rule assessment and the models' output for the same snapshot."""
    return assess_many([(assessment, snapshot)], models, explain=explain, top_k=top_k)[0]


def assess_many(
    items: Sequence[tuple[Assessment, Snapshot]],
    models: ModelSet | None,
    *,
    explain: Explain = "alert",
    top_k: int = 5,
) -> list[dict[Risk, RiskAssessment]]:
    """:func:`assess` for many snapshots (any patients): one ONNX call per risk for all of
    them, which is how the stream scores a batch (per-row cost falls several-fold)."""
    for assessment, snapshot in items:
        if (assessment.patient_id, assessment.time_ms) != (snapshot.patient_id, snapshot.time_ms):
            raise ValueError("assessment and snapshot are of different patients or times")
    outputs: dict[Risk, _ModelOutput] = {}
    if models is not None and items:
        snapshots = [snapshot for _, snapshot in items]
        for risk in models.risks:
            model = models.model(risk)  # one read: a concurrent reload cannot mix versions
            rows = model.spec.matrix(snapshots)
            outputs[risk] = _ModelOutput(model, rows, model.predict(rows))
    out: list[dict[Risk, RiskAssessment]] = []
    for i, (assessment, snapshot) in enumerate(items):
        per_risk: dict[Risk, RiskAssessment] = {}
        for risk in RISKS:
            per_risk[risk] = _combine(
                risk, assessment, snapshot, outputs.get(risk), i, explain, top_k
            )
        out.append(per_risk)
    return out


@dataclass(frozen=True, slots=True)
class _ModelOutput:
    """One model's rows and probabilities for a batch of snapshots."""

    model: LoadedModel
    rows: Rows
    probabilities: npt.NDArray[np.float64]


def _combine(
    risk: Risk,
    assessment: Assessment,
    snapshot: Snapshot,
    model_output: _ModelOutput | None,
    i: int,
    explain: Explain,
    top_k: int,
) -> RiskAssessment:
    syndrome = assessment.syndromes.get(risk)
    probability: float | None = None
    version: str | None = None
    threshold: float | None = None
    alert = False
    contributions: tuple[Contribution, ...] = ()
    if model_output is not None:
        model = model_output.model
        probability = float(model_output.probabilities[i])
        version = f"{model.manifest.model_id}@{model.manifest.version}"
        threshold = model.manifest.threshold
        alert = probability >= threshold
        if explain == "always" or (explain == "alert" and alert):
            contributions = model.explain(model_output.rows[i], top_k)
    return RiskAssessment(
        risk=risk,
        patient_id=snapshot.patient_id,
        time_ms=snapshot.time_ms,
        ruleset_version=assessment.ruleset_version,
        grade=None if syndrome is None else syndrome.grade,
        criteria=() if syndrome is None else _criteria(assessment, syndrome),
        reasons=() if syndrome is None else syndrome.reasons,
        evidence=() if syndrome is None else _evidence(assessment, syndrome),
        suggestions=() if syndrome is None else syndrome.suggestions,
        missing=() if syndrome is None else syndrome.missing,
        notes=() if syndrome is None else syndrome.notes,
        probability=probability,
        model_version=version,
        model_threshold=threshold,
        model_alert=alert,
        contributions=contributions,
    )

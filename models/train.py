"""Train, evaluate, export and document each risk's model (``python -m models train``).

- ``infection``: PhysioNet 2019 stays; 5-fold stay-level cross-validation of the whole
  procedure gives the figures, then the deployed model is fitted on every stay.
- ``crs``, ``icans``, ``hlh``: a simulated cohort (or a site's canonical data) to train on
  and an independent one (another seed, or 25% of the site's patients) to evaluate on; the
  deployed model is the one trained on the training cohort.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from features.catalog import FEATURE_NAMES
from features.snapshot import SNAPSHOT_VERSION
from models.card import render_card
from models.complication import DEFAULT_HORIZON_H, Scored, fit_complication, score
from models.derived import DERIVED_VERSION
from models.estimator import DEFAULT_PARAMS, TreeParams
from models.export import (
    onnx_max_abs_diff,
    reference_values,
    sha256_bytes,
    to_onnx_bytes,
    write_model,
)
from models.history_data import HistoryRows, targets
from models.inputs import InputSpec
from models.manifest import MANIFEST_SCHEMA, Manifest, Metric
from models.physionet_data import PhysionetRows
from models.physionet_eval import OperatingPoint, evaluate
from models.selection import choose_inputs
from models.sepsis import (
    INFECTION_PROCEDURE,
    Calibration,
    Procedure,
    SepsisCV,
    TreeLabel,
    cross_validate,
    fit_sepsis,
)
from scoring.risk import Risk
from simulator.labels import Label

CREATED_BY = "blina-ews models.train"
ESTIMATOR_KIND = (
    "HistGradientBoostingClassifier + CalibratedClassifierCV(sigmoid) on held-out patients"
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _estimator(params: TreeParams) -> dict[str, Any]:
    return {"kind": ESTIMATOR_KIND, **params.as_dict()}


_CALIBRATION_KIND: dict[Calibration, str] = {
    "held-out": ESTIMATOR_KIND,
    "out-of-fold": (
        "HistGradientBoostingClassifier on all training patients + CalibratedClassifierCV"
        "(sigmoid) fitted on inner out-of-fold log-odds of the same trees"
    ),
}


def infection_estimator(procedure: Procedure) -> dict[str, Any]:
    """The manifest's ``estimator`` entry of an infection model fitted by ``procedure`` (its
    ``kind`` says where the calibration came from; out-of-fold calibration holds no stays
    back, so ``calibration_share`` is left out then)."""
    params = procedure.params.as_dict()
    if procedure.calibration == "out-of-fold":
        del params["calibration_share"]
    return {
        "kind": _CALIBRATION_KIND[procedure.calibration],
        **params,
        "tree_label": procedure.tree_label,
    }


_TREE_LABEL_TEXT: dict[TreeLabel, str] = {
    "target": ", which the trees also learn",
    "no-late": "; the trees learn it without the rows after onset + 3 h",
    "utility": (
        "; the trees learn the challenge utility's gain of alerting at each row (alert where "
        "it gains, weighted by how much)"
    ),
}


_THRESHOLD_UTILITY_HOW = {
    False: "utility at the threshold on the deployed model's calibration stays",
    True: "utility at the threshold on the scores that chose it (inner out-of-fold scores of "
    "all training stays)",
}


_INNER_FITS: dict[Calibration, str] = {
    "held-out": "each model fitted like this one",
    "out-of-fold": (
        "each one's trees fitted like this model's; their log-odds also fit its calibration"
    ),
}


def _threshold_method(procedure: Procedure) -> str:
    if procedure.inner_threshold:
        return (
            "maximizes the challenge's normalized utility on out-of-fold probabilities of all "
            f"training stays ({procedure.threshold_folds} inner stay-level folds, "
            f"{_INNER_FITS[procedure.calibration]})"
        )
    return (
        "maximizes the challenge's normalized utility on the 25% of training stays held out "
        "from the trees (they also fit the calibration)"
    )


def _metric(value: float | int | None, how: str) -> Metric:
    return Metric(value=None if value is None else round(float(value), 4), how=how)


def _points_table(points: list[OperatingPoint]) -> str:
    head = (
        "| alerting | utility | AUROC | AUPRC | sensitivity | PPV | alerts/patient-day | "
        "median lead h |\n|---|---|---|---|---|---|---|---|"
    )
    body = []
    for p in points:
        s = p.metrics.summary()
        body.append(
            f"| {p.name} | {p.utility:.3f} | {_fmt(s['auroc'])} | {_fmt(s['auprc'])} | "
            f"{_fmt(s['sensitivity'])} | {_fmt(s['ppv'])} | "
            f"{_fmt(s['alerts_per_patient_day'])} | {_fmt(s['lead_time_median_h'])} |"
        )
    return head + "\n" + "\n".join(body)


PUBLISHED_UTILITY = {
    "challenge winner, full hidden test set": 0.360,
    "challenge winner, hidden test set, hospital B part": 0.434,
    "challenge example logistic-regression model": 0.159,
}
"""Reyna et al., Crit Care Med 2020;48:210 (hidden test set; see the data README)."""


def _reference_points(model: OperatingPoint, folds: int) -> str:
    lines = [
        "## Published reference points",
        "",
        "Normalized utility on the challenge's hidden test set (Reyna et al. 2020). They are "
        f"not directly comparable with this model's {folds}-fold cross-validation on the "
        "public development part of hospital B: other stays, and the challenge's figures "
        "are from a single sealed evaluation.",
        "",
        "| reference | utility |",
        "|---|---|",
        f"| this model ({folds}-fold stay-level CV, hospital B development part) | "
        f"{model.utility:.3f} |",
    ]
    lines += [f"| {name} | {value:.3f} |" for name, value in PUBLISHED_UTILITY.items()]
    return "\n".join(lines)


def _fmt(x: float | int | None) -> str:
    return "-" if x is None else f"{x:.3f}"


@dataclass(frozen=True, slots=True)
class InfectionResult:
    """The deployed infection model's manifest and the cross-validated operating points."""

    manifest: Manifest
    points: list[OperatingPoint]
    cv: SepsisCV


def train_infection(
    rows: PhysionetRows,
    out_dir: Path,
    source: str,
    version: str = "1.0.0",
    folds: int = 5,
    procedure: Procedure = INFECTION_PROCEDURE,
) -> InfectionResult:
    """Cross-validate, fit on all stays, export and document the infection model."""
    spec = choose_inputs(rows.features, rows.columns)
    cv = cross_validate(rows, spec, folds, procedure)
    points = evaluate(rows, cv)
    final = fit_sepsis(rows, spec, None, procedure)
    model_point = points[0]
    s = model_point.metrics.summary()
    how = f"{folds}-fold stay-level CV (GroupKFold), threshold per fold from training stays"
    metrics = {
        "utility": _metric(model_point.utility, f"challenge normalized utility, {how}"),
        "auroc": _metric(s["auroc"], f"row level vs SepsisLabel, {how}"),
        "auprc": _metric(s["auprc"], f"row level vs SepsisLabel, average precision, {how}"),
        "sensitivity": _metric(
            s["sensitivity"], "septic stays with an alert 12 h before to 3 h after onset"
        ),
        "ppv": _metric(
            s["ppv"], "alert runs overlapping that window / alert runs (excl. after it)"
        ),
        "alerts_per_patient_day": _metric(
            s["alerts_per_patient_day"], "alert runs per 24 stay-hours"
        ),
        "lead_time_median_h": _metric(
            s["lead_time_median_h"], "onset minus first alert in the window"
        ),
        "threshold_utility_calibration": _metric(
            final.threshold_utility, _THRESHOLD_UTILITY_HOW[procedure.inner_threshold]
        ),
    }
    for p in points[1:]:
        metrics[f"baseline {p.name} utility"] = _metric(p.utility, "same rows, same utility")
    x_all = spec.from_columns(rows.features, rows.columns)
    onnx = to_onnx_bytes(final.fitted.model, len(spec.names))
    metrics["onnx_max_abs_diff"] = Metric(
        value=onnx_max_abs_diff(final.fitted.model, onnx, x_all[::10]),
        how="max |ONNX - scikit-learn| probability over every 10th training row",
    )
    septic = int(np.unique(rows.groups[rows.labels == 1]).size)
    manifest = Manifest(
        schema=MANIFEST_SCHEMA,
        derived_version=DERIVED_VERSION,
        snapshot_version=SNAPSHOT_VERSION,
        model_id="infection-sepsis-physionet2019",
        risk="infection",
        version=version,
        created_at=_now(),
        created_by=CREATED_BY,
        onnx_file="infection.onnx",
        onnx_sha256=sha256_bytes(onnx),
        features=spec.names,
        catalog_features=spec.catalog,
        derived_features=spec.derived,
        reference_values=reference_values(x_all),
        outcome=(
            "Sepsis-3 onset (PhysioNet 2019 SepsisLabel, which starts 6 h before onset); "
            f"calibrated to the label extended {procedure.shift_h} h earlier"
            + _TREE_LABEL_TEXT[procedure.tree_label]
        ),
        horizon_h=float(6 + procedure.shift_h),
        threshold=final.threshold,
        threshold_method=_threshold_method(procedure),
        training_data={
            "description": (
                f"PhysioNet/CinC 2019 training set B (development part): {len(rows.stay_ids)} "
                f"ICU stays, {len(rows.labels)} hourly rows, {septic} septic stays; one "
                "snapshot per PSV row through adapters.physionet + features.replay"
            ),
            "source": source,
            "stays": len(rows.stay_ids),
            "rows": len(rows.labels),
            "septic_stays": septic,
            "license": "ODbL v1.0 (PhysioNet); Reyna et al., Crit Care Med 2020;48:210",
        },
        estimator=infection_estimator(procedure),
        metrics=metrics,
        synthetic=False,
        license_notes="Trained on ODbL data: attribute PhysioNet/CinC 2019 (Reyna et al. 2020).",
    )
    table = "## Cross-validated operating points (same stays, same rows)\n\n" + _points_table(
        points
    )
    table += "\n\n" + _reference_points(model_point, folds)
    write_model(out_dir, manifest, onnx, render_card(manifest, table))
    return InfectionResult(manifest, points, cv)


@dataclass(frozen=True, slots=True)
class LabelledRows:
    """Rows of a cohort with its labels and a description for the manifest."""

    rows: HistoryRows
    labels: list[Label]
    description: str
    step_h: float


def split_patients(
    data: LabelledRows, test_share: float = 0.25, seed: int = 0
) -> tuple[LabelledRows, LabelledRows]:
    """Split a cohort by patient into training and evaluation parts."""
    r = data.rows
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_share, random_state=seed)
    train, test = next(splitter.split(r.features, groups=r.groups))
    parts = []
    for idx, what in ((np.sort(train), "training"), (np.sort(test), "evaluation")):
        ids = np.unique(r.groups[idx])
        remap = np.full(len(r.patient_ids), -1, dtype=np.int64)
        remap[ids] = np.arange(len(ids))
        rows = HistoryRows(
            patient_ids=tuple(r.patient_ids[i] for i in ids),
            groups=remap[r.groups[idx]],
            times_ms=r.times_ms[idx],
            features=r.features[idx],
        )
        keep = set(rows.patient_ids)
        parts.append(
            LabelledRows(
                rows,
                [lab for lab in data.labels if lab.patient_id in keep],
                f"{data.description} ({what} part, {len(ids)} patients)",
                data.step_h,
            )
        )
    return parts[0], parts[1]


@dataclass(frozen=True, slots=True)
class ComplicationResult:
    """The deployed model's manifest and its evaluation on held-out patients."""

    manifest: Manifest
    scored: Scored


def train_complication(
    risk: Risk,
    train: LabelledRows,
    test: LabelledRows,
    out_dir: Path,
    synthetic: bool,
    version: str = "1.0.0",
    horizon_h: float = DEFAULT_HORIZON_H,
    params: TreeParams = DEFAULT_PARAMS,
) -> ComplicationResult:
    """Fit on ``train``, evaluate on ``test``, export and document the ``risk`` model."""
    t_train = targets(train.rows, train.labels, risk, horizon_h)
    inc = t_train.include
    spec: InputSpec = choose_inputs(train.rows.features[inc], FEATURE_NAMES)
    model = fit_complication(train.rows, t_train, spec, params)
    t_test = targets(test.rows, test.labels, risk, horizon_h)
    scored = score(model, test.rows, t_test, spec, horizon_h, test.step_h)
    s = scored.metrics.summary()
    how = f"held-out patients: {test.description}"
    metrics = {
        "auroc": _metric(s["auroc"], f"row level, {how}"),
        "auprc": _metric(s["auprc"], f"row level, average precision, {how}"),
        "sensitivity": _metric(
            s["sensitivity"], f"episodes with an alert in the {horizon_h:g} h before onset"
        ),
        "ppv": _metric(s["ppv"], "alert runs overlapping such a window / alert runs"),
        "alerts_per_patient_day": _metric(
            s["alerts_per_patient_day"], "alert runs per patient-day (rows outside episodes)"
        ),
        "lead_time_median_h": _metric(
            s["lead_time_median_h"], "onset minus first alert in the window"
        ),
        "row_sensitivity": _metric(s["row_sensitivity"], "rows"),
        "row_ppv": _metric(s["row_ppv"], "rows"),
        "events": _metric(s["events"], "qualifying episodes in the evaluation rows"),
        "threshold_f1_calibration": _metric(
            model.threshold_f1, "F1 at the threshold on calibration patients"
        ),
    }
    idx = np.flatnonzero(inc)
    x_train = spec.from_columns(train.rows.features[idx], FEATURE_NAMES)
    onnx = to_onnx_bytes(model.fitted.model, len(spec.names))
    x_test = spec.from_columns(test.rows.features[t_test.include], FEATURE_NAMES)
    metrics["onnx_max_abs_diff"] = Metric(
        value=onnx_max_abs_diff(model.fitted.model, onnx, x_test[::5]),
        how="max |ONNX - scikit-learn| probability over every 5th evaluation row",
    )
    positives = int(t_train.target[inc].sum())
    name = {"crs": "CRS (ASTCT)", "icans": "ICANS (ASTCT)", "hlh": "HLH/MAS"}.get(risk, risk)
    manifest = Manifest(
        schema=MANIFEST_SCHEMA,
        derived_version=DERIVED_VERSION,
        snapshot_version=SNAPSHOT_VERSION,
        model_id=f"{risk}-{'synthetic' if synthetic else 'site'}",
        risk=risk,
        version=version,
        created_at=_now(),
        created_by=CREATED_BY,
        onnx_file=f"{risk}.onnx",
        onnx_sha256=sha256_bytes(onnx),
        features=spec.names,
        catalog_features=spec.catalog,
        derived_features=spec.derived,
        reference_values=reference_values(x_train),
        outcome=(
            f"onset of a {name} episode whose peak grade is >= 2 within {horizon_h:g} h "
            "(rows inside an episode are not scored in training)"
        ),
        horizon_h=horizon_h,
        threshold=model.threshold,
        threshold_method=(
            "maximizes row-level F1 on the 25% of training patients held out from the trees"
        ),
        training_data={
            "description": train.description,
            "evaluation": test.description,
            "rows": int(inc.sum()),
            "positive_rows": positives,
            "patients": len(train.rows.patient_ids),
            "snapshot_step_h": train.step_h,
        },
        estimator=_estimator(params),
        metrics=metrics,
        synthetic=synthetic,
    )
    write_model(out_dir, manifest, onnx, render_card(manifest))
    return ComplicationResult(manifest, scored)

"""Model cards (Markdown) written from the manifest, so the two never disagree."""

from __future__ import annotations

from models.manifest import Manifest

_PHYSIONET_SOURCE = (
    "Reyna MA, Josef CS, Jeter R, et al. Early Prediction of Sepsis From Clinical Data: the "
    "PhysioNet/Computing in Cardiology Challenge 2019. Crit Care Med 2020;48(2):210-217. "
    "Data: PhysioNet, Open Data Commons Open Database License v1.0 (ODbL). No row of the "
    "data is in this repository; the model and aggregate figures are."
)

_INTENDED = (
    "Decision support only: the probability and its top contributing inputs travel with the "
    "rule grade in one RiskAssessment (models/combine.py); the alert policy and clinicians "
    "decide. The model never acts and never replaces the published criteria."
)


def render_card(m: Manifest, extra: str = "") -> str:
    """The model card of ``m`` (``extra``: more Markdown, e.g. the evaluation table)."""
    td = m.training_data
    if m.synthetic:
        status = (
            "**Synthetic. Not validated on patients.** Trained and evaluated only on the "
            "project's simulated blinatumomab cohort (simulator/); its figures say how well "
            "the model recovers the simulator's own rules, not how it would do in a clinic. "
            "Do not deploy it for patient care before retraining and validating on site data."
        )
    else:
        status = (
            "Trained and cross-validated on real ICU stays (PhysioNet 2019, hospital system "
            "B). Not validated on blinatumomab patients: ICU sepsis is a proxy for infection "
            "after blinatumomab, and the population differs (adult ICU, hourly charting)."
        )
    lines = [
        f"# Model card: {m.model_id} {m.version}",
        "",
        status,
        "",
        "| field | value |",
        "|---|---|",
        f"| risk | `{m.risk}` |",
        f"| outcome | {m.outcome} |",
        f"| horizon | {'-' if m.horizon_h is None else f'{m.horizon_h:g} h'} |",
        f"| estimator | {m.estimator.get('kind', '')} |",
        f"| inputs | {len(m.features)} ({len(m.catalog_features)} catalog features, "
        f"{len(m.derived_features)} derived inputs v{m.derived_version}) |",
        f"| threshold | {m.threshold:.4f}: {m.threshold_method} |",
        f"| training data | {td.get('description', '')} |",
        f"| created | {m.created_at} by {m.created_by} |",
        f"| ONNX | `{m.onnx_file}` sha256 `{m.onnx_sha256[:16]}...` |",
        "",
        "## Intended use",
        "",
        _INTENDED,
        "",
        "## Figures",
        "",
        "| metric | value | how |",
        "|---|---|---|",
    ]
    for name, metric in m.metrics.items():
        value = "-" if metric.value is None else f"{metric.value:g}"
        lines.append(f"| {name} | {value} | {metric.how} |")
    lines += [
        "",
        "## Inputs",
        "",
        "Missing values reach the model as missing (NaN); the trees learned where they go. "
        "Catalog features are computed by `features/` exactly as in the stream; derived "
        "inputs by `models/derived.py` from those values.",
        "",
        ", ".join(f"`{f}`" for f in m.features),
        "",
        "## Limitations",
        "",
        "- Snapshots are replayed in event time: a lab reported late is seen at its "
        "collection time in training, at its arrival in the stream (slight optimism).",
        "- The threshold was chosen on held-out training patients; a site should check it "
        "against its own alert budget (alerts per patient-day) before use.",
    ]
    if "hours_since_first_event" in m.features:
        lines.append(
            "- `hours_since_first_event` was, in training, the hours since the stay's first "
            "charted value (time in the ICU so far, strongly tied to the label in set B); in "
            "a ward feed it is the time since this service first heard of the patient, a "
            "different quantity. Check its distribution at the site before relying on the "
            "model, or retrain without it (`python -m models experiment --without "
            "first_event` measures the model without it)."
        )
    if "hours_since_admission" in m.features:
        lines.append(
            "- `hours_since_admission` and `hours_admitted_before_first_event` come from the "
            "hospital admission time (PatientContext.hospital_admission_ms, contract 1.1; "
            "HospAdmTime in training). In set B the median stay reached the ICU 9 h after "
            "the hospital admission (5% after more than 10 days); blinatumomab patients are "
            "admitted for each cycle's start, days before most complications, a different "
            "pattern. Without an admission time at the site both are missing, which the model "
            "saw in no training row: check the site's feeds send it (an HL7 v2 ADT^A01/A04/A06/A08 "
            "of an inpatient with PV1-44, a FHIR inpatient Encounter, or the canonical JSON "
            "context), or retrain without them (`--without admission` measures the model "
            "without them)."
        )
    if not m.synthetic:
        lines += ["", "## Data source and licence", "", _PHYSIONET_SOURCE]
    if extra:
        lines += ["", extra.rstrip()]
    return "\n".join(lines) + "\n"

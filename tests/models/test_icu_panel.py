"""The PhysioNet ICU-panel columns reach catalog features through the stream's own code, the
experiment groups name real catalog features, and the infection card carries the published
reference points."""

from __future__ import annotations

import math

import pytest

from adapters.physionet import COLUMNS, parse_psv_text
from features.catalog import FEATURE_NAMES, FEATURES, SERIES_BY_SIGNAL
from models.estimator import DEFAULT_PARAMS
from models.experiment import GROUPS, ISSUE6_GROUPS, ExperimentResult, excluded, with_params
from models.manifest import read_manifest
from models.metrics import AlertMetrics
from models.physionet_data import stay_rows, stay_snapshots
from models.physionet_eval import OperatingPoint
from models.serving import ARTIFACTS_DIR

PSV = "\n".join(
    [
        "HR|Temp|BUN|Creatinine|Glucose|pH|HCO3|Potassium|Lactate|Age|Gender|ICULOS|SepsisLabel",
        "88|37.1|18|0.9|110|7.40|24|4.0|1.1|61|1|1|0",
        "92|NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN|61|1|2|0",
        "104|38.4|NaN|NaN|180|7.31|NaN|NaN|3.2|61|1|3|0",
        "118|38.9|36|1.5|NaN|NaN|18|5.1|NaN|61|1|4|1",
    ]
)


def test_every_physionet_measurement_column_has_a_catalog_series() -> None:
    assert [c for c, (signal, _) in COLUMNS.items() if signal not in SERIES_BY_SIGNAL] == []


def test_icu_panel_features_from_psv_rows() -> None:
    snaps = stay_snapshots(parse_psv_text(PSV, "p000001"))
    first, last = snaps[0], snaps[-1]
    assert first.get("bun_last") == 18.0
    assert first.get("bun_creatinine_ratio") == pytest.approx(20.0)
    assert first.get("creatinine_delta_48h") is None  # one reading: no change known
    assert last.get("creatinine_delta_48h") == pytest.approx(0.6)
    assert last.get("bun_creatinine_ratio") == pytest.approx(24.0)
    assert last.get("hco3_delta_48h") == pytest.approx(-6.0)
    assert last.get("lactate_delta_24h") == pytest.approx(2.1)
    assert last.get("ph_last") == 7.31
    assert last.get("ph_age_h") == 1.0
    assert last.get("hr_readings_24h") == 4.0
    assert last.get("temp_readings_24h") == 3.0
    assert last.get("glucose_readings_72h") == 2.0
    assert snaps[1].get("glucose_readings_72h") == 1.0
    # Never measured in this stay: missing, not zero.
    assert last.get("troponin_i_last") is None
    assert last.get("ptt_age_h") is None


def test_training_rows_carry_the_icu_panel_as_nan_when_missing() -> None:
    rows = stay_rows(("p000001", PSV))
    col = FEATURE_NAMES.index("glucose_last")
    assert rows.features[0, col] == 110.0
    assert math.isnan(rows.features[0, FEATURE_NAMES.index("troponin_i_last")])


def test_experiment_groups_name_catalog_features() -> None:
    for group in ISSUE6_GROUPS:
        names = excluded(FEATURE_NAMES, [group])
        assert names, group
        assert all(n in FEATURES for n in names)
    panel = set(excluded(FEATURE_NAMES, ["icu_panel"]))
    assert {"bun_last", "glucose_age_h", "bun_creatinine_ratio"} <= panel
    assert "creatinine_last" not in panel  # read before issue #6: not part of the group
    assert set(excluded(FEATURE_NAMES, ["readings"])) == {
        n for n in FEATURE_NAMES if FEATURES[n].aggregate == "readings"
    }
    with pytest.raises(KeyError):
        excluded(FEATURE_NAMES, ["no-such-group"])
    assert set(GROUPS) >= set(ISSUE6_GROUPS)


def test_experiment_record_keeps_the_experiment_name() -> None:
    metrics = AlertMetrics(
        auroc=0.8, auprc=0.1, row_sensitivity=0.4, row_ppv=0.05, events=10, detected=5,
        sensitivity=0.5, alerts=20, true_alerts=2, ppv=0.1, patient_days=50.0,
        alerts_per_patient_day=0.4, lead_time_median_h=8.0, lead_time_iqr_h=(7.0, 9.0),
        lead_times_h=(8.0,),
    )  # fmt: skip
    result = ExperimentResult("without readings", 150, [OperatingPoint("model", 0.3, metrics)], 1.0)
    record = result.record()
    assert record["name"] == "without readings" and record["point"] == "model"
    assert record["utility"] == 0.3 and record["inputs"] == 150


def test_with_params_replaces_only_what_is_given() -> None:
    p = with_params(DEFAULT_PARAMS, max_iter=500)
    assert p.max_iter == 500
    assert p.learning_rate == DEFAULT_PARAMS.learning_rate
    assert with_params(DEFAULT_PARAMS) == DEFAULT_PARAMS


def test_committed_infection_model_reads_the_icu_panel() -> None:
    manifest = read_manifest(ARTIFACTS_DIR / "infection.manifest.json")
    panel = set(excluded(manifest.catalog_features, ["icu_panel"]))
    assert {"bun_last", "glucose_last", "ph_last", "hco3_last"} <= panel
    assert set(excluded(manifest.catalog_features, ["readings"]))
    card = (ARTIFACTS_DIR / "infection.card.md").read_text(encoding="utf-8")
    assert "## Published reference points" in card
    assert "0.434" in card and "0.159" in card

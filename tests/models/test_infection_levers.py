"""Issue #6 levers of the infection model: time under observation as a catalog feature
(through the adapter and the stream's state), and the positive-class weight of the trees."""

from __future__ import annotations

import numpy as np

from features.catalog import FEATURE_NAMES, FEATURES
from models.estimator import TreeParams, fit, probabilities
from models.experiment import GROUPS, excluded, with_params
from models.physionet_data import stay_rows
from tests.models.helpers import SMALL, training_rows

PSV = "\n".join(
    [
        "HR|Temp|Age|Gender|ICULOS|SepsisLabel",
        "NaN|NaN|70|0|3|0",  # admission row: demographics only, nothing charted yet
        "88|NaN|70|0|4|0",
        "NaN|NaN|70|0|5|0",
        "101|38.3|70|0|9|1",
    ]
)


def test_hours_since_first_event_follows_the_stays_first_charted_value() -> None:
    rows = stay_rows(("p1", PSV))
    column = rows.features[:, FEATURE_NAMES.index("hours_since_first_event")]
    assert np.isnan(column[0])  # only the patient context so far: no event has started it
    assert column[1:].tolist() == [0.0, 1.0, 5.0]


def test_first_event_group_is_the_catalog_feature() -> None:
    assert "hours_since_first_event" in FEATURES
    assert excluded(FEATURE_NAMES, ["first_event"]) == ("hours_since_first_event",)
    assert not any(GROUPS["first_event"](n) for n in FEATURE_NAMES if n.endswith("_age_h"))


def test_positive_weight_changes_the_trees_and_nothing_else() -> None:
    x, y, groups = training_rows(3)
    plain = fit(x, y, groups, SMALL)
    same = fit(x, y, groups, with_params(SMALL, positive_weight=1.0))
    heavy = fit(x, y, groups, with_params(SMALL, positive_weight=5.0))
    assert np.array_equal(probabilities(plain.model, x), probabilities(same.model, x))
    assert np.array_equal(plain.calibration_rows, heavy.calibration_rows)
    raw_plain = plain.model.estimator.predict_proba(x)[:, 1]
    raw_heavy = heavy.model.estimator.predict_proba(x)[:, 1]
    assert raw_heavy.mean() > raw_plain.mean() + 0.05  # the trees lean to the positives
    assert TreeParams().positive_weight == 1.0


def test_committed_infection_model_reads_time_under_observation() -> None:
    from models.manifest import read_manifest
    from models.sepsis import INFECTION_PARAMS
    from models.serving import ARTIFACTS_DIR

    manifest = read_manifest(ARTIFACTS_DIR / "infection.manifest.json")
    assert "hours_since_first_event" in manifest.catalog_features
    assert manifest.estimator["max_leaf_nodes"] == INFECTION_PARAMS.max_leaf_nodes
    assert manifest.estimator["min_samples_leaf"] == INFECTION_PARAMS.min_samples_leaf
    card = (ARTIFACTS_DIR / "infection.card.md").read_text(encoding="utf-8")
    assert "`hours_since_first_event` was, in training" in card

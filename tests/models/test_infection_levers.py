"""Issue #6 levers of the infection model: time under observation as a catalog feature
(through the adapter and the stream's state), the positive-class weight of the trees, early
stopping on held-out patients, and the experiment's per-fold and paired comparisons."""

from __future__ import annotations

import numpy as np

from features.catalog import FEATURE_NAMES, FEATURES
from models.estimator import TreeParams, fit, probabilities, tree_count
from models.experiment import (
    GROUPS,
    blend,
    excluded,
    fold_utilities,
    nested_threshold_utility,
    paired_bootstrap,
    trailing_mean,
    with_params,
)
from models.physionet_data import PhysionetRows, stay_rows
from models.sepsis import SepsisCV
from models.utility import best_alerts, normalized_utility
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


def test_hospital_admission_time_reaches_the_rows_through_the_adapter() -> None:
    """HospAdmTime -> PatientContext.hospital_admission_ms -> the two catalog durations."""
    psv = PSV.replace("|ICULOS|", "|HospAdmTime|ICULOS|").replace("|0|3|", "|0|-20.5|3|")
    psv = psv.replace("|0|4|", "|0|-20.5|4|").replace("|0|5|", "|0|-20.5|5|")
    rows = stay_rows(("p1", psv.replace("|0|9|", "|0|-20.5|9|")))
    since = rows.features[:, FEATURE_NAMES.index("hours_since_admission")]
    before = rows.features[:, FEATURE_NAMES.index("hours_admitted_before_first_event")]
    assert since.tolist() == [23.5, 24.5, 25.5, 29.5]  # ICULOS - HospAdmTime
    assert np.isnan(before[0])  # no event yet
    assert before[1:].tolist() == [24.5] * 3  # first charted ICULOS (4) - HospAdmTime
    assert excluded(FEATURE_NAMES, ["admission"]) == (
        "hours_since_admission",
        "hours_admitted_before_first_event",
    )


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
    assert {"hours_since_admission", "hours_admitted_before_first_event"} <= set(
        manifest.catalog_features
    )
    assert "`hours_since_admission` and" in card


def test_committed_infection_model_was_trained_by_the_current_procedure() -> None:
    """The artifact records the trees' label and how its threshold was chosen; both match
    what ``train`` does now (a changed procedure needs a retrained model)."""
    from models.manifest import read_manifest
    from models.sepsis import INFECTION_PROCEDURE
    from models.serving import ARTIFACTS_DIR
    from models.train import _threshold_method, infection_estimator

    deployed = INFECTION_PROCEDURE
    manifest = read_manifest(ARTIFACTS_DIR / "infection.manifest.json")
    assert manifest.estimator == infection_estimator(deployed)
    assert manifest.threshold_method == _threshold_method(deployed)
    assert manifest.horizon_h == 6 + deployed.shift_h


def test_early_stopping_holds_out_whole_patients_and_stops_the_trees() -> None:
    x, y, groups = training_rows(4)
    long = with_params(SMALL, max_iter=300, learning_rate=0.3)
    plain = fit(x, y, groups, long)
    stopped = fit(x, y, groups, with_params(long, early_stopping_share=0.2, n_iter_no_change=3))
    assert tree_count(plain.model) == 300
    assert tree_count(stopped.model) < 300
    # the calibration patients are the same: early stopping only takes tree-training ones
    assert np.array_equal(plain.calibration_rows, stopped.calibration_rows)
    assert TreeParams().early_stopping_share == 0.0


def test_fold_utilities_score_each_folds_held_out_stays() -> None:
    labels = np.array([0, 0, 1, 1, 0, 0, 0, 0, 1, 1], dtype=np.int8)
    groups = np.repeat(np.arange(4), [4, 2, 2, 2])
    best = best_alerts(labels, groups)
    fold = np.repeat(np.array([0, 1, 0, 1]), [4, 2, 2, 2])
    cv = SepsisCV(np.zeros(10), best, fold, (0.5, 0.5), (1.0, 1.0))
    rows = PhysionetRows(
        stay_ids=("a", "b", "c", "d"),
        groups=groups,
        features=np.zeros((10, len(FEATURE_NAMES)), dtype=np.float32),
        labels=labels,
        iculos=np.zeros(10, dtype=np.float32),
        rules=np.zeros((10, 3), dtype=np.float32),
    )
    assert fold_utilities(rows, cv) == (1.0, 1.0)


def test_paired_bootstrap_of_a_run_against_itself_and_against_the_best() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(20, 60, 80)
    groups = np.repeat(np.arange(80), sizes)
    labels = np.zeros(groups.size, dtype=np.int8)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    for s, n in zip(starts[::4], sizes[::4], strict=True):
        labels[s + n - 5 : s + n] = 1  # every 4th stay turns septic 5 h before its end
    noisy = rng.random(groups.size) < 0.2
    best = best_alerts(labels, groups)
    same = paired_bootstrap(labels, groups, noisy, noisy, n=200)
    assert same.difference == same.low == same.high == 0.0
    gain = paired_bootstrap(labels, groups, noisy, best, n=200)
    expected = 1.0 - normalized_utility(labels, groups, noisy)
    assert abs(gain.difference - expected) < 1e-12
    assert gain.low <= gain.difference <= gain.high and gain.share_above_zero == 1.0


def _stays(n: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stays of 20-60 h; every 4th turns septic 5 h before its end."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 60, n)
    groups = np.repeat(np.arange(n), sizes)
    labels = np.zeros(groups.size, dtype=np.int8)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    for s, size in zip(starts[::4], sizes[::4], strict=True):
        labels[s + size - 5 : s + size] = 1
    return labels, groups


def test_nested_threshold_utility_prices_in_the_threshold() -> None:
    labels, groups = _stays()
    perfect = best_alerts(labels, groups).astype(float)
    assert nested_threshold_utility(labels, groups, perfect) == 1.0
    noise = np.random.default_rng(1).random(labels.size)
    # pure noise: the best threshold in hindsight scores above 0 on these very rows, a
    # threshold chosen on other stays does not
    from models.utility import best_threshold

    assert best_threshold(labels, groups, noise)[1] > nested_threshold_utility(
        labels, groups, noise
    )


def test_trailing_mean_stays_within_each_stay() -> None:
    groups = np.array([0, 0, 0, 1, 1])
    scores = np.array([1.0, 2.0, 6.0, 10.0, 20.0])
    assert trailing_mean(scores, groups, 1).tolist() == scores.tolist()
    assert trailing_mean(scores, groups, 2).tolist() == [1.0, 1.5, 4.0, 10.0, 15.0]
    assert trailing_mean(scores, groups, 3).tolist() == [1.0, 1.5, 3.0, 10.0, 15.0]


def test_blending_independent_noisy_runs_beats_its_members() -> None:
    labels, groups = _stays(200, seed=2)
    signal = best_alerts(labels, groups).astype(float)
    rng = np.random.default_rng(3)
    runs = [signal + rng.normal(0.0, 0.8, labels.size) for _ in range(4)]
    result = blend(labels, groups, runs)
    assert len(result.members) == 4
    assert result.average > max(result.members)
    same = blend(labels, groups, [runs[0], runs[0]])
    assert same.average == same.members[0] == same.members[1]


def test_experiment_command_takes_the_new_knobs() -> None:
    from models.__main__ import _TREE_FIELDS, build_parser
    from models.sepsis import INFECTION_PARAMS

    args = build_parser().parse_args(
        ["experiment", "--early-stopping-share", "0.15", "--seed", "1", "--oof", "x.npz"]
    )
    params = with_params(INFECTION_PARAMS, **{f: getattr(args, f) for f in _TREE_FIELDS})
    assert params.early_stopping_share == 0.15 and params.seed == 1
    assert params.max_leaf_nodes == INFECTION_PARAMS.max_leaf_nodes
    assert str(args.oof) == "x.npz"
    bl = build_parser().parse_args(["blend", "a.npz", "b.npz", "--hours", "2"])
    assert [str(p) for p in bl.runs] == ["a.npz", "b.npz"] and bl.hours == 2
    cmp = build_parser().parse_args(["compare", "a.npz", "b.npz"])
    assert (str(cmp.a), str(cmp.b), cmp.resamples) == ("a.npz", "b.npz", 2000)

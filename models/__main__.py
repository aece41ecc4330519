"""Command line of the learned layer.

    python -m models train --all --out models/artifacts [--physionet TAR]
    python -m models train --risk infection --physionet TAR --out DIR
    python -m models train --risk crs --events events.jsonl --labels labels.csv --out DIR
    python -m models report --out DIR
    python -m models experiment [--without GROUP ...] [--folds K] [--max-iter N ...] [--oof NPZ]
    python -m models compare A.npz B.npz
    python -m models.bench

``train`` writes ``<risk>.onnx``, ``<risk>.manifest.json`` and ``<risk>.card.md`` per risk
and keeps the row-level evaluation results under ``var/models-cache/eval`` (never
committed: the PhysioNet ones derive from ODbL data) for ``report``. ``experiment``
cross-validates the infection model only (nothing exported), with catalog feature groups
left out or tree parameters changed (``models/experiment.py``); ``compare`` gives the
utility difference of two experiments kept with ``--oof``, with a paired stay bootstrap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from models.cohorts import STEP_H, TEST_SEED, TRAIN_SEED, cohort, describe
from models.complication import COMPLICATION_RISKS, DEFAULT_HORIZON_H
from models.evalstore import DEFAULT_EVAL_DIR, save_complication, save_infection
from models.experiment import (
    DEFAULT_LOG,
    GROUPS,
    blend,
    load_alerts,
    load_probabilities,
    log_result,
    paired_bootstrap,
    run_experiment,
    with_params,
)
from models.physionet_data import DEFAULT_CACHE, load_rows
from models.sepsis import CALIBRATIONS, INFECTION_PROCEDURE, TREE_LABELS, Procedure
from models.train import LabelledRows, split_patients, train_complication, train_infection
from scoring.risk import RISKS, Risk

DEFAULT_PHYSIONET = Path("/work/shared/data/physionet2019/training_setB_dev.tar.gz")
RISK_CHOICES = ("infection", *COMPLICATION_RISKS)


_TREE_FIELDS: dict[str, type] = {
    "max_iter": int,
    "max_leaf_nodes": int,
    "min_samples_leaf": int,
    "learning_rate": float,
    "l2_regularization": float,
    "max_features": float,
    "positive_weight": float,
    "early_stopping_share": float,
    "n_iter_no_change": int,
    "calibration_share": float,
    "seed": int,
}
"""The tree parameters ``experiment`` can override (``--max-iter`` ...), with their types
(``--seed`` also reshuffles the folds and the calibration split: fresh folds to re-check a
variant chosen on the default ones)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train, evaluate, export and document models")
    which = tr.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every risk")
    which.add_argument("--risk", choices=RISK_CHOICES)
    tr.add_argument("--out", type=Path, required=True, help="artifacts folder")
    tr.add_argument("--physionet", type=Path, default=DEFAULT_PHYSIONET, help="challenge .tar.gz")
    tr.add_argument("--limit", type=int, default=None, help="use only the first N stays")
    tr.add_argument("--events", type=Path, help="site data: canonical events (JSON lines)")
    tr.add_argument("--labels", type=Path, help="site data: labels CSV (simulator columns)")
    tr.add_argument("--n-train", type=int, default=1200, help="synthetic training patients")
    tr.add_argument("--n-test", type=int, default=400, help="synthetic evaluation patients")
    tr.add_argument("--horizon-h", type=float, default=DEFAULT_HORIZON_H)
    tr.add_argument("--version", default="1.0.0")
    tr.add_argument("--folds", type=int, default=5)
    tr.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    ex = sub.add_parser("experiment", help="infection-only CV experiment (nothing exported)")
    ex.add_argument("--physionet", type=Path, default=DEFAULT_PHYSIONET, help="challenge .tar.gz")
    ex.add_argument("--limit", type=int, default=None, help="use only the first N stays")
    ex.add_argument("--folds", type=int, default=5)
    ex.add_argument(
        "--without", action="append", default=[], choices=sorted(GROUPS), help="leave out"
    )
    ex.add_argument("--name", default=None, help="label in the experiment log")
    ex.add_argument("--shift-h", type=int, default=INFECTION_PROCEDURE.shift_h)
    ex.add_argument(
        "--tree-label",
        choices=TREE_LABELS,
        default=INFECTION_PROCEDURE.tree_label,
        help="what the trees learn (models.sepsis.TreeLabel; 'target' up to model 1.3.0); "
        "calibration keeps the target",
    )
    ex.add_argument(
        "--threshold-folds",
        type=int,
        default=INFECTION_PROCEDURE.threshold_folds,
        help="choose each fold's threshold on inner out-of-fold scores of all its training "
        "stays (K more fits per fold; 0: on its calibration stays, as up to model 1.3.0)",
    )
    ex.add_argument(
        "--calibration",
        choices=CALIBRATIONS,
        default=INFECTION_PROCEDURE.calibration,
        help="fit the Platt map on a held-out quarter of the stays, or on the inner "
        "out-of-fold scores of all of them (the trees then learn from every stay; needs "
        "--threshold-folds >= 2)",
    )
    for field, kind in _TREE_FIELDS.items():
        ex.add_argument(f"--{field.replace('_', '-')}", type=kind, default=None)
    ex.add_argument("--log", type=Path, default=DEFAULT_LOG)
    ex.add_argument(
        "--oof", type=Path, default=None, help="keep out-of-fold results (.npz, under var/)"
    )
    cmp = sub.add_parser("compare", help="utility of experiment B minus A (paired bootstrap)")
    cmp.add_argument("a", type=Path, help="--oof file of the reference run")
    cmp.add_argument("b", type=Path, help="--oof file of the variant")
    cmp.add_argument("--physionet", type=Path, default=DEFAULT_PHYSIONET)
    cmp.add_argument("--limit", type=int, default=None)
    cmp.add_argument("--resamples", type=int, default=2000)
    bl = sub.add_parser(
        "blend", help="utility of averaging experiment runs (threshold chosen on other stays)"
    )
    bl.add_argument("runs", type=Path, nargs="+", help="--oof files (different fold draws)")
    bl.add_argument("--physionet", type=Path, default=DEFAULT_PHYSIONET, help="challenge .tar.gz")
    bl.add_argument("--limit", type=int, default=None, help="use only the first N stays")
    bl.add_argument("--hours", type=int, default=1, help="average each score over the last N h")
    rep = sub.add_parser("report", help="evaluation report (Markdown + PNG)")
    rep.add_argument("--out", type=Path, required=True)
    rep.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    rep.add_argument("--artifacts", type=Path, default=Path("models/artifacts"))
    return parser


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _risk(name: str) -> Risk:
    for risk in RISKS:
        if risk == name:
            return risk
    raise SystemExit(f"unknown risk {name!r}")


def _train(args: argparse.Namespace) -> int:
    risks = RISK_CHOICES if args.all else (args.risk,)
    site = args.events is not None or args.labels is not None
    if site and (args.events is None or args.labels is None):
        raise SystemExit("--events and --labels go together")
    if site and "infection" in risks:
        raise SystemExit("site data trains crs, icans or hlh; infection trains on --physionet")
    if "infection" in risks:
        _say(f"infection: building rows from {args.physionet} (cached in {DEFAULT_CACHE})")
        rows = load_rows(args.physionet, args.limit)
        result = train_infection(rows, args.out, str(args.physionet.name), args.version, args.folds)
        save_infection(args.eval_dir, rows, result)
        for p in result.points:
            _say(f"  {p.name}: utility {p.utility:.3f} {p.metrics.summary()}")
    others = [r for r in risks if r != "infection"]
    if not others:
        return 0
    if site:
        from models.site_data import site_rows

        rows_all, labels = site_rows(args.events, args.labels, STEP_H)
        data = LabelledRows(rows_all, labels, f"site data {args.events.name}", STEP_H)
        train, test = split_patients(data)
        synthetic = False
    else:
        from models.synthetic import cohort_rows

        cfg_train, cfg_test = cohort(args.n_train, TRAIN_SEED), cohort(args.n_test, TEST_SEED)
        _say(f"synthetic cohorts: {args.n_train} + {args.n_test} patients")
        r_train, l_train = cohort_rows(cfg_train, STEP_H)
        r_test, l_test = cohort_rows(cfg_test, STEP_H)
        train = LabelledRows(r_train, l_train, describe(cfg_train), STEP_H)
        test = LabelledRows(r_test, l_test, describe(cfg_test), STEP_H)
        synthetic = True
    for risk in others:
        done = train_complication(
            _risk(risk), train, test, args.out, synthetic, args.version, args.horizon_h
        )
        save_complication(args.eval_dir, risk, done)
        _say(f"  {risk}: {done.scored.metrics.summary()}")
    return 0


def _experiment(args: argparse.Namespace) -> int:
    params = with_params(INFECTION_PROCEDURE.params, **{f: getattr(args, f) for f in _TREE_FIELDS})
    try:  # before the rows are built: a bad combination fails at once
        procedure = Procedure(
            params, args.shift_h, args.tree_label, args.threshold_folds, args.calibration
        )
    except ValueError as exc:
        raise SystemExit(f"models experiment: {exc}") from None
    rows = load_rows(args.physionet, args.limit)
    result = run_experiment(rows, args.without, args.folds, procedure, args.name, args.oof)
    log_result(result, args.log)
    for p in result.points:
        _say(f"  {p.name}: utility {p.utility:.3f} {p.metrics.summary()}")
    folds = ", ".join(f"{u:.3f}" for u in result.fold_utilities)
    _say(f"  per fold: {folds}; trees per fold: {list(result.iterations)}")
    _say(f"{result.name}: {result.inputs} inputs, {result.seconds:.0f} s (logged to {args.log})")
    return 0


def _compare(args: argparse.Namespace) -> int:
    rows = load_rows(args.physionet, args.limit)
    a, b = load_alerts(args.a), load_alerts(args.b)
    if a.shape != rows.labels.shape or b.shape != rows.labels.shape:
        raise SystemExit("the runs and the rows differ in length: not the same stays")
    d = paired_bootstrap(rows.labels, rows.groups, a, b, args.resamples)
    _say(
        f"utility B - A: {d.difference:+.4f} (95% paired bootstrap {d.low:+.4f} to "
        f"{d.high:+.4f}; B ahead in {d.share_above_zero:.0%} of {args.resamples} resamples)"
    )
    return 0


def _blend(args: argparse.Namespace) -> int:
    rows = load_rows(args.physionet, args.limit)
    runs = [load_probabilities(path) for path in args.runs]
    if any(r.shape != rows.labels.shape for r in runs):
        raise SystemExit("the runs and the rows differ in length: not the same stays")
    result = blend(rows.labels, rows.groups, runs, args.hours)
    for path, utility in zip(args.runs, result.members, strict=True):
        _say(f"  {path.name}: utility {utility:.4f}")
    _say(
        f"average of {len(runs)}: utility {result.average:.4f} (members' mean "
        f"{sum(result.members) / len(runs):.4f}; thresholds chosen on the other stays)"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return _train(args)
    if args.command == "experiment":
        return _experiment(args)
    if args.command == "compare":
        return _compare(args)
    if args.command == "blend":
        return _blend(args)
    from models.report import write_report

    path = write_report(args.out, args.eval_dir, args.artifacts)
    _say(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

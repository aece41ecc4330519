"""Command line: ``python -m simulator generate ...`` and ``python -m simulator report ...``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from simulator.calibration import calibration_report, markdown_table
from simulator.config import CohortConfig
from simulator.generate import FORMATS, generate


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so the ``ews`` CLI can mount the same options)."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic cohort")
    gen.add_argument("--n", type=int, default=100, help="patients")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--cycles", type=int, default=1)
    gen.add_argument("--profile", choices=("real_world", "trial"), default="real_world")
    gen.add_argument("--vitals", choices=("ward", "monitor"), default="ward")
    gen.add_argument(
        "--ward-interval-h", type=float, nargs=2, default=(1.0, 4.0), metavar=("UNWELL", "WELL")
    )
    gen.add_argument("--monitor-interval-s", type=float, default=60.0)
    gen.add_argument("--enrollment-days", type=float, default=180.0)
    gen.add_argument(
        "--formats", default=",".join(FORMATS), help="comma-separated: " + ",".join(FORMATS)
    )
    gen.add_argument("--out", type=Path, required=True)

    rep = sub.add_parser("report", help="write the calibration report and plots")
    rep.add_argument("--n", type=int, default=2000)
    rep.add_argument("--seed", type=int, default=20250101)
    rep.add_argument("--cycles", type=int, default=2)
    rep.add_argument("--profile", choices=("real_world", "trial"), default="real_world")
    rep.add_argument("--no-timing", action="store_true", help="skip the generation timing")
    rep.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "generate":
        config = CohortConfig(
            n_patients=args.n,
            seed=args.seed,
            cycles=args.cycles,
            profile=args.profile,
            vitals_mode=args.vitals,
            ward_interval_h=tuple(args.ward_interval_h),
            monitor_interval_s=args.monitor_interval_s,
            enrollment_days=args.enrollment_days,
        )
        formats = [f.strip() for f in args.formats.split(",") if f.strip()]
        summary = generate(config, args.out, formats)
        json.dump({k: v for k, v in summary.items() if k != "config"}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    figures = calibration_report(
        n=args.n,
        seed=args.seed,
        out_dir=args.out,
        profile=args.profile,
        cycles=args.cycles,
        timing=not args.no_timing,
    )
    sys.stdout.write(markdown_table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m faults report --out var/faults [--quick]``: run the fault scenarios and print
the report (exit 1 when any scenario fails)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from faults.scenarios import FULL, QUICK, SCENARIOS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("report", help="run every fault scenario and write the report")
    p.add_argument("--out", type=Path, default=Path("var/faults"))
    p.add_argument("--quick", action="store_true", help="fewer patients, a 30 s pager outage")
    p.add_argument("--only", help=f"comma-separated scenarios of: {', '.join(SCENARIOS)}")
    p.add_argument("--patients", type=int, help="cohort size")
    p.add_argument("--pager-outage-s", type=float, help="pager outage length (s)")
    p.add_argument("--pager-outage-mode", choices=["503", "refuse"])
    p.add_argument("--pager-max-attempts", type=int, help="EWS_PAGER_MAX_ATTEMPTS in the outage")
    args = parser.parse_args(argv)

    from faults.report import report

    profile = QUICK if args.quick else FULL
    changes = {
        "patients": args.patients,
        "pager_outage_s": args.pager_outage_s,
        "pager_outage_mode": args.pager_outage_mode,
        "pager_max_attempts": args.pager_max_attempts,
    }
    profile = dataclasses.replace(profile, **{k: v for k, v in changes.items() if v is not None})
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    unknown = set(only or ()) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    results = report(args.out, profile, only)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m load_tests``: the load-test harness (report, generate, latency)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["generate"]:
        from load_tests.generate import main as generate_main

        return generate_main(args_list[1:])
    ap = argparse.ArgumentParser(prog="python -m load_tests", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="send a workload to a running broker (see --help)")
    rep = sub.add_parser("report", help="run every measurement and write the report")
    rep.add_argument("--out", type=Path, default=Path("var/load-tests"))
    rep.add_argument("--quick", action="store_true", help="small sizes (~3 minutes)")
    rep.add_argument("--py-spy", default=None, help="path of py-spy: profile the worker")
    lat = sub.add_parser("latency", help="only the latency probe (own broker)")
    lat.add_argument("--out", type=Path, default=Path("var/load-tests"))
    lat.add_argument("--rate", type=float, default=5000.0)
    lat.add_argument("--duration", type=float, default=60.0)
    lat.add_argument("--output", choices=("canonical", "alerts"), default="canonical")
    lat.add_argument("--linger-ms", type=int, default=5, help="load producers' batching wait")
    lat.add_argument(
        "--floor", action="store_true", help="no worker: the broker and clients alone (one hop)"
    )
    args = ap.parse_args(args_list)
    if args.command == "report":
        from load_tests.report import run_report

        print(run_report(args.out, quick=args.quick, py_spy=args.py_spy))
        return 0
    from load_tests.latency import run_broker_floor, run_latency
    from streams.broker import EmbeddedBroker

    args.out.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log_path=args.out / "broker.log") as broker:
        if args.floor:
            res = run_broker_floor(
                broker.bootstrap, rate=args.rate, duration_s=args.duration, linger_ms=args.linger_ms
            )
        else:
            res = run_latency(
                broker.bootstrap,
                args.out,
                rate=args.rate,
                duration_s=args.duration,
                output=args.output,
                linger_ms=args.linger_ms,
            )
    qs = ", ".join(f"p{q} {res.percentile(q):,.0f} ms" for q in (50, 95, 99))
    print(f"{len(res.latencies_ms)} outputs on {res.output}: {qs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``ews``: the service's command line (broker, worker, demo, replay, burden, settings)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_broker(args: argparse.Namespace) -> int:
    from streams.broker import EmbeddedBroker

    broker = EmbeddedBroker(port=args.port)
    broker.start()
    print(f"Tansu broker on {broker.bootstrap} (pid {broker.pid}); Ctrl-C stops it", flush=True)
    try:
        broker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from ews.logs import configure_logging, faust_worker
    from ews.settings import Settings
    from streams.app import Service, freeze_startup_objects

    settings = Settings()
    configure_logging(settings.log_level)
    service = Service(settings)
    freeze_startup_objects()
    faust_worker(service.app, settings.log_level).execute_from_commandline()
    return 0


def _cmd_settings(args: argparse.Namespace) -> int:
    from ews.settings import describe

    for env, default, doc in describe():
        print(f"{env}={default}\n    {doc}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ews.demo import run_demo

    return run_demo(
        patients=args.patients,
        speedup=args.speedup,
        duration_s=args.duration,
        seed=args.seed,
    )


def _cmd_replay(args: argparse.Namespace) -> int:
    from ews.replay import run_replay

    return run_replay(
        path=args.path,
        fmt=args.format,
        out=args.out,
        publish=args.publish,
        detail=args.detail,
    )


def _cmd_burden(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ews.burden import run_burden

    return run_burden(
        args.n,
        Path(args.out),
        seed=args.seed,
        workers=args.workers,
        source=Path(args.source) if args.source else None,
        policy=Path(args.policy) if args.policy else None,
        baseline=not args.no_baseline,
    )


SIMULATOR_COMMANDS = ("generate", "report")


def build_parser() -> argparse.ArgumentParser:
    """The ``ews`` argument parser."""
    parser = argparse.ArgumentParser(prog="ews", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("broker", help="run the embedded Tansu broker on loopback")
    p.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    p.set_defaults(func=_cmd_broker)

    p = sub.add_parser("worker", help="run a stream worker (settings from EWS_* variables)")
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("settings", help="list every setting, its variable and default")
    p.set_defaults(func=_cmd_settings)

    p = sub.add_parser("demo", help="broker + worker + synthetic cohort, until Ctrl-C")
    p.add_argument("--patients", type=int, default=40)
    p.add_argument(
        "--speedup", type=float, default=3600.0, help="simulated seconds per wall second"
    )
    p.add_argument("--duration", type=float, default=0.0, help="stop after N s (0: Ctrl-C)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)

    # Listed for --help; main() hands their arguments to the simulator's own parser.
    sub.add_parser("generate", help="write a synthetic cohort (JSON lines, FHIR, HL7 v2, labels)")
    sub.add_parser("report", help="simulator calibration report: figures beside references")

    p = sub.add_parser(
        "burden", help="alert burden of the policy on a synthetic cohort (real pipeline)"
    )
    p.add_argument("--n", type=int, default=2000, help="patients")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--out", default="var/burden", help="output folder")
    p.add_argument("--workers", type=int, default=None, help="processes (default 2)")
    p.add_argument(
        "--from", dest="source", default=None, help="re-evaluate a saved assessments.msgpack"
    )
    p.add_argument("--policy", default=None, help="policy JSON (default: DEFAULT_POLICY)")
    p.add_argument(
        "--no-baseline", action="store_true", help="do not also report policy 1.0 (before)"
    )
    p.set_defaults(func=_cmd_burden)

    p = sub.add_parser("replay", help="score or publish recorded input files")
    p.add_argument("path", help="a file or directory")
    p.add_argument(
        "--format",
        choices=["json", "fhir", "hl7v2", "physionet"],
        required=True,
        help="input format (json = canonical JSON lines)",
    )
    p.add_argument("--out", help="offline: write one JSON line per input message here")
    p.add_argument("--publish", action="store_true", help="publish to the input topics")
    p.add_argument("--detail", action="store_true", help="offline: write whole rule assessments")
    p.set_defaults(func=_cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ews`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SIMULATOR_COMMANDS:
        from simulator.__main__ import main as simulator_main

        return simulator_main(argv)
    args = build_parser().parse_args(argv)
    if args.command == "worker":
        # Faust's worker parses sys.argv itself; leave it only the program name.
        sys.argv = sys.argv[:1]
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

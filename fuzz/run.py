"""Coverage-guided fuzzing with atheris (libFuzzer): ``python -m fuzz.run TARGET --seconds N``.

Targets are those of :data:`fuzz.targets.TARGETS` (``--list`` prints them). The run reads the
committed corpus ``fuzz/corpus/<target>/`` and grows a working corpus in
``var/fuzz/<target>/corpus`` (not committed); a failing input is written to
``var/fuzz/<target>/findings/crash-<sha1>`` (libFuzzer's ``timeout-`` prefix for a hang).
Every input is held to ``--budget-s`` of measured time (:class:`fuzz.checks.Hang` past it)
and libFuzzer kills the run when one input runs longer than ``--timeout-s``.

``--merge`` copies the working-corpus inputs that add coverage into ``fuzz/corpus/<target>/``
(libFuzzer ``-merge=1``), so that what a long run learned is kept and replayed by the tests.
``fuzz/dicts/<target>.dict`` (tokens random mutation rarely spells) is used when present;
``--keep-going`` writes each distinct failure (exception type and innermost project line) to
``findings/`` with its traceback and goes on, so one known bug does not stop a long run.
Arguments after ``--`` go to libFuzzer unchanged (``-- -runs=100000``, ``-seed=1``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTRUMENTED = ["adapters", "contract", "features", "streams", "hl7", "fuzz"]
"""Packages whose code atheris instruments for coverage (not hypothesis or the stdlib)."""


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__)
    parser.add_argument("target", nargs="?", help="target name (see --list)")
    parser.add_argument("--seconds", type=int, default=60, help="total fuzzing time")
    parser.add_argument("--budget-s", type=float, default=1.0, help="CPU-time budget per input (s)")
    parser.add_argument("--timeout-s", type=int, default=10, help="libFuzzer hard timeout")
    parser.add_argument("--max-len", type=int, default=65_536, help="longest input in bytes")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "fuzz")
    parser.add_argument("--merge", action="store_true", help="merge new coverage into corpus")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="record each distinct failure and go on instead of stopping at the first",
    )
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    if "--" in argv:
        split = argv.index("--")
        own, rest = argv[:split], argv[split + 1 :]
    else:
        own, rest = argv, []
    args = parser.parse_args(own)
    return args, rest


def main(argv: list[str] | None = None) -> int:
    """Run one target under atheris; returns libFuzzer's exit status (0: nothing found)."""
    args, libfuzzer_args = _parse(list(sys.argv[1:] if argv is None else argv))
    try:
        atheris = importlib.import_module("atheris")
    except ImportError:
        print("atheris is not installed: pip install atheris==3.0.0", file=sys.stderr)
        return 2
    with atheris.instrument_imports(include=INSTRUMENTED):
        from fuzz import checks
        from fuzz.targets import TARGETS, describe

    if args.list or args.target is None:
        for name, target in TARGETS.items():
            print(f"{name:10} {describe(target)}")
        return 0
    if args.target not in TARGETS:
        print(f"unknown target {args.target!r}; one of {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    # libFuzzer owns SIGALRM for its -timeout; the checks only measure.
    checks.HARD_TIMEOUT_ENABLED = False
    checks.TIME_BUDGET_S = args.budget_s
    seeds = ROOT / "fuzz" / "corpus" / args.target
    work = args.workdir / args.target / "corpus"
    findings = args.workdir / args.target / "findings"
    for folder in (seeds, work, findings):
        folder.mkdir(parents=True, exist_ok=True)
    options = [
        f"-timeout={args.timeout_s}",
        f"-max_len={args.max_len}",
        f"-artifact_prefix={findings}/",
        "-print_final_stats=1",
    ]
    dictionary = ROOT / "fuzz" / "dicts" / f"{args.target}.dict"
    if dictionary.exists():
        options.append(f"-dict={dictionary}")
    if args.merge:
        folders = [str(seeds), str(work)]
        options.append("-merge=1")
    else:
        folders = [str(work), str(seeds)]
        options.append(f"-max_total_time={args.seconds}")
    target = TARGETS[args.target]
    one_input = _one_input(target, checks)
    if args.keep_going:
        one_input = _keep_going(one_input, findings)
    atheris.Setup([sys.argv[0], *options, *libfuzzer_args, *folders], one_input)
    atheris.Fuzz()
    return 0


def _one_input(target: Callable[[bytes], None], checks: object) -> Callable[[bytes], None]:
    hang = checks.Hang  # type: ignore[attr-defined]

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except hang as exc:
            # libFuzzer records Python exceptions, not BaseException subclasses.
            raise RuntimeError(f"hang: {exc}") from None

    return one_input


def _signature(exc: BaseException) -> str:
    """Exception type and the innermost frame inside the repository: one bug, one signature."""
    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(str(ROOT)) and "/.venv/" not in frame.filename:
            where = f"{Path(frame.filename).relative_to(ROOT)}:{frame.lineno}"
    # Numbers (durations, sizes) vary between inputs of one bug: leave them out.
    return f"{type(exc).__name__} at {where}: {re.sub(r'[0-9.]+', 'N', str(exc))[:80]}"


def _keep_going(one_input: Callable[[bytes], None], findings: Path) -> Callable[[bytes], None]:
    seen: set[str] = set()

    def recording(data: bytes) -> None:
        try:
            one_input(data)
        except Exception as exc:
            signature = _signature(exc)
            name = f"crash-{hashlib.sha1(data).hexdigest()}"
            if signature not in seen:
                seen.add(signature)
                (findings / name).write_bytes(data)
                (findings / f"{name}.txt").write_text(
                    signature + "\n\n" + "".join(traceback.format_exception(exc))
                )
                print(f"FINDING {name}: {signature}", file=sys.stderr, flush=True)

    return recording


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Dependency audit: known vulnerabilities in the installed project environment.

Usage (CI and developers; standard library only)::

    python3 scripts/audit.py [--venv .venv] [--service pypi|osv] [--allow-unreachable]

1. Installs ``pip-audit`` (pinned) into a scratch virtual environment (``var/audit-venv``),
   so the tool and its dependencies never mix with the project's.
2. Audits every distribution installed in the project's environment (``--venv``, default
   ``.venv``; the project itself, installed editable, is skipped) against the advisory
   service (``--service``: ``pypi``, the PyPI JSON API per release, or ``osv``).
3. Reports and exits:

   - 0: every distribution audited, no known vulnerability (or only ignored ones);
   - 1: known vulnerabilities (each printed with its id and fixed versions);
   - 3: the advisory service could not be reached or did not know some distributions, so
     they were NOT audited. pip-audit itself exits 0 in that case ("No known
     vulnerabilities found") unless run strict: a green audit that audited nothing. Here it
     is a distinct failure. ``--allow-unreachable`` turns it into a loud warning and exit 0
     (for runners that cannot reach the service; the report still says so);
   - 2: the audit could not run (no environment, pip-audit not installable).

Ignored advisories live in ``scripts/audit-ignore.txt``: one id a line followed by ``#`` and
the justification (why it does not apply, until when); a line without one is an error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIP_AUDIT = "pip-audit==2.10.1"
IGNORE_FILE = ROOT / "scripts" / "audit-ignore.txt"
EXIT_VULNERABLE, EXIT_ERROR, EXIT_UNAUDITED = 1, 2, 3


def read_ignores(path: Path) -> dict[str, str]:
    """Advisory id -> justification; raises ``ValueError`` on a line without one."""
    ignores: dict[str, str] = {}
    if not path.exists():
        return ignores
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        vuln, _, why = line.partition("#")
        if not why.strip():
            raise ValueError(f"{path.name}:{n}: {vuln.strip()} has no justification")
        ignores[vuln.strip()] = why.strip()
    return ignores


def scratch_pip_audit(folder: Path) -> Path:
    """pip-audit installed in its own virtual environment; its executable."""
    exe = folder / "bin" / "pip-audit"
    if not exe.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
        subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", PIP_AUDIT],
            check=True,
        )
    return exe


def site_packages(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def evaluate(
    report: dict[str, object], ignores: dict[str, str]
) -> tuple[list[str], list[str], int]:
    """(vulnerabilities found, distributions not audited, distributions audited)."""
    found: list[str] = []
    unaudited: list[str] = []
    audited = 0
    deps = report.get("dependencies", [])
    assert isinstance(deps, list)
    for dep in deps:
        name, version = dep.get("name"), dep.get("version", "")
        if dep.get("skip_reason"):
            unaudited.append(f"{name}: {dep['skip_reason']}")
            continue
        audited += 1
        for v in dep.get("vulns", []):
            ids = {v.get("id"), *v.get("aliases", [])}
            hit = sorted(ids & set(ignores))
            if hit:
                print(f"ignored: {name} {version} {v.get('id')} ({ignores[hit[0]]})")
                continue
            fixes = ", ".join(v.get("fix_versions", [])) or "no fixed version"
            found.append(f"{name} {version}: {v.get('id')} (fixed in: {fixes})")
    return found, unaudited, audited


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="environment to audit")
    parser.add_argument("--service", choices=["pypi", "osv"], default="pypi")
    parser.add_argument("--scratch", type=Path, default=ROOT / "var" / "audit-venv")
    parser.add_argument("--allow-unreachable", action="store_true")
    args = parser.parse_args(argv)

    python = args.venv / "bin" / "python"
    if not python.exists():
        print(f"audit: no Python environment at {args.venv}", file=sys.stderr)
        return EXIT_ERROR
    try:
        ignores = read_ignores(IGNORE_FILE)
        tool = scratch_pip_audit(args.scratch)
    except (ValueError, subprocess.CalledProcessError, OSError) as exc:
        print(f"audit: cannot run: {exc}", file=sys.stderr)
        return EXIT_ERROR
    cmd = [
        str(tool),
        "--vulnerability-service",
        args.service,
        "--skip-editable",
        "--progress-spinner",
        "off",
        "--format",
        "json",
        "--path",
        site_packages(python),
    ]
    run = subprocess.run(cmd, check=False, capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print(run.stderr[-3000:], file=sys.stderr)
        print(f"audit: pip-audit gave no report (exit {run.returncode})", file=sys.stderr)
        return EXIT_UNAUDITED if not args.allow_unreachable else 0
    found, unaudited, audited = evaluate(report, ignores)
    total = audited + len(unaudited)
    print(f"audit ({args.service}): {audited} of {total} distributions audited")
    for line in found:
        print(f"VULNERABLE: {line}")
    if unaudited:
        print(
            f"NOT AUDITED: {len(unaudited)} of {total} distributions: the advisory service "
            f"({args.service}) is unreachable or does not know them, e.g.:"
        )
        for line in unaudited[:5]:
            print(f"  {line}")
    if found:
        return EXIT_VULNERABLE
    if unaudited:
        if args.allow_unreachable:
            print("WARNING: --allow-unreachable: passing without a complete audit")
            return 0
        return EXIT_UNAUDITED
    print("no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())

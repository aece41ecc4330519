"""scripts/audit.py judges pip-audit's JSON report correctly (the audit itself needs the
network and runs in CI; see docs/security.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit.py"


def _audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ews_audit_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


REPORT = {
    "dependencies": [
        {"name": "clean", "version": "1.0", "vulns": []},
        {
            "name": "bad",
            "version": "2.0",
            "vulns": [
                {"id": "PYSEC-1", "fix_versions": ["2.1"], "aliases": ["CVE-1"]},
                {"id": "GHSA-x", "fix_versions": [], "aliases": []},
            ],
        },
        {"name": "gone", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ],
    "fixes": [],
}


def test_vulnerabilities_and_unaudited_packages_are_reported() -> None:
    found, unaudited, audited = _audit().evaluate(REPORT, {})
    assert found == [
        "bad 2.0: PYSEC-1 (fixed in: 2.1)",
        "bad 2.0: GHSA-x (fixed in: no fixed version)",
    ]
    assert unaudited == ["gone: Dependency not found on PyPI and could not be audited"]
    assert audited == 2


def test_an_ignored_advisory_matches_by_id_or_alias() -> None:
    found, _, _ = _audit().evaluate(REPORT, {"CVE-1": "not reachable from our code"})
    assert found == ["bad 2.0: GHSA-x (fixed in: no fixed version)"]


def test_an_ignore_needs_a_justification(tmp_path: Path) -> None:
    audit = _audit()
    good = tmp_path / "ok.txt"
    good.write_text("# comment\nPYSEC-1  # dev-only tool, fixed upstream in 2.1 (until 2027-01)\n")
    assert audit.read_ignores(good) == {
        "PYSEC-1": "dev-only tool, fixed upstream in 2.1 (until 2027-01)"
    }
    bad = tmp_path / "bad.txt"
    bad.write_text("PYSEC-1\n")
    with pytest.raises(ValueError, match="no justification"):
        audit.read_ignores(bad)


def test_the_shipped_ignore_list_is_valid() -> None:
    audit = _audit()
    audit.read_ignores(audit.IGNORE_FILE)

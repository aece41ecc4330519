"""Replay every corpus file of every fuzz target: seeds and every input fuzzing found.

``fuzz/corpus/<target>/<file>`` runs through ``fuzz.targets.TARGETS[target]``, which checks
that nothing raises, nothing hangs (1 s per call), every input is accounted for with a
reason, the limits hold and emitted events are valid under the contract.

Inputs that expose a bug not fixed yet are listed in :data:`KNOWN_BUGS` and run as strict
``xfail``: they must fail today, and the day the fix lands they pass, the strict xfail turns
red, and the entry is deleted; the file stays as a regression test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.targets import TARGETS

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"

KNOWN_BUGS: dict[str, str] = {
    # Every bug found so far is fixed; its input stays in the corpus as a regression test.
}


def _cases() -> list[object]:
    cases: list[object] = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.suffix == ".txt" or path.name.startswith("."):
                continue
            name = f"{folder.name}/{path.name}"
            marks = []
            if name in KNOWN_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name]))
            cases.append(pytest.param(folder.name, path, id=name, marks=marks))
    return cases


@pytest.mark.parametrize(("target", "path"), _cases())
def test_corpus_file(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


def test_every_target_has_a_seed_corpus() -> None:
    for target in TARGETS:
        seeds = list((CORPUS / target).glob("seed-*"))
        assert seeds, f"fuzz/corpus/{target} has no seeds: run python -m fuzz.seeds"


def test_known_bugs_name_existing_files() -> None:
    for name in KNOWN_BUGS:
        assert (CORPUS / name).is_file(), f"{name} listed as a known bug but not in the corpus"

"""The catalog declares what the rules need, names are unique, docs are current."""

from __future__ import annotations

import re

from features.catalog import CATALOG, FEATURE_NAMES, SERIES, SERIES_BY_SIGNAL
from features.compute import snapshot
from features.docgen import DOC, with_table
from features.snapshot import REQUIRED_FEATURES
from features.state import PatientState
from tests.features.factory import PID, T0


def test_every_required_feature_is_declared() -> None:
    assert [n for n in REQUIRED_FEATURES if n not in FEATURE_NAMES] == []


def test_names_are_unique_and_well_formed() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    for name in FEATURE_NAMES:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name


def test_windowed_names_carry_their_window() -> None:
    for f in CATALOG:
        if f.aggregate in ("min", "max", "mean", "slope", "count") and f.window_h:
            assert f.name.endswith(f"_{f.window_h:g}h"), f.name


def test_every_feature_reads_a_declared_series() -> None:
    for f in CATALOG:
        assert f.signal is None or f.signal in SERIES_BY_SIGNAL, f.name
    assert len({s.signal for s in SERIES}) == len(SERIES)


def test_empty_state_gives_every_feature_as_none() -> None:
    snap = snapshot(PatientState(patient_id=PID), T0)
    assert set(snap.values) == set(FEATURE_NAMES)
    assert all(v is None for v in snap.values.values())
    assert snap.evidence == {}


def test_docs_table_is_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert with_table(text) == text, "run: python -m features.docgen"

"""Tests of the learned layer train only tiny models: one OpenMP thread is faster for them
than two threads fighting the rest of the suite (and any training run) for the cores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """skl2onnx 1.20 passes booleans where onnx now expects ints (a deprecation, harmless
    for onnx < 1.34): keep that noise out of this folder's test output."""
    here = Path(__file__).parent
    mark = pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(mark)

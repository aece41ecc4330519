"""Which inputs a model gets: every catalog feature and derived input the data carries.

A column enters when at least ``min_present`` of the training rows have a value and it takes
more than one value; everything else (features of signals the source never sends, default
limits that never change) would only cost inference time. The rule is recorded in the
manifest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from features.catalog import FEATURES
from models.derived import DERIVED, DERIVED_BY_NAME
from models.inputs import InputSpec

MIN_PRESENT = 0.005


def informative(column: npt.NDArray[np.float32], min_present: float = MIN_PRESENT) -> bool:
    """At least ``min_present`` of the rows have a value and not all values are equal."""
    present = column[~np.isnan(column)]
    if len(column) == 0 or len(present) / len(column) < min_present:
        return False
    return bool(present.min() != present.max())


def choose_inputs(
    matrix: npt.NDArray[np.float32],
    columns: Sequence[str],
    exclude: Sequence[str] = (),
    min_present: float = MIN_PRESENT,
) -> InputSpec:
    """The inputs for data whose catalog features are ``matrix`` (columns named ``columns``).

    ``exclude`` names catalog features never to use (e.g. ones the deployment cannot have).
    """
    index = {name: i for i, name in enumerate(columns)}
    catalog = tuple(
        name
        for name in columns
        if name in FEATURES
        and name not in exclude
        and informative(matrix[:, index[name]], min_present)
    )
    usable = tuple(d.name for d in DERIVED if all(f in index for f in d.inputs))
    spec = InputSpec(catalog, usable)
    derived = spec.from_columns(matrix, columns)[:, len(catalog) :]
    kept = tuple(
        name
        for j, name in enumerate(usable)
        if informative(derived[:, j], min_present)
        and not any(f in exclude for f in DERIVED_BY_NAME[name].inputs)
    )
    return InputSpec(catalog, kept)

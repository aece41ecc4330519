"""Model-only derived inputs: simple functions of catalog features of the same snapshot.

They exist only for the models (the rules never read them), so they live here rather than in
the feature catalog. Each is computed from columns of catalog features with numpy, the same
code for a training matrix and for one streaming row; a missing input gives a missing (NaN)
output, never a zero. ``DERIVED_VERSION`` is recorded in every manifest; a model whose
manifest names another version or an unknown derived input is refused at load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DERIVED_VERSION = "1"

Column = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class DerivedSpec:
    """One derived input: its name, the catalog features it reads and how."""

    name: str
    inputs: tuple[str, ...]
    fn: Callable[[Mapping[str, Column]], Column]
    description: str


def _diff(a: str, b: str) -> Callable[[Mapping[str, Column]], Column]:
    def fn(c: Mapping[str, Column]) -> Column:
        return np.asarray(c[a] - c[b], dtype=np.float32)

    return fn


def _ratio(a: str, b: str) -> Callable[[Mapping[str, Column]], Column]:
    def fn(c: Mapping[str, Column]) -> Column:
        den = c[b]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(den > 0, c[a] / np.where(den > 0, den, 1.0), np.nan)
        return out.astype(np.float32)

    return fn


def _present(names: tuple[str, ...]) -> Callable[[Mapping[str, Column]], Column]:
    def fn(c: Mapping[str, Column]) -> Column:
        count = np.zeros(len(c[names[0]]), dtype=np.float32)
        for n in names:
            count += ~np.isnan(c[n])
        return count

    return fn


_VITAL_LAST = ("temp_last", "hr_last", "rr_last", "spo2_last", "sbp_last", "map_last", "dbp_last")
_LAB_LAST = (
    "wbc_last", "platelets_last", "hgb_last", "creatinine_last", "bilirubin_last", "ast_last",
    "lactate_last", "fibrinogen_last", "paco2_last", "crp_last", "ferritin_last", "ldh_last",
    "alt_last", "anc_last",
)  # fmt: skip


def _build() -> tuple[DerivedSpec, ...]:
    out = [
        DerivedSpec(
            "shock_index", ("hr_last", "sbp_last"), _ratio("hr_last", "sbp_last"),
            "heart rate / systolic BP of the valid last values",
        ),
        DerivedSpec(
            "pulse_pressure", ("sbp_last", "dbp_last"), _diff("sbp_last", "dbp_last"),
            "systolic - diastolic BP of the valid last values",
        ),
        DerivedSpec(
            "vitals_present_count", _VITAL_LAST, _present(_VITAL_LAST),
            "how many of the 7 vital signs have a valid (not stale) last value",
        ),
        DerivedSpec(
            "labs_present_count", _LAB_LAST, _present(_LAB_LAST),
            "how many of 14 labs have a valid (not stale) last value",
        ),
    ]  # fmt: skip
    for sig in ("hr", "rr", "temp", "sbp", "map", "spo2"):
        out.append(
            DerivedSpec(
                f"{sig}_trend_6h_vs_24h",
                (f"{sig}_mean_6h", f"{sig}_mean_24h"),
                _diff(f"{sig}_mean_6h", f"{sig}_mean_24h"),
                f"mean {sig} of the last 6 h minus that of the last 24 h",
            )
        )
        out.append(
            DerivedSpec(
                f"{sig}_range_24h",
                (f"{sig}_max_24h", f"{sig}_min_24h"),
                _diff(f"{sig}_max_24h", f"{sig}_min_24h"),
                f"highest minus lowest {sig} in the last 24 h",
            )
        )
        out.append(
            DerivedSpec(
                f"{sig}_last_vs_24h",
                (f"{sig}_last", f"{sig}_mean_24h"),
                _diff(f"{sig}_last", f"{sig}_mean_24h"),
                f"last {sig} minus the mean of the last 24 h",
            )
        )
    return tuple(out)


DERIVED: tuple[DerivedSpec, ...] = _build()
DERIVED_BY_NAME: dict[str, DerivedSpec] = {d.name: d for d in DERIVED}


def derived_inputs(names: tuple[str, ...]) -> tuple[str, ...]:
    """The catalog features the derived inputs ``names`` read, in first-use order."""
    seen: dict[str, None] = {}
    for name in names:
        for feature in DERIVED_BY_NAME[name].inputs:
            seen.setdefault(feature, None)
    return tuple(seen)


def compute(names: tuple[str, ...], columns: Mapping[str, Column]) -> npt.NDArray[np.float32]:
    """The derived inputs ``names`` as a ``(rows, len(names))`` float32 matrix."""
    rows = len(next(iter(columns.values()))) if columns else 0
    out = np.empty((rows, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        out[:, j] = DERIVED_BY_NAME[name].fn(columns)
    return out

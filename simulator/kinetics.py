"""Smooth time courses shared by the vital-sign and laboratory renderers."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def envelope(
    t: npt.NDArray[np.int64], start: float, rise_ms: float, hold_until: float, half_life_ms: float
) -> FloatArray:
    """0 before ``start``, a smooth rise to 1 over ``rise_ms``, 1 until ``hold_until``,
    then an exponential fall with ``half_life_ms`` (first-order clearance)."""
    tau = t.astype(np.float64) - start
    top = max(hold_until, start + rise_ms)
    rising = 0.5 - 0.5 * np.cos(np.pi * np.clip(tau / max(rise_ms, 1.0), 0.0, 1.0))
    falling = np.exp(-np.maximum(t - top, 0.0) * (math.log(2.0) / max(half_life_ms, 1.0)))
    return np.where(tau <= 0, 0.0, np.where(t <= top, rising, falling))


def window(t: npt.NDArray[np.int64], start: float, end: float) -> npt.NDArray[np.bool_]:
    """True where ``start <= t < end``."""
    return (t >= start) & (t < end)

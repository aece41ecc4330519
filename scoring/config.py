"""Settings of the rule layers: cut-offs the publications leave open, windows, default limits.

Everything a site may want to tune without touching a criteria module lives here, in one
frozen value passed to every rule (time and configuration are inputs, never globals).
Defaults follow /work/shared/clinical-reference.md; where the reference gives no number the
field's docstring says so and the chosen value is stated in the results that use it.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class RuleConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Tunable parameters of every rule; the defaults are the documented choices."""

    # --- CRS (ASTCT 2019 gives no numeric hypotension cut-off) -------------------------
    hypotension_sbp_lt: float = 90.0
    """Hypotension when the lowest systolic BP of the last hour is below this (mmHg)."""
    hypotension_map_lt: float = 65.0
    """... or the lowest mean arterial pressure of the last hour is below this (mmHg)."""

    # --- fever masking: ASTCT grades on hypotension and hypoxia alone after these ------
    antipyretic_mask_h: float = 6.0
    """An antipyretic given within this many hours may mask fever."""
    corticosteroid_mask_h: float = 24.0
    """A corticosteroid given within this many hours (daily dosing = "while given")."""
    tocilizumab_mask_h: float = 72.0
    """Tocilizumab given within this many hours may mask fever."""
    tocilizumab_marker_window_h: float = 336.0
    """CRP and IL-6 are flagged as not interpretable this long after tocilizumab: IL-6 rises
    as the receptor is blocked and CRP synthesis falls; the drug's half-life is 1-2 weeks."""

    # --- versions kept as settings -----------------------------------------------------
    ctcae_version: Literal["5.0"] = "5.0"
    """CTCAE version; only v5.0 is implemented (v6.0 changes baseline-abnormal grading)."""
    news2_spo2_scale: Literal[1, 2] = 1
    """NEWS2 SpO2 scale: 1 (default) or 2 (confirmed hypercapnic respiratory failure)."""

    # --- default reference limits (section 9), used only when the lab gave none --------
    alt_uln: float = 40.0
    ast_uln: float = 40.0
    bilirubin_uln: float = 1.2
    ldh_uln: float = 280.0
    ferritin_uln: float = 336.0
    """Upper end of the male range in the reference (the female one is 307)."""
    anc_lln: float = 2.0
    """Not given by the reference: a common adult lower limit (10^9/L)."""
    platelets_lln: float = 150.0
    """Not given by the reference: the usual adult lower limit (10^9/L)."""
    hgb_lln: float = 12.0
    """Not given by the reference: the adult female lower limit (g/dL); sex is not a
    feature, so the lower of the two sexes' limits is used (fewer false grade-1 calls)."""

    # --- HLH ---------------------------------------------------------------------------
    hlh2004_fever_c: float = 38.5
    """HLH-2004 fever threshold "in common use" (the protocol says only "fever")."""
    hscore_cutoff: float = 169.0

    # --- EASIX -------------------------------------------------------------------------
    easix_korell_threshold: float = 4.67
    """Korell 2022 cut-off, on the untransformed EASIX scale (see docs/rules.md)."""

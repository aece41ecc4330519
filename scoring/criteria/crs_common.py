"""Inputs shared by the two CRS gradings (ASTCT 2019 and CTCAE v5.0).

Fever, its masking by treatment, and hypotension are read the same way for both gradings, so
that the two grades differ only where the publications differ.

- Fever: temperature >= 38.0 C (ASTCT 2019; CTCAE v5.0 fever grade 1 starts at 38.0), highest
  value of the last 24 h, so a CRS grade does not vanish between two temperature readings.
- Masking (ASTCT 2019): after antipyretics or anti-cytokine therapy (tocilizumab,
  corticosteroids) fever is no longer required; grade on hypotension and hypoxia alone.
- Hypotension: ASTCT gives no number; the cut-off is a setting (default SBP < 90 mmHg or
  MAP < 65 mmHg, lowest of the last hour) and is stated in the evidence.
"""

from __future__ import annotations

from scoring.config import RuleConfig
from scoring.context import RuleContext

FEVER_C = 38.0


def fever(ctx: RuleContext) -> bool | None:
    """Fever >= 38.0 C in the last 24 h; ``None`` when no temperature is available."""
    temp = ctx.value("temp_max_24h")
    if temp is None:
        return None
    return ctx.test("temp_max_24h", temp, ">=", FEVER_C, "fever")


def masking_treatments(ctx: RuleContext, cfg: RuleConfig) -> list[str]:
    """Treatments given recently enough to mask fever (``hours_since_*`` is None = not given)."""
    windows = (
        ("antipyretic", "hours_since_antipyretic", cfg.antipyretic_mask_h),
        ("corticosteroid", "hours_since_corticosteroid", cfg.corticosteroid_mask_h),
        ("tocilizumab", "hours_since_tocilizumab", cfg.tocilizumab_mask_h),
    )
    found: list[str] = []
    for label, feature, window in windows:
        hours = ctx.optional(feature)
        if hours is not None and 0.0 <= hours <= window:
            ctx.hit(feature, hours, f"<= {window:g} h: {label} may mask fever (ASTCT 2019)")
            found.append(label)
    return found


def hypotension(ctx: RuleContext, cfg: RuleConfig) -> bool | None:
    """SBP or MAP below the configured cut-off in the last hour.

    ``True`` as soon as one of them is low; ``False`` when at least one is known and none is
    low (a missing one is still listed as missing); ``None`` when neither is known.
    """
    sbp = ctx.value("sbp_min_1h")
    map_ = ctx.value("map_min_1h")
    low = False
    if sbp is not None:
        low |= ctx.test(
            "sbp_min_1h",
            sbp,
            "<",
            cfg.hypotension_sbp_lt,
            "hypotension (configured cut-off; ASTCT 2019 gives no number)",
        )
    if map_ is not None:
        low |= ctx.test(
            "map_min_1h",
            map_,
            "<",
            cfg.hypotension_map_lt,
            "hypotension (configured cut-off; ASTCT 2019 gives no number)",
        )
    if low:
        return True
    if sbp is None and map_ is None:
        return None
    return False


def vasopressors(ctx: RuleContext) -> tuple[int | None, bool | None]:
    """Vasopressors running (vasopressin not counted) and whether vasopressin runs."""
    count = ctx.value("vasopressor_count_last")
    vasopressin = ctx.value("vasopressin_last")
    return (
        None if count is None else int(count),
        None if vasopressin is None else vasopressin >= 1.0,
    )

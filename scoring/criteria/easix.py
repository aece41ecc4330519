"""EASIX and m-EASIX, endothelial activation and stress index (log2).

Citations: Luft T, Benner A, Jodele S, et al. EASIX in patients with acute graft-versus-host
disease. Lancet Haematol 2017;4(9):e414-e423 (definition). Korell F, Penack O, Mattie M, et
al. EASIX and severe endothelial complications after CD19-directed CAR-T cell therapy - a
cohort study. Front Immunol 2022;13:877477 (cut-off). Pennisi M, Sanchez-Escamilla M, Flynn
JR, et al. Modified EASIX predicts severe cytokine release syndrome and neurotoxicity after
CAR T cells. Blood Adv 2021;5(17):3397-3406 (m-EASIX).

Inputs: easix_log2 (or ldh_last, creatinine_last, platelets_last); m_easix_log2 (or
ldh_last, crp_last, platelets_last); context: timeline (pre-treatment?), hours_since_tocilizumab.

| marker | formula | threshold |
|-|-|-|
| EASIX | LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L) | > 4.67 before treatment (*) |
| m-EASIX | LDH (U/L) x CRP (mg/dL) / platelets (10^9/L) | none (AUC 0.80, Pennisi 2021) |

(*) Korell 2022: OR 4.3 for grade >= 3 CRS/ICANS after CD19 CAR-T.

Decisions: the Korell cut-off applies to the untransformed EASIX measured before treatment
(EASIX-pre), so the flag is raised only on a pre-treatment snapshot (no cycle started);
on treatment the value is reported without a threshold call. It was derived after CD19 CAR-T,
not blinatumomab. The score reported is log2(EASIX).
"""

from __future__ import annotations

import math

from features.snapshot import Snapshot
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import RuleSpec, down, up

NAME = "easix"
CRITERIA = "EASIX (log2)"
VERSION = "EASIX-Luft2017-Korell2022"
CITATION = (
    "Luft T et al. Lancet Haematol 2017;4:e414; Korell F et al. Front Immunol "
    "2022;13:877477; Pennisi M et al. Blood Adv 2021;5:3397"
)
CRP_MG_L_PER_MG_DL = 10.0


def _log2_index(
    ctx: RuleContext, feature: str, middle: str, scale: float = 1.0, *, required: bool = True
) -> float | None:
    """log2(LDH x middle / platelets) from the three labs, else the snapshot's own feature.

    The labs come first because they carry the evidence; a missing lab is listed as missing
    even when the precomputed feature stands in for it.
    """
    read = ctx.value if required else ctx.optional
    ldh, mid, plt = read("ldh_last"), read(middle), read("platelets_last")
    if ldh is not None and mid is not None and plt is not None and min(ldh, mid, plt) > 0:
        return math.log2(ldh * (mid / scale) / plt)
    return ctx.optional(feature)


def pre_treatment(snapshot: Snapshot) -> bool:
    """No blinatumomab cycle has started at the snapshot time."""
    tl = snapshot.timeline
    return tl.cycle is None and tl.hours_since_start is None


def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
    """log2 EASIX with the Korell pre-treatment flag, and log2 m-EASIX."""
    ctx = RuleContext(
        snapshot, name=NAME, criteria=CRITERIA, version=VERSION, citation=CITATION, kind="score"
    )
    value = _log2_index(ctx, "easix_log2", "creatinine_last")
    # m-EASIX is reported beside EASIX, not scored: its inputs are not required.
    m_value = _log2_index(ctx, "m_easix_log2", "crp_last", CRP_MG_L_PER_MG_DL, required=False)
    if m_value is not None:
        ctx.values["m_easix_log2"] = round(m_value, 3)
        toci = ctx.optional("hours_since_tocilizumab")
        if toci is not None and toci <= cfg.tocilizumab_marker_window_h:
            ctx.flag("crp_not_interpretable_after_tocilizumab")
            ctx.note("m-EASIX uses CRP, which tocilizumab suppresses: not interpretable.")
    if value is None:
        return ctx.result(points=None, status="undetermined")
    threshold_log2 = math.log2(cfg.easix_korell_threshold)
    ctx.values["easix"] = round(2.0**value, 3)
    met: bool | None = None
    status = "on_treatment"
    if pre_treatment(snapshot):
        if ctx.test(
            "easix_log2",
            value,
            ">",
            threshold_log2,
            f"EASIX > {cfg.easix_korell_threshold:g} (log2 > {threshold_log2:.2f}) before "
            "treatment (Korell 2022)",
        ):
            met, status = True, "above_korell_threshold"
            ctx.flag("easix_pre_above_korell_threshold")
            ctx.reason(
                f"Pre-treatment EASIX {2.0**value:.2f} > {cfg.easix_korell_threshold:g}: higher "
                "risk of grade >= 3 CRS/ICANS (Korell 2022, CD19 CAR-T; not validated for "
                "blinatumomab)"
            )
        else:
            met, status = False, "below_korell_threshold"
    else:
        ctx.note(
            f"On treatment: the Korell 2022 cut-off ({cfg.easix_korell_threshold:g}) was "
            "validated on the pre-treatment value only; no threshold call."
        )
    return ctx.result(points=round(value, 3), met=met, status=status)


INPUTS = (*up("ldh_last", "creatinine_last"), *down("platelets_last"))
CONTEXT = ("easix_log2", "m_easix_log2", "crp_last", "hours_since_tocilizumab")
RULES = (RuleSpec(NAME, score, CRITERIA, VERSION, CITATION, INPUTS, CONTEXT),)

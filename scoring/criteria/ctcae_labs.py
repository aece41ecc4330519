"""CTCAE v5.0 laboratory items: ALT, AST, bilirubin, neutrophils, platelets, anemia.

Citation: National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE)
v5.0, 27 Nov 2017: Investigations (ALT, AST, blood bilirubin increased; neutrophil count
decreased; platelet count decreased) and Blood and lymphatic system disorders (anemia).

Inputs: alt_x_uln / alt_last / alt_uln, ast_x_uln / ast_last / ast_uln, bilirubin_x_uln /
bilirubin_last / bilirubin_uln, anc_last / anc_lln, platelets_last / platelets_lln,
hgb_last / hgb_lln. Limits are the lab's own; the defaults of RuleConfig otherwise.

| term                      | G1             | G2        | G3         | G4               |
|---------------------------|----------------|-----------|------------|------------------|
| ALT / AST increased (xULN)| > ULN - 3.0    | > 3.0-5.0 | > 5.0-20.0 | > 20.0           |
|  ... abnormal baseline (x baseline) | 1.5-3.0 | > 3.0-5.0 | > 5.0-20.0 | > 20.0      |
| bilirubin increased (xULN)| > ULN - 1.5    | > 1.5-3.0 | > 3.0-10.0 | > 10.0           |
| neutrophils (10^9/L)      | < LLN - 1.5    | < 1.5-1.0 | < 1.0-0.5  | < 0.5            |
| platelets (10^9/L)        | < LLN - 75     | < 75-50   | < 50-25    | < 25             |
| anemia, Hb (g/dL) | < LLN - 10.0 | < 10.0-8.0 | < 8.0 | life-threatening (not from a value) |

"> 3.0-5.0" reads "> 3.0 and <= 5.0"; "< 1.5-1.0" reads "< 1.5 and >= 1.0".
"""

from __future__ import annotations

from collections.abc import Callable

from features.snapshot import Snapshot
from scoring.bands import Band, classify, fmt
from scoring.config import RuleConfig
from scoring.context import RuleContext
from scoring.result import CriteriaResult
from scoring.rule import InputSpec, RuleFn, RuleSpec, down, up

VERSION = "CTCAE-5.0"
CITATION = "NCI CTCAE v5.0 (2017)"

# Multiples of ULN, most severe first; grade 1 is "> ULN" (> 1.0 x).
TRANSAMINASE_X_ULN: tuple[Band, ...] = (
    Band(">", 20.0, 4, "> 20.0 x ULN"),
    Band(">", 5.0, 3, "> 5.0-20.0 x ULN"),
    Band(">", 3.0, 2, "> 3.0-5.0 x ULN"),
    Band(">", 1.0, 1, "> ULN-3.0 x ULN"),
)
# Abnormal baseline (baseline > ULN): multiples of the baseline; grade 1 starts at 1.5 x.
TRANSAMINASE_X_BASELINE: tuple[Band, ...] = (
    Band(">", 20.0, 4, "> 20.0 x baseline"),
    Band(">", 5.0, 3, "> 5.0-20.0 x baseline"),
    Band(">", 3.0, 2, "> 3.0-5.0 x baseline"),
    Band(">=", 1.5, 1, "1.5-3.0 x baseline"),
)
BILIRUBIN_X_ULN: tuple[Band, ...] = (
    Band(">", 10.0, 4, "> 10.0 x ULN"),
    Band(">", 3.0, 3, "> 3.0-10.0 x ULN"),
    Band(">", 1.5, 2, "> 1.5-3.0 x ULN"),
    Band(">", 1.0, 1, "> ULN-1.5 x ULN"),
)
NEUTROPHILS: tuple[Band, ...] = (
    Band("<", 0.5, 4, "< 0.5 x10^9/L"),
    Band("<", 1.0, 3, "< 1.0-0.5 x10^9/L"),
    Band("<", 1.5, 2, "< 1.5-1.0 x10^9/L"),
)
PLATELETS: tuple[Band, ...] = (
    Band("<", 25.0, 4, "< 25 x10^9/L"),
    Band("<", 50.0, 3, "< 50-25 x10^9/L"),
    Band("<", 75.0, 2, "< 75-50 x10^9/L"),
)
ANEMIA: tuple[Band, ...] = (
    Band("<", 8.0, 3, "Hb < 8.0 g/dL"),
    Band("<", 10.0, 2, "Hb < 10.0-8.0 g/dL"),
)


def grade_transaminase(x_uln: float, baseline_x_uln: float | None = None) -> Band | None:
    """CTCAE v5.0 ALT/AST band; with an abnormal baseline (> ULN), grade on multiples of it."""
    if baseline_x_uln is not None and baseline_x_uln > 1.0:
        return classify(x_uln / baseline_x_uln, TRANSAMINASE_X_BASELINE)
    return classify(x_uln, TRANSAMINASE_X_ULN)


def _ctx(snapshot: Snapshot, name: str, criteria: str) -> RuleContext:
    return RuleContext(
        snapshot, name=name, criteria=criteria, version=VERSION, citation=CITATION, kind="grade"
    )


def _x_uln(ctx: RuleContext, signal: str, default_uln: float) -> float | None:
    """Multiple of the ULN: the feature, else last value / (lab ULN or the default)."""
    x = ctx.snapshot.values.get(f"{signal}_x_uln")
    if x is not None:
        return x
    last = ctx.value(f"{signal}_last")
    if last is None:
        ctx.missing.insert(0, f"{signal}_x_uln")
        return None
    uln = ctx.optional(f"{signal}_uln")
    if uln is None or uln <= 0:
        uln = default_uln
        ctx.note(
            f"{signal}: no ULN from the lab; default {fmt(default_uln)} used (reference section 9)."
        )
    return last / uln


def _upper(
    signal: str, term: str, table: tuple[Band, ...], default: Callable[[RuleConfig], float]
) -> Callable[[Snapshot, RuleConfig], CriteriaResult]:
    name = f"ctcae_{signal}"

    def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
        ctx = _ctx(snapshot, name, f"CTCAE {term}")
        x = _x_uln(ctx, signal, default(cfg))
        if x is None:
            return ctx.result(grade=None, status="undetermined")
        if signal in ("alt", "ast"):
            # The abnormal-baseline rule needs the pre-treatment value, which the snapshot
            # does not carry yet (features to add: alt/ast baseline); say so, do not guess.
            band = grade_transaminase(x)
            if x > 1.0:
                ctx.note(
                    "Graded against ULN: baseline not in the snapshot, so the CTCAE v5.0 "
                    "abnormal-baseline rule was not applied."
                )
        else:
            band = classify(x, table)
        grade = 0 if band is None else band.level
        if band is not None:
            ctx.hit(
                f"{signal}_x_uln",
                x,
                f"{band.op} {fmt(band.threshold)} x ULN: {band.label} (CTCAE grade {grade})",
            )
            ctx.reason(f"CTCAE v5.0 {term} grade {grade}: {band.label}")
        ctx.values[f"{signal}_x_uln"] = round(x, 3)
        return ctx.result(grade=grade, status=f"grade {grade}")

    score.__doc__ = f"CTCAE v5.0 {term}, graded on multiples of the ULN."
    return score


def _lower(
    signal: str, term: str, table: tuple[Band, ...], default: Callable[[RuleConfig], float]
) -> Callable[[Snapshot, RuleConfig], CriteriaResult]:
    name = {"anc": "ctcae_neutrophils", "hgb": "ctcae_anemia"}.get(signal, f"ctcae_{signal}")

    def score(snapshot: Snapshot, cfg: RuleConfig) -> CriteriaResult:
        ctx = _ctx(snapshot, name, f"CTCAE {term}")
        value = ctx.value(f"{signal}_last")
        if value is None:
            return ctx.result(grade=None, status="undetermined")
        band = classify(value, table)
        if band is not None:
            grade = band.level
            ctx.band(f"{signal}_last", value, band, f"{band.label} (CTCAE grade {grade})")
        else:
            lln = ctx.optional(f"{signal}_lln")
            if lln is None:
                lln = default(cfg)
                ctx.note(f"{signal}: no LLN from the lab; default {fmt(lln)} used (site default).")
            grade = (
                1
                if ctx.test(
                    f"{signal}_last", value, "<", lln, f"below LLN {fmt(lln)} (CTCAE grade 1)"
                )
                else 0
            )
        if grade:
            label = band.label if band is not None else "< LLN"
            ctx.reason(f"CTCAE v5.0 {term} grade {grade}: {label}")
        if signal == "hgb" and grade == 3:
            ctx.note(
                "Anemia grade 4 ('life-threatening; urgent intervention') needs clinical judgement."
            )
        return ctx.result(grade=grade, status=f"grade {grade}")

    score.__doc__ = f"CTCAE v5.0 {term}, graded on the last value."
    return score


def _spec(name: str, term: str, fn: RuleFn, inputs: tuple[InputSpec, ...]) -> RuleSpec:
    return RuleSpec(name, fn, f"CTCAE {term}", VERSION, CITATION, inputs)


ALT = "Alanine aminotransferase increased"
AST_TERM = "Aspartate aminotransferase increased"
BILI = "Blood bilirubin increased"
ANC = "Neutrophil count decreased"
PLT = "Platelet count decreased"
HGB = "Anemia"

RULES = (
    _spec(
        "ctcae_alt",
        ALT,
        _upper("alt", ALT, TRANSAMINASE_X_ULN, lambda c: c.alt_uln),
        up("alt_x_uln"),
    ),
    _spec(
        "ctcae_ast",
        AST_TERM,
        _upper("ast", AST_TERM, TRANSAMINASE_X_ULN, lambda c: c.ast_uln),
        up("ast_x_uln"),
    ),
    _spec(
        "ctcae_bilirubin",
        BILI,
        _upper("bilirubin", BILI, BILIRUBIN_X_ULN, lambda c: c.bilirubin_uln),
        up("bilirubin_x_uln"),
    ),
    _spec(
        "ctcae_neutrophils",
        ANC,
        _lower("anc", ANC, NEUTROPHILS, lambda c: c.anc_lln),
        down("anc_last"),
    ),
    _spec(
        "ctcae_platelets",
        PLT,
        _lower("platelets", PLT, PLATELETS, lambda c: c.platelets_lln),
        down("platelets_last"),
    ),
    _spec("ctcae_anemia", HGB, _lower("hgb", HGB, ANEMIA, lambda c: c.hgb_lln), down("hgb_last")),
)

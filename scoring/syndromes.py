"""Syndrome layer: one current grade per complication risk, built from the criteria results.

| risk | grade | criteria behind it |
|-|-|-|
| crs | ASTCT 2019 grade (CTCAE v5.0 shown beside it) | astct_crs, ctcae_crs |
| icans | ASTCT 2019 ICANS grade | astct_icans |
| hepatotoxicity | worst CTCAE v5.0 grade: ALT, AST, bilirubin | ctcae_alt, _ast, _bilirubin |
| hlh | 3 if any set met; 0 if HScore cannot reach 169 (*) | hscore, hlh2004, cartox_hlh, iec_hs |

(*) and no other HLH criteria set is met.
| infection | project level, below | ctcae_fever, ctcae_febrile_neutropenia, idsa_fn, sirs, qsofa |

Infection level (a project convention, not a published grade; docs/rules.md):
4 = febrile neutropenia with organ support (CTCAE v5.0 grade 4); 3 = febrile neutropenia
(CTCAE v5.0 grade 3 or IDSA 2010), or SIRS with positive qSOFA; 2 = SIRS (>= 2 criteria);
1 = fever (CTCAE v5.0 fever grade >= 1); 0 = none of these. A level is a floor when some
of its criteria are undetermined; ``None`` when none of them could be evaluated.

Fever with neutropenia fits both CRS and infection: both are reported, each with a note that
says so. The layer never picks one silently.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from features.snapshot import Snapshot
from scoring import label
from scoring.config import RuleConfig
from scoring.result import CriteriaResult, Risk, Suggestion, SyndromeResult

OVERLAP_NOTE = (
    "Fever with neutropenia fits both CRS and infection (febrile neutropenia): both are "
    "reported; cultures and clinical assessment are needed to tell them apart."
)


def _missing(results: list[CriteriaResult]) -> tuple[str, ...]:
    seen: list[str] = []
    for r in results:
        seen.extend(m for m in r.missing if m not in seen)
    return tuple(seen)


def _syndrome(
    risk: Risk,
    grade: int | None,
    results: list[CriteriaResult],
    reasons: list[str],
    *,
    notes: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    suggestions: tuple[Suggestion, ...] = (),
) -> SyndromeResult:
    undetermined = [r.name for r in results if r.severity() is None]
    status = (
        "undetermined"
        if grade is None
        else (f"grade {grade}" + (" (partial)" if undetermined or _missing(results) else ""))
    )
    return SyndromeResult(
        risk=risk,
        grade=grade,
        status=status,
        reasons=tuple(reasons),
        based_on=tuple(r.name for r in results),
        criteria_grades={r.name: r.severity() for r in results},
        missing=_missing(results),
        notes=notes,
        flags=flags,
        suggestions=suggestions,
    )


def crs(res: Mapping[str, CriteriaResult], snapshot: Snapshot) -> SyndromeResult:
    """CRS: the ASTCT 2019 grade, with CTCAE v5.0 beside it and label suggestions."""
    astct, ctcae = res["astct_crs"], res["ctcae_crs"]
    reasons = list(astct.reasons)
    notes: list[str] = list(astct.notes)
    if astct.grade is not None and ctcae.grade is not None and astct.grade != ctcae.grade:
        notes.append(
            f"CTCAE v5.0 (used by the blinatumomab label and trials) grades this CRS {ctcae.grade}."
        )
    # The label graded CRS with CTCAE; suggest on the worse of the two so neither is missed.
    label_grade = max((g for g in (astct.grade, ctcae.grade) if g is not None), default=None)
    return _syndrome(
        "crs",
        astct.grade,
        [astct, ctcae],
        reasons,
        notes=tuple(notes),
        flags=astct.flags,
        suggestions=label.crs(label_grade, snapshot),
    )


def icans(res: Mapping[str, CriteriaResult], snapshot: Snapshot) -> SyndromeResult:
    """ICANS: the ASTCT 2019 grade and the label's neurological-toxicity suggestions."""
    r = res["astct_icans"]
    notes = list(r.notes)
    if r.grade:
        notes.append("The label grades neurological toxicity with CTCAE; ASTCT ICANS is used here.")
    return _syndrome(
        "icans",
        r.grade,
        [r],
        list(r.reasons),
        notes=tuple(notes),
        suggestions=label.neuro(r.grade, snapshot),
    )


def hepatotoxicity(res: Mapping[str, CriteriaResult], crs_grade: int | None) -> SyndromeResult:
    """Hepatotoxicity: the worst CTCAE grade of ALT, AST and bilirubin."""
    parts = [res["ctcae_alt"], res["ctcae_ast"], res["ctcae_bilirubin"]]
    known = [r.grade for r in parts if r.grade is not None]
    grade = max(known) if known else None
    reasons = [reason for r in parts for reason in r.reasons]
    notes = [n for r in parts for n in r.notes]
    if grade and crs_grade:
        notes.append(
            "Liver enzyme rises during CRS may be part of it (label); graded separately by CTCAE."
        )
    suggestions = label.liver(*(r.values.get(f"{r.name.split('_')[1]}_x_uln") for r in parts))
    return _syndrome(
        "hepatotoxicity",
        grade,
        parts,
        reasons,
        notes=tuple(dict.fromkeys(notes)),
        suggestions=suggestions,
    )


def hlh(res: Mapping[str, CriteriaResult]) -> SyndromeResult:
    """HLH: screening-positive (3) if any criteria set is met; 0 only if HScore rules it out."""
    parts = [res["hscore"], res["hlh2004"], res["cartox_hlh"], res["iec_hs"]]
    met = [r for r in parts if r.met]
    reasons = [f"{r.criteria} met ({r.version})" for r in met]
    for r in met:
        reasons.extend(r.reasons)
    notes = [f"{r.criteria}: {r.status}" for r in parts]
    grade: int | None
    if met:
        grade = 3
        notes.append(
            "Grade 3 marks a positive HLH screen for clinician review (project convention, not a "
            "published HLH grade)."
        )
    elif res["hscore"].met is False and all(r.met is not True for r in parts):
        grade = 0
    else:
        grade = None
    suggestions = label.other_grade3("HLH criteria met") if grade == 3 else ()
    return _syndrome("hlh", grade, parts, reasons, notes=tuple(notes), suggestions=suggestions)


def infection(res: Mapping[str, CriteriaResult]) -> SyndromeResult:
    """Infection level from fever, febrile neutropenia, SIRS and qSOFA (see module table)."""
    fever, fn, idsa, sirs, qsofa = (
        res[k] for k in ("ctcae_fever", "ctcae_febrile_neutropenia", "idsa_fn", "sirs", "qsofa")
    )
    parts = [fever, fn, idsa, sirs, qsofa]
    levels: list[int] = []
    reasons: list[str] = []
    if fn.grade:
        levels.append(fn.grade)
        reasons.extend(fn.reasons)
    if idsa.met:
        levels.append(3)
        reasons.extend(idsa.reasons)
    if sirs.met and qsofa.met:
        levels.append(3)
        reasons.append("SIRS (>= 2) with qSOFA >= 2: sepsis screen positive")
    if sirs.met:
        levels.append(2)
        reasons.extend(sirs.reasons)
    if fever.grade:
        levels.append(1)
        reasons.extend(fever.reasons)
    determined = [
        r
        for r in parts
        if r.severity() is not None and not (r.kind == "criteria" and r.met is None)
    ]
    grade = max(levels) if levels else (0 if determined else None)
    notes = [f"{r.criteria}: {r.status}" for r in parts]
    notes.append(
        "Infection level is a project convention combining published criteria (docs/rules.md)."
    )
    suggestions = (
        label.other_grade3("Febrile neutropenia / sepsis screen")
        if grade is not None and grade >= 3
        else ()
    )
    return _syndrome(
        "infection", grade, parts, reasons, notes=tuple(notes), suggestions=suggestions
    )


def neutropenic_fever(res: Mapping[str, CriteriaResult]) -> bool:
    """Whether fever with neutropenia is present (CTCAE or IDSA febrile neutropenia)."""
    return bool(res["ctcae_febrile_neutropenia"].grade) or bool(res["idsa_fn"].met)


def assess(
    res: Mapping[str, CriteriaResult], snapshot: Snapshot, cfg: RuleConfig
) -> dict[str, SyndromeResult]:
    """Every syndrome, with the CRS/infection overlap stated on both when it applies."""
    del cfg
    out: dict[str, SyndromeResult] = {
        "crs": crs(res, snapshot),
        "icans": icans(res, snapshot),
        "hlh": hlh(res),
        "infection": infection(res),
    }
    out["hepatotoxicity"] = hepatotoxicity(res, out["crs"].grade)
    if out["crs"].grade and neutropenic_fever(res):
        for key in ("crs", "infection"):
            s = out[key]
            out[key] = msgspec.structs.replace(
                s, notes=(*s.notes, OVERLAP_NOTE), flags=(*s.flags, "crs_infection_overlap")
            )
    return out

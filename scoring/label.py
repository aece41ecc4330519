"""Blinatumomab label actions, attached to results as suggestions for clinician review.

Source: BLINCYTO (blinatumomab) US prescribing information, section 2.3 (dosage
modifications for adverse reactions) and section 5 (warnings and precautions: cytokine
release syndrome, neurological toxicities, elevated liver enzymes). Summarised in
/work/shared/clinical-reference.md section 7.

| event                                         | label action                                     |
|-----------------------------------------------|--------------------------------------------------|
| CRS grade 3 | interrupt until resolved; restart at 9 ug/day, escalate to 28 ug/day after 7 days |
| CRS grade 4                                   | discontinue permanently                          |
| neurological toxicity grade 3 | interrupt until <= G1 for >= 3 days, restart at 9 ug/day (*) |
| neurological toxicity grade 4                 | discontinue permanently                          |
| more than one seizure                         | discontinue permanently                          |
| AST/ALT > 5 x ULN or bilirubin > 3 x ULN      | interrupt                                        |
| other clinically relevant grade 3 | interrupt until <= G1; discontinue if > 14 days to resolve |

(*) discontinue if it occurred at 9 ug/day or took more than 7 days to resolve.

The service never acts: every text says it is for clinician review.
"""

from __future__ import annotations

from features.snapshot import Snapshot
from scoring.result import Suggestion

_PI = "Blinatumomab (Blincyto) US prescribing information, "
SOURCE_CRS = _PI + "section 2.3; section 5 (cytokine release syndrome)"
SOURCE_NEURO = _PI + "section 2.3; section 5 (neurological toxicities)"
SOURCE_LIVER = _PI + "section 2.3; section 5 (elevated liver enzymes)"
SOURCE_OTHER = _PI + "section 2.3 (other clinically relevant adverse reactions)"

PREFIX = "For clinician review, per the blinatumomab label (a suggestion, not an order): "
RESTART_DOSE_UG_DAY = 9.0
LOW_WEIGHT_KG = 45.0


def _restart_dose(snapshot: Snapshot) -> str:
    weight = snapshot.values.get("weight_kg")
    if weight is not None and weight < LOW_WEIGHT_KG:
        return "5 ug/m2/day (patient < 45 kg)"
    return "9 ug/day"


def _s(text: str, source: str) -> Suggestion:
    return Suggestion(text=PREFIX + text, source=source)


def crs(grade: int | None, snapshot: Snapshot) -> tuple[Suggestion, ...]:
    """Label actions for CRS of this grade."""
    if grade == 3:
        return (
            _s(
                "CRS grade 3 - interrupt blinatumomab until CRS resolves; when resolved, restart "
                "at "
                f"{_restart_dose(snapshot)} and escalate to the target dose after 7 days if no "
                "recurrence.",
                SOURCE_CRS,
            ),
        )
    if grade is not None and grade >= 4:
        return (_s("CRS grade 4 - discontinue blinatumomab permanently.", SOURCE_CRS),)
    return ()


def neuro(grade: int | None, snapshot: Snapshot) -> tuple[Suggestion, ...]:
    """Label actions for neurological toxicity of this grade, and for repeated seizures."""
    out: list[Suggestion] = []
    if grade == 3:
        text = (
            "neurological toxicity grade 3 - interrupt blinatumomab until no more than grade 1 "
            f"for at least 3 days, then restart at {_restart_dose(snapshot)}; discontinue "
            "permanently if it occurred at 9 ug/day or took more than 7 days to resolve."
        )
        dose = snapshot.timeline.dose_ug_per_day
        if dose is not None and 0 < dose <= RESTART_DOSE_UG_DAY:
            text += f" Current dose is {dose:g} ug/day: the discontinuation condition may apply."
        out.append(_s(text, SOURCE_NEURO))
    elif grade is not None and grade >= 4:
        out.append(
            _s(
                "neurological toxicity grade 4 - discontinue blinatumomab permanently.",
                SOURCE_NEURO,
            )
        )
    seizures = snapshot.values.get("seizure_count_cycle")
    if seizures is not None and seizures > 1:
        out.append(
            _s(
                f"{seizures:g} seizures this cycle (more than one) - discontinue blinatumomab "
                "permanently.",
                SOURCE_NEURO,
            )
        )
    return tuple(out)


def liver(alt_x: float | None, ast_x: float | None, bili_x: float | None) -> tuple[Suggestion, ...]:
    """Label action for transaminases > 5 x ULN or bilirubin > 3 x ULN."""
    hits = []
    if alt_x is not None and alt_x > 5.0:
        hits.append(f"ALT {alt_x:.1f} x ULN")
    if ast_x is not None and ast_x > 5.0:
        hits.append(f"AST {ast_x:.1f} x ULN")
    if bili_x is not None and bili_x > 3.0:
        hits.append(f"bilirubin {bili_x:.1f} x ULN")
    if not hits:
        return ()
    return (
        _s(
            ", ".join(hits)
            + " (AST/ALT > 5 x ULN or bilirubin > 3 x ULN) - interrupt blinatumomab.",
            SOURCE_LIVER,
        ),
    )


def other_grade3(what: str) -> tuple[Suggestion, ...]:
    """Label action for another clinically relevant grade 3 adverse reaction."""
    return (
        _s(
            f"{what} - if judged a clinically relevant grade 3 adverse reaction: interrupt until "
            "no "
            "more than grade 1, restart at 9 ug/day; discontinue if it takes more than 14 days to "
            "resolve.",
            SOURCE_OTHER,
        ),
    )

"""CTCAE v5.0 grades of single laboratory values (NCI CTCAE v5.0, 2017).

Bands (clinical-reference.md section 3); "> a - b" means a < x <= b:

| term | G1 | G2 | G3 | G4 |
|---|---|---|---|---|
| ALT / AST increased | > ULN - 3.0 x ULN | > 3.0 - 5.0 | > 5.0 - 20.0 | > 20.0 |
| ... abnormal baseline | 1.5 - 3.0 x baseline | > 3.0 - 5.0 | > 5.0 - 20.0 | > 20.0 |
| blood bilirubin increased | > ULN - 1.5 x ULN | > 1.5 - 3.0 | > 3.0 - 10.0 | > 10.0 |
| neutrophil count decreased (10^9/L) | < LLN - 1.5 | < 1.5 - 1.0 | < 1.0 - 0.5 | < 0.5 |
| platelet count decreased (10^9/L) | < LLN - 75 | < 75 - 50 | < 50 - 25 | < 25 |
| anemia (Hb g/dL) | < LLN - 10.0 | < 10.0 - 8.0 | < 8.0 | (life-threatening) |

Decreases are graded on the absolute thresholds first, the LLN only separates grade 1 from
grade 0: a value below 1.5 x10^9/L neutrophils is grade 2 whatever the lab's LLN. When the
limit needed for a decision is unknown the grade is ``None``, never 0. Anemia grade 4 is a
clinical judgement and is never produced from a value.
"""

from __future__ import annotations

CTCAE_VERSION = "5.0"

# Upper bound of each grade as a multiple (grade g if the multiple is > bound[g-1]).
_INCREASE_BANDS: dict[str, tuple[float, float, float, float]] = {
    # (grade-1 floor, grade-2 floor, grade-3 floor, grade-4 floor), all exclusive.
    "alt": (1.0, 3.0, 5.0, 20.0),
    "ast": (1.0, 3.0, 5.0, 20.0),
    "bilirubin": (1.0, 1.5, 3.0, 10.0),
}
_ABNORMAL_BASELINE_BANDS: tuple[float, float, float, float] = (1.5, 3.0, 5.0, 20.0)

# Absolute thresholds of decreases: grade g if value < threshold[g-2] (grades 2, 3, 4).
_DECREASE_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "anc": (1.5, 1.0, 0.5),
    "platelets": (75.0, 50.0, 25.0),
    "hgb": (10.0, 8.0),
}


def grade_increase(
    signal: str, value: float, uln: float | None, baseline: float | None = None
) -> int | None:
    """Grade of an ALT, AST or bilirubin value against its ULN.

    For ALT and AST with an abnormal baseline (``baseline > uln``), CTCAE v5 grades the
    multiple of the baseline instead: 1.5-3.0 x baseline is grade 1.
    """
    if signal in ("alt", "ast") and baseline is not None and uln is not None and baseline > uln:
        return _band(value / baseline, _ABNORMAL_BASELINE_BANDS, inclusive_first=True)
    if uln is None or uln <= 0:
        return None
    return _band(value / uln, _INCREASE_BANDS[signal], inclusive_first=False)


def _band(multiple: float, floors: tuple[float, float, float, float], inclusive_first: bool) -> int:
    grade = 0
    for g, floor in enumerate(floors, start=1):
        # v5 writes the abnormal-baseline grade 1 as "1.5 - 3.0 x baseline": 1.5 is in.
        inside = multiple >= floor if (g == 1 and inclusive_first) else multiple > floor
        if inside:
            grade = g
    return grade


def grade_decrease(signal: str, value: float, lln: float | None) -> int | None:
    """Grade of a neutrophil, platelet or haemoglobin value (``None`` if the LLN is needed
    to decide between grade 0 and 1 and is unknown)."""
    thresholds = _DECREASE_THRESHOLDS[signal]
    grade = 0
    for g, threshold in enumerate(thresholds, start=2):
        if value < threshold:
            grade = g
    if grade:
        return grade
    if lln is None:
        return None
    return 1 if value < lln else 0


def grade(
    signal: str, value: float, limit: float | None, baseline: float | None = None
) -> int | None:
    """CTCAE v5 grade of one value; ``limit`` is the ULN for increases, the LLN for decreases."""
    if signal in _INCREASE_BANDS:
        return grade_increase(signal, value, limit, baseline)
    if signal in _DECREASE_THRESHOLDS:
        return grade_decrease(signal, value, limit)
    raise KeyError(f"no CTCAE grading for {signal!r}")

"""The feature catalog: every feature the service computes, declared once as data.

A feature is named from its signal prefix, aggregate and window (``temp_max_6h``,
``crp_slope_24h``, ``ferritin_fold_from_baseline``, ``anc_last``), after the naming of
river and mimic-code. ``features.compute`` evaluates the catalog; ``features.state`` derives
from it how long each signal's points must be kept; ``docs/features.md`` shows it as a table
(``render_markdown_table``).

Conventions (also in docs/features.md):
- Windows are half-open, ``(at - w, at]``: a point exactly ``w`` old is out, one at ``at`` in.
- A last value is valid while its age is below the signal's staleness (``age < stale_h``);
  a value exactly ``stale_h`` old is stale and the feature is ``None``.
- ``<prefix>_age_h`` is never stale: it says how old the last value is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal[
    "vital", "lab", "neuro", "respiratory", "vasopressor", "treatment", "context", "admission"
]

Aggregate = Literal[
    "last",
    "age_h",
    "min",
    "max",
    "mean",
    "slope",
    "delta",
    "count",
    "readings",
    "any",
    "max_cycle",
    "count_cycle",
    "fold_from_baseline",
    "hours_since",
    "uln",
    "lln",
    "x_uln",
    "ctcae_grade",
    "derived",
    "timeline",
    "since_first",
    "since_admission",
    "admitted_before_first",
]


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """A stored series of points: an Observation signal or a field of another event kind."""

    signal: str
    """Series name: the contract signal (``temp``) or the event field (``consciousness_level``)."""
    prefix: str
    """Prefix of its feature names (``ice`` for the ``ice_score`` signal)."""
    unit: str
    group: Group
    stale_h: float | None
    """How long the last value stays valid; ``None`` means it never goes stale (context)."""


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: its name, how it is computed, its unit and its staleness."""

    name: str
    aggregate: Aggregate
    signal: str | None
    """The series it reads (``None`` for derived and timeline features)."""
    window_h: float | None
    unit: str
    stale_h: float | None
    description: str


# --- series ----------------------------------------------------------------------------------
# Staleness: vitals 4 h (temperature 6 h: ward charts take it less often), labs 48 h for the
# blood count and 72 h for chemistry (also coagulation and troponin), blood gases 12 h
# (pH, base excess, SaO2, PaO2, PaCO2; lactate too), neuro and device states 24 h.
_V: Group = "vital"
_L: Group = "lab"
_N: Group = "neuro"
SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("temp", "temp", "Cel", _V, 6.0),
    SeriesSpec("hr", "hr", "/min", _V, 4.0),
    SeriesSpec("rr", "rr", "/min", _V, 4.0),
    SeriesSpec("spo2", "spo2", "%", _V, 4.0),
    SeriesSpec("sbp", "sbp", "mm[Hg]", _V, 4.0),
    SeriesSpec("dbp", "dbp", "mm[Hg]", _V, 4.0),
    SeriesSpec("map", "map", "mm[Hg]", _V, 4.0),
    SeriesSpec("etco2", "etco2", "mm[Hg]", _V, 4.0),
    SeriesSpec("gcs", "gcs", "{score}", _N, 24.0),
    SeriesSpec("crp", "crp", "mg/L", _L, 72.0),
    SeriesSpec("ferritin", "ferritin", "ng/mL", _L, 72.0),
    SeriesSpec("alt", "alt", "U/L", _L, 72.0),
    SeriesSpec("ast", "ast", "U/L", _L, 72.0),
    SeriesSpec("bilirubin", "bilirubin", "mg/dL", _L, 72.0),
    SeriesSpec("ldh", "ldh", "U/L", _L, 72.0),
    SeriesSpec("creatinine", "creatinine", "mg/dL", _L, 72.0),
    SeriesSpec("fibrinogen", "fibrinogen", "mg/dL", _L, 72.0),
    SeriesSpec("triglycerides", "triglycerides", "mg/dL", _L, 72.0),
    SeriesSpec("il6", "il6", "pg/mL", _L, 72.0),
    SeriesSpec("ddimer_feu", "ddimer_feu", "ng/mL", _L, 72.0),
    SeriesSpec("wbc", "wbc", "10*3/uL", _L, 48.0),
    SeriesSpec("anc", "anc", "10*3/uL", _L, 48.0),
    SeriesSpec("bands", "bands", "%", _L, 48.0),
    SeriesSpec("platelets", "platelets", "10*3/uL", _L, 48.0),
    SeriesSpec("hgb", "hgb", "g/dL", _L, 48.0),
    SeriesSpec("pao2", "pao2", "mm[Hg]", _L, 12.0),
    SeriesSpec("paco2", "paco2", "mm[Hg]", _L, 12.0),
    SeriesSpec("lactate", "lactate", "mmol/L", _L, 12.0),
    # Acid-base, renal, metabolic and coagulation labs of an ICU panel (PhysioNet 2019 sends
    # them all; a ward feed sends whichever it has).
    SeriesSpec("ph", "ph", "[pH]", _L, 12.0),
    SeriesSpec("base_excess", "base_excess", "mmol/L", _L, 12.0),
    SeriesSpec("sao2", "sao2", "%", _L, 12.0),
    SeriesSpec("hco3", "hco3", "mmol/L", _L, 72.0),
    SeriesSpec("bun", "bun", "mg/dL", _L, 72.0),
    SeriesSpec("glucose", "glucose", "mg/dL", _L, 72.0),
    SeriesSpec("potassium", "potassium", "mmol/L", _L, 72.0),
    SeriesSpec("chloride", "chloride", "mmol/L", _L, 72.0),
    SeriesSpec("calcium", "calcium", "mg/dL", _L, 72.0),
    SeriesSpec("magnesium", "magnesium", "mg/dL", _L, 72.0),
    SeriesSpec("phosphate", "phosphate", "mg/dL", _L, 72.0),
    SeriesSpec("alk_phos", "alk_phos", "U/L", _L, 72.0),
    SeriesSpec("bilirubin_direct", "bilirubin_direct", "mg/dL", _L, 72.0),
    SeriesSpec("troponin_i", "troponin_i", "ng/mL", _L, 72.0),
    SeriesSpec("ptt", "ptt", "s", _L, 72.0),
    SeriesSpec("hct", "hct", "%", _L, 48.0),
    SeriesSpec("ice_score", "ice", "{score}", _N, 24.0),
    SeriesSpec("consciousness_level", "consciousness_level", "{ordinal}", _N, 24.0),
    SeriesSpec("new_confusion", "new_confusion", "{bool}", _N, 24.0),
    SeriesSpec("seizure", "seizure", "{bool}", _N, 24.0),
    SeriesSpec("seizure_prolonged", "seizure_prolonged", "{bool}", _N, 24.0),
    SeriesSpec("tremor_grade", "tremor_grade", "{grade}", _N, 24.0),
    SeriesSpec("motor_weakness", "motor_weakness", "{ordinal}", _N, 24.0),
    # Edema is seen on imaging, which is repeated rarely: it stays valid for 72 h.
    SeriesSpec("cerebral_edema", "cerebral_edema", "{ordinal}", _N, 72.0),
    SeriesSpec("o2_support_level", "o2_support_level", "{ordinal}", "respiratory", 24.0),
    SeriesSpec("o2_flow", "o2_flow", "L/min", "respiratory", 6.0),
    SeriesSpec("fio2", "fio2", "%", "respiratory", 6.0),
    SeriesSpec("vasopressor_count", "vasopressor_count", "{count}", "vasopressor", 24.0),
    SeriesSpec("vasopressin", "vasopressin", "{bool}", "vasopressor", 24.0),
    SeriesSpec("antipyretic", "antipyretic", "{given}", "treatment", None),
    SeriesSpec("corticosteroid", "corticosteroid", "{given}", "treatment", None),
    SeriesSpec("tocilizumab", "tocilizumab", "{given}", "treatment", None),
    SeriesSpec("anakinra", "anakinra", "{given}", "treatment", None),
    SeriesSpec("antibiotic", "antibiotic", "{given}", "treatment", None),
    SeriesSpec("transfusion_platelets", "transfusion_platelets", "{given}", "treatment", None),
    SeriesSpec("transfusion_red_cells", "transfusion_red_cells", "{given}", "treatment", None),
    SeriesSpec("age_years", "age_years", "a", "context", None),
    SeriesSpec("weight_kg", "weight_kg", "kg", "context", None),
    SeriesSpec("marrow_blasts_pct", "marrow_blasts_pct", "%", "context", None),
    SeriesSpec("prior_neurotoxicity", "prior_neurotoxicity", "{bool}", "context", None),
    SeriesSpec("immunosuppressed", "immunosuppressed", "{bool}", "context", None),
    SeriesSpec("sex_female", "sex_female", "{bool}", "context", None),
    # The hospital admission time itself (epoch ms, from PatientContext): read only as the
    # two durations below, never as a value (an absolute time means nothing to a model).
    SeriesSpec("hospital_admission", "hospital_admission", "ms", "admission", None),
)
SERIES_BY_SIGNAL: dict[str, SeriesSpec] = {s.signal: s for s in SERIES}

VITALS = ("temp", "hr", "rr", "spo2", "sbp", "dbp", "map")
VITAL_WINDOWS_H = (1.0, 6.0, 24.0)
TREATMENT_LOOKBACK_H = 336.0
"""Treatments count for 14 days (the break between cycles): steroids and tocilizumab mask
fever and CRP long after the dose."""
FEVER_C = 38.0
FEVER_ONSET_LOOKBACK_H = 72.0
"""A running fever's onset is searched at most this far back."""
FEVER_RUN_MAX_GAP_H = 6.0
"""Two febrile readings further apart than this (the temperature staleness) are separate
episodes: nobody can say the patient was febrile in between."""
BASELINE_AFTER_START_H = 24.0
"""Without a value before the first infusion start, the first one within 24 h after it is
the baseline."""

# Labs whose last value is multiplied by its ULN, and those with a used LLN.
ULN_LABS = ("alt", "ast", "bilirubin", "ldh", "creatinine", "crp", "ferritin")
LLN_LABS = ("anc", "platelets", "hgb")
GRADED_LABS = ("alt", "ast", "bilirubin", "anc", "platelets", "hgb")
BASELINE_LABS = ("crp", "ferritin", "creatinine", "ldh", "il6", "alt", "ast")
"""Labs with a pre-infusion baseline (fold change; ALT/AST also for CTCAE v5 grading)."""


_VITAL_AGGREGATES: tuple[Aggregate, ...] = ("min", "max", "mean")

VITAL_SLOPES = ("hr", "rr", "sbp", "map")
"""Vitals with a 6 h least-squares trend (temperature has its own 6 h and 24 h slopes)."""
LAB_DELTAS_H: tuple[tuple[str, float], ...] = (
    ("creatinine", 48.0),  # KDIGO AKI: a rise of >= 0.3 mg/dL within 48 h
    ("bun", 48.0),
    ("platelets", 48.0),  # a falling count: consumption (SOFA coagulation, DIC)
    ("wbc", 48.0),
    ("hgb", 48.0),
    ("bilirubin", 48.0),
    ("hco3", 48.0),  # a falling bicarbonate: metabolic acidosis
    ("lactate", 24.0),  # Surviving Sepsis: re-measure a raised lactate within hours
    ("ph", 24.0),
)
"""Labs with a change over the window: latest minus earliest reading."""
VITAL_READINGS_H = 24.0
LAB_READINGS_H = 72.0
READINGS_VITALS = ("temp", "hr", "rr", "spo2", "sbp", "map")
READINGS_LABS = ("wbc", "creatinine", "lactate", "ph", "glucose")
"""How often a signal is measured says how worried the team is (and, for blood gases, that
the patient has an arterial line): readings per window, vitals over 24 h, labs over 72 h."""


def _name(prefix: str, aggregate: str, window_h: float | None = None) -> str:
    if window_h is None:
        return f"{prefix}_{aggregate}"
    return f"{prefix}_{aggregate}_{window_h:g}h"


def _series_features(spec: SeriesSpec) -> list[FeatureSpec]:
    p, u, s, st = spec.prefix, spec.unit, spec.signal, spec.stale_h
    return [
        FeatureSpec(_name(p, "last"), "last", s, None, u, st, f"last {s} value"),
        FeatureSpec(_name(p, "age_h"), "age_h", s, None, "h", None, f"age of the last {s}"),
    ]


def _windowed(spec: SeriesSpec, aggregate: Aggregate, window_h: float) -> FeatureSpec:
    unit = f"{spec.unit}/h" if aggregate == "slope" else spec.unit
    unit = "{count}" if aggregate == "readings" else unit
    what = {
        "min": "lowest",
        "max": "highest",
        "mean": "mean of the readings",
        "slope": "least-squares slope per hour",
        "delta": "latest minus earliest reading (two or more readings at distinct times) of",
        "count": "count of positive",
        "readings": "number of readings (None if none) of",
        "any": "1 if any positive",
    }[aggregate]
    return FeatureSpec(
        _name(spec.prefix, aggregate, window_h),
        aggregate,
        spec.signal,
        window_h,
        unit,
        None,
        f"{what} {spec.signal} in the last {window_h:g} h",
    )


def _build() -> tuple[FeatureSpec, ...]:
    out: list[FeatureSpec] = []
    by = SERIES_BY_SIGNAL
    for spec in SERIES:
        if spec.group in ("vital", "lab", "neuro", "respiratory", "vasopressor"):
            if spec.signal in ("seizure", "seizure_prolonged"):
                continue
            if spec.signal == "o2_support_level":
                # The ASTCT hypoxia column, named as the rules know it.
                out.append(
                    FeatureSpec(
                        "o2_support_level",
                        "last",
                        "o2_support_level",
                        None,
                        spec.unit,
                        spec.stale_h,
                        "current oxygen support, ASTCT hypoxia column (ORDINAL_CODES)",
                    )
                )
                out.append(_windowed(spec, "max", 24.0))
                continue
            out.extend(_series_features(spec))
    for sig in VITALS:
        for w in VITAL_WINDOWS_H:
            for agg in _VITAL_AGGREGATES:
                out.append(_windowed(by[sig], agg, w))
    out.append(_windowed(by["temp"], "slope", 6.0))
    out.append(_windowed(by["temp"], "slope", 24.0))
    for sig in VITAL_SLOPES:
        out.append(_windowed(by[sig], "slope", 6.0))
    for sig, w in LAB_DELTAS_H:
        out.append(_windowed(by[sig], "delta", w))
    for sig in READINGS_VITALS:
        out.append(_windowed(by[sig], "readings", VITAL_READINGS_H))
    for sig in READINGS_LABS:
        out.append(_windowed(by[sig], "readings", LAB_READINGS_H))
    out.append(_windowed(by["gcs"], "min", 24.0))
    for sig in ("crp", "ferritin"):
        out.append(_windowed(by[sig], "max", 24.0))
        out.append(_windowed(by[sig], "slope", 24.0))
        out.append(_windowed(by[sig], "slope", 48.0))
    for sig in ("anc", "platelets", "hgb"):
        out.append(_windowed(by[sig], "min", 24.0))
    for sig, what in (("ferritin", "ferritin"), ("crp", "CRP")):
        out.append(
            FeatureSpec(
                _name(sig, "max_cycle"),
                "max_cycle",
                sig,
                None,
                by[sig].unit,
                None,
                f"highest {what} since the current cycle's start",
            )
        )
    for sig in BASELINE_LABS:
        out.append(
            FeatureSpec(
                _name(sig, "fold_from_baseline"),
                "fold_from_baseline",
                sig,
                None,
                "1",
                by[sig].stale_h,
                f"last {sig} / pre-infusion baseline (last before cycle-1 start, "
                "else first within 24 h after)",
            )
        )
    for sig in ULN_LABS:
        u = by[sig].unit
        st = by[sig].stale_h
        out.append(FeatureSpec(_name(sig, "uln"), "uln", sig, None, u, st, f"{sig} ULN used"))
        out.append(
            FeatureSpec(_name(sig, "x_uln"), "x_uln", sig, None, "1", st, f"last {sig} / ULN")
        )
    for sig in LLN_LABS:
        u = by[sig].unit
        out.append(
            FeatureSpec(_name(sig, "lln"), "lln", sig, None, u, by[sig].stale_h, f"{sig} LLN used")
        )
    for sig in GRADED_LABS:
        out.append(
            FeatureSpec(
                _name(sig, "ctcae_grade"),
                "ctcae_grade",
                sig,
                None,
                "{grade}",
                by[sig].stale_h,
                f"CTCAE v5.0 grade of the last {sig} (own or default limits)",
            )
        )
    # neuro event-like series
    out.append(_windowed(by["ice_score"], "min", 12.0))
    out.append(_windowed(by["ice_score"], "min", 24.0))
    out.append(_windowed(by["consciousness_level"], "max", 24.0))
    out.append(_windowed(by["seizure"], "count", 24.0))
    out.append(
        FeatureSpec(
            "seizure_count_cycle",
            "count_cycle",
            "seizure",
            None,
            "{count}",
            None,
            "assessments reporting a seizure since the current cycle's start",
        )
    )
    out.append(
        FeatureSpec(
            "seizure_prolonged_24h",
            "any",
            "seizure_prolonged",
            24.0,
            "{bool}",
            None,
            "1 if a prolonged or repetitive seizure was reported in the last 24 h",
        )
    )
    out.append(_windowed(by["vasopressor_count"], "max", 24.0))
    out.append(_windowed(by["fio2"], "max", 24.0))
    for spec in SERIES:
        if spec.group == "treatment":
            out.append(
                FeatureSpec(
                    f"hours_since_{spec.signal}",
                    "hours_since",
                    spec.signal,
                    TREATMENT_LOOKBACK_H,
                    "h",
                    None,
                    f"hours since the last {spec.signal} dose (None if none in 14 days)",
                )
            )
        elif spec.group == "context":
            out.append(
                FeatureSpec(
                    spec.prefix,
                    "last",
                    spec.signal,
                    None,
                    spec.unit,
                    None,
                    f"{spec.signal} from the latest patient context",
                )
            )
    out.extend(_DERIVED)
    out.extend(_TIMELINE)
    out.append(
        FeatureSpec(
            "hours_since_first_event",
            "since_first",
            None,
            None,
            "h",
            None,
            "hours since the patient's first event (any kind but patient context): time "
            "under observation (PhysioNet replay: since the stay's first charted value)",
        )
    )
    out.append(
        FeatureSpec(
            "hours_since_admission",
            "since_admission",
            "hospital_admission",
            None,
            "h",
            None,
            "hours since the current hospital admission began (patient context; PhysioNet "
            "replay: ICULOS - HospAdmTime)",
        )
    )
    out.append(
        FeatureSpec(
            "hours_admitted_before_first_event",
            "admitted_before_first",
            "hospital_admission",
            None,
            "h",
            None,
            "hours from the hospital admission to the patient's first event: time in hospital "
            "before this service heard of the patient, e.g. on a ward before the ICU "
            "(PhysioNet replay: first charted ICULOS - HospAdmTime); None if events came first",
        )
    )
    return tuple(out)


_DERIVED: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "fever_hours_24h",
        "derived",
        "temp",
        24.0,
        "h",
        None,
        "hours (1-h slices back from the snapshot) with any temp >= 38.0 C in the last 24 h",
    ),
    FeatureSpec(
        "hours_since_fever_onset",
        "derived",
        "temp",
        FEVER_ONSET_LOOKBACK_H,
        "h",
        6.0,
        "hours since the first reading of the current run of temps >= 38.0 C (None if the "
        "last temp is below 38.0 or stale)",
    ),
    FeatureSpec(
        "fever_sustained_1h",
        "derived",
        "temp",
        FEVER_ONSET_LOOKBACK_H,
        "{bool}",
        6.0,
        "1 if the current fever run (>= 38.0 C) has lasted more than 1 h (IDSA, CTCAE FN)",
    ),
    FeatureSpec(
        "easix_log2",
        "derived",
        None,
        None,
        "1",
        None,
        "log2(LDH x creatinine / platelets) of the valid last values (Korell 2022)",
    ),
    FeatureSpec(
        "m_easix_log2",
        "derived",
        None,
        None,
        "1",
        None,
        "log2(LDH x CRP(mg/dL) / platelets) of the valid last values (Pennisi 2021)",
    ),
    FeatureSpec(
        "bun_creatinine_ratio",
        "derived",
        None,
        None,
        "1",
        None,
        "BUN (mg/dL) / creatinine (mg/dL) of the valid last values (> 20: prerenal pattern)",
    ),
    FeatureSpec(
        "pf_ratio",
        "derived",
        "pao2",
        None,
        "mm[Hg]",
        12.0,
        "PaO2 / (FiO2/100), FiO2 = last value at or before the PaO2 and under 6 h older",
    ),
)

_TIMELINE: tuple[FeatureSpec, ...] = tuple(
    FeatureSpec(name, "timeline", None, None, unit, None, desc)
    for name, unit, desc in (
        ("cycle", "{cycle}", "cycle of the current or last infusion"),
        ("infusion_day", "d", "day of the cycle, day 1 = the start day"),
        ("hours_since_start", "h", "hours since the current cycle started"),
        ("hours_since_dose_change", "h", "hours since the last start, restart or dose change"),
        ("dose_ug_per_day", "ug/d", "current dose, 0 while interrupted or stopped"),
        ("on_infusion", "{bool}", "1 while the infusion runs"),
        ("interruptions", "{count}", "interruptions in the current cycle"),
        ("restarts", "{count}", "interruptions of >= 4 h in the current cycle"),
        ("hours_off_infusion", "h", "hours interrupted in the current cycle"),
    )
)

CATALOG: tuple[FeatureSpec, ...] = _build()
FEATURES: dict[str, FeatureSpec] = {f.name: f for f in CATALOG}
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in CATALOG)


def series_lookback_h(signal: str) -> float:
    """How far back from the newest event any feature reads the signal's points.

    The longest of the signal's windows and its staleness; the state keeps the points of
    this span (plus baselines, the cycle and the newest few) and drops older ones.
    """
    spec = SERIES_BY_SIGNAL[signal]
    spans = [spec.stale_h or 0.0]
    spans.extend(f.window_h for f in CATALOG if f.signal == signal and f.window_h is not None)
    spans.extend(f.stale_h for f in CATALOG if f.signal == signal and f.stale_h is not None)
    return max(spans)


CYCLE_SIGNALS: frozenset[str] = frozenset(
    f.signal for f in CATALOG if f.aggregate in ("max_cycle", "count_cycle") and f.signal
)
"""Signals with a whole-cycle feature: their points are kept since the cycle's start."""


def render_markdown_table() -> str:
    """The catalog as a Markdown table (docs/features.md embeds it; a test checks it)."""
    lines = [
        "| feature | aggregate | signal | window | unit | stale after | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in CATALOG:
        window = "cycle" if f.aggregate in ("max_cycle", "count_cycle") else _hours(f.window_h)
        lines.append(
            f"| `{f.name}` | {f.aggregate} | {f.signal or '-'} | {window} | "
            f"`{f.unit}` | {_hours(f.stale_h)} | {f.description} |"
        )
    return "\n".join(lines) + "\n"


def _hours(h: float | None) -> str:
    return "-" if h is None else f"{h:g} h"

"""The syndrome layer, label suggestions and the public API."""

from __future__ import annotations

import json

import msgspec

from features.snapshot import Evidence, Timeline
from scoring.api import RULESET_VERSION, assessment_to_dict, score_snapshot
from scoring.config import RuleConfig
from scoring.registry import REGISTRY
from scoring.syndromes import OVERLAP_NOTE
from tests.scoring.scoring_helpers import ON_TREATMENT, snap
from tests.scoring.vignettes.cases import NORMAL

FN = {**NORMAL, "anc_last": 0.3, "temp_max_24h": 38.6}


def test_assessment_runs_every_rule_and_is_json_ready() -> None:
    a = score_snapshot(snap(NORMAL, timeline=ON_TREATMENT))
    assert a.ruleset_version == RULESET_VERSION
    assert set(a.criteria) == set(REGISTRY)
    assert set(a.syndromes) == {"crs", "icans", "hlh", "infection", "hepatotoxicity"}
    d = assessment_to_dict(a)
    text = json.dumps(d)
    assert d["criteria"]["astct_crs"]["version"] == "ASTCT-2019"
    assert msgspec.json.decode(text)["patient_id"] == "p1"


def test_all_normal_gives_zero_grades_and_no_suggestions() -> None:
    a = score_snapshot(snap(NORMAL, timeline=ON_TREATMENT))
    assert {k: s.grade for k, s in a.syndromes.items()} == {
        "crs": 0, "icans": 0, "hlh": 0, "infection": 0, "hepatotoxicity": 0,
    }  # fmt: skip
    assert a.suggestions == ()


def test_empty_snapshot_is_undetermined_not_normal() -> None:
    a = score_snapshot(snap())
    for key in ("crs", "icans", "hlh", "infection", "hepatotoxicity"):
        assert a.syndromes[key].grade is None, key
        assert a.syndromes[key].status == "undetermined"


def test_crs_and_infection_overlap_reported_on_both() -> None:
    a = score_snapshot(snap(FN, timeline=ON_TREATMENT))
    assert a.syndromes["crs"].grade == 1
    assert a.syndromes["infection"].grade == 3
    for key in ("crs", "infection"):
        assert OVERLAP_NOTE in a.syndromes[key].notes
        assert "crs_infection_overlap" in a.syndromes[key].flags
    assert OVERLAP_NOTE in a.notes


def test_tocilizumab_flags_markers_and_masks_fever() -> None:
    values = {**NORMAL, "hours_since_tocilizumab": 20.0, "sbp_min_1h": 85.0, "crp_last": 4.0}
    a = score_snapshot(snap(values, timeline=ON_TREATMENT))
    assert "crp_not_interpretable_after_tocilizumab" in a.flags
    assert "il6_not_interpretable_after_tocilizumab" in a.flags
    crs = a.criteria["astct_crs"]
    assert crs.grade == 2
    assert "fever_masked_by_treatment" in crs.flags
    assert any("hypotension and hypoxia alone" in n for n in crs.notes)
    assert "crp_not_interpretable_after_tocilizumab" in a.criteria["easix"].flags


def test_masking_windows_are_configurable() -> None:
    values = {**NORMAL, "hours_since_antipyretic": 8.0, "sbp_min_1h": 85.0}
    assert score_snapshot(snap(values)).criteria["astct_crs"].grade == 0
    wide = RuleConfig(antipyretic_mask_h=12.0)
    assert score_snapshot(snap(values), wide).criteria["astct_crs"].grade == 2


def test_evidence_cites_the_observation() -> None:
    ev = Evidence(
        signal="temp", value=38.6, unit="Cel", time_ms=1, source_msg_id="msg-7", obs_id="o-7"
    )
    r = REGISTRY["astct_crs"].fn(
        snap({**NORMAL, "temp_max_24h": 38.6}, evidence={"temp_max_24h": ev}), RuleConfig()
    )
    (hit,) = [e for e in r.evidence if e.feature == "temp_max_24h"]
    assert hit.rule == "temp_max_24h 38.6 Cel >= 38: fever"
    assert hit.source == ev


def test_neuro_grade3_at_9ug_says_discontinue_condition_and_low_weight_dose() -> None:
    values = {**NORMAL, "ice_last": 2.0, "weight_kg": 40.0}
    a = score_snapshot(snap(values, timeline=ON_TREATMENT))
    (s,) = a.syndromes["icans"].suggestions
    assert "Current dose is 9 ug/day" in s.text
    assert "5 ug/m2/day" in s.text
    assert s.text.startswith("For clinician review")


def test_label_suggestions_use_worse_of_astct_and_ctcae() -> None:
    values = {
        **NORMAL,
        "temp_max_24h": 38.5,
        "o2_support_level": 1.0,
        "o2_flow_last": 3.0,
        "fio2_last": 45.0,
    }
    a = score_snapshot(snap(values, timeline=ON_TREATMENT))
    assert a.syndromes["crs"].grade == 2  # ASTCT
    assert a.criteria["ctcae_crs"].grade == 3
    assert any("CRS grade 3" in s.text for s in a.syndromes["crs"].suggestions)
    assert any("CTCAE v5.0" in n for n in a.syndromes["crs"].notes)


def test_hlh_undetermined_when_hscore_can_still_reach_cutoff() -> None:
    values = {**NORMAL, "temp_max_24h": 39.0, "ferritin_last": 4000.0, "triglycerides_last": 200.0}
    a = score_snapshot(snap(values))
    assert a.criteria["hscore"].status == "undetermined"
    assert a.syndromes["hlh"].grade is None
    assert any("organomegaly" in u for u in a.criteria["hscore"].unknown)


def test_sofa_partial_names_scored_and_missing_components() -> None:
    r = REGISTRY["sofa"].fn(snap(platelets_last=90.0, gcs_last=14.0), RuleConfig())
    assert r.points == 3.0 and r.status == "partial" and not r.complete
    assert r.components["respiration"] is None and r.components["coagulation"] == 2
    assert any("Scored components: coagulation, cns" in n for n in r.notes)


def test_hlh2004_never_met_from_stream_alone_and_lists_unknowns() -> None:
    values = {
        **NORMAL,
        "temp_max_24h": 39.0,
        "ferritin_last": 5000.0,
        "hgb_last": 8.0,
        "platelets_last": 50.0,
        "triglycerides_last": 300.0,
    }
    r = REGISTRY["hlh2004"].fn(snap(values), RuleConfig())
    assert r.points == 4.0 and r.met is None and r.status == "undetermined"
    assert "splenomegaly" in r.unknown and "low/absent NK-cell activity" in r.unknown


def test_icans_pediatric_ice_unknown() -> None:
    r = REGISTRY["astct_icans"].fn(
        snap({**NORMAL, "age_years": 8.0, "ice_last": 2.0}), RuleConfig()
    )
    assert r.grade == 0 and r.components["ice"] is None
    assert any("CAPD" in u for u in r.unknown)


def test_timeline_is_only_read_not_required() -> None:
    a = score_snapshot(snap(NORMAL, timeline=Timeline()))
    assert a.criteria["easix"].status in ("below_korell_threshold", "above_korell_threshold")

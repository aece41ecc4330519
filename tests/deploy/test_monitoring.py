"""Alert rules and dashboard use only metrics the service and Faust's sensor expose."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.deploy.deploy_helpers import (
    DASHBOARD,
    FAUST_PREFIX,
    OPERATIONS_DOC,
    PROMETHEUS_BUILTINS,
    REPO,
    RULES_FILE,
    RULES_LINK,
    SERVICE_METRICS,
    code_metrics,
    faust_metric_names,
    load_rules,
    metric_names,
    one,
    recorded_names,
    render,
    service_metric_names,
)

RULES = load_rules()
ALERTS = [rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule]
DASH = json.loads(DASHBOARD.read_text(encoding="utf-8"))
LAG_GAUGES = {
    f"{FAUST_PREFIX}_topic_partition_end_offset",
    f"{FAUST_PREFIX}_topic_partition_offset_commited",
}


def known_metrics() -> frozenset[str]:
    return (
        service_metric_names()
        | faust_metric_names()
        | PROMETHEUS_BUILTINS
        | recorded_names(RULES["groups"])
    )


def test_metric_name_extraction() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le) (rate(ews_model_inference_seconds_bucket"
        '{job="blina-ews", pod=~"$pod"}[$__rate_interval]))) > 0.5 and on (namespace) '
        "time() - max without (pod) (ews_input_last_event_timestamp_seconds offset 5m) > 900"
        " unless ews:consumer_lag:sum"
    )
    assert metric_names(expr) == {
        "ews_model_inference_seconds_bucket",
        "ews_input_last_event_timestamp_seconds",
        "ews:consumer_lag:sum",
    }


def test_faust_sensor_names_are_read_from_faust() -> None:
    names = faust_metric_names()
    assert names >= LAG_GAUGES
    assert f"{FAUST_PREFIX}_messages_received_total" in names
    assert f"{FAUST_PREFIX}_events_runtime_ms_bucket" in names
    assert "ews_faust_not_a_metric" not in names


def test_faust_prefix_is_the_workers() -> None:
    source = (REPO / "streams" / "app.py").read_text(encoding="utf-8")
    prefixes = re.findall(r"setup_prometheus_sensors\([^)]*name_prefix=\"(\w+)\"", source)
    assert prefixes == [FAUST_PREFIX], "rules and dashboard assume this Faust metric prefix"


def test_metric_contract_matches_the_code() -> None:
    """Metrics streams/metrics.py already defines have the type the rules assume."""
    code = code_metrics()
    assert code, "streams.metrics.Metrics registers nothing"
    for name, kind in SERVICE_METRICS.items():
        if name in code:
            assert code[name] == kind, name
    for name in code:
        assert name.startswith("ews_"), f"{name}: the service's metrics share one prefix"


def test_rules_file_is_shared_not_copied() -> None:
    assert RULES_LINK.is_symlink(), "deploy/prometheus/rules.yaml must link to the chart's file"
    assert RULES_LINK.resolve() == RULES_FILE.resolve()


def test_rendered_prometheus_rule_is_the_rules_file() -> None:
    rendered = one(render(), "PrometheusRule")
    assert rendered["spec"]["groups"] == RULES["groups"]


def test_rules_are_well_formed() -> None:
    names = [rule["alert"] for rule in ALERTS]
    assert len(names) == len(set(names)), "duplicate alert names"
    anchors = set(re.findall(r"<a id=\"([a-z0-9-]+)\"></a>", OPERATIONS_DOC.read_text("utf-8")))
    for rule in ALERTS:
        assert re.fullmatch(r"Ews[A-Za-z]+", rule["alert"])
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor in anchors, f"docs/operations.md has no runbook anchor {anchor}"
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


@pytest.mark.parametrize(
    "rule",
    [r for g in RULES["groups"] for r in g["rules"]],
    ids=lambda r: r.get("alert", r.get("record")),
)
def test_rule_expressions_use_only_known_metrics(rule: dict[str, Any]) -> None:
    used = metric_names(rule["expr"])
    assert used, "an expression without a metric"
    assert used <= known_metrics(), f"unknown metrics: {sorted(used - known_metrics())}"


def test_rules_cover_the_operational_failures() -> None:
    used_by_alerts: dict[str, set[str]] = {a["alert"]: metric_names(a["expr"]) for a in ALERTS}
    used = set().union(*used_by_alerts.values())
    assert "ews_input_last_event_timestamp_seconds" in used  # stalled input per source
    assert "ews:consumer_lag:sum" in used  # growing lag (recorded from the Faust gauges)
    assert metric_names(RULES["groups"][0]["rules"][0]["expr"]) >= LAG_GAUGES
    assert "ews_deadletters_total" in used
    assert "ews_pager_failures_total" in used
    assert "ews_ready" in used
    assert "up" in used


def test_no_clinical_alerts() -> None:
    """Alertmanager is for operations: no rule fires on what the service says about patients."""
    clinical = {"ews_alerts_total", "ews_alerts_suppressed_total", "ews_model_inference_seconds"}
    for rule in ALERTS:
        exposed = {
            n.removesuffix("_bucket").removesuffix("_count") for n in metric_names(rule["expr"])
        }
        assert not exposed & clinical, rule["alert"]


def test_rules_parse_as_promql() -> None:
    """Full PromQL parse when promql-parser is installed (it is not a project dependency)."""
    promql_parser = pytest.importorskip("promql_parser")
    for group in RULES["groups"]:
        for rule in group["rules"]:
            promql_parser.parse(rule["expr"])
    grafana_vars = {"$__rate_interval": "5m", "$namespace": "ews", "$pod": ".*"}
    for expr in _exprs():
        concrete = expr
        for var, value in grafana_vars.items():
            concrete = concrete.replace(var, value)
        promql_parser.parse(concrete)


# --- dashboard ------------------------------------------------------------------------------


def _panels() -> list[dict[str, Any]]:
    return [p for p in DASH["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def test_dashboard_structure() -> None:
    assert DASH["uid"] == "blina-ews-workers"
    variables = {v["name"]: v for v in DASH["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in DASH["panels"]]
    assert len(ids) == len(set(ids))
    occupied: set[tuple[int, int]] = set()
    for panel in DASH["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & occupied, f"overlapping panel {panel['title']}"
        occupied |= cells
    for panel in _panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert 'job="blina-ews"' in target["expr"], panel["title"]
            assert 'namespace="$namespace"' in target["expr"], panel["title"]


def test_dashboard_uses_only_known_metrics() -> None:
    for expr in _exprs():
        used = metric_names(expr)
        assert used, expr
        unknown = used - known_metrics() - recorded_names(RULES["groups"])
        assert not unknown, f"{sorted(unknown)} in {expr}"


def test_dashboard_shows_every_service_metric_and_the_lag() -> None:
    used = set().union(*(metric_names(e) for e in _exprs()))
    for name, kind in SERVICE_METRICS.items():
        series = f"{name}_bucket" if kind == "histogram" else name
        assert series in used, f"no panel shows {name}"
    assert used >= LAG_GAUGES
    titles = {p["title"] for p in _panels()}
    for required in (
        "Consumer lag by topic",
        "Event time to alert",
        "Alerts by risk and grade",
        "Dead letters by stage and reason",
        "Input freshness by source",
        "Pager failures by reason",
        "Readiness per worker",
    ):
        assert required in titles

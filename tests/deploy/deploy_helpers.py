"""Shared helpers of the deployment tests: render the chart, name the metrics, read PromQL.

Rendering uses helm-python-sdk, which runs Helm's own Go engine in-process from a shared
library shipped in the wheel (no helm binary, no download, no cluster, no network).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "blina-ews"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
RULES_FILE = CHART / "files" / "prometheus-rules.yaml"
RULES_LINK = DEPLOY / "prometheus" / "rules.yaml"
DASHBOARD = DEPLOY / "grafana" / "blina-ews-dashboard.json"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
OPERATIONS_DOC = REPO / "docs" / "operations.md"

RELEASE = "ews"
NAMESPACE = "ews-test"

#: Settings the chart sets itself rather than from values (the pod name, via the downward API).
CHART_MANAGED = frozenset({"group_instance_id"})
#: Secret settings that are file paths themselves: EWS_<NAME>, not EWS_<NAME>_FILE.
PATH_SECRETS = frozenset({"ssl_cafile", "ssl_certfile", "ssl_keyfile"})
SECRETS_DIR = "/etc/ews/secrets"

#: Prefix the worker passes to faust.sensors.prometheus.setup_prometheus_sensors
#: (streams/app.py; test_monitoring checks it).
FAUST_PREFIX = "faust"

#: The service's metric contract (issue 8): name -> Prometheus type. streams/metrics.py
#: defines them; ones it defines beyond this list are allowed too (code_metrics()).
SERVICE_METRICS = {
    "ews_ingest_messages_total": "counter",
    "ews_events_in_total": "counter",
    "ews_events_rejected_total": "counter",
    "ews_deadletters_total": "counter",
    "ews_event_to_alert_seconds": "histogram",
    "ews_scoring_seconds": "histogram",
    "ews_model_inference_seconds": "histogram",
    "ews_alerts_total": "counter",
    "ews_alerts_suppressed_total": "counter",
    "ews_pager_deliveries_total": "counter",
    "ews_pager_failures_total": "counter",
    "ews_input_last_event_timestamp_seconds": "gauge",
    "ews_model_info": "gauge",
    "ews_ready": "gauge",
}
#: Series Prometheus itself adds to every target.
PROMETHEUS_BUILTINS = frozenset({"up"})


def values_of(values_file: Path | None) -> dict[str, Any]:
    """The values a CI file overrides ({} for the chart defaults)."""
    if values_file is None:
        return {}
    loaded = yaml.safe_load(values_file.read_text(encoding="utf-8"))
    return loaded or {}


@cache
def _chart() -> helm.Chart:
    return helm.Chart.load(CHART)


def merged_values(values: dict[str, Any]) -> dict[str, Any]:
    """Chart defaults coalesced with ``values``, as an install would use them."""
    return _chart().merge_values(values)


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Render the chart (schema validation included) into its Kubernetes objects."""
    rendered = _chart().render(
        json.loads(json.dumps(values or {})), name=RELEASE, namespace=NAMESPACE
    )
    objects = []
    for path, text in sorted(rendered.items()):
        if not path.endswith(".yaml"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def notes(values: dict[str, Any] | None = None) -> str:
    rendered = _chart().render(values or {}, name=RELEASE, namespace=NAMESPACE)
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def worker_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(objects, "StatefulSet")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "worker")


def env_of(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The worker's env entries by name (each entry as rendered)."""
    env = worker_container(objects)["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), f"duplicate env names: {names}"
    return {e["name"]: e for e in env}


# --- metric names ---------------------------------------------------------------------------


def exposed_names(name: str, kind: str) -> set[str]:
    """The series names a metric of ``kind`` exposes (prometheus_client conventions)."""
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    if kind == "counter" and not name.endswith("_total"):
        return {f"{name}_total"}
    return {name}


@cache
def faust_metric_names() -> frozenset[str]:
    """Series names of Faust's Prometheus sensor, built by Faust's own code."""
    from faust.sensors.prometheus import FaustMetrics
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=True)
    FaustMetrics.create(registry, FAUST_PREFIX)
    names: set[str] = set()
    for family in registry.collect():
        names |= exposed_names(family.name, family.type)
    return frozenset(names)


@cache
def code_metrics() -> dict[str, str]:
    """name -> type of every metric streams.metrics.Metrics registers today."""
    from prometheus_client import CollectorRegistry

    from streams.metrics import Metrics

    registry = CollectorRegistry(auto_describe=True)
    Metrics(registry)
    found = {}
    for family in registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        found[name] = family.type
    return found


@cache
def service_metric_names() -> frozenset[str]:
    names: set[str] = set()
    for name, kind in {**SERVICE_METRICS, **code_metrics()}.items():
        names |= exposed_names(name, kind)
    return frozenset(names)


def recorded_names(groups: list[dict[str, Any]]) -> set[str]:
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


_PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"bool", "offset", "inf", "nan"}
)
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?!\w)")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, labels and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery selectors
    text = _GROUPING.sub("", text)  # label lists of aggregations and vector matching
    text = re.sub(r"\boffset\s+-?\w+", "", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(1)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or name.lower() in _PROMQL_KEYWORDS:
            continue  # a function call or a keyword
        if re.fullmatch(r"\d+\w*", name):
            continue
        names.add(name)
    return names


def load_rules() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return loaded

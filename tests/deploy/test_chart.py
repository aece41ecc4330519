"""Lint and render the Helm chart with the real Helm engine, validate every object.

Core kinds are validated with kubernetes-validate (strict: unknown fields fail) against the
oldest Kubernetes the chart supports and the newest schema it ships. It has no schema for the
Prometheus Operator CRDs, so ServiceMonitor and PrometheusRule are checked here against a small
strict schema of the fields this chart uses (written from the operator's v1 API).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest

from tests.deploy.deploy_helpers import (
    CHART,
    CI_VALUES,
    NAMESPACE,
    SECRETS_DIR,
    by_kind,
    env_of,
    merged_values,
    notes,
    one,
    render,
    values_of,
    worker_container,
)

KUBE_VERSIONS = ("1.27", kubernetes_validate.utils.latest_version())
VALUE_SETS = [None, *CI_VALUES]
IDS = ["default", *(p.stem for p in CI_VALUES)]

DURATION = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "required": ["name", "namespace", "labels"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
}
LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["matchLabels"],
    "properties": {"matchLabels": STRING_MAP},
}
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
                },
                "selector": LABEL_SELECTOR,
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": DURATION,
                            "scrapeTimeout": DURATION,
                        },
                    },
                },
            },
        },
    },
}
RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {
        "alert": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
        "record": {"type": "string", "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "expr": {"type": "string", "minLength": 1},
        "for": DURATION,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}
PROMETHEUS_RULE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string"},
                            "interval": DURATION,
                            "rules": {"type": "array", "minItems": 1, "items": RULE},
                        },
                    },
                }
            },
        },
    },
}
CRD_SCHEMAS = {"ServiceMonitor": SERVICE_MONITOR_SCHEMA, "PrometheusRule": PROMETHEUS_RULE_SCHEMA}


def _validate(obj: dict[str, Any], kube_version: str) -> None:
    if obj["kind"] in CRD_SCHEMAS:
        jsonschema.validate(obj, CRD_SCHEMAS[obj["kind"]])
    else:
        # Raises on a schema error, and on a kind it has no schema for (never skipped).
        kubernetes_validate.validate(obj, kube_version, strict=True)


def _values_id(values_file: Path | None) -> dict[str, Any]:
    return values_of(values_file)


@pytest.mark.parametrize("values_file", VALUE_SETS, ids=IDS)
def test_lint_is_clean(values_file: Path | None) -> None:
    report = helm.lint(CHART, values_of(values_file), strict=True, namespace=NAMESPACE)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", VALUE_SETS, ids=IDS)
def test_every_rendered_object_is_valid(values_file: Path | None, kube_version: str) -> None:
    objects = render(values_of(values_file))
    assert {"StatefulSet", "Service"} <= {o["kind"] for o in objects}
    for obj in objects:
        assert obj["metadata"]["namespace"] == NAMESPACE
        _validate(obj, kube_version)


def test_validation_catches_broken_objects() -> None:
    """The validators above are not vacuous: a typo or a wrong type fails them."""
    objects = render()
    broken_sts = copy.deepcopy(one(objects, "StatefulSet"))
    broken_sts["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["prot"] = (
        6066
    )
    broken_svc = copy.deepcopy(by_kind(objects, "Service")[0])
    broken_svc["spec"]["ports"][0]["port"] = "http"
    broken_rule = copy.deepcopy(one(objects, "PrometheusRule"))
    broken_rule["spec"]["groups"][1]["rules"][0]["for"] = "five minutes"
    broken_monitor = copy.deepcopy(one(objects, "ServiceMonitor"))
    broken_monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    for broken in (broken_sts, broken_svc, broken_rule, broken_monitor):
        with pytest.raises(jsonschema.ValidationError):
            _validate(broken, KUBE_VERSIONS[-1])


def test_default_statefulset() -> None:
    objects = render()
    values = merged_values({})
    sts = one(objects, "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    container = worker_container(objects)

    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["serviceName"] == "ews-blina-ews-headless"
    assert container["command"] == ["ews"] and container["args"] == ["worker"]
    assert container["image"] == "blina-ews:0.1.0"

    # env: one EWS_<KEY> per non-null config value, nothing for null ones
    env = env_of(objects)
    for key, value in values["config"].items():
        name = f"EWS_{key.upper()}"
        if name == "EWS_WEB_CANONICAL_URL":
            continue  # per pod, below
        if value is None:
            assert name not in env
        else:
            assert env[name]["value"] == str(value), name
    assert env["EWS_WEB_HOST"]["value"] == "0.0.0.0"
    assert env["EWS_GROUP_INSTANCE_ID"] == {
        "name": "EWS_GROUP_INSTANCE_ID",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
    }
    assert not [n for n in env if n.endswith("_FILE")], "no secret is referenced by default"
    # Peers reach each pod's web server (alert pictures) by its name under the headless Service.
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    canonical = env["EWS_WEB_CANONICAL_URL"]["value"]
    assert canonical.startswith("http://$(POD_NAME).") and "-headless." in canonical
    assert canonical.endswith(f".svc:{values['config']['web_port']}")

    # security
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["fsGroup"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False

    # storage: the data dir on a claim template, /tmp on an emptyDir
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"data": values["config"]["data_dir"], "tmp": "/tmp"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"] and "data" not in volumes

    # probes and port
    (port,) = container["ports"]
    assert port == {"name": "http", "containerPort": 6066, "protocol": "TCP"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["resources"]["limits"]["memory"] == "2Gi"

    # soft anti-affinity on the pod's own labels
    (term,) = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    selector = term["podAffinityTerm"]["labelSelector"]["matchLabels"]
    assert selector.items() <= sts["spec"]["template"]["metadata"]["labels"].items()


def test_services_pdb_and_monitor_select_the_workers() -> None:
    objects = render()
    sts = one(objects, "StatefulSet")
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    services = {s["metadata"]["name"]: s for s in by_kind(objects, "Service")}
    headless = services["ews-blina-ews-headless"]
    metrics = services["ews-blina-ews-metrics"]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    for service in (headless, metrics):
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert service["spec"]["ports"][0]["targetPort"] == "http"
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1
    monitor = one(objects, "ServiceMonitor")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= metrics["metadata"]["labels"].items()
    )
    assert (
        not monitor["spec"]["selector"]["matchLabels"].items()
        <= headless["metadata"]["labels"].items()
    ), "scraping both Services would duplicate every series"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # the job label the alert rules and the dashboard match on
    assert metrics["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "blina-ews"
    account = one(objects, "ServiceAccount")
    assert sts["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]


def test_tls_sasl_values() -> None:
    objects = render(values_of(CHART / "ci" / "tls-sasl-values.yaml"))
    container = worker_container(objects)
    env = env_of(objects)
    assert env["EWS_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert env["EWS_SASL_PASSWORD_FILE"]["value"] == f"{SECRETS_DIR}/sasl_password"
    assert env["EWS_SSL_CAFILE"]["value"] == f"{SECRETS_DIR}/ssl_cafile"
    assert "EWS_SASL_PASSWORD" not in env
    # Helm reads numbers as floats: big integers must still render as plain integers
    assert env["EWS_MAX_MESSAGE_BYTES"]["value"] == "2097152"
    assert env["EWS_SESSION_TIMEOUT_S"]["value"] == "60.5"
    assert env["EWS_PUBLISH_CANONICAL"]["value"] == "false"
    assert env["TZ"]["value"] == "UTC"
    assert container["image"].endswith("@sha256:" + "0f1e2d3c4b5a69788796a5b4c3d2e1f0" * 2)

    pod = one(objects, "StatefulSet")["spec"]["template"]["spec"]
    secrets = next(v for v in pod["volumes"] if v["name"] == "secrets")["projected"]
    refs = {
        item["path"]: (source["secret"]["name"], item["key"])
        for source in secrets["sources"]
        for item in source["secret"]["items"]
    }
    assert refs["sasl_password"] == ("blina-ews-kafka-user", "password")
    assert refs["ssl_keyfile"] == ("blina-ews-kafka-tls", "tls.key")
    assert len(refs) == 7
    assert secrets["defaultMode"] == 0o440
    mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets")
    assert mount == {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True}
    assert {"name": "site-codes", "mountPath": "/etc/ews/site", "readOnly": True} in container[
        "volumeMounts"
    ]

    rule = one(objects, "PrometheusRule")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert alerts and all(a["labels"]["team"] == "ews-platform" for a in alerts)
    assert all(a["labels"]["severity"] in {"warning", "critical"} for a in alerts)
    assert "EwsModelVersionSkew" not in {a["alert"] for a in alerts}
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_scaled_values() -> None:
    objects = render(values_of(CHART / "ci" / "scaled-values.yaml"))
    sts = one(objects, "StatefulSet")
    assert sts["spec"]["replicas"] == 6
    assert worker_container(objects)["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    assert not by_kind(objects, "ServiceMonitor") and not by_kind(objects, "PrometheusRule")
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 2
    assert env_of(objects)["EWS_TOPIC_PARTITIONS"]["value"] == "24"


def test_minimal_values() -> None:
    values = values_of(CHART / "ci" / "minimal-values.yaml")
    objects = render(values)
    sts = one(objects, "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    assert "volumeClaimTemplates" not in sts["spec"]
    assert "persistentVolumeClaimRetentionPolicy" not in sts["spec"]
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data == {"name": "data", "emptyDir": {}}
    assert not by_kind(objects, "PodDisruptionBudget")
    assert not by_kind(objects, "ServiceAccount")
    assert pod["serviceAccountName"] == "default"
    assert env_of(objects)["EWS_STORE"]["value"] == "memory://"
    assert "persistence is disabled" in notes(values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": 9}, "topic_partitions"),
        ({"config": {"security_protocol": "SASL_SSL"}}, "sasl_username"),
        (
            {"config": {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "ews"}},
            "secrets.sasl_password.existingSecret",
        ),
        (
            {"secrets": {"ssl_cafile": {"existingSecret": "tls", "key": "ca.crt"}}},
            "does not use TLS",
        ),
        (
            {
                "config": {"security_protocol": "SSL"},
                "secrets": {"ssl_certfile": {"existingSecret": "tls", "key": "tls.crt"}},
            },
            "go together",
        ),
        ({"metrics": {"prometheusRule": {"disabledAlerts": ["EwsNoSuchAlert"]}}}, "no alert named"),
    ],
)
def test_misconfiguration_fails_the_render(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)


@pytest.mark.parametrize(
    "values",
    [
        {"config": {"unknown_setting": 1}},
        {"config": {"group_instance_id": "x"}},
        {"config": {"web_host": "127.0.0.1"}},
        {"config": {"web_port": 0}},
        {"config": {"security_protocol": "TLS"}},
        {"config": {"data_dir": "relative/path"}},
        {"config": {"sasl_password": "inline"}},
        {"secrets": {"sasl_password": "an-inline-password"}},
        {"secrets": {"sasl_password": {"existingSecret": "s", "key": ""}}},
        {"secrets": {"kafka_password": {"existingSecret": "s", "key": "k"}}},
        {"extraEnv": [{"name": "EWS_WEB_PORT", "value": "1"}]},
        {"image": {"digest": "latest"}},
        {"replicas": 3},
    ],
)
def test_schema_rejects_bad_values(values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        render(values)

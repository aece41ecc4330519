"""The chart's values cannot drift from the service's settings (ews/settings.py).

Every settings field is either a `config:` key (rendered as EWS_<KEY>), a `secrets:` reference
(mounted file, EWS_<NAME>_FILE or EWS_<NAME> for TLS files) or set by the chart itself
(EWS_GROUP_INSTANCE_ID from the pod name) - exactly one of them, and nothing else.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from ews.settings import SECRET_FIELDS, Settings
from tests.deploy.deploy_helpers import (
    CHART,
    CHART_MANAGED,
    CI_VALUES,
    OPERATIONS_DOC,
    PATH_SECRETS,
    SECRETS_DIR,
    env_of,
    render,
    values_of,
)

VALUES = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
SETTINGS_FIELDS = set(Settings.model_fields)
SERVICE_NAMES = SETTINGS_FIELDS | set(SECRET_FIELDS)


def test_config_secrets_and_chart_managed_cover_exactly_the_settings() -> None:
    config, secrets = set(VALUES["config"]), set(VALUES["secrets"])
    assert not config & secrets, f"in both config and secrets: {sorted(config & secrets)}"
    assert not (config | secrets) & CHART_MANAGED, "the chart sets these itself"
    chart_names = config | secrets | CHART_MANAGED
    missing = sorted(SERVICE_NAMES - chart_names)
    unknown = sorted(chart_names - SERVICE_NAMES)
    assert not missing, (
        f"settings without a chart value: {missing}. Add them under config: in "
        "deploy/helm/blina-ews/values.yaml (null = service default), values.schema.json, "
        "and the table in docs/operations.md (secrets: under secrets:)."
    )
    assert not unknown, f"chart values that are no setting (remove them): {unknown}"


def test_secrets_are_exactly_the_secret_fields_and_tls_files() -> None:
    assert set(VALUES["secrets"]) == set(SECRET_FIELDS) | PATH_SECRETS
    for name in PATH_SECRETS:
        assert _is_path(name), f"{name} is not a path setting"
    for name in SECRET_FIELDS:
        assert not VALUES["secrets"][name]["existingSecret"], "no secret is on by default"


def test_chart_managed_fields_are_settings() -> None:
    assert CHART_MANAGED <= SETTINGS_FIELDS


def test_schema_lists_exactly_the_config_keys() -> None:
    schema_config = SCHEMA["properties"]["config"]
    assert schema_config["additionalProperties"] is False
    assert set(schema_config["properties"]) == set(VALUES["config"])
    assert set(SCHEMA["properties"]["secrets"]["properties"]) == set(VALUES["secrets"])


def _is_path(key: str) -> bool:
    annotation = Settings.model_fields[key].annotation
    return annotation is Path or Path in typing.get_args(annotation)


def _json_type(annotation: Any) -> str:
    inner = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (annotation,) = inner
    if typing.get_origin(annotation) is typing.Literal:
        return "string"
    return {bool: "boolean", int: "integer", float: "number", str: "string", Path: "string"}[
        annotation
    ]


#: Config keys the chart constrains more than the service (a pod needs them so).
STRICTER_IN_CHART = {"web_host", "web_port", "store", "data_dir", "bootstrap_servers"}


@pytest.mark.parametrize("key", sorted(VALUES["config"]))
def test_schema_types_and_bounds_match_the_settings(key: str) -> None:
    chart = SCHEMA["properties"]["config"]["properties"][key]
    service = Settings.model_json_schema()["properties"][key]
    service = next((s for s in service.get("anyOf", []) if s.get("type") != "null"), service)
    chart_types = chart["type"] if isinstance(chart["type"], list) else [chart["type"]]
    assert _json_type(Settings.model_fields[key].annotation) in chart_types
    assert set(chart_types) <= {service["type"], "null"}
    if "enum" in service:
        chart_enum = set(chart.get("enum", [])) - {None}
        if key in STRICTER_IN_CHART:
            assert chart_enum and chart_enum <= set(service["enum"])
        else:
            assert chart_enum == set(service["enum"])
    for bound in ("minimum", "exclusiveMinimum"):
        if bound in service:
            assert chart.get(bound, float("-inf")) >= service[bound], f"{key} {bound}"
    if "maximum" in service:
        assert chart.get("maximum", float("inf")) <= service["maximum"], key
    if key not in STRICTER_IN_CHART:
        for bound in ("minimum", "maximum", "exclusiveMinimum"):
            assert chart.get(bound) == service.get(bound), f"{key} {bound}"


def _settings_from_rendered_env(
    values: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Build Settings from exactly the environment the chart gives the worker."""
    import os

    for name in list(os.environ):
        if name.startswith("EWS_"):
            monkeypatch.delenv(name)
    for name, entry in env_of(render(values)).items():
        if "valueFrom" in entry:
            assert entry["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
            monkeypatch.setenv(name, "ews-blina-ews-0")
            continue
        value = entry["value"]
        if name.endswith("_FILE") and value.startswith(SECRETS_DIR):
            secret_file = tmp_path / Path(value).name
            secret_file.write_text(f"value-of-{Path(value).name}\n", encoding="utf-8")
            value = str(secret_file)
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.mark.parametrize(
    "values_file", [None, *CI_VALUES], ids=lambda p: p.stem if p else "default"
)
def test_rendered_env_is_valid_settings(
    values_file: Path | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = values_of(values_file)
    settings = _settings_from_rendered_env(values, tmp_path, monkeypatch)
    config = {**VALUES["config"], **values.get("config", {})}
    for key, value in config.items():
        if value is not None:
            assert getattr(settings, key) == (Path(value) if _is_path(key) else value), key
    assert settings.group_instance_id == "ews-blina-ews-0"
    assert settings.web_host == "0.0.0.0"


def test_every_secret_reaches_the_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {name: {"existingSecret": f"s-{name}", "key": "k"} for name in VALUES["secrets"]}
    values = {
        "config": {"security_protocol": "SASL_SSL", "sasl_username": "ews"},
        "secrets": secrets,
    }
    env = env_of(render(values))
    for name in VALUES["secrets"]:
        var = f"EWS_{name.upper()}" if name in PATH_SECRETS else f"EWS_{name.upper()}_FILE"
        assert env[var]["value"] == f"{SECRETS_DIR}/{name}"
        if name not in PATH_SECRETS:
            assert f"EWS_{name.upper()}" not in env, "a secret value must never be inlined"
    settings = _settings_from_rendered_env(values, tmp_path, monkeypatch)
    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "value-of-sasl_password"
    assert settings.ssl_cafile == Path(f"{SECRETS_DIR}/ssl_cafile")


def test_operations_doc_maps_every_value() -> None:
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    for key in VALUES["config"]:
        assert f"| `config.{key}` | `EWS_{key.upper()}` |" in doc, key
    for name in VALUES["secrets"]:
        var = f"EWS_{name.upper()}" if name in PATH_SECRETS else f"EWS_{name.upper()}_FILE"
        assert f"| `secrets.{name}` | `{var}` |" in doc, name
    for name in CHART_MANAGED:
        assert f"`EWS_{name.upper()}`" in doc, name

"""The picture route's bearer check, and what the worker wires for each setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from ews.settings import Settings
from streams.app import Service
from streams.web import ALERT_ID, check_bearer

TOKEN = "s3cret-token-for-pictures-0123456789"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {TOKEN}", "ok"),
        (f"bearer {TOKEN}", "ok"),  # the scheme is case-insensitive (RFC 7235)
        (f"  Bearer {TOKEN}  ", "ok"),
        (None, "unauthorized"),
        ("", "unauthorized"),
        ("Bearer", "unauthorized"),
        ("Bearer ", "unauthorized"),
        (f"Basic {TOKEN}", "unauthorized"),
        (TOKEN, "unauthorized"),  # no scheme
        (f"Bearer {TOKEN}x", "unauthorized"),
        (f"Bearer {TOKEN[:-1]}", "unauthorized"),
        (f"Bearer {TOKEN.upper()}", "unauthorized"),  # the token itself is case-sensitive
        ("Bearer ünïcode", "unauthorized"),
    ],
)
def test_bearer_check(header: str | None, expected: str) -> None:
    assert check_bearer(header, TOKEN) == expected


@pytest.mark.parametrize("header", [None, f"Bearer {TOKEN}", "Bearer "])
def test_without_a_configured_token_the_route_is_disabled(header: str | None) -> None:
    assert check_bearer(header, None) == "disabled"
    assert check_bearer(header, "") == "disabled"


def test_alert_id_pattern_admits_only_opaque_ids() -> None:
    assert ALERT_ID.match("al-" + "0123456789abcdef" * 2)
    for bad in ("al-xyz", "MRN-0042317", "al-" + "0" * 31, "../../etc/passwd", "al-" + "A" * 32):
        assert not ALERT_ID.match(bad)


def _service(tmp_path: Path, **overrides: object) -> Service:
    settings = Settings(
        store="memory://",
        data_dir=tmp_path,
        app_id=f"wiring-{len(overrides)}",
        **overrides,  # type: ignore[arg-type]
    )
    return Service(settings, CollectorRegistry())


def test_defaults_publish_fhir_and_serve_no_pictures(tmp_path: Path) -> None:
    service = _service(tmp_path)
    assert service.outputs.fhir is not None
    assert service.outputs.fhir.get_topic_name() == "ews.fhir"
    assert service.outputs.index is None and service.outputs.webhook is None
    assert "alert-index" not in service.app.tables
    assert "webhook-ledger" not in service.app.tables
    assert service.pipeline.alerting is not None
    assert service.pipeline.alerting.link_base is None


def test_each_output_is_wired_only_when_configured(tmp_path: Path) -> None:
    service = _service(
        tmp_path,
        publish_fhir=False,
        web_auth_token=TOKEN,
        web_public_url="https://ews.hospital.example",
        webhook_url="http://127.0.0.1:9/hook",
        webhook_secret="webhook-secret-0123456789",
    )
    assert service.outputs.fhir is None
    assert "alert-index" in service.app.tables and "webhook-ledger" in service.app.tables
    assert service.outputs.webhook is not None
    assert service.outputs.webhook.settings.include_patient is False
    assert service.pipeline.alerting is not None
    assert service.pipeline.alerting.link_base == "https://ews.hospital.example"
    agents = {a.name.rsplit(".", 1)[-1] for a in service.app.agents.values()}
    assert {"webhook", "alert-index"} <= agents


def test_a_webhook_without_its_secret_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="EWS_WEBHOOK_SECRET"):
        _service(tmp_path, webhook_url="http://127.0.0.1:9/hook")
    with pytest.raises(ValueError, match="16 bytes"):
        _service(tmp_path, webhook_url="http://127.0.0.1:9/hook", webhook_secret="short")

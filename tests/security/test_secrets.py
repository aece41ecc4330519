"""Secrets: read from ``EWS_<NAME>_FILE``, never shown by repr, str, JSON, describe or logs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from ews.settings import SECRET_FIELDS, Settings, describe
from streams.app import kafka_credentials

PASSWORD = "s3cr3t-Pa55word-7f1c"
TOKEN = "tok-90a8f7e6d5c4"
_SECRET_NAME = re.compile(r"password|token|secret|routing_key|api_key|credential")


@pytest.fixture
def secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings built from the environment with the secrets in mounted files."""
    for name in SECRET_FIELDS:
        monkeypatch.delenv(f"EWS_{name.upper()}", raising=False)
        monkeypatch.delenv(f"EWS_{name.upper()}_FILE", raising=False)
    password_file = tmp_path / "sasl-password"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    token_file = tmp_path / "web-token"
    token_file.write_text(TOKEN, encoding="utf-8")
    monkeypatch.setenv("EWS_SASL_PASSWORD_FILE", str(password_file))
    monkeypatch.setenv("EWS_WEB_AUTH_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("EWS_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("EWS_SASL_USERNAME", "ews-worker")
    return Settings()


def _shown(settings: Settings) -> list[str]:
    return [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(settings.model_dump()),
        repr(settings.model_dump(mode="json")),
        f"{settings}",
        repr(describe()),
    ]


def test_secrets_are_read_from_files(secret_env: Settings) -> None:
    assert secret_env.sasl_password is not None and secret_env.web_auth_token is not None
    assert secret_env.sasl_password.get_secret_value() == PASSWORD  # trailing newline stripped
    assert secret_env.web_auth_token.get_secret_value() == TOKEN


def test_the_variable_wins_over_the_file(
    secret_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EWS_SASL_PASSWORD", "from-variable")
    password = Settings().sasl_password
    assert password is not None and password.get_secret_value() == "from-variable"


def test_secrets_never_shown(secret_env: Settings) -> None:
    for text in _shown(secret_env):
        assert PASSWORD not in text and TOKEN not in text, text[:200]


def test_describe_marks_secrets(secret_env: Settings) -> None:
    rows = {env: default for env, default, _ in describe()}
    for name in SECRET_FIELDS:
        if name in Settings.model_fields:
            assert rows[f"EWS_{name.upper()}"] == "(secret)"


def test_settings_logged_at_debug_do_not_leak(
    secret_env: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("ews.settings.test")
    with caplog.at_level(logging.DEBUG):
        log.debug("settings %s", secret_env)
        log.debug("settings %r", secret_env)
        log.debug("settings %s", secret_env.model_dump())
        log.debug("credentials %r", kafka_credentials(secret_env))
    assert len(caplog.records) == 4
    assert PASSWORD not in caplog.text and TOKEN not in caplog.text


def test_kafka_credentials_carry_the_password(secret_env: Settings) -> None:
    credentials = kafka_credentials(secret_env)
    assert credentials.password == PASSWORD and credentials.username == "ews-worker"


def test_every_secret_looking_setting_is_a_secret() -> None:
    for name, field in Settings.model_fields.items():
        if _SECRET_NAME.search(name):
            assert name in SECRET_FIELDS, f"{name} looks secret but is not in SECRET_FIELDS"
            assert "SecretStr" in repr(field.annotation), f"{name} is not a SecretStr"
    for name in SECRET_FIELDS:
        if name in Settings.model_fields:
            assert "SecretStr" in repr(Settings.model_fields[name].annotation)


def test_secret_str_masks() -> None:
    assert PASSWORD not in repr(SecretStr(PASSWORD)) + str(SecretStr(PASSWORD))

"""One typed settings object for the whole service.

Every setting is read from an environment variable ``EWS_<NAME>`` (upper case), and each
field's docstring is its documentation (``ews settings`` prints them all; the Helm chart maps
its values one-to-one onto these variables). Secrets can also come from files:
``EWS_<NAME>_FILE`` points at a file whose content is the value (Kubernetes secret mounts),
and secret values are never printed or logged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FIELDS = (
    "sasl_password",
    "pager_routing_keys",
    "webhook_secret",
    "web_auth_token",
    "alert_id_secret",
)


class Settings(BaseSettings):
    """Service settings; construct with ``Settings()`` to read the environment."""

    model_config = SettingsConfigDict(
        env_prefix="EWS_",
        frozen=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )

    # --- Kafka ---------------------------------------------------------------------------
    bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated Kafka bootstrap servers (host:port). `ews demo` sets its own."""
    app_id: str = "blina-ews"
    """Faust application id: the consumer group and the prefix of changelog topics."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """Kafka security protocol."""
    ssl_cafile: Path | None = None
    """CA bundle to verify the brokers' certificates (SSL, SASL_SSL)."""
    ssl_certfile: Path | None = None
    """Client certificate for mutual TLS."""
    ssl_keyfile: Path | None = None
    """Client private key for mutual TLS."""
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    """SASL mechanism (SASL_PLAINTEXT, SASL_SSL)."""
    sasl_username: str | None = None
    """SASL user name."""
    sasl_password: SecretStr | None = None
    """SASL password (secret; or EWS_SASL_PASSWORD_FILE)."""
    topic_partitions: int = Field(default=8, ge=1, le=1024)
    """Partitions of the topics the service creates; patients are spread over them by key."""
    topic_replication: int = Field(default=1, ge=1, le=7)
    """Replication factor of the topics the service creates."""
    group_instance_id: str | None = None
    """Static group membership id (Kubernetes: the pod name), so a restarted pod gets its
    partitions back without a rebalance."""
    session_timeout_s: float = Field(default=10.0, gt=0)
    """Consumer-group session timeout; group joins wait about half of it."""
    fetch_max_wait_ms: int = Field(default=50, ge=1, le=10000)
    """Longest a fetch waits for data (Faust fixes 1500 ms; a short wait keeps hops fast)."""
    producer_linger_ms: int = Field(default=10, ge=0, le=1000)
    """How long the producer waits to fill a batch. 0 sends one request per record, which
    profiles showed costing a third of a worker's CPU at high rates."""
    producer_max_batch_size: int = Field(default=524_288, ge=1)
    """Most bytes in one producer record batch. A processed batch's outputs for one partition
    go out as one record batch when they fit: aiokafka hands a partition's next record batch
    to the broker only after the previous one has left, so at Kafka's usual 16 KiB a batch
    of 500 outputs waited several produce round trips. Keep it below the broker's largest
    message (Kafka's ``message.max.bytes``, 1 MiB by default). 1 works around exact-recovery
    issues on Tansu."""

    # --- Topics --------------------------------------------------------------------------
    topic_prefix: str = "ews"
    """Prefix of every topic name the service reads or writes."""

    # --- Web -----------------------------------------------------------------------------
    web_host: str = "127.0.0.1"
    """Interface the worker's web server (metrics, health, alert plots) binds."""
    web_port: int = Field(default=6066, ge=0, le=65535)
    """Port of the worker's web server; 0 picks a free one."""
    web_auth_token: SecretStr | None = None
    """Bearer token required for endpoints that show patient data (secret): the alert
    pictures at /alerts/<alert id>/picture.png. Unset: those endpoints answer 404."""
    web_public_url: str | None = None
    """Base URL at which clinicians reach the workers' web API (behind the hospital's
    sign-in), e.g. https://ews.hospital.example; alert records and pages link each alert's
    picture under it. Unset: no picture link in alerts."""
    web_canonical_url: str | None = None
    """URL at which the other workers reach this worker's web server (picture requests are
    passed to the worker that owns the patient). Unset: http://<web_host>:<web_port>."""

    # --- Ingestion -----------------------------------------------------------------------
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    """Messages larger than this are dead-lettered as ``oversized`` without parsing."""
    max_json_depth: int = Field(default=32, ge=2)
    """Deepest JSON nesting accepted in an input message."""
    max_items_per_message: int = Field(default=500, ge=1)
    """Most observations (OBX segments, Bundle entries, components) in one message."""
    max_future_skew_s: float = Field(default=300.0, ge=0)
    """Event times further than this in the future of the receive time are dead-lettered."""
    max_event_age_days: float = Field(default=3650.0, gt=0)
    """Event times older than this before the receive time are dead-lettered."""
    dedup_window: int = Field(default=256, ge=8, le=65536)
    """How many recent message ids per patient are remembered to drop duplicate deliveries."""
    hl7_default_tz: str = "UTC"
    """Time zone (IANA name) for HL7 v2 timestamps that carry no UTC offset."""
    publish_canonical: bool = True
    """Publish every accepted message's canonical record on the canonical topic."""
    publish_assessments: bool = False
    """Publish every scored snapshot's per-risk grades and model probabilities on the
    assessments topic (for EHR risk displays and for checking the stream against replays)."""
    publish_fhir: bool = True
    """Publish every alert transition as a FHIR R4 transaction Bundle (DetectedIssue and the
    RiskAssessment behind it) on the fhir topic, keyed by the alert's dedup key."""
    extra_codes_file: Path | None = None
    """A site's extra codes CSV (columns of contract/codes.csv), merged into the code map."""
    extra_signals_file: Path | None = None
    """A site's extra signals CSV (columns of contract/signals.csv)."""

    # --- Processing ----------------------------------------------------------------------
    batch_max_messages: int = Field(default=500, ge=1, le=100_000)
    """Most input messages processed as one batch (each patient's record read once and
    scored after each message), and in one run of a partition's fetched records handed to
    the agent as one Faust event."""
    batch_max_wait_ms: int = Field(default=20, ge=1, le=10_000)
    """Longest a partial batch waits for more messages before it is processed."""
    commit_interval_s: float = Field(default=2.8, gt=0, le=60)
    """How often processed input offsets are committed. Each patient's changed record is
    written to the state changelog once per commit, right before it (not after every batch):
    a longer interval writes less, and a restarted worker re-reads up to this much input."""
    lateness_h: float = Field(default=48.0, gt=0, le=720)
    """Events this far behind a patient's newest event time are dead-lettered as too late."""
    score_interval_s: float = Field(default=900.0, gt=0)
    """Longest gap (event time) between scores of a patient while only normal vitals arrive."""
    score_abnormal_interval_s: float = Field(default=60.0, gt=0)
    """Shortest gap between scores driven by abnormal vital signs (labs, assessments,
    treatments and infusion events are always scored at once)."""

    # --- Models --------------------------------------------------------------------------
    models_dir: Path | None = None
    """Folder of deployed ONNX models and their manifests; unset: the models shipped in
    models/artifacts. A folder without manifests means rules only. A bad model refuses to
    load, and the worker does not start with it."""
    stall_timeout_s: float = Field(default=60.0, ge=0)
    """An input partition holding unprocessed messages whose committed offset does not move
    for this long makes the worker not ready and stop, so a restart reads it (0: never)."""
    model_reload_s: float = Field(default=30.0, gt=0)
    """How often the worker looks for new model versions (hot reload, no restart)."""

    # --- Alerts --------------------------------------------------------------------------
    alert_id_secret: SecretStr | None = None
    """Site secret keying the HMAC that makes alert dedup keys opaque (a plain hash of an
    MRN can be reversed by trying every number). Set it in production; without it the
    app id is used, which keeps keys stable but guessable."""
    pager_url: str | None = None
    """PagerDuty Events API base URL (``https://events.pagerduty.com``); unset: no paging."""
    pager_routing_keys: SecretStr | None = None
    """JSON object of PagerDuty integration keys by ``<risk>/<unit>``, ``<risk>`` or ``*``
    (secret; or EWS_PAGER_ROUTING_KEYS_FILE)."""
    pager_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Per-attempt timeout of a page."""
    pager_max_attempts: int = Field(default=0, ge=0, le=50)
    """Attempts (exponential backoff up to 15 s, honouring Retry-After) before a page that
    keeps failing retryably (429, 5xx, timeout, refused connection) is dead-lettered; 0: retry
    until delivered (the default: undelivered alerts wait in Kafka, and a pager outage of
    minutes must not lose pages). Non-retryable failures are dead-lettered at once."""

    webhook_url: str | None = None
    """URL of a generic signed webhook receiving every alert transition (POST, JSON, HMAC
    signature headers); unset: no webhook. Needs webhook_secret."""
    webhook_secret: SecretStr | None = None
    """Shared secret (>= 16 bytes) keying the webhook's HMAC-SHA256 signature (secret; or
    EWS_WEBHOOK_SECRET_FILE)."""
    webhook_include_patient: bool = False
    """Send the full alert record with patient and encounter references: only for a
    receiver inside the hospital. Default: the public view without patient identifiers."""
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Per-attempt timeout of a webhook delivery."""
    webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    """Attempts (exponential backoff, honouring Retry-After) before a webhook delivery is
    dead-lettered."""

    # --- State ---------------------------------------------------------------------------
    store: str = "rocksdb://"
    """Faust table store: ``rocksdb://`` in production, ``memory://`` for tests."""
    data_dir: Path = Path("var/ews-data")
    """Directory for the worker's table store (a persistent volume in Kubernetes)."""

    # --- Logging -------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the worker."""

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        """Read ``EWS_<SECRET>_FILE`` into the secret when the variable itself is unset."""
        if not isinstance(data, dict):
            return data
        for name in SECRET_FIELDS:
            env_file = os.environ.get(f"EWS_{name.upper()}_FILE")
            if name not in data and env_file and f"EWS_{name.upper()}" not in os.environ:
                data[name] = Path(env_file).read_text(encoding="utf-8").strip()
        return data

    def topic(self, name: str) -> str:
        """Full topic name for a logical topic (``in.fhir`` -> ``ews.in.fhir``)."""
        return f"{self.topic_prefix}.{name}"


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, docstring) for every setting, for docs and Helm."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is None else str(default)
        if name in SECRET_FIELDS:
            shown = "(secret)"
        rows.append((f"EWS_{name.upper()}", shown, (field.description or "").strip()))
    return rows

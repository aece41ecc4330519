"""Alerts: the policy that turns risk assessments into incidents, and the sinks they reach.

Pure core (no I/O, no clock; time and settings are arguments):

- :mod:`alerts.config` - per-risk trigger grades, quiet periods, acknowledgement deadlines.
- :mod:`alerts.state` - the serializable per (patient, risk) state and its transitions.
- :mod:`alerts.policy` - ``step``/``tick``/``acknowledge``/``suppress``: the state machine.
- :mod:`alerts.ids` - deterministic, opaque dedup keys and alert ids.
- :mod:`alerts.record` - the versioned alert record published on the alerts topic.
- :mod:`alerts.fhir` - FHIR R4 ``DetectedIssue`` and ``RiskAssessment`` builders.
- :mod:`alerts.audit` - audit records of every policy call, and their replay.
- :mod:`alerts.burden` - alert burden, PPV, sensitivity and lead time against labels.
- :mod:`alerts.plot` - the PNG timeline of one alert.

- :mod:`alerts.public` - the one place deciding what of an alert may leave the hospital.
- :mod:`alerts.wording` - plain-language texts.

Edges (asyncio, aiohttp): :mod:`alerts.delivery` (bounded queues, retries, dead letters),
:mod:`alerts.ledger` (idempotent delivery), :mod:`alerts.pager` (PagerDuty Events API v2),
:mod:`alerts.webhook` (signed webhook). See docs/alerts.md.

Alerts support clinicians; nothing here acts on a patient or an infusion.
"""

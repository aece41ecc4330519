"""adapters.normalize: the order of checks, outcomes, and the per-signal plausible ranges."""

from __future__ import annotations

import math
from typing import Any

import pytest

import adapters.normalize as normalize_module
from adapters.limits import Limits
from contract.codemap import default_codemap
from contract.reasons import Reason
from tests.adapters.samples import (
    EVENT_MS,
    PATIENT,
    RECEIVED_MS,
    encode,
    fhir_observation,
    hl7_oru,
    json_observation,
    run,
)

SIGNALS = sorted(default_codemap().signals.values(), key=lambda s: s.signal)


def whole(result: Any) -> Reason:
    assert result.outcome == "rejected"
    (reject,) = result.rejects
    assert reject.item is None
    return reject.reason


def test_oversized_is_checked_first() -> None:
    data = b"\xff" * 2000  # also not UTF-8: size wins
    assert whole(run("json", data, limits=Limits(max_message_bytes=1024))) is Reason.OVERSIZED


def test_not_utf8() -> None:
    assert whole(run("fhir", b'{"a": "\xc3\x28"}')) is Reason.NOT_UTF8


def test_utf8_bom_is_accepted() -> None:
    assert run("json", b"\xef\xbb\xbf" + encode(json_observation())).outcome == "accepted"


@pytest.mark.parametrize("fmt", ["fhir", "json"])
def test_malformed_json(fmt: str) -> None:
    assert whole(run(fmt, b'{"resourceType": ')) is Reason.MALFORMED


def test_too_complex_after_parse() -> None:
    deep = b'{"a":' * 40 + b"1" + b"}" * 40
    assert whole(run("fhir", deep)) is Reason.TOO_COMPLEX
    assert whole(run("fhir", b"[" * 5000 + b"]" * 5000)) is Reason.TOO_COMPLEX


def test_missing_or_invalid_patient_id() -> None:
    assert whole(run("fhir", encode(fhir_observation(patient=None)))) is Reason.MISSING_PATIENT_ID
    bad = json_observation(patient="has spaces")
    assert whole(run("json", encode(bad))) is Reason.MISSING_PATIENT_ID
    assert whole(run("hl7v2", hl7_oru(patient=""))) is Reason.MISSING_PATIENT_ID


def test_patient_id_checked_before_items() -> None:
    # The item is implausible too, but the message-level reason comes first.
    bad = json_observation(patient=None, value=-5)
    assert whole(run("json", encode(bad))) is Reason.MISSING_PATIENT_ID


def test_kafka_key_must_match_the_body() -> None:
    data = encode(fhir_observation())
    assert run("fhir", data, key=PATIENT.encode()).outcome == "accepted"
    result = run("fhir", data, key=b"someone-else")
    assert whole(result) is Reason.PATIENT_MISMATCH
    assert result.patient_id == PATIENT


def test_unknown_format_is_unsupported() -> None:
    assert whole(run("csv", b"a,b")) is Reason.UNSUPPORTED


def test_unexpected_adapter_exception_becomes_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(normalize_module, "parse_fhir", boom)
    result = run("fhir", encode(fhir_observation()), fallback_msg_id="t:0:42")
    assert whole(result) is Reason.MALFORMED
    assert "KeyError" in result.rejects[0].detail
    assert result.source_msg_id == "t:0:42"


def test_outcomes_priority() -> None:
    from tests.adapters.samples import json_batch

    corrected = json_observation(status="corrected", obs_id="a")
    retraction = {"kind": "retraction", "signal": "hr", "obs_id": "b", "time_ms": EVENT_MS}
    assert run("json", encode(json_batch([corrected]))).outcome == "corrected"
    assert run("json", encode(json_batch([corrected, retraction]))).outcome == "retracted"


def _just_outside(edge: float, direction: int) -> float:
    """A value a millionth beyond ``edge`` (the next float below 0 for a zero minimum)."""
    if edge == 0:
        return math.nextafter(0.0, direction * math.inf)
    return edge + direction * 1e-6 * max(1.0, abs(edge))


@pytest.mark.parametrize("spec", SIGNALS, ids=lambda s: s.signal)
def test_plausible_range_edges_for_every_signal(spec: Any) -> None:
    def outcome(value: float) -> Any:
        obs = json_observation(signal=spec.signal, value=value, unit=spec.unit)
        return run("json", encode(obs))

    assert outcome(spec.plausible_min).outcome == "accepted"
    assert outcome(spec.plausible_max).outcome == "accepted"
    below = (
        math.nextafter(spec.plausible_min, -math.inf)
        if spec.plausible_min == 0
        else spec.plausible_min - 1e-6 * max(1, abs(spec.plausible_min))
    )
    above = spec.plausible_max + 1e-6 * max(1.0, abs(spec.plausible_max))
    assert outcome(below).rejects[0].reason is Reason.IMPLAUSIBLE
    assert outcome(above).rejects[0].reason is Reason.IMPLAUSIBLE


@pytest.mark.parametrize(
    ("signal", "value", "unit"),
    [("spo2", 140, "%"), ("hr", -5, "/min"), ("temp", 120, "[degF]"), ("fio2", 1.2, "1")],
)
def test_classic_implausible_values(signal: str, value: float, unit: str) -> None:
    result = run("json", encode(json_observation(signal=signal, value=value, unit=unit)))
    assert result.rejects[0].reason is Reason.IMPLAUSIBLE


def test_event_time_window_edges() -> None:
    limits = Limits()

    def at(time_ms: int) -> Any:
        return run("json", encode(json_observation(time_ms=time_ms)), received_ms=RECEIVED_MS)

    assert at(RECEIVED_MS + limits.max_future_skew_ms).outcome == "accepted"
    assert at(RECEIVED_MS + limits.max_future_skew_ms + 1).rejects[0].reason is Reason.BAD_TIME
    assert at(RECEIVED_MS - limits.max_event_age_ms).outcome == "accepted"
    assert at(RECEIVED_MS - limits.max_event_age_ms - 1).rejects[0].reason is Reason.BAD_TIME
    assert at(-1).rejects[0].reason is Reason.BAD_TIME


def test_rejected_when_no_event_survives_keeps_patient_and_id() -> None:
    result = run("json", encode(json_observation(value=500)))
    assert (result.outcome, result.patient_id, result.source_msg_id) == (
        "rejected",
        PATIENT,
        "j-msg-1",
    )
    assert result.rejects[0].item == 0

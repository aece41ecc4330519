"""Structured fuzzing in CI: near-valid messages, mutated, through every entry point.

Each test draws a near-valid FHIR, HL7 v2 or JSON message from ``fuzz.strategies`` (wrong
types, huge and non-finite numbers, deep nesting, many fields and items, unicode, control
characters, truncation, bad UTF-8) and holds the result to ``fuzz.checks``: never raises,
each call under 1 s, every input accounted for with a ``Reason``, limits enforced, emitted
events and records valid under the contract. ``HYPOTHESIS_PROFILE=thorough`` runs more.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.events import Event
from fuzz import strategies as fs
from fuzz import targets
from fuzz.targets import DEFAULT_LIMITS, FUZZ_LIMITS, ZONES
from tests.fuzz.known_bugs import tolerate_known_bugs

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
LIMITS = st.sampled_from([FUZZ_LIMITS, DEFAULT_LIMITS])
KEYS = st.sampled_from([None, b"p-001", b"p-002"])


@BOUNDED
@given(data=fs.fhir_message(), limits=LIMITS, key=KEYS)
def test_fhir_messages(data: bytes, limits: object, key: bytes | None) -> None:
    with tolerate_known_bugs():
        targets.run_adapter("fhir", data, limits)  # type: ignore[arg-type]
        targets.run_normalize("fhir", data, key=key, limits=limits)  # type: ignore[arg-type]


@BOUNDED
@given(data=fs.hl7_message(), limits=LIMITS, key=KEYS, tz=st.sampled_from(ZONES))
def test_hl7v2_messages(data: bytes, limits: object, key: bytes | None, tz: str) -> None:
    with tolerate_known_bugs():
        targets.run_adapter("hl7v2", data, limits)  # type: ignore[arg-type]
        targets.run_normalize("hl7v2", data, key=key, limits=limits, default_tz=tz)  # type: ignore[arg-type]


@BOUNDED
@given(data=fs.json_message(), limits=LIMITS, key=KEYS)
def test_json_messages(data: bytes, limits: object, key: bytes | None) -> None:
    with tolerate_known_bugs():
        targets.run_adapter("json", data, limits)  # type: ignore[arg-type]
        targets.run_normalize("json", data, key=key, limits=limits)  # type: ignore[arg-type]


@BOUNDED
@given(
    fmt=st.sampled_from(["fhir", "hl7v2", "json"]),
    data=st.data(),
    header=st.binary(min_size=3, max_size=3),
)
def test_ingest_twice(fmt: str, data: st.DataObject, header: bytes) -> None:
    with tolerate_known_bugs():
        message = {"fhir": fs.fhir_message(), "hl7v2": fs.hl7_message(), "json": fs.json_message()}
        body = data.draw(message[fmt])
        targets.fuzz_ingest(bytes([("fhir", "hl7v2", "json").index(fmt)]) + header[1:] + body)


_PSV_CELL = st.one_of(
    st.sampled_from(["NaN", "nan", "1e308", "-0", "", "abc", "1_000"]),
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:g}"),
    st.integers(-5, 400).map(str),
)


@BOUNDED
@given(
    columns=st.lists(
        st.sampled_from(
            ["HR", "O2Sat", "Temp", "FiO2", "WBC", "Age", "Gender", "Unit1", "HospAdmTime", "X"]
        ),
        max_size=8,
    ),
    rows=st.lists(
        st.tuples(st.integers(-3, 400).map(str) | _PSV_CELL, st.lists(_PSV_CELL, max_size=9)),
        max_size=8,
    ),
)
def test_psv_text(columns: list[str], rows: list[tuple[str, list[str]]]) -> None:
    with tolerate_known_bugs():
        header = "|".join([*columns, "ICULOS"])
        lines = [
            "|".join([*(cells + ["NaN"] * len(columns))[: len(columns)], hours])
            for hours, cells in rows
        ]
        targets.fuzz_psv(("\n".join([header, *lines]) + "\n").encode())


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    events=st.lists(fs.canonical_events("p-001"), max_size=80),
    lateness_h=st.sampled_from([1, 48]),
)
def test_state_over_canonical_events(events: list[Event], lateness_h: int) -> None:
    targets.check_state(events, lateness_h)

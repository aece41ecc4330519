"""Hypothesis strategies: near-valid input messages and structurally valid canonical events.

Messages start from the valid builders of ``tests/adapters/samples.py`` with drawn
parameters (codes the code map knows, units, values, statuses, times with and without
offsets) and are then mutated: a JSON node replaced by a hostile value (wrong type, huge or
non-finite number, unicode, control characters, long text), deleted, nested deeply, widened to
many fields or repeated many times; HL7 segments duplicated, dropped or reordered, fields
filled with separators and escapes; and the bytes truncated, spliced or made invalid UTF-8.

Canonical events are drawn from the contract's own type information
(``msgspec.inspect.type_info(Event)``), so a field added to the contract is fuzzed without a
change here; only fields whose values must collide to be interesting (patient, obs ids,
message ids, signals, times) are steered.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

from contract.codemap import LOINC, default_codemap
from contract.events import Event, decode_event
from tests.adapters import samples

EVENT_BASE_MS = samples.EVENT_MS
RECEIVED_MS = samples.RECEIVED_MS
LONG_TEXT_MAX = 1500
"""Longest drawn text. Keep it below a few thousand characters until the quadratic number
regex (see ``tests/fuzz/test_corpus_regressions.py``) is fixed: then raise it freely."""

# --- building blocks --------------------------------------------------------------------------

_LOINC_CODES = sorted(c for s, c, _ in default_codemap().codes() if s == LOINC)
_ALL_CODINGS = default_codemap().codes()
_SIGNALS = sorted(default_codemap().signals)
UNITS = (
    "/min",
    "%",
    "Cel",
    "[degF]",
    "mm[Hg]",
    "mg/L",
    "mg/dL",
    "ng/mL",
    "U/L",
    "10*3/uL",
    "g/dL",
    "pg/mL",
    "{score}",
    "1",
    "mmol/L",
    "umol/L",
    "kPa",
    "degF",
    "g/L",
    "",
)
_SPECIALS = (
    "\x00",
    "\x1c",
    "\x1f",
    "\x7f",
    "\u202e",
    "\ufeff",
    "\ud7ff",
    "\U0001f600",
    "\u0660\u0661",
    "e\u0301",
    "|",
    "^",
    "~",
    "\\",
    "&",
    "\r",
    "\n",
    '"',
    "'",
    "<script>",
    "%s%n",
    "../",
)
HOSTILE_TEXT = st.one_of(
    st.sampled_from(_SPECIALS),
    st.text(max_size=40),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from([" ", "9", "a", "\t", "\u00e9", "\x1c", "-", "."]),
        st.integers(64, LONG_TEXT_MAX),
    ),
    st.builds(lambda n: " " * n + "x", st.integers(0, 400)),
)
HOSTILE_NUMBERS = st.one_of(
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308, 5e-324, -0.0]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
NUMERIC_TEXT = st.sampled_from(
    ["NaN", "Infinity", "-inf", "1e999", "12,5", "0x10", "1_000", ">", "<=5", ">=-3", "٣٧"]
)
HOSTILE_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), HOSTILE_NUMBERS, HOSTILE_TEXT, NUMERIC_TEXT
)


def _offset() -> st.SearchStrategy[str]:
    return st.sampled_from(["Z", "+00:00", "+01:00", "-05:00", "+05:30", "+14:00", "-12:00", ""])


@st.composite
def fhir_datetime(draw: st.DrawFn) -> str:
    """A FHIR dateTime near the sample event time (sometimes without offset or garbled)."""
    delta_ms = draw(st.integers(-3 * 86_400_000, 3 * 86_400_000))
    seconds, millis = divmod(EVENT_BASE_MS + delta_ms, 1000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if draw(st.booleans()):
        text += f".{millis:03d}"
    text += draw(_offset())
    return draw(st.one_of(st.just(text), st.just(text[: draw(st.integers(0, len(text)))])))


@st.composite
def hl7_timestamp(draw: st.DrawFn) -> str:
    """An HL7 TS near the sample event time, with or without an offset, sometimes garbled."""
    delta_s = draw(st.integers(-3 * 86_400, 3 * 86_400))
    text = datetime.fromtimestamp(EVENT_BASE_MS // 1000 + delta_s, UTC).strftime("%Y%m%d%H%M%S")
    text += draw(st.sampled_from(["", ".1", ".1234", ".12345"]))
    text += draw(st.sampled_from(["", "+0000", "-0500", "+0530", "+2400", "-9999"]))
    return draw(st.one_of(st.just(text), st.just(text[: draw(st.integers(0, len(text)))])))


# --- JSON documents and their mutations -------------------------------------------------------


def _paths(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a document, the root as ``([document], 0)``."""
    root: list[Any] = [document]
    found: list[tuple[Any, Any]] = [(root, 0)]
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                found.append((node, k))
                stack.append(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                found.append((node, i))
                stack.append(v)
    return found


@st.composite
def mutate_json(draw: st.DrawFn, document: Any, max_mutations: int = 4) -> Any:
    """``document`` with up to ``max_mutations`` structural mutations (see module doc)."""
    holder: list[Any] = [copy.deepcopy(document)]
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = _paths(holder[0])
        paths[0] = (holder, 0)
        container, key = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "delete", "nest", "widen", "repeat"]))
        if op == "replace":
            container[key] = draw(HOSTILE_SCALARS | st.just([]) | st.just({}))
        elif op == "delete" and container is not holder:
            del container[key]
        elif op == "nest":
            value = container[key]
            for _ in range(draw(st.integers(1, 70))):
                value = [value] if draw(st.booleans()) else {"a": value}
            container[key] = value
        elif op == "widen":
            width = draw(st.integers(1, 700))
            if isinstance(container[key], dict):
                container[key].update({f"k{i}": i for i in range(width)})
            else:
                container[key] = {f"k{i}": container[key] for i in range(width)}
        elif op == "repeat" and isinstance(container, list):
            container.extend([copy.deepcopy(container[key])] * draw(st.integers(1, 600)))
    return holder[0]


@st.composite
def mutate_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Byte-level damage: truncation, splices, non-finite number tokens, bad UTF-8, a BOM."""
    op = draw(
        st.sampled_from(["none", "none", "truncate", "insert", "token", "bad_utf8", "bom", "dup"])
    )
    at = draw(st.integers(0, len(data)))
    if op == "truncate":
        return data[:at]
    if op == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if op == "token":
        token = draw(
            st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-0", b"1e-400"])
        )
        colon = data.find(b":", at)
        if colon >= 0:
            end = colon + 1
            while end < len(data) and data[end : end + 1] not in (b",", b"}", b"]"):
                end += 1
            return data[: colon + 1] + token + data[end:]
        return data
    if op == "bad_utf8":
        return (
            data[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf"]))
            + data[at:]
        )
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "dup":
        start = draw(st.integers(0, at))
        return data[:at] + data[start:at] * draw(st.integers(1, 20)) + data[at:]
    return data


def _value() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.floats(-1e3, 1e5, allow_nan=False),
        st.integers(-10, 20_000),
        HOSTILE_SCALARS,
    )


@st.composite
def fhir_document(draw: st.DrawFn) -> dict[str, Any]:
    """A valid-by-construction FHIR Observation, BP panel, Encounter or Bundle of them (before
    mutation)."""

    def observation(index: int) -> dict[str, Any]:
        code = draw(st.sampled_from(_LOINC_CODES) | st.text(max_size=8))
        ref = draw(st.booleans())
        return samples.fhir_observation(
            id=draw(st.sampled_from([f"obs-{index}", "obs-0", "x" * 200, "é"])),
            patient=draw(st.sampled_from([samples.PATIENT, samples.PATIENT, "p-002", None])),
            code=code,
            value=draw(_value()),
            unit=draw(st.sampled_from(UNITS) | st.none()),
            comparator=draw(st.sampled_from([None, None, "<", ">=", "~", "="])),
            status=draw(
                st.sampled_from(["final", "preliminary", "amended", "corrected"])
                | st.sampled_from(["entered-in-error", "cancelled", "registered", "xyz"])
            ),
            effective=draw(fhir_datetime() | st.none()),
            ref_low=draw(st.floats(0, 100)) if ref else None,
            ref_high=draw(st.floats(0, 1000)) if ref else None,
            data_absent=draw(st.booleans()) and draw(st.booleans()),
        )

    def panel(index: int) -> dict[str, Any]:
        return samples.fhir_bp_panel(
            id=draw(st.sampled_from([f"bp-{index}", "y" * 199, "y" * 200])),
            systolic=draw(_value() | st.none()),
            diastolic=draw(_value() | st.none()),
            mean=draw(_value() | st.none()),
            status=draw(st.sampled_from(["final", "amended", "entered-in-error"])),
            effective=draw(fhir_datetime()),
        )

    def encounter(index: int) -> dict[str, Any]:
        return samples.fhir_encounter(
            id=draw(st.sampled_from([f"enc-{index}", "x" * 200, None])),
            patient=draw(st.sampled_from([samples.PATIENT, samples.PATIENT, "p-002", None])),
            status=draw(st.sampled_from(["in-progress", "finished", "planned", "xyz"])),
            class_code=draw(st.sampled_from(["IMP", "ACUTE", "AMB", ""])),
            class_system=draw(st.sampled_from([samples.ACT_CODE, None, "urn:oid:1.2"])),
            start=draw(fhir_datetime() | st.just(samples.ABSENT)),
        )

    kind = draw(st.sampled_from(["observation", "panel", "encounter", "bundle"]))
    if kind == "observation":
        return observation(0)
    if kind == "panel":
        return panel(0)
    if kind == "encounter":
        return encounter(0)
    builders = [observation, panel, encounter]
    parts = [draw(st.sampled_from(builders))(i) for i in range(draw(st.integers(0, 6)))]
    if draw(st.booleans()):
        parts.append({"resourceType": "Patient", "id": samples.PATIENT})
    return samples.fhir_bundle(parts)


@st.composite
def fhir_message(draw: st.DrawFn) -> bytes:
    """Bytes of a mutated, near-valid FHIR message."""
    document = draw(mutate_json(draw(fhir_document())))
    return draw(mutate_bytes(samples.encode(document)))


@st.composite
def json_document(draw: st.DrawFn) -> dict[str, Any]:
    """A canonical JSON observation, other event, or batch (before mutation)."""

    def observation(index: int) -> dict[str, Any]:
        by_code = draw(st.booleans())
        coding = draw(st.sampled_from(_ALL_CODINGS))
        return samples.json_observation(
            signal=None if by_code else draw(st.sampled_from(_SIGNALS) | st.text(max_size=6)),
            code=f"{coding[0]}|{coding[1]}" if by_code else None,
            value=draw(_value()),
            unit=draw(st.sampled_from(UNITS) | st.none()),
            time_ms=EVENT_BASE_MS + draw(st.integers(-(10**9), 10**9) | HOSTILE_NUMBERS),
            obs_id=f"j-obs-{index}",
            status=draw(st.sampled_from(["final", "amended", "corrected", "bogus"])),
            ref_low=draw(HOSTILE_SCALARS),
        )

    def other(index: int) -> dict[str, Any]:
        return samples.json_event(
            draw(st.sampled_from(["infusion", "neuro", "respiratory", "vasopressor", "context"])),
            **draw(
                st.dictionaries(
                    st.sampled_from(
                        ["action", "cycle", "dose_ug_per_day", "ice_score", "device", "count"]
                    ),
                    HOSTILE_SCALARS | st.sampled_from(["start", "stop", "nasal_cannula", 1, 2]),
                    max_size=4,
                )
            ),
        )

    if draw(st.booleans()):
        single: dict[str, Any] = draw(st.sampled_from([observation, other]))(0)
        return single
    events = [
        draw(st.sampled_from([observation, other]))(i) for i in range(draw(st.integers(0, 8)))
    ]
    return samples.json_batch(events, msg_id=draw(st.sampled_from(["batch-1", "b" * 201, ""])))


@st.composite
def json_message(draw: st.DrawFn) -> bytes:
    """Bytes of a mutated, near-valid canonical JSON message."""
    document = draw(mutate_json(draw(json_document())))
    return draw(mutate_bytes(samples.encode(document)))


_HL7_FIELD = st.one_of(
    st.text(alphabet="0123456789.<>=-+ ", max_size=12),
    HOSTILE_TEXT,
    st.sampled_from(["\\X41\\", "\\E\\", "\\F\\", "\\.br\\", "\\X\\", "\\Xzz\\", "\\H\\", "^^^"]),
)


@st.composite
def hl7_oru(draw: st.DrawFn) -> bytes:
    """A near-valid HL7 v2 ORU^R01 (before mutation)."""
    obx = [
        samples.Obx(
            code=draw(st.sampled_from(_LOINC_CODES) | _HL7_FIELD),
            value=draw(st.floats(0, 1e4).map(lambda v: f"{v:g}") | _HL7_FIELD),
            unit=draw(st.sampled_from(UNITS) | _HL7_FIELD),
            system=draw(st.sampled_from(["LN", "LOINC", "L", "", "99X"])),
            ref_range=draw(st.sampled_from(["", "10-40", "<5", ">=3.5", "-2-3"]) | _HL7_FIELD),
            status=draw(st.sampled_from(["F", "P", "C", "D", "W", "X", "", "Z"])),
            time=draw(hl7_timestamp() | st.just("")),
            value_type=draw(st.sampled_from(["NM", "SN", "ST", ""])),
            sub_id=draw(st.sampled_from(["", "1", "x" * 190])),
        )
        for _ in range(draw(st.integers(0, 6)))
    ]
    return samples.hl7_oru(
        obx,
        msg_id=draw(st.sampled_from(["MSG1", "", "M" * 201]) | _HL7_FIELD),
        patient=draw(st.sampled_from([samples.PATIENT, "p-002", ""]) | _HL7_FIELD),
        obr_time=draw(hl7_timestamp()),
        separator=draw(st.sampled_from(["\r", "\n", "\r\n"])),
        message_type=draw(st.sampled_from(["ORU^R01^ORU_R01", "ORU^R01", "ADT^A01"])),
        with_pid=draw(st.booleans()) or draw(st.booleans()),
    )


@st.composite
def hl7_birth_date(draw: st.DrawFn) -> str:
    """A PID-7 birth date: a day 0-130 years before the sample event (the contract takes
    0-120), sometimes after it, with a time or an offset, cut to a month or a year, garbled."""
    days = draw(st.integers(-400, 130 * 366))
    born = datetime.fromtimestamp(EVENT_BASE_MS // 1000 - days * 86_400, UTC)
    text = born.strftime("%Y%m%d") + draw(st.sampled_from(["", "", "1230", "+0100", "0000-0500"]))
    return draw(st.sampled_from([text, text, text[:6], text[:4], text[:7]]) | _HL7_FIELD)


@st.composite
def hl7_adt(draw: st.DrawFn) -> bytes:
    """A near-valid HL7 v2 ADT (A01, A04, A06, A08 taken; A11 and others not), before mutation."""
    event = draw(st.sampled_from(["A01", "A04", "A06", "A08", "A01", "A11", "A03", "A07", "A99"]))
    return samples.hl7_adt(
        event=event,
        message_type=draw(
            st.sampled_from([f"ADT^{event}^ADT_A01", f"ADT^{event}", "ADT"]) | _HL7_FIELD
        ),
        msg_id=draw(st.sampled_from(["ADT1", "", "M" * 201]) | _HL7_FIELD),
        patient=draw(st.sampled_from([samples.PATIENT, "p-002", ""]) | _HL7_FIELD),
        birth_date=draw(hl7_birth_date() | st.just("")),
        sex=draw(st.sampled_from(["F", "M", "O", "U", "A", "N", "", "X"]) | _HL7_FIELD),
        patient_class=draw(st.sampled_from(["I", "I", "O", "E", "P", "", "i"]) | _HL7_FIELD),
        admit_time=draw(hl7_timestamp() | st.just("") | _HL7_FIELD),
        recorded_time=draw(hl7_timestamp() | st.just("")),
        message_time=draw(hl7_timestamp() | st.just("")),
        with_evn=draw(st.booleans()) or draw(st.booleans()),
        with_pid=draw(st.booleans()) or draw(st.booleans()),
        with_pv1=draw(st.booleans()) or draw(st.booleans()),
        separator=draw(st.sampled_from(["\r", "\n", "\r\n"])),
    )


@st.composite
def hl7_message(draw: st.DrawFn) -> bytes:
    """Bytes of a mutated, near-valid HL7 v2 ORU^R01 or ADT."""
    raw = draw(st.one_of(hl7_oru(), hl7_adt()))
    segments = raw.split(b"\r") if b"\r" in raw else raw.split(b"\n")
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["dup", "drop", "swap", "msh"]))
        at = draw(st.integers(0, len(segments) - 1))
        if op == "dup":
            segments[at:at] = [segments[at]] * draw(st.integers(1, 700))
        elif op == "drop" and len(segments) > 1:
            del segments[at]
        elif op == "swap":
            other = draw(st.integers(0, len(segments) - 1))
            segments[at], segments[other] = segments[other], segments[at]
        elif op == "msh":
            chars = draw(st.text(min_size=0, max_size=5)).encode("utf-8", "surrogatepass")
            segments[0] = b"MSH" + chars + segments[0][8:]
    return draw(mutate_bytes(b"\r".join(segments)))


# --- canonical events -------------------------------------------------------------------------

_OBS_IDS = st.sampled_from([f"o{i}" for i in range(6)])
_MSG_IDS = st.sampled_from([f"m{i}" for i in range(4)])
_STEERED: dict[str, st.SearchStrategy[Any]] = {
    "obs_id": _OBS_IDS,
    "source_msg_id": _MSG_IDS,
    "signal": st.sampled_from([*_SIGNALS, "not_a_signal"]),
}


def _from_type(info: mi.Type) -> st.SearchStrategy[Any]:
    """A strategy for values valid under one msgspec type (bounds, patterns, literals)."""
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.IntType):
        low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else None)
        high = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else None)
        return st.integers(low, high)
    if isinstance(info, mi.FloatType):
        return st.floats(
            min_value=info.ge if info.ge is not None else info.gt,
            max_value=info.le if info.le is not None else info.lt,
            exclude_min=info.gt is not None,
            exclude_max=info.lt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    if isinstance(info, mi.StrType):
        if info.pattern is not None:
            return st.from_regex(info.pattern, fullmatch=True).filter(
                lambda s: (info.min_length or 0) <= len(s) <= (info.max_length or 10**9)
            )
        return st.text(min_size=info.min_length or 0, max_size=min(info.max_length or 30, 30))
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(list(info.values))
    if isinstance(info, mi.UnionType):
        return st.one_of([_from_type(t) for t in info.types])
    if isinstance(info, mi.StructType):
        return _struct(info, {})
    raise NotImplementedError(f"no strategy for {info!r}")


def _struct(
    info: mi.StructType, steered: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    fields = {
        f.name: steered.get(f.name, _from_type(f.type))
        for f in info.fields
        if f.required or f.name in steered
    }
    optional = {
        f.name: _from_type(f.type) for f in info.fields if not f.required and f.name not in steered
    }
    return st.fixed_dictionaries(fields, optional=optional).map(lambda d: info.cls(**d))


def canonical_events(
    patient_id: str = samples.PATIENT, *, base_ms: int = EVENT_BASE_MS
) -> st.SearchStrategy[Event]:
    """Canonical events of one patient, valid under the contract (JSON round trip holds).

    Times mostly fall within ten days of ``base_ms`` (so lateness, pruning and windows are
    exercised), sometimes at the contract's extremes.
    """
    info = mi.type_info(Event)
    assert isinstance(info, mi.UnionType)
    times = st.one_of(
        st.integers(base_ms - 10 * 86_400_000, base_ms + 10 * 86_400_000),
        st.integers(base_ms - 3_600_000, base_ms + 3_600_000),
        st.sampled_from([0, 1, 32_503_680_000_000]),
    )
    steered = {**_STEERED, "patient_id": st.just(patient_id), "time_ms": times}
    kinds = [_struct(t, steered) for t in info.types if isinstance(t, mi.StructType)]
    return st.one_of(kinds).filter(_round_trips)


def _round_trips(event: Event) -> bool:
    try:
        return decode_event(msgspec.json.encode(event)) == event
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False

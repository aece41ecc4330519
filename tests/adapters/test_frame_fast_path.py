"""The monitor-frame fast path of the JSON adapter decides exactly as the general path.

:func:`adapters.canonical_json.parse_frame` decodes a batch of plain observations straight
into typed structs and builds the events without a dict per event; it returns ``None``
whenever it is not sure, and the general path (``parse_json`` of ``load_json_bounded``)
decides. So wherever it answers, its answer must be the general path's, byte for byte, and
:func:`parse_json_text` (fast path, then general) must equal the general path on any text,
rejects and message errors included. The texts below are built by hand from key/value
pairs, so they can carry duplicate keys, raw numbers msgspec reads in different ways, extra
fields and wrong types.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.canonical_json import parse_frame, parse_json, parse_json_text
from adapters.items import ItemContext
from adapters.limits import Limits, load_json_bounded
from adapters.result import AdapterResult, MessageError
from contract.codemap import CodeMap, SignalSpec, default_codemap
from contract.events import encode

CODEMAP = default_codemap()
RECEIVED_MS = 1_709_287_200_000
FALLBACK = "topic:0:0"

SIGNALS = ["hr", "rr", "spo2", "temp", "sbp", "dbp", "map", "etco2", "crp", "gcs", "nope"]
UNITS = ["/min", "bpm", "%", "Cel", "[degF]", "degF", "mm[Hg]", "mmHg", "kPa", "mg/L", "mg/dL"]
UNITS += ["", " ", "{score}", "1", "junk"]

LIMITS = [
    Limits(),
    Limits(max_items_per_message=2),
    Limits(max_json_depth=3),
    Limits(max_json_nodes=40),
    Limits(max_json_nodes=25),
    Limits(max_json_nodes=14),
    Limits(max_json_depth=4),
    Limits(max_future_skew_ms=0, max_event_age_ms=60_000),
]


def raw(value: Any) -> str:
    """JSON text of ``value`` (a str starting with ``\\x00`` is taken as raw JSON text)."""
    if isinstance(value, str) and value.startswith("\x00"):
        return value[1:]
    return json.dumps(value)


def obj(pairs: list[tuple[str, Any]]) -> str:
    """A JSON object from key/value pairs, in order, duplicates kept."""
    return "{" + ",".join(f"{json.dumps(k)}:{raw(v)}" for k, v in pairs) + "}"


good_floats = st.floats(min_value=-50.0, max_value=400.0, allow_nan=False).map(
    lambda f: round(f, 1)
)
numbers = st.one_of(
    good_floats,
    good_floats,
    st.integers(min_value=-10, max_value=400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(),
    st.sampled_from(
        [
            "\x001e400",
            "\x00-1e400",
            "\x001e-400",
            "\x00-0",
            "\x00-0.0",
            "\x0037.50000000000000001",
            "\x0098.6E0",
            "\x00123456789012345678901234567890",
            "\x00true",
            "\x00null",
            "\x00[]",
            "37.5",
            "",
        ]
    ),
)
times = st.one_of(
    st.integers(min_value=RECEIVED_MS - 400_000, max_value=RECEIVED_MS + 400_000),
    st.integers(min_value=RECEIVED_MS - 400_000, max_value=RECEIVED_MS + 400_000),
    st.integers(),
    st.sampled_from(
        [0, -1, 32503680000000, 32503680000001, 1.5e12, "\x00true", "\x00null", "1709287200000"]
    ),
)
ids = st.one_of(
    st.text(alphabet="abc-019", min_size=1, max_size=12),
    st.sampled_from(["", "x" * 200, "x" * 201, "\x00null", "\x007"]),
)
patient_ids = st.sampled_from(
    ["p-001", "p-001", "p-001", "p-002", "", "x" * 65, "\x00null", "\x001"]
)


def valid_id(text: str) -> bool:
    return 0 < len(text) <= 200 and not text.startswith("\x00")


short_ids = st.text(alphabet="abc-019", min_size=1, max_size=12)
STATUSES = ["final", "preliminary", "amended", "corrected"]


BAD: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.sampled_from(["lab", "Observation", "\x00null"]),
    "signal": st.sampled_from(SIGNALS),
    "value": numbers,
    "unit": st.sampled_from([*UNITS, "\x00null"]),
    "obs_id": ids,
    "time_ms": times,
    "patient_id": patient_ids,
    "source": st.sampled_from(["json", "hl7v2", "fax", "\x00null"]),
    "source_msg_id": ids,
    "status": st.sampled_from([*STATUSES, "draft", "\x00null"]),
    "code": st.sampled_from(["http://loinc.org|8867-4", "|8310-5", "\x00null"]),
    "comparator": st.sampled_from([">", "\x00null", "~"]),
    "ref_low": numbers,
    "extra": st.sampled_from(["\x00{}", "\x00[[[[1]]]]", "x"]),
}
"""Values (mostly wrong ones) each field can be given instead of a valid one."""


@st.composite
def frame_events(draw: st.DrawFn, *, valid_only: bool) -> list[tuple[str, Any]]:
    """One batch event as key/value pairs: a valid one, then (unless ``valid_only``) up to
    three changes: a field set to another (mostly wrong) value, dropped, added or repeated."""
    signal = draw(st.sampled_from(SIGNALS[:8]))
    spec = CODEMAP.signals[signal]
    pairs: list[tuple[str, Any]] = [
        ("kind", "observation"),
        ("signal", signal),
        ("value", draw(good_floats.filter(spec.plausible))),
        ("unit", spec.unit),
        ("obs_id", draw(short_ids)),
        ("time_ms", draw(st.integers(RECEIVED_MS - 60_000, RECEIVED_MS))),
    ]
    optional: list[tuple[str, Any]] = [
        ("patient_id", "p-001"),
        ("source", draw(st.sampled_from(["json", "fhir", "simulator"]))),
        ("source_msg_id", draw(ids.filter(valid_id))),
        ("status", draw(st.sampled_from(STATUSES))),
    ]
    pairs += [p for p in optional if draw(st.booleans())]
    pairs = draw(st.permutations(pairs))
    if valid_only:
        return pairs
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(["set", "set", "set", "drop", "add", "repeat"]))
        if change in ("set", "drop", "repeat") and pairs:
            at = draw(st.integers(0, len(pairs) - 1))
            key = pairs[at][0]
            if change == "set":
                pairs[at] = (key, draw(BAD[key]))
            elif change == "drop":
                del pairs[at]
            else:  # JSON objects keep the last of a repeated key, so must the fast path
                pairs.insert(draw(st.integers(0, len(pairs))), (key, draw(BAD[key])))
        else:
            key = draw(st.sampled_from(sorted(BAD)))
            pairs.insert(draw(st.integers(0, len(pairs))), (key, draw(BAD[key])))
    return pairs


@st.composite
def frames(draw: st.DrawFn, *, valid_only: bool = False) -> str:
    """The text of a batch message (``valid_only``: a frame every check accepts)."""
    events = draw(
        st.lists(frame_events(valid_only=valid_only), min_size=int(valid_only), max_size=4)
    )
    event_texts = [obj(e) for e in events]
    if not valid_only and draw(st.integers(0, 5)) == 0:
        event_texts.insert(0, draw(st.sampled_from(["1", "null", '"x"', "[]"])))
    near_valid = valid_only or draw(st.booleans())
    top: list[tuple[str, Any]] = [
        ("msg_id", draw(ids.filter(valid_id) if near_valid else ids)),
        ("patient_id", "p-001" if near_valid else draw(patient_ids)),
        ("events", "\x00[" + ",".join(event_texts) + "]"),
    ]
    if not valid_only:
        if draw(st.integers(0, 3)) == 0:
            extra = [("kind", "observation"), ("extra", 1), ("msg_id", "m2"), ("events", 1)]
            top.append(draw(st.sampled_from(extra)))
        top = draw(st.permutations(top))
    return obj(top)


def general(text: str, ctx: ItemContext) -> Any:
    try:
        return parse_json(load_json_bounded(text, ctx.limits), ctx, fallback_msg_id=FALLBACK)
    except MessageError as exc:
        return ("message error", exc.reason, exc.detail)


def combined(text: str, ctx: ItemContext) -> Any:
    try:
        return parse_json_text(text, ctx, fallback_msg_id=FALLBACK)
    except MessageError as exc:
        return ("message error", exc.reason, exc.detail)


def same(a: Any, b: Any) -> None:
    assert a == b
    if isinstance(a, AdapterResult):
        assert isinstance(b, AdapterResult)
        # Equality reads 0.0 == -0.0 and 1 == 1.0; the stored bytes must not differ either.
        assert [encode(e) for e in a.events] == [encode(e) for e in b.events]


def _decided_as_by_the_general_path(text: str, limits: Limits, received: int | None) -> None:
    """The combined path gives the general path's result, and so does the fast path when it
    answers at all."""
    ctx = ItemContext(CODEMAP, limits, received)
    expected = general(text, ctx)
    same(combined(text, ctx), expected)
    fast = parse_frame(text, ctx)
    if fast is not None:
        same(fast, expected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=frames(),
    limits=st.sampled_from(LIMITS),
    received=st.sampled_from([RECEIVED_MS, None]),
)
def test_any_frame_text_is_decided_as_by_the_general_path(
    text: str, limits: Limits, received: int | None
) -> None:
    _decided_as_by_the_general_path(text, limits, received)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=frames(valid_only=True))
def test_a_valid_frame_takes_the_fast_path(text: str) -> None:
    ctx = ItemContext(CODEMAP, Limits(), RECEIVED_MS)
    fast = parse_frame(text, ctx)
    assert fast is not None
    expected = general(text, ctx)
    assert isinstance(expected, AdapterResult) and not expected.rejects
    same(fast, expected)


CHANGES: list[tuple[str, Any]] = [
    *[("kind", v) for v in ["lab", "Observation", "\x00null", "\x001"]],
    *[("signal", v) for v in ["nope", "HR", "crp", "gcs", "\x00null", ""]],
    *[("value", v) for v in ["\x001e400", "\x001e-400", "\x00-0", "\x007", "\x00700"]],
    *[("value", v) for v in ["\x0012345678901234567890123", "\x00true", "\x00null", "37.5"]],
    *[("value", v) for v in ["", "\x00-5.5", "\x00[]", 5e-324, 1e300]],
    *[("unit", v) for v in ["", " ", "[degF]", "degF", "mmHg", "kPa", "bpm", "junk", "\x00null"]],
    *[("obs_id", v) for v in ["", "x" * 200, "x" * 201, "\x00null", "\x007"]],
    *[("time_ms", v) for v in [-1, 0, 32503680000001, RECEIVED_MS + 1, RECEIVED_MS + 300_001]],
    *[("time_ms", v) for v in [RECEIVED_MS - 60_001, 2**70, 1.5e12, "\x00true", "1"]],
    *[("patient_id", v) for v in ["p-002", "", "\x00null", "P-001"]],
    *[("source", v) for v in ["hl7v2", "physionet", "fax", "", "\x00null"]],
    *[("source_msg_id", v) for v in ["", "x" * 200, "x" * 201, "\x00null", "\x007"]],
    *[("status", v) for v in ["draft", "Final", "", "amended", "\x00null"]],
    *[("code", v) for v in ["http://loinc.org|8867-4", "|8310-5", "\x00null"]],
    *[("comparator", v) for v in [">", "\x00null"]],
    *[("ref_low", v) for v in ["\x0010", "\x00null"]],
    *[("ref_high", v) for v in ["\x0010"]],
    *[("extra", v) for v in ["\x00{}", "x"]],
]
"""One field of one event set to one value (added if the event lacks it; most are wrong)."""

TOP_CHANGES: list[tuple[str, Any]] = [
    *[("msg_id", v) for v in ["", "x" * 200, "x" * 201, "\x00null", "\x007"]],
    *[("patient_id", v) for v in ["", "x" * 64, "x" * 65, "p 001", "p-002", "\x00null"]],
    *[("events", v) for v in ["\x00[]", "\x00null", "\x00{}"]],
    *[("kind", v) for v in ["observation", "\x00null"]],
    *[("extra", v) for v in [1, "\x00[]"]],
]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(frame_events(valid_only=True), min_size=1, max_size=3),
    data=st.data(),
    limits=st.sampled_from(LIMITS),
    received=st.sampled_from([RECEIVED_MS, RECEIVED_MS, None]),
)
def test_a_frame_with_one_field_changed_is_decided_as_by_the_general_path(
    events: list[list[tuple[str, Any]]],
    data: st.DataObject,
    limits: Limits,
    received: int | None,
) -> None:
    top: list[tuple[str, Any]] = [("msg_id", "m-1"), ("patient_id", "p-001")]
    if data.draw(st.integers(0, 4)) == 0:
        key, value = data.draw(st.sampled_from(TOP_CHANGES))
        top = [(k, v) for k, v in top if k != key] + [(key, value)]
    else:
        at = data.draw(st.integers(0, len(events) - 1))
        key, value = data.draw(st.sampled_from(CHANGES))
        events[at] = [(k, v) for k, v in events[at] if k != key] + [(key, value)]
    if not any(k == "events" for k, _ in top):
        top.append(("events", "\x00[" + ",".join(obj(e) for e in events) + "]"))
    text = obj(top)
    _decided_as_by_the_general_path(text, limits, received)


def test_a_monitor_frame_of_the_load_test_takes_the_fast_path() -> None:
    events = [
        {
            "kind": "observation",
            "signal": signal,
            "value": value,
            "unit": unit,
            "obs_id": f"p-001-{signal}-0",
            "patient_id": "p-001",
            "time_ms": RECEIVED_MS - 1_000,
            "source": "json",
            "source_msg_id": "p-001-m0",
        }
        for signal, value, unit in [
            ("hr", 93.0, "/min"),
            ("temp", 100.4, "[degF]"),
            ("sbp", 120, "mm[Hg]"),
        ]
    ]
    text = json.dumps({"msg_id": "p-001-m0", "patient_id": "p-001", "events": events})
    ctx = ItemContext(CODEMAP, Limits(), RECEIVED_MS)
    fast = parse_frame(text, ctx)
    assert fast is not None
    assert [e.value for e in fast.events] == pytest.approx([93.0, 38.0, 120.0])  # type: ignore[union-attr]
    same(fast, general(text, ctx))


def test_the_kept_converters_follow_the_code_map() -> None:
    """A site's code map may give a signal another canonical unit: the converters kept by
    the fast path are those of the spec the context's code map hands out."""
    specs = [
        SignalSpec("crp", "mg/dL", 0.0, 70.0, "C-reactive protein in mg/dL")
        if spec.signal == "crp"
        else spec
        for spec in CODEMAP.signals.values()
    ]
    per_decilitre = CodeMap(specs, [])
    event = {
        "kind": "observation",
        "signal": "crp",
        "value": 5.0,
        "unit": "mg/dL",
        "obs_id": "o1",
        "time_ms": RECEIVED_MS - 1_000,
    }
    text = json.dumps({"msg_id": "m1", "patient_id": "p-001", "events": [event]})
    values = []
    for codemap in (CODEMAP, per_decilitre, CODEMAP, per_decilitre):
        ctx = ItemContext(codemap, Limits(), RECEIVED_MS)
        fast = parse_frame(text, ctx)
        assert fast is not None
        same(fast, general(text, ctx))
        values.append(fast.events[0].value)  # type: ignore[union-attr]
    assert values[0] == values[2] != values[1] == values[3]

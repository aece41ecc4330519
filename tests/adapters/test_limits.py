"""adapters.limits: the bounded JSON loader."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.limits import Limits, check_json_complexity, load_json_bounded
from adapters.result import MessageError
from contract.reasons import Reason


def test_accepts_a_document_at_the_depth_limit() -> None:
    # Four nested lists and the scalar inside them: the scalar is at depth 5.
    assert load_json_bounded(b"[[[[1]]]]", Limits(max_json_depth=5)) == [[[[1]]]]
    with pytest.raises(MessageError):
        load_json_bounded(b"[[[[1]]]]", Limits(max_json_depth=4))


def test_depth_counts_containers_and_scalars() -> None:
    limits = Limits(max_json_depth=3)
    assert load_json_bounded(b'{"a": {"b": 1}}', limits) == {"a": {"b": 1}}
    with pytest.raises(MessageError) as err:
        load_json_bounded(b'{"a": {"b": {"c": 1}}}', limits)
    assert err.value.reason is Reason.TOO_COMPLEX


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_too_deep_is_too_complex_never_a_recursion_error(depth: int) -> None:
    data = b"[" * depth + b"]" * depth
    with pytest.raises(MessageError) as err:
        load_json_bounded(data, Limits())
    assert err.value.reason is Reason.TOO_COMPLEX


def test_too_wide_is_too_complex() -> None:
    limits = Limits(max_json_nodes=1000)
    with pytest.raises(MessageError) as err:
        load_json_bounded(b"[" + b",".join([b"0"] * 1000) + b"]", limits)
    assert err.value.reason is Reason.TOO_COMPLEX
    assert load_json_bounded(b"[" + b",".join([b"0"] * 998) + b"]", limits) is not None


@pytest.mark.parametrize("data", [b"", b"{", b"nope", b'{"a":}', b"1e400", b'{"a": 1'])
def test_not_json_is_malformed(data: bytes) -> None:
    with pytest.raises(MessageError) as err:
        load_json_bounded(data, Limits())
    assert err.value.reason is Reason.MALFORMED


def test_defaults_match_the_settings() -> None:
    limits = Limits()
    assert limits.max_message_bytes == 1_048_576
    assert limits.max_json_depth == 32
    assert limits.max_items_per_message == 500
    assert limits.max_future_skew_ms == 300_000
    assert limits.max_event_age_ms == 3650 * 86_400_000


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(alphabet="[]{}a", max_size=3),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet="[{a", max_size=2), children, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_json_values, st.integers(1, 8), st.integers(1, 60))
def test_size_shortcut_never_accepts_what_the_walk_refuses(
    document: object, depth: int, nodes: int
) -> None:
    """Skipping the walk for small, shallow texts must give the walk's verdict every time."""
    limits = Limits(max_json_depth=depth, max_json_nodes=nodes)
    data = msgspec.json.encode(document)
    try:
        check_json_complexity(msgspec.json.decode(data), limits)
        walked = None
    except MessageError as exc:
        walked = exc.reason
    try:
        load_json_bounded(data, limits)
        loaded = None
    except MessageError as exc:
        loaded = exc.reason
    assert loaded == walked

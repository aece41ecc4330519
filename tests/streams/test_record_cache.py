"""Decoded records are reused only while the table still holds the bytes they were written as."""

from __future__ import annotations

from features.state import PatientState
from streams.pipeline import PatientRecord, decode_record, encode_record
from streams.record_cache import RecordCache


def _record(n_ids: int) -> tuple[PatientRecord, bytes]:
    record = PatientRecord(
        state=PatientState(patient_id="p1"), recent_ids=[f"m{i}" for i in range(n_ids)]
    )
    return record, encode_record(record)


def test_a_big_record_is_reused_while_its_bytes_are_stored() -> None:
    cache = RecordCache(min_bytes=1)
    record, value = _record(50)
    cache.stored(b"p1", value, record)
    assert cache.load(b"p1", value) is record
    assert cache.load(b"p1", bytes(value)) is record  # an equal copy (RocksDB reads anew)
    assert cache.hits == 2


def test_other_bytes_in_the_table_are_decoded_not_served_from_the_cache() -> None:
    cache = RecordCache(min_bytes=1)
    record, value = _record(50)
    cache.stored(b"p1", value, record)
    other, other_value = _record(51)  # e.g. restored from the changelog of another worker
    got = cache.load(b"p1", other_value)
    assert got is not record and got == decode_record(other_value) == other
    assert cache.load(b"p1", None) is None and len(cache) == 0


def test_small_records_are_not_kept_and_the_cache_is_bounded() -> None:
    _, probe = _record(60)
    cache = RecordCache(max_bytes=2 * len(probe), min_bytes=200)
    small, small_value = _record(1)
    cache.stored(b"small", small_value, small)
    assert len(cache) == 0
    kept = {key: _record(60) for key in (b"a", b"b", b"c")}
    for key, (record, value) in kept.items():
        cache.stored(key, value, record)
    assert len(cache) == 2
    record, value = kept[b"a"]
    assert cache.load(b"a", value) is not record  # evicted (least recently used): decoded
    record, value = kept[b"c"]
    assert cache.load(b"c", value) is record


def test_discard_and_clear_forget_records_that_may_have_changed() -> None:
    cache = RecordCache(min_bytes=1)
    record, value = _record(50)
    cache.stored(b"p1", value, record)
    cache.discard(b"p1")
    assert cache.load(b"p1", value) is not record
    cache.stored(b"p1", value, record)
    cache.clear()
    assert cache.load(b"p1", value) is not record


def test_by_default_small_records_are_kept_too() -> None:
    # A ward patient's few-KiB record is reused as a monitored patient's is: decoding it
    # anew each batch made the garbage collector walk it (see streams/record_cache.py).
    cache = RecordCache()
    record, value = _record(1)
    cache.stored(b"p1", value, record)
    assert len(value) < 1_000 and cache.load(b"p1", value) is record

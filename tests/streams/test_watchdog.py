"""The rewind watch: an input log that went back under the worker is reported, once confirmed."""

from __future__ import annotations

from streams.watchdog import RewindWatch

TP = ("ews.in.json", 3)


def test_a_position_ahead_of_the_read_offset_is_normal() -> None:
    watch = RewindWatch()
    for _ in range(3):
        assert watch.check({TP: 501}, {TP: 500}) == []


def test_a_rewound_log_is_reported_at_the_second_check_with_the_same_read_offset() -> None:
    watch = RewindWatch()
    assert watch.check({TP: 40}, {TP: 500}) == []  # first sight: could be a seek
    assert watch.check({TP: 90}, {TP: 500}) == [TP]  # Faust dropped 40..89 meanwhile
    assert watch.check({TP: 91}, {TP: 500}) == [TP]


def test_an_idle_partition_right_after_a_seek_to_the_committed_offset_is_normal() -> None:
    # Faust sets the read offset to the committed offset it seeks to: both equal, no data yet.
    watch = RewindWatch()
    for _ in range(3):
        assert watch.check({TP: 500}, {TP: 500}) == []


def test_a_seek_that_is_over_by_the_next_check_is_not_reported() -> None:
    watch = RewindWatch()
    assert watch.check({TP: 400}, {TP: 500}) == []  # re-reading after a rebalance
    assert watch.check({TP: 640}, {TP: 639}) == []  # read offset moved on: progress
    assert watch.check({TP: 300}, {TP: 639}) == []  # a new suspicion starts over


def test_unknown_positions_or_offsets_are_skipped() -> None:
    watch = RewindWatch()
    for _ in range(2):
        assert watch.check({TP: None, ("t", 0): 5}, {TP: 500}) == []


def test_a_consumer_waiting_beyond_the_end_of_a_shorter_log_is_reported() -> None:
    watch = RewindWatch()
    assert watch.check({TP: 500}, {TP: 499}, {TP: 120}) == []
    assert watch.check({TP: 500}, {TP: 499}, {TP: 180}) == [TP]  # new data, never fetched


def test_at_the_end_of_the_log_is_normal() -> None:
    watch = RewindWatch()
    for end in (500, 500, 530):
        assert watch.check({TP: 500}, {TP: 499}, {TP: end}) == []

"""The rewind watch: an input log that went back under the worker is reported, once confirmed."""

from __future__ import annotations

from streams.watchdog import ProgressWatch, RewindWatch

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


# --- ProgressWatch: messages waiting, committed offset not moving ----------------------------

STALL_MS = 60_000


def test_a_partition_whose_committed_offset_moves_never_stalls() -> None:
    watch = ProgressWatch(STALL_MS)
    for i in range(10):
        assert watch.check(i * 30_000, {TP: 100 + i}, {TP: 1_000}) == []


def test_waiting_with_the_same_committed_offset_stalls_at_the_limit_not_before() -> None:
    watch = ProgressWatch(STALL_MS)
    assert watch.check(0, {TP: 100}, {TP: 1_000}) == []
    assert watch.check(STALL_MS - 1, {TP: 100}, {TP: 1_001}) == []
    assert watch.check(STALL_MS, {TP: 100}, {TP: 1_002}) == [TP]


def test_an_idle_partition_with_everything_committed_is_not_stalled() -> None:
    watch = ProgressWatch(STALL_MS)
    for i in range(5):
        assert watch.check(i * STALL_MS, {TP: 1_000}, {TP: 1_000}) == []


def test_one_message_waiting_is_enough() -> None:
    watch = ProgressWatch(STALL_MS)
    assert watch.check(0, {TP: 999}, {TP: 1_000}) == []
    assert watch.check(STALL_MS, {TP: 999}, {TP: 1_000}) == [TP]


def test_nothing_ever_committed_counts_from_offset_zero() -> None:
    watch = ProgressWatch(STALL_MS)
    assert watch.check(0, {TP: None}, {TP: 0}) == []
    assert watch.check(0, {TP: None}, {TP: 3}) == []
    assert watch.check(STALL_MS, {TP: None}, {TP: 3}) == [TP]


def test_progress_or_catching_up_restarts_the_clock() -> None:
    watch = ProgressWatch(STALL_MS)
    assert watch.check(0, {TP: 100}, {TP: 200}) == []
    assert watch.check(50_000, {TP: 150}, {TP: 200}) == []  # moved: a new wait starts here
    assert watch.check(100_000, {TP: 150}, {TP: 200}) == []
    assert watch.check(110_000, {TP: 150}, {TP: 200}) == [TP]
    assert watch.check(120_000, {TP: 200}, {TP: 200}) == []  # caught up
    assert watch.check(200_000, {TP: 200}, {TP: 201}) == []


def test_reset_forgets_the_wait_and_unknown_ends_are_skipped() -> None:
    watch = ProgressWatch(STALL_MS)
    assert watch.check(0, {TP: 100}, {TP: 200, ("t", 0): None}) == []
    watch.reset()  # a rebalance: the clock starts again
    assert watch.check(STALL_MS, {TP: 100}, {TP: 200}) == []
    assert watch.check(2 * STALL_MS, {TP: 100}, {TP: 200}) == [TP]


def test_a_log_end_below_the_committed_offset_is_a_lost_log_once_confirmed() -> None:
    # Tansu restarted with its data lost: the topic is new, 40 messages long, and the
    # worker had committed up to 500.
    watch = RewindWatch()
    args = ({TP: 500}, {TP: 499}, {TP: 500})
    assert watch.check(*args, committed={TP: 500}, log_ends={TP: 40}) == []
    assert watch.check(*args, committed={TP: 500}, log_ends={TP: 41}) == [TP]
    assert watch.sign(TP) == "truncated 500"


def test_a_log_end_at_or_beyond_the_committed_offset_is_normal() -> None:
    watch = RewindWatch()
    for end in (500, 501, 900):
        assert watch.check({TP: 500}, {TP: 499}, {TP: end}, {TP: 500}, {TP: end}) == []


def test_committed_offsets_gone_from_the_broker_mean_it_lost_its_state() -> None:
    # The worker committed 500; the broker, restarted without its data, has no offsets for
    # the group, while the new log happens to be longer than 500 already.
    watch = RewindWatch()
    args = ({TP: 500}, {TP: 499}, {TP: 900}, {TP: 500}, {TP: 900})
    assert watch.check(*args, broker_committed={TP: None}) == []
    assert watch.check(*args, broker_committed={TP: None}) == [TP]
    assert watch.sign(TP) == "offsets_lost 500"


def test_offsets_on_the_broker_or_nothing_committed_yet_are_normal() -> None:
    watch = RewindWatch()
    for _ in range(3):
        assert watch.check({TP: 500}, {TP: 499}, {TP: 900}, {TP: 500}, {TP: 900}, {TP: 500}) == []
        # A worker that never committed (a fresh group) has nothing the broker could lose.
        assert watch.check({TP: 5}, {TP: 4}, {TP: 9}, {TP: None}, {TP: 9}, {TP: None}) == []

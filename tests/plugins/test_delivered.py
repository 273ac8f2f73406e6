"""The de-duplication log of the broadcast layers: watermarks, and their bound."""

from __future__ import annotations

from netweave_broadcast._delivered import MAX_AHEAD, DeliveredLog


def test_out_of_order_numbers_fill_the_gaps_and_the_watermark_moves_up():
    log = DeliveredLog()
    assert [log.add("n1", 1, s) for s in (2, 3, 1, 3)] == [True, True, True, False]
    assert log.size() == 1 and log.has("n1", 1, 3) and not log.has("n1", 1, 4)


def test_a_sequence_joined_late_stays_bounded():
    # A restarted process never gets the first numbers of a sequence that was running
    # before it started: without a bound, every later number would be kept for ever.
    log = DeliveredLog()
    first = 500
    for seq in range(first, first + 3 * MAX_AHEAD):
        assert log.add("n1", 1, seq)
        assert log.size() <= MAX_AHEAD + 1
    assert not log.add("n1", 1, first + 3 * MAX_AHEAD - 1)  # still a duplicate
    assert log.has("n1", 1, 1)  # the numbers never received count as delivered now


def test_the_bound_keeps_the_newest_half_and_their_gaps():
    log = DeliveredLog()
    numbers = list(range(2, 2 * (MAX_AHEAD + 1) + 1, 2))  # every other number: all gaps
    for seq in numbers:
        log.add("n1", 1, seq)
    assert log.size() <= MAX_AHEAD + 1
    newest = numbers[-MAX_AHEAD // 2:]
    assert all(log.has("n1", 1, s) for s in newest)
    assert not log.has("n1", 1, newest[-1] - 1)  # a gap among the newest stays open

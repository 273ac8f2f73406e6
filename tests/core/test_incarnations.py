"""Which peer processes are gone, as a layer joining sequences after restarts sees it."""

from __future__ import annotations

from netweave import GapWaited, GapWaits, Incarnations


def test_a_crash_ends_the_node_until_a_newer_process_is_heard_of():
    known = Incarnations()
    known.seen("n2", 1)
    assert not known.gone("n2", 1)
    known.crashed("n2")
    assert known.gone("n2", 1)
    assert known.seen("n2", 2)  # the crash detected was of the older process
    assert known.gone("n2", 1) and not known.gone("n2", 2)


def test_a_crash_reported_before_any_message_still_counts():
    known = Incarnations()
    known.crashed("n3")
    assert known.seen("n3", 1)  # its messages, relayed later by others
    assert known.gone("n3", 1)


def test_a_restart_or_a_newer_process_named_ends_the_older_ones():
    known = Incarnations()
    known.crashed("n2")
    known.restarted("n2", 3)
    assert known.gone("n2", 2) and not known.gone("n2", 3)
    assert not known.seen("n2", 2)  # older than what is known: nothing new
    known.seen("n4", 5)
    assert known.gone("n4", 4) and not known.gone("n4", 5)


def test_a_process_that_notes_itself_counts_its_own_earlier_processes_gone():
    known = Incarnations()
    known.seen("n1", 2)  # this process
    assert known.gone("n1", 1) and not known.gone("n1", 2)
    assert not known.gone("n9", 1)  # a node never heard of


class _Timers:
    """The part of a context that GapWaits uses: set_timer, recorded."""

    def __init__(self) -> None:
        self.set: list[tuple[float, GapWaited]] = []

    def set_timer(self, delay: float, event: GapWaited) -> None:
        self.set.append((delay, event))


def test_a_gap_is_skipped_only_once_its_wait_is_over():
    timers = _Timers()
    gaps = GapWaits(timers, "fifo-rb", 2.0)  # type: ignore[arg-type]
    assert not gaps.waited("n1/1") and not gaps.waited("n1/1")
    assert [delay for delay, _ in timers.set] == [2.0]  # one timer per gap
    (_, event), = timers.set
    assert not gaps.over(GapWaited("waiting-crb", event.key, event.token))  # not ours
    assert gaps.over(event) and not gaps.over(event)
    assert gaps.waited("n1/1") and len(gaps) == 0


def test_a_gap_filled_while_waited_in_forgets_its_timer():
    timers = _Timers()
    gaps = GapWaits(timers, "fifo-rb", 2.0)  # type: ignore[arg-type]
    gaps.waited("n1/1")
    gaps.filled("n1/1")
    assert len(gaps) == 0
    gaps.waited("n1/1")  # a later gap waits afresh; the first timer is stale
    first, second = (event for _, event in timers.set)
    assert not gaps.over(first) and gaps.over(second)


def test_without_a_wait_a_gap_is_skipped_at_once():
    timers = _Timers()
    assert GapWaits(timers, "fifo-rb", 0.0).waited("n1/1")  # type: ignore[arg-type]
    assert timers.set == []

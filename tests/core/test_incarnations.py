"""Which peer processes are gone, as a layer joining sequences after restarts sees it."""

from __future__ import annotations

from netweave import Incarnations


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

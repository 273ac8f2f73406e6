"""Histories: a trace read as processes, their ends, correctness and obligations."""

from __future__ import annotations

from typing import Any

import pytest
from netweave.check import History, TraceFormatError
from trace_lines import bc, crash, start, stop

# -- histories: processes, correctness, obligations ---------------------------------------


def test_lines_belong_to_the_latest_process_and_a_restart_is_a_new_process() -> None:
    h = History.from_records([
        start(0, "a"), bc(1, "a", "a/1/1"), crash(2, "a"), start(3, "a", 2), bc(4, "a", "a/2/1"),
    ])
    first, second = h.by_node["a"]
    assert (first.incarnation, first.crashed, first.end) == (1, True, 2)
    assert (second.incarnation, second.correct, second.restarted) == (2, True, True)
    assert [b.process for b in h.broadcasts("rb")] == [first, second]
    assert repr(second) == "a#2"


def test_a_start_without_crash_or_stop_ends_the_previous_process_as_crashed() -> None:
    h = History.from_records([start(0, "a"), start(5, "a", 2), stop(9, "a")])
    first, second = h.by_node["a"]
    assert first.crashed and first.end == 5
    assert second.stopped and second.correct


def test_lines_before_any_start_belong_to_an_implicit_first_process() -> None:
    h = History.from_records([bc(1, "a", "a/1/1")])
    (p,) = h.processes
    assert p.incarnation == 0 and not p.restarted and p.correct


@pytest.mark.parametrize("bad", [{"t": 1, "ev": "crash"}, {"node": "a", "ev": "crash"},
                                 {"t": "x", "node": "a", "ev": "crash"}, [1, 2],
                                 {"t": 1, "node": "a", "ev": "deliver", "id": "a/1/1"}])
def test_lines_lacking_required_fields_are_refused(bad: Any) -> None:
    with pytest.raises(TraceFormatError):
        History.from_records([start(0, "a"), bad])


def test_obligations_late_start_restart_and_stop() -> None:
    h = History.from_records([
        start(0, "a"), start(0, "b"), start(0, "c"), start(5, "d"),  # d: late first start
        crash(2, "b"), start(4, "b", 2),                               # b: restarted at 4
        stop(6, "c"),                                                  # c: stopped at 6
    ])
    late, restarted, stopped = h.last_process("d"), h.last_process("b"), h.last_process("c")
    assert h.obliged(late, 1.0, "rb")
    assert not h.obliged(restarted, 3.0, "rb") and not h.obliged(restarted, 4.0, "rb")
    assert h.obliged(restarted, 4.5, "rb")
    assert not h.obliged(h.by_node["b"][0], 1.0, "rb")  # crashed
    assert h.obliged(stopped, 5.0, "rb") and not h.obliged(stopped, 7.0, "rb")


def test_a_process_only_runs_the_layers_its_start_line_names() -> None:
    h = History.from_records([start(0, "a", fd="perfect-fd"), start(0, "b")])
    assert not h.last_process("a").runs("rb") and h.last_process("a").runs("fd")
    assert h.last_process("b").runs("rb")  # not recorded: assumed
    assert h.layers == ["fd"]

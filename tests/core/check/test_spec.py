"""Specifications on hand-written traces: the standard broadcast and failure-detector
specs, every property both holding and violated, and the Spec API."""

from __future__ import annotations

import pytest
from netweave.check import History, Spec, Violation
from netweave_broadcast.spec import (
    BestEffortBroadcastSpec,
    FifoBroadcastSpec,
    ReliableBroadcastSpec,
    UniformReliableBroadcastSpec,
)
from netweave_fd.spec import EventuallyPerfectFailureDetectorSpec, PerfectFailureDetectorSpec
from trace_lines import Counting as _Counting
from trace_lines import Record, bc, crash, dl, res, start, starts, stop, sus


def verdict(spec: Spec, prop: str, trace: list[Record]) -> list[Violation]:
    """The violations of one property, checking the property exists."""
    h = History.from_records(sorted(trace, key=lambda r: r["t"]))
    assert prop in [p.name for p in spec.properties]
    return list(spec.violations(prop, h))


def holds(spec: Spec, prop: str, trace: list[Record]) -> bool:
    return not verdict(spec, prop, trace)


# -- broadcast safety -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", [BestEffortBroadcastSpec("rb"), ReliableBroadcastSpec(),
                                  UniformReliableBroadcastSpec("rb"), FifoBroadcastSpec("rb")])
def test_safety_properties_shared_by_every_broadcast(spec: Spec) -> None:
    ok = [*starts("a", "b"), bc(1, "a", "a/1/1"), dl(1, "a", "a/1/1"), dl(2, "b", "a/1/1")]
    for prop in ("unique ids", "no duplication", "no creation"):
        assert holds(spec, prop, ok), prop

    reused = [*ok, crash(3, "a"), start(4, "a", 2), bc(5, "a", "a/1/1")]
    (v,) = verdict(spec, "unique ids", reused)
    assert "a#2 broadcast a/1/1, already broadcast by a#1" in v.message
    assert [line["t"] for line in v.lines] == [1, 5]

    twice = [*ok, dl(3, "b", "a/1/1")]
    (v,) = verdict(spec, "no duplication", twice)
    assert v.message == "b#1 delivered a/1/1 twice" and len(v.lines) == 2
    # A restarted process is a new process: delivering again is not a duplicate.
    assert holds(spec, "no duplication", [*ok, crash(3, "b"), start(4, "b", 2),
                                          dl(5, "b", "a/1/1")])

    invented = [*ok, dl(3, "b", "c/1/9")]
    assert "which no process broadcast" in verdict(spec, "no creation", invented)[0].message
    forged = [*ok, dl(3, "b", "a/1/1", origin="c")]
    assert "but a#1 broadcast it" in verdict(spec, "no creation", forged)[0].message
    early = [*starts("a", "b"), dl(1, "b", "a/1/1"), bc(2, "a", "a/1/1")]
    assert "before a#1 broadcast it" in verdict(spec, "no creation", early)[0].message
    other_layer = [*starts("a", "b"), bc(1, "a", "a/1/1", layer="beb"), dl(2, "b", "a/1/1")]
    assert not holds(spec, "no creation", other_layer)


# -- broadcast liveness ---------------------------------------------------------------------


def test_beb_validity() -> None:
    spec = BestEffortBroadcastSpec()
    trace = [*starts("a", "b", "c"), bc(1, "a", "a/1/1", "beb"), dl(1, "a", "a/1/1", "beb"),
             dl(2, "b", "a/1/1", "beb")]
    (v,) = verdict(spec, "validity", trace)
    assert v.message == "correct c#1 never delivered a/1/1, broadcast by correct a#1"
    assert holds(spec, "validity", [*trace, dl(3, "c", "a/1/1", "beb")])
    # The crashed sender owes nothing; nor does a crashed receiver.
    assert holds(spec, "validity", [*trace, crash(3, "a")])
    assert holds(spec, "validity", [*trace, crash(3, "c")])


def test_late_starter_is_obliged_but_a_restarted_process_only_after_its_start() -> None:
    spec = BestEffortBroadcastSpec()
    base = [start(0, "a"), bc(1, "a", "a/1/1", "beb"), dl(1, "a", "a/1/1", "beb")]
    late = [*base, start(5, "b")]
    assert "b#1 never delivered" in verdict(spec, "validity", late)[0].message
    restarted = [*base, start(0, "b"), crash(0.5, "b"), start(5, "b", 2)]
    assert holds(spec, "validity", restarted)
    after = [*restarted, bc(6, "a", "a/1/2", "beb"), dl(6, "a", "a/1/2", "beb")]
    assert "b#2 never delivered a/1/2" in verdict(spec, "validity", after)[0].message


def test_stopped_process_is_obliged_only_before_it_stopped() -> None:
    spec = BestEffortBroadcastSpec()
    trace = [*starts("a", "b"), stop(2, "b"), bc(3, "a", "a/1/1", "beb"),
             dl(3, "a", "a/1/1", "beb")]
    assert holds(spec, "validity", trace)
    trace2 = [*starts("a", "b"), bc(1, "a", "a/1/1", "beb"), dl(1, "a", "a/1/1", "beb"),
              stop(2, "b")]
    assert not holds(spec, "validity", trace2)


@pytest.mark.parametrize("spec", [ReliableBroadcastSpec(), UniformReliableBroadcastSpec("rb")])
def test_rb_validity_only_asks_the_sender_to_deliver(spec: Spec) -> None:
    sent = [*starts("a", "b"), bc(1, "a", "a/1/1")]
    (v,) = verdict(spec, "validity", sent)
    assert v.message == "correct a#1 broadcast a/1/1 and never delivered it"
    assert holds(spec, "validity", [*sent, dl(1, "a", "a/1/1")])
    assert holds(spec, "validity", [*sent, crash(2, "a")])


def test_agreement_and_uniform_agreement() -> None:
    rb, urb = ReliableBroadcastSpec(), UniformReliableBroadcastSpec("rb")
    # The sender delivers, then crashes: only b delivers; c never does.
    partial = [*starts("a", "b", "c"), bc(1, "a", "a/1/1"), dl(1, "a", "a/1/1"),
               dl(2, "b", "a/1/1"), crash(3, "a")]
    (v,) = verdict(rb, "agreement", partial)
    assert v.message == "correct c#1 never delivered a/1/1, delivered by b#1"
    assert not holds(urb, "uniform agreement", partial)
    complete = [*partial, dl(4, "c", "a/1/1")]
    assert holds(rb, "agreement", complete) and holds(urb, "uniform agreement", complete)
    # Only the crashed sender delivered: regular agreement holds, uniform does not.
    lonely = [*starts("a", "b", "c"), bc(1, "a", "a/1/1"), dl(1, "a", "a/1/1"), crash(2, "a")]
    assert holds(rb, "agreement", lonely)
    (v,) = verdict(urb, "uniform agreement", lonely)[:1]
    assert "delivered by crashed a#1" in v.message
    # A restarted process owes nothing for messages older than itself.
    old = [*lonely, crash(0.5, "b"), crash(0.5, "c"), start(3, "b", 2), start(3, "c", 2)]
    assert holds(urb, "uniform agreement", old)


def test_fifo_delivery() -> None:
    spec = FifoBroadcastSpec()
    sent = [*starts("a", "b"), bc(1, "a", "a/1/1", "fifo"), bc(2, "a", "a/1/2", "fifo")]
    in_order = [*sent, dl(3, "b", "a/1/1", "fifo"), dl(4, "b", "a/1/2", "fifo")]
    assert holds(spec, "fifo delivery", in_order)
    swapped = [*sent, dl(3, "b", "a/1/2", "fifo"), dl(4, "b", "a/1/1", "fifo")]
    (v,) = verdict(spec, "fifo delivery", swapped)
    assert v.message == "b#1 delivered a/1/2 before a/1/1, which a#1 broadcast earlier"
    assert [line["ev"] for line in v.lines] == ["broadcast", "broadcast", "deliver"]
    skipped = [*sent, dl(3, "b", "a/1/2", "fifo")]
    assert not holds(spec, "fifo delivery", skipped)
    # One report per gap, however many messages follow it.
    three = [*sent, bc(2.5, "a", "a/1/3", "fifo"), dl(3, "b", "a/1/3", "fifo"),
             dl(4, "b", "a/1/1", "fifo"), dl(5, "b", "a/1/2", "fifo")]
    (v,) = verdict(spec, "fifo delivery", three)
    assert v.message == "b#1 delivered a/1/3 before a/1/1, which a#1 broadcast earlier"
    later_gap = [*sent, bc(2.5, "a", "a/1/3", "fifo"), dl(3, "b", "a/1/1", "fifo"),
                 dl(4, "b", "a/1/3", "fifo")]
    (v,) = verdict(spec, "fifo delivery", later_gap)
    assert v.message == "b#1 delivered a/1/3 before a/1/2, which a#1 broadcast earlier"
    # Order is per origin process: a restarted origin starts a new sequence.
    restarted = [*starts("a", "b"), bc(1, "a", "a/1/1", "fifo"), crash(2, "a"),
                 start(3, "a", 2), bc(4, "a", "a/2/1", "fifo"), dl(5, "b", "a/2/1", "fifo")]
    assert holds(spec, "fifo delivery", restarted)
    # A crashed deliverer is not judged (the textbook: no *correct* process).
    assert holds(spec, "fifo delivery", [*swapped, crash(5, "b")])
    # A restarted deliverer may skip what was broadcast before it started.
    late = [*sent, crash(0.5, "b"), start(2.5, "b", 2), bc(3, "a", "a/1/3", "fifo"),
            dl(4, "b", "a/1/3", "fifo")]
    assert holds(spec, "fifo delivery", late)
    assert FifoBroadcastSpec.properties[-1].name == "fifo delivery"
    assert {"agreement", "validity"} <= {p.name for p in FifoBroadcastSpec.properties}


# -- failure detectors ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", [PerfectFailureDetectorSpec(),
                                  EventuallyPerfectFailureDetectorSpec()])
def test_strong_completeness(spec: Spec) -> None:
    crashed = [*starts("a", "b", "c"), crash(1, "c"), sus(3, "a", "c")]
    (v,) = verdict(spec, "strong completeness", crashed)
    assert v.message == "correct b#1 does not suspect crashed c#1 at the end (never suspected it)"
    done = [*crashed, sus(3, "b", "c")]
    assert holds(spec, "strong completeness", done)
    restored = [*done, res(4, "b", "c")]
    assert "restored it" in verdict(spec, "strong completeness", restored)[0].message
    # A crash followed by a restart: the new process replaces the old one.
    assert holds(spec, "strong completeness", [*crashed, start(2, "c", 2)])
    # A crashed observer owes nothing.
    assert holds(spec, "strong completeness", [*crashed, crash(2, "b"), sus(4, "a", "b")])


def test_strong_accuracy_of_the_perfect_detector() -> None:
    spec = PerfectFailureDetectorSpec()
    assert holds(spec, "strong accuracy", [*starts("a", "b"), crash(1, "b"), sus(3, "a", "b")])
    (v,) = verdict(spec, "strong accuracy", [*starts("a", "b"), sus(3, "a", "b"), crash(4, "b")])
    assert v.message == "a#1 detected b#1, which had not crashed"
    # Detecting the old process after the restart is right; keeping it after is not.
    restart = [*starts("a", "b"), crash(1, "b"), start(2, "b", 2), sus(3, "a", "b")]
    (v,) = verdict(spec, "strong accuracy", restart)
    assert v.message == "correct a#1 still suspects b at the end, and b#2 is correct"
    assert holds(spec, "strong accuracy", [*restart, res(4, "a", "b")])


def test_eventual_strong_accuracy() -> None:
    spec = EventuallyPerfectFailureDetectorSpec()
    wrong_for_a_while = [*starts("a", "b"), sus(1, "a", "b"), res(2, "a", "b")]
    assert holds(spec, "eventual strong accuracy", wrong_for_a_while)
    assert not holds(PerfectFailureDetectorSpec(), "strong accuracy", wrong_for_a_while)
    wrong_for_ever = [*starts("a", "b"), sus(1, "a", "b")]
    assert not holds(spec, "eventual strong accuracy", wrong_for_ever)
    # A suspecting process that crashed does not count.
    assert holds(spec, "eventual strong accuracy", [*wrong_for_ever, crash(2, "a")])


# -- the Spec API ---------------------------------------------------------------------------



def test_spec_check_counts_violations_and_keeps_a_few_examples() -> None:
    h = History.from_records(starts("a", "b", "c", "d", "e"))
    never, always = _Counting().check(h, examples=2)
    assert (never.name, never.kind, never.violations, len(never.examples)) == ("never", "safety",
                                                                                5, 2)
    assert never.summary() == "violated (5): line 0" and not never.holds
    assert always.holds and always.summary() == "holds" and always.kind == "liveness"
    assert never.as_dict()["examples"][0]["lines"] == [dict(start(0.0, "a"))]
    assert _Counting().first_violation(h) is not None and not _Counting().holds(h)
    assert [p.doc for p in _Counting.properties] == ["Nothing may happen.",
                                                      "Everything is fine."]
    with pytest.raises(KeyError, match="has no property 'sometimes'"):
        _Counting().violations("sometimes", h)


def test_a_spec_judges_the_layer_it_is_given() -> None:
    assert BestEffortBroadcastSpec().layer == "beb"
    assert BestEffortBroadcastSpec("mine").layer == "mine"
    trace = [*starts("a", "b"), bc(1, "a", "a/1/1", "mine"), dl(1, "a", "a/1/1", "mine")]
    assert not holds(BestEffortBroadcastSpec("mine"), "validity", trace)
    assert holds(BestEffortBroadcastSpec(), "validity", trace)

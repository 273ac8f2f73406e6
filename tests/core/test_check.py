"""The checking engine on hand-written traces: every property both holds and is violated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netweave import Catalog, Component, PluginError, hookimpl
from netweave.check import (
    History,
    Spec,
    SpecCatalog,
    TraceFormatError,
    Violation,
    check_history,
    check_trace,
    liveness,
    safety,
)
from netweave_broadcast.spec import (
    BestEffortBroadcastSpec,
    FifoBroadcastSpec,
    ReliableBroadcastSpec,
    UniformReliableBroadcastSpec,
)
from netweave_fd.spec import EventuallyPerfectFailureDetectorSpec, PerfectFailureDetectorSpec

Record = dict[str, Any]


# -- a tiny language for traces ----------------------------------------------------------


def start(t: float, node: str, inc: int = 1, **layers: str) -> Record:
    r: Record = {"t": t, "node": node, "ev": "start", "incarnation": inc}
    if layers:
        r["layers"] = layers
    return r


def crash(t: float, node: str) -> Record:
    return {"t": t, "node": node, "ev": "crash"}


def stop(t: float, node: str) -> Record:
    return {"t": t, "node": node, "ev": "stop"}


def bc(t: float, node: str, mid: str, layer: str = "rb") -> Record:
    return {"t": t, "node": node, "ev": "broadcast", "layer": layer, "id": mid, "origin": node}


def dl(t: float, node: str, mid: str, layer: str = "rb", origin: str | None = None) -> Record:
    return {"t": t, "node": node, "ev": "deliver", "layer": layer, "id": mid,
            "origin": origin or mid.split("/")[0]}


def sus(t: float, node: str, peer: str) -> Record:
    return {"t": t, "node": node, "ev": "suspect", "layer": "fd", "peer": peer}


def res(t: float, node: str, peer: str) -> Record:
    return {"t": t, "node": node, "ev": "restore", "layer": "fd", "peer": peer}


def starts(*nodes: str) -> list[Record]:
    return [start(0.0, n) for n in nodes]


def verdict(spec: Spec, prop: str, trace: list[Record]) -> list[Violation]:
    """The violations of one property, checking the property exists."""
    h = History.from_records(sorted(trace, key=lambda r: r["t"]))
    assert prop in [p.name for p in spec.properties]
    return list(spec.violations(prop, h))


def holds(spec: Spec, prop: str, trace: list[Record]) -> bool:
    return not verdict(spec, prop, trace)


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


class _Counting(Spec):
    abstraction = "test"
    layers = ("t",)

    @safety("never")
    def never(self, h: History) -> Iterator[Violation]:
        """Nothing may happen."""
        for e in h.events:
            yield Violation(f"line {e.index}", (e.record,))

    @liveness("always")
    def always(self, h: History) -> Iterator[Violation]:
        """Everything is fine."""
        return iter(())


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


# -- discovery through the netweave_specs hook ----------------------------------------------


class _ClaimsRB(Component):
    name = "test-claims-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type[Spec]]:
        return [_Counting]

    @hookimpl
    def netweave_node_built(self, node: object) -> None:
        raise AssertionError("instance hooks must not be called without a node")


class _BadSpecs(Component):
    name = "test-bad-specs"

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[object]:
        return [object]


def test_specs_are_discovered_from_the_static_hooks_of_installed_plugins() -> None:
    specs = SpecCatalog.discover()
    assert specs.for_plugin("beb") == (BestEffortBroadcastSpec,)
    assert specs.for_plugin("perfect-fd") == (PerfectFailureDetectorSpec,)
    assert specs.for_plugin("eventually-perfect-fd") == (EventuallyPerfectFailureDetectorSpec,)
    assert specs.for_layer("fd") == (PerfectFailureDetectorSpec,)  # the default provider
    assert specs.for_plugin("no-such-plugin") == ()


def test_a_registered_plugin_brings_its_specs_and_claims_those_of_what_it_provides() -> None:
    catalog = Catalog.discover(extra=[_ClaimsRB])
    specs = SpecCatalog.discover(catalog, specs=[ReliableBroadcastSpec])
    assert specs.for_plugin("test-claims-rb") == (_Counting, ReliableBroadcastSpec)
    assert specs.for_plugin(_ClaimsRB) == (_Counting, ReliableBroadcastSpec)
    assert _Counting in specs.all()


def test_a_plugin_returning_something_else_than_specs_is_named() -> None:
    with pytest.raises(PluginError, match="test-bad-specs"):
        SpecCatalog.discover(Catalog.discover(extra=[_BadSpecs]))


class _SpecOnly:
    """A plugin object that brings a spec without a component (as a module could)."""

    @hookimpl
    def netweave_specs(self) -> list[type[Spec]]:
        return [_Counting]


def test_specs_from_plain_plugin_objects() -> None:
    specs = SpecCatalog.discover(Catalog(), plugins=[_SpecOnly()])
    assert specs.all() == (_Counting,) and specs.for_layer("t") == (_Counting,)


# -- checking whole traces ------------------------------------------------------------------


def test_the_detector_named_by_start_lines_decides_the_spec() -> None:
    wrong_for_a_while = [sus(1, "a", "b"), res(2, "a", "b")]
    as_ep = [start(0, "a", fd="eventually-perfect-fd"), start(0, "b", fd="eventually-perfect-fd"),
             *wrong_for_a_while]
    report = check_trace(as_ep)
    assert report.ok and {r.spec for r in report.results} == {
        "EventuallyPerfectFailureDetectorSpec"}
    as_p = [start(0, "a", fd="perfect-fd"), start(0, "b", fd="perfect-fd"), *wrong_for_a_while]
    report = check_trace(as_p)
    assert not report.ok
    assert [r.name for r in report.violated] == ["strong accuracy"]
    # No record of the plugin: the default provider's spec (the perfect detector).
    assert not check_trace([*starts("a", "b"), *wrong_for_a_while]).ok


def test_unknown_layers_are_reported_unchecked() -> None:
    trace = [*starts("a"), bc(1, "a", "a/1/1", "mystery"), dl(1, "a", "a/1/1", "mystery")]
    report = check_trace(trace)
    assert report.unchecked == ("mystery",) and report.ok and not report.results
    assert "unchecked" in report.format()


def test_report_format_and_json(tmp_path: Path) -> None:
    trace = [start(0, "a", beb="beb"), start(0, "b", beb="beb"), bc(1, "a", "a/1/1", "beb"),
             dl(1, "a", "a/1/1", "beb"), dl(2, "a", "a/1/1", "beb")]
    report = check_history(History.from_records(trace))
    text = report.format()
    assert "no duplication  violated (1): a#1 delivered a/1/1 twice" in text
    assert "validity        violated (1): correct b#1 never delivered a/1/1" in text
    assert text.endswith("2 of 4 properties hold, 2 violated")
    assert '         {"t":1,"node":"a","ev":"deliver"' in text
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ok"] is False and data["processes"] == 2 and data["lines"] == 5
    assert [r["property"] for r in data["results"] if not r["holds"]] == ["no duplication",
                                                                          "validity"]


def test_a_truncated_last_line_is_tolerated(tmp_path: Path) -> None:
    lines = [start(0, "a", beb="beb"), bc(1, "a", "a/1/1", "beb"), dl(1, "a", "a/1/1", "beb")]
    text = "".join(json.dumps(r) + "\n" for r in lines) + '{"t": 2, "node": "a", "ev": "deli'
    (tmp_path / "a.jsonl").write_text(text)
    report = check_trace(tmp_path)
    assert report.ok and report.lines == 3


def _fd_trace(fenced: bool) -> list[dict[str, Any]]:
    layers = {"fd": "perfect-fd", "rb": "lazy-rb"}
    lines: list[dict[str, Any]] = [
        {"t": 0.0, "node": n, "ev": "start", "incarnation": 1, "layers": layers}
        for n in ("n1", "n2", "n3")]
    lines += [
        {"t": 1.0, "node": "n1", "ev": "broadcast", "layer": "rb", "id": "n1/1/1",
         "origin": "n1"},
        {"t": 1.0, "node": "n1", "ev": "deliver", "layer": "rb", "id": "n1/1/1",
         "origin": "n1"},
        {"t": 2.0, "node": "n2", "ev": "suspect", "layer": "fd", "peer": "n3"},
        {"t": 2.0, "node": "n1", "ev": "suspect", "layer": "fd", "peer": "n3"},
        {"t": 2.5, "node": "n2", "ev": "deliver", "layer": "rb", "id": "n1/1/1",
         "origin": "n1"},
    ]
    if fenced:  # n3 learns it was declared crashed, and ends
        lines.append({"t": 3.0, "node": "n3", "ev": "crash", "reason": "fenced", "by": "n1"})
    return lines


def test_a_broken_perfect_detector_is_named_as_a_broken_assumption() -> None:
    report = check_trace(_fd_trace(fenced=False))
    assert not report.ok
    broken = report.broken_assumptions
    assert [(r.layer, r.name) for r, _, _ in broken] == [("fd", "strong accuracy")]
    text = report.format()
    assert "assumption broken (fd): the perfect failure detector's accuracy" in text
    assert "rb agreement" in text  # n3 never delivered: named as what may follow from it
    assert report.as_dict()["broken_assumptions"][0]["property"] == "strong accuracy"


def test_a_fenced_process_counts_as_crashed_from_its_first_detection() -> None:
    report = check_trace(_fd_trace(fenced=True))
    assert report.ok, report.format()
    assert report.broken_assumptions == []


def test_what_a_fenced_process_detects_after_its_own_detection_does_not_count() -> None:
    lines = _fd_trace(fenced=True)
    # n3, cut off, stopped hearing from the others and detected n1 before learning that
    # it was fenced: a crashed process's detection
    lines.insert(-1, {"t": 2.8, "node": "n3", "ev": "suspect", "layer": "fd", "peer": "n1"})
    report = check_trace(lines)
    assert report.ok, report.format()
    early = _fd_trace(fenced=True)  # but a detection before anyone detected it counts
    early.insert(3, {"t": 0.5, "node": "n3", "ev": "suspect", "layer": "fd", "peer": "n1"})
    assert [r.name for r in check_trace(early).violated][:1] == ["strong accuracy"]

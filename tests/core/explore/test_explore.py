"""netweave explore: every run of a small scope, the shortest counterexample, replayable.

Each mutant below removes one textbook ingredient; the explorer must find the violation
its ingredient exists for, with a run no search of fewer choices finds (minimality is
checked, not assumed: the same search bounded one choice shorter is exhausted clean).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mutants import (
    BebClaimingRb,
    FifoWithoutReorderingBuffer,
    LazyRbNoLateRelay,
    RbWithoutDeduplication,
    UrbDeliveringBeforeAcks,
)
from netweave import hookimpl
from netweave.check import History, Spec, Violation, safety
from netweave.cli import main
from netweave.errors import ConfigurationError
from netweave.explore import Choice, Counterexample, Scope, World, explore, replay
from netweave.plugin import Component
from netweave_broadcast.beb import BestEffortBroadcast

pytestmark = pytest.mark.timeout(300)


def _search(plugin: str | type[Component], scope: Scope, **kw: object):  # type: ignore[no-untyped-def]
    return explore(lambda: World(plugin, scope), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mutant", "scope", "expected", "length"), [
    (LazyRbNoLateRelay, Scope(nodes=3, messages=1, crashes=1), "agreement", 6),
    (BebClaimingRb, Scope(nodes=3, messages=1, crashes=1), "agreement", 6),
    (UrbDeliveringBeforeAcks, Scope(nodes=3, messages=1, crashes=1, losses=2),
     "uniform agreement", 6),
    (RbWithoutDeduplication, Scope(nodes=3, messages=1, crashes=0), "no duplication", 2),
    (FifoWithoutReorderingBuffer, Scope(nodes=2, messages=2, crashes=0), "fifo delivery", 3),
], ids=lambda v: getattr(v, "name", None) or "")
def test_every_mutant_is_found_with_a_shortest_run(mutant: type[Component], scope: Scope,
                                                   expected: str, length: int) -> None:
    result = _search(mutant, scope)
    found = result.found
    assert found is not None, result
    assert found.property == expected, found
    assert len(found.path) == length, [str(c) for c in found.path]
    shorter = _search(mutant, scope, max_depth=length - 1)
    assert shorter.found is None
    # Bounded by depth, the search covered every shorter run and found nothing.
    assert shorter.limit == "max-depth"


def test_the_late_relay_bug_that_sampling_misses_is_found_in_a_second() -> None:
    from netweave.testing import check_conformance

    # 300 default seeds of the sweep pass: sampling rarely meets this run.
    assert check_conformance(LazyRbNoLateRelay, range(300)).ok
    result = _search(LazyRbNoLateRelay, Scope(nodes=3, messages=1, crashes=1))
    assert result.found is not None and result.visited < 2_000
    kinds = [c.kind for c in result.found.path]
    # Its shape: the relayer learns of the crash before the message, and the crash took
    # the only other copy with it.
    assert kinds.index("detect") < kinds.index("deliver") and "lose" in kinds


@pytest.mark.parametrize(("plugin", "nodes"), [
    ("beb", 3), ("lazy-rb", 3), ("eager-rb", 3), ("all-ack-urb", 3), ("majority-ack-urb", 3),
    ("fifo-rb", 2),  # its rejoin protocol greets every peer: 3 nodes take minutes
])
def test_the_standard_plugins_exhaust_a_small_scope_without_violation(plugin: str,
                                                                      nodes: int) -> None:
    result = _search(plugin, Scope(nodes=nodes, messages=1, crashes=1))
    assert result.found is None, result.found
    assert result.exhausted and not result.limit
    assert result.ends > 0
    assert result.sometimes.reached["a detection"] > 0
    assert result.sometimes.reached["a message lost"] > 0


def test_an_eventually_perfect_detector_may_suspect_and_restore() -> None:
    result = _search("majority-ack-urb", Scope(nodes=3, messages=1, crashes=0, fd="eventual"))
    assert result.found is None and result.exhausted
    assert result.sometimes.reached["a detection"] > 0


def test_restarts_are_explored() -> None:
    result = _search("fifo-rb", Scope(nodes=2, messages=1, crashes=1, restarts=1))
    assert result.found is None and result.exhausted
    assert result.sometimes.reached["a restart"] > 0


def test_a_limit_makes_the_search_not_exhaustive() -> None:
    result = _search("lazy-rb", Scope(nodes=3, messages=2, crashes=1), max_states=200)
    assert not result.exhausted and result.limit == "max-states"


def test_symmetry_explores_fewer_states_with_the_same_verdict() -> None:
    scope = Scope(nodes=3, messages=1, crashes=1)
    plain = _search("beb", scope)
    reduced = _search("beb", scope, symmetry=True)
    assert plain.exhausted and reduced.exhausted
    assert plain.found is None and reduced.found is None
    assert reduced.distinct < plain.distinct / 2
    # And it still finds what the plain search finds.
    assert _search(LazyRbNoLateRelay, scope, symmetry=True).found is not None


@pytest.mark.parametrize(("plugin", "scope", "symmetry"), [
    ("lazy-rb", Scope(nodes=3, messages=1, crashes=1), False),
    ("eager-rb", Scope(nodes=3, messages=1, crashes=1), True),
    ("lazy-rb", Scope(nodes=2, messages=1, crashes=1, restarts=1), False),
])
def test_several_processes_reach_the_same_states_as_one(plugin: str, scope: Scope,
                                                         symmetry: bool) -> None:
    one = _search(plugin, scope, symmetry=symmetry)
    two = _search(plugin, scope, symmetry=symmetry, jobs=2)
    assert one.exhausted and two.exhausted and two.found is None
    assert (two.visited, two.distinct, two.depth, two.ends) == (
        one.visited, one.distinct, one.depth, one.ends)
    assert two.sometimes.reached == one.sometimes.reached


def test_several_processes_find_a_shortest_run_too() -> None:
    scope = Scope(nodes=3, messages=1, crashes=1)
    one = _search(LazyRbNoLateRelay, scope)
    two = _search(LazyRbNoLateRelay, scope, jobs=3)
    assert one.found is not None and two.found is not None
    assert two.found.property == one.found.property == "agreement"
    assert len(two.found.path) == len(one.found.path) == 6
    replayed = replay(lambda: World(LazyRbNoLateRelay, scope), two.found.path)
    assert replayed.depth == 6


def test_several_processes_stop_at_the_limits() -> None:
    scope = Scope(nodes=3, messages=2, crashes=1)
    deep = _search("lazy-rb", scope, jobs=2, max_depth=3)
    assert not deep.exhausted and deep.limit == "max-depth" and deep.depth == 3
    many = _search("lazy-rb", scope, jobs=2, max_states=200)
    assert not many.exhausted and many.limit == "max-states" and many.visited >= 200
    with pytest.raises(ConfigurationError, match="at least 1"):
        _search("lazy-rb", scope, jobs=0)
    with pytest.raises(ConfigurationError, match="--strategy bfs"):
        _search("lazy-rb", scope, jobs=2, strategy="dfs")


def test_several_processes_report_an_exhausted_scope_at_its_state_limit() -> None:
    scope = Scope(nodes=3, messages=1, crashes=1)
    whole = _search("lazy-rb", scope)
    assert whole.exhausted
    at_limit = _search("lazy-rb", scope, jobs=2, max_states=whole.visited)
    assert at_limit.exhausted and not at_limit.limit


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_workers_end_when_their_coordinator_is_killed(tmp_path: Path) -> None:
    coordinator = subprocess.Popen(
        [sys.executable, "-c", "import sys; from netweave.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "explore", "eager-rb", "--messages", "2",
         "--jobs", "2", "--max-seconds", "60"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _children(coordinator.pid)
            time.sleep(0.05)
        assert len(workers) == 2, workers
        coordinator.kill()  # no cleanup runs in it
        coordinator.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.05)
        left = {w for w in workers if _alive(w)}
        assert not left, f"workers outlived their coordinator: {left}"
    finally:  # whatever happened, nothing this test started keeps running
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.wait(10)
        for w in workers:
            with contextlib.suppress(OSError):  # still ours: the same command line
                if _alive(w) and b"explore" in (Path("/proc") / str(w) / "cmdline").read_bytes():
                    os.kill(w, signal.SIGKILL)


def test_a_worker_that_dies_stops_the_search_with_a_clear_error() -> None:
    from netweave.errors import NetweaveError

    killed: list[int] = []

    def make_world() -> World:
        world = World("lazy-rb", Scope(nodes=3, messages=2, crashes=1))
        if multiprocessing.parent_process() is not None and not killed:
            killed.append(os.getpid())
            original = world.choices

            def choices() -> list[Choice]:  # the worker dies at its second expansion
                if world.depth >= 1:
                    os._exit(7)
                return original()

            world.choices = choices  # type: ignore[method-assign]
        return world

    with pytest.raises(NetweaveError, match="ended without answering"):
        explore(make_world, jobs=2)


def test_renamed_worlds_have_the_same_symmetric_digest() -> None:
    a, b = World("lazy-rb", Scope()), World("lazy-rb", Scope())
    a.step(Choice("broadcast", "n1", ref=1))
    b.step(Choice("broadcast", "n3", ref=1))
    assert a.digest() != b.digest()
    assert a.digest(symmetry=True) == b.digest(symmetry=True)


def test_save_and_restore_give_back_the_same_state() -> None:
    world = World("lazy-rb", Scope())
    snapshot, before = world.save(), world.digest()
    world.step(Choice("broadcast", "n1", ref=1))
    world.step(world.choices()[0])
    assert world.digest() != before
    world.restore(snapshot)
    assert world.digest() == before and len(world.trace) == 3


def test_a_choice_that_is_not_possible_is_refused() -> None:
    world = World("beb", Scope())
    with pytest.raises(ValueError, match="no such message"):
        world.step(Choice("deliver", "n2", "n1", 7))
    with pytest.raises(ValueError, match="not possible"):
        replay(lambda: World("beb", Scope()), [Choice("restart", "n1")])


class _Local:
    """Defined where pickle cannot find it again: copied another way."""

    def __init__(self, n: int) -> None:
        self.n = n


class KeepsAnUnpicklableValue(BestEffortBroadcast):
    name = "keeps-an-unpicklable-value"
    provides = ("best-effort-broadcast",)
    default = False

    def start(self) -> None:
        local = type("Local", (_Local,), {})  # a class pickle cannot name
        self.box = local(0)

    def broadcast(self, message_id: str, payload: object) -> None:
        self.box.n += 1
        super().broadcast(message_id, payload)

    def explore_state(self) -> int:
        return int(self.box.n)


def test_a_state_that_does_not_pickle_is_saved_and_restored_by_copy() -> None:
    world = World(KeepsAnUnpicklableValue, Scope(nodes=2, messages=2, crashes=0))
    snapshot, before = world.save(), world.digest()
    component = world.nodes["n1"].component("keeps-an-unpicklable-value")
    world.step(Choice("broadcast", "n1", ref=1))
    assert component.box.n == 1 and world.digest() != before
    after = world.save()
    world.step(Choice("broadcast", "n1", ref=2))
    assert component.box.n == 2
    world.restore(snapshot)
    assert component.box.n == 0 and world.digest() == before
    world.restore(after)
    assert component.box.n == 1
    world.restore(snapshot)  # a snapshot gives a fresh copy each time
    assert component.box.n == 0


class _TaggedBase(BestEffortBroadcast):
    def tag(self) -> str:
        return "base"


class KeepsABaseMethod(_TaggedBase):
    name = "keeps-a-base-method"
    provides = ("best-effort-broadcast",)
    default = False

    def tag(self) -> str:
        return "own"

    def start(self) -> None:
        self.base_tag = super().tag  # bound to the base's function, not this override

    def explore_state(self) -> str:
        return self.base_tag()


class KeepsAPrivateMethod(BestEffortBroadcast):
    name = "keeps-a-private-method"
    provides = ("best-effort-broadcast",)
    default = False

    def start(self) -> None:
        self.count = 0
        self.on_send = self.__bump  # a name pickle cannot look up again

    def __bump(self) -> None:
        self.count += 1

    def broadcast(self, message_id: str, payload: object) -> None:
        self.on_send()
        super().broadcast(message_id, payload)

    def explore_state(self) -> int:
        return int(self.count)


def test_bound_methods_in_a_state_stay_bound_to_their_function() -> None:
    world = World(KeepsABaseMethod, Scope(nodes=2, messages=1, crashes=0))
    component = world.nodes["n1"].component("keeps-a-base-method")
    snapshot = world.save()
    world.step(Choice("broadcast", "n1", ref=1))
    world.restore(snapshot)
    assert component.base_tag() == "base"
    world = World(KeepsAPrivateMethod, Scope(nodes=2, messages=2, crashes=0))
    component = world.nodes["n1"].component("keeps-a-private-method")
    snapshot = world.save()
    world.step(Choice("broadcast", "n1", ref=1))
    assert component.count == 1
    world.restore(snapshot)
    assert component.count == 0
    component.on_send()
    assert component.count == 1


def test_symmetric_digests_agree_with_renamings_tried_again() -> None:
    # Each renaming remembers the texts it made: a state met later gets the same digest
    # as a fresh world reaching it, whatever the world met before.
    a = World("lazy-rb", Scope())
    for choice in ("n1", "n2", "n3"):
        snapshot = a.save()
        a.step(Choice("broadcast", choice, ref=1))
        a.digest(symmetry=True)
        a.restore(snapshot)
    a.step(Choice("broadcast", "n2", ref=1))
    b = World("lazy-rb", Scope())
    b.step(Choice("broadcast", "n3", ref=1))
    assert a.digest(symmetry=True) == b.digest(symmetry=True)
    assert a.state() != b.state()


class HoldsACallable(BestEffortBroadcast):
    name = "holds-a-callable"
    provides = ("best-effort-broadcast",)
    default = False

    def start(self) -> None:
        self.later = lambda: None


def test_a_state_that_cannot_be_hashed_says_how_to_fix_it() -> None:
    with pytest.raises(ConfigurationError, match="explore_state"):
        World(HoldsACallable, Scope())


def test_a_detector_in_the_stack_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="--fd"):
        World("lazy-rb", Scope(), uses=[("perfect-fd", {})])


def test_counterexample_files_read_back() -> None:
    cx = Counterexample("lazy-rb", Scope(nodes=2, messages=1),
                        (Choice("broadcast", "n1", ref=1), Choice("crash", "n1")),
                        title="an example")
    again = Counterexample.from_toml(__import__("tomllib").loads(cx.to_toml()))
    assert again.scope == cx.scope and again.choices == cx.choices
    assert again.plugin == "lazy-rb"


MUTANT_MODULE = "from mutants import LazyRbNoLateRelay as NoLateRelay\n"
"""A module in the working directory, named module:Class on the command line."""


def test_the_command_writes_a_counterexample_that_sim_replays_and_check_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "explore_mutant.py").write_text(MUTANT_MODULE)
    monkeypatch.chdir(tmp_path)
    assert main(["explore", "explore_mutant:NoLateRelay", "--messages", "1",
                 "--out", "cx.toml"]) == 1
    out = capsys.readouterr().out
    assert "VIOLATED: ReliableBroadcastSpec 'agreement'" in out
    assert "6 choices" in out and "timeline:" in out
    assert main(["sim", "cx.toml", "--trace-dir", "d"]) == 0
    capsys.readouterr()
    assert main(["check", "d"]) == 1
    assert re.search(r"agreement +violated", capsys.readouterr().out)


def test_the_command_exits_0_when_exhausted_and_3_at_a_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["explore", "beb", "--messages", "1"]) == 0
    assert "exhausted, no property violated" in capsys.readouterr().out
    assert main(["explore", "lazy-rb", "--max-states", "100"]) == 3
    out = capsys.readouterr().out
    assert "NOT exhausted" in out and "max-states" in out
    assert not (tmp_path / "counterexample.toml").exists()


class UnjudgedBroadcast(Component):
    """A layer of its own that no specification judges: it delivers locally."""

    name = "unjudged-broadcast"
    provides = ("my-own-broadcast",)
    layer = "mine"

    def broadcast(self, message_id: str, payload: object) -> None:
        self.ctx.deliver(message_id, self.ctx.node_id, payload)


def test_a_layer_no_specification_judges_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no specification judges layer 'mine'"):
        _search(UnjudgedBroadcast, Scope(nodes=2, messages=1, crashes=0))


class NeverDeliverOnceSpec(Spec):
    """A spec of the plugin's own: no process delivers twice in a row from one origin."""

    abstraction = "my-own-broadcast"
    layers = ("mine2",)

    @safety("at most one delivery")
    def at_most_one(self, h: History) -> Iterator[Violation]:
        for process in h.processes:
            delivered = [e for e in h.deliveries(self.layer) if e.process == process]
            if len(delivered) > 1:
                yield Violation(f"{process} delivered twice", (delivered[1].record,))


class JudgedByItsOwnSpec(BestEffortBroadcast):
    name = "judged-by-its-own-spec"
    provides = ("my-own-broadcast",)
    layer = "mine2"
    default = False
    implicit = False

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        return [NeverDeliverOnceSpec]


def test_a_plugin_that_is_not_installed_is_judged_by_its_own_spec() -> None:
    result = _search(JudgedByItsOwnSpec, Scope(nodes=2, messages=2, crashes=0))
    assert result.found is not None
    assert (result.found.spec, result.found.property) == ("NeverDeliverOnceSpec",
                                                          "at most one delivery")

"""Sleep sets: the same states as the search without them, with fewer steps taken."""

from __future__ import annotations

import netweave.explore._search as search_module
import pytest
from mutants import LazyRbNoLateRelay, UrbDeliveringBeforeAcks
from netweave.explore import Scope, World, explore
from netweave.explore._sleep import independent, kind_of, token
from netweave.plugin import Component

pytestmark = pytest.mark.timeout(300)


def _search(plugin: str | type[Component], scope: Scope, **kw: object):  # type: ignore[no-untyped-def]
    return explore(lambda: World(plugin, scope), **kw)  # type: ignore[arg-type]


def _figures(result):  # type: ignore[no-untyped-def]
    return (result.distinct, result.depth, result.ends, result.exhausted,
            result.sometimes.reached)


def test_independence_follows_nodes_budgets_and_detections() -> None:
    n1, n2, n3 = 1, 2, 3
    receive_at_n2 = token("deliver", n2, n1, extra=11)
    receive_at_n3 = token("deliver", n3, n1, extra=11)
    assert kind_of(receive_at_n2) == "deliver"
    assert independent(receive_at_n2, receive_at_n3)
    # One node's steps change it in an order.
    assert not independent(receive_at_n2, token("deliver", n2, n3, extra=5))
    assert not independent(receive_at_n2, token("crash", n2))
    # A budget shared: two broadcasts, two crashes, two losses.
    assert not independent(token("broadcast", n1), token("broadcast", n2))
    assert not independent(token("crash", n1), token("crash", n3))
    assert not independent(token("lose", n2, n1, 7), token("lose", n3, n1, 9))
    assert independent(token("broadcast", n1), token("crash", n2))
    # A detection depends on its peer's crash or restart, not on other nodes' steps.
    assert not independent(token("detect", n2, n1), token("restart", n1))
    assert not independent(token("suspect", n2, n1), token("crash", n1))
    assert independent(token("detect", n2, n1), token("detect", n3, n1))
    # A message of a node that crashes may still be received elsewhere.
    assert independent(token("crash", n1), receive_at_n2)


@pytest.mark.parametrize(("plugin", "scope", "symmetry"), [
    ("eager-rb", Scope(nodes=3, messages=1, crashes=1), False),
    ("all-ack-urb", Scope(nodes=3, messages=1, crashes=1, losses=2), True),
    ("lazy-rb", Scope(nodes=3, messages=2, crashes=1), False),
    ("eager-rb", Scope(nodes=2, messages=1, crashes=1, restarts=1), False),
    ("eager-rb", Scope(nodes=3, messages=1, crashes=1, fd="eventual"), True),
    ("fifo-rb", Scope(nodes=2, messages=2, crashes=1), False),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_same_states_are_reached_with_fewer_steps(plugin: str, scope: Scope,
                                                      symmetry: bool) -> None:
    every = _search(plugin, scope, symmetry=symmetry, sleep_sets=False)
    asleep = _search(plugin, scope, symmetry=symmetry)
    assert every.exhausted and not every.sleep_sets and asleep.sleep_sets
    assert _figures(asleep) == _figures(every)
    assert asleep.slept > 0 and asleep.visited < every.visited
    assert asleep.visited + asleep.slept >= every.visited - every.visited // 2


def test_treating_dependent_steps_as_independent_loses_states(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The comparison above can fail: with every pair of steps taken as independent,
    # whole orders are skipped and states are lost.
    scope = Scope(nodes=2, messages=2, crashes=0)
    every = _search("eager-rb", scope, sleep_sets=False)
    monkeypatch.setattr(search_module, "independent", lambda a, b: True)
    wrong = _search("eager-rb", scope)
    assert wrong.distinct < every.distinct


@pytest.mark.parametrize(("mutant", "scope", "length"), [
    (LazyRbNoLateRelay, Scope(nodes=3, messages=1, crashes=1), 6),
    (UrbDeliveringBeforeAcks, Scope(nodes=3, messages=1, crashes=1, losses=2), 6),
], ids=lambda v: getattr(v, "name", None) or "")
def test_a_counterexample_is_still_one_of_the_shortest(mutant: type[Component],
                                                        scope: Scope, length: int) -> None:
    every = _search(mutant, scope, sleep_sets=False)
    asleep = _search(mutant, scope)
    assert every.found is not None and asleep.found is not None
    assert len(asleep.found.path) == len(every.found.path) == length
    assert asleep.found.property == every.found.property


@pytest.mark.parametrize("symmetry", [False, True])
def test_several_processes_reach_the_same_states_with_sleep_sets(symmetry: bool) -> None:
    scope = Scope(nodes=3, messages=1, crashes=1)
    every = _search("eager-rb", scope, symmetry=symmetry, sleep_sets=False)
    two = _search("eager-rb", scope, symmetry=symmetry, jobs=2)
    assert two.sleep_sets and two.slept > 0
    assert _figures(two) == _figures(every)
    assert two.visited < every.visited


def test_sleep_sets_are_not_used_where_timers_may_fire() -> None:
    result = _search("lazy-rb", Scope(nodes=2, messages=1, crashes=1, timers=1))
    assert result.exhausted and not result.sleep_sets and result.slept == 0

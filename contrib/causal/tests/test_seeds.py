"""Causal broadcast against its specification over many simulated seeds, and a mutant.

Each seed draws a cluster (3-5 nodes), a workload, crashes (a correct majority stays),
loss, duplication and reordering. Odd seeds run over eager reliable broadcast with a
partition that heals; even seeds over lazy reliable broadcast and the perfect failure
detector, without partitions (it assumes synchrony, which a partition breaks). Every
run must satisfy every property of :class:`CausalBroadcastSpec`; a variant that delivers
without waiting must be caught, by "causal delivery".
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from netweave import Catalog, revive
from netweave.check import History
from netweave.sim.scenario import Scenario
from netweave_causal import CausalData, WaitingCausalBroadcast
from netweave_causal.spec import CausalBroadcastSpec


class NoWaitCausalBroadcast(WaitingCausalBroadcast):
    """A broken causal broadcast: delivers each message on arrival, never waits."""

    name = "no-wait-crb"
    default = False

    def on_data(self, message_id: str, origin: str, msg: CausalData) -> None:
        seen: set[str] = self.__dict__.setdefault("seen", set())
        if message_id not in seen:
            seen.add(message_id)
            self.ctx.deliver(message_id, origin, revive(msg.payload))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.discover(extra=[NoWaitCausalBroadcast])


def scenario(seed: int, plugin: str) -> Scenario:
    rng = random.Random(f"causal/{seed}")
    nodes = rng.randint(3, 5)
    eager = seed % 2 == 1
    stack = [plugin, "vector-clock", "beb"] + (["eager-rb"] if eager else ["lazy-rb",
                                                                         "perfect-fd"])
    return Scenario.random(
        use=stack, nodes=nodes, seed=seed, messages=rng.randint(5, 15),
        crash=rng.randint(0, (nodes - 1) // 2), loss=rng.choice([0.0, 0.05, 0.1]),
        reorder=rng.choice([0.0, 0.2, 0.5]), duplicate=rng.choice([0.0, 0.05]),
        partition=eager and rng.random() < 0.5, window=3.0, quiet=10.0)


def first_violation(seed: int, plugin: str, catalog: Catalog) -> Any:
    cluster = scenario(seed, plugin).run(seed, catalog=catalog)
    history = History.from_records(cluster.trace)
    assert history.broadcasts("causal"), f"seed {seed}: nothing was broadcast"
    return CausalBroadcastSpec().first_violation(history)


def assert_seeds_pass(seeds: range, catalog: Catalog) -> None:
    for seed in seeds:
        found = first_violation(seed, "waiting-crb", catalog)
        if found is not None:
            prop, violation = found
            lines = "\n".join(str(dict(line)) for line in violation.lines)
            pytest.fail(f"seed {seed}: {prop.name} violated: {violation.message}\n{lines}")


def test_some_seeds(catalog: Catalog):
    assert_seeds_pass(range(40), catalog)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_thousand_seeds(catalog: Catalog):
    assert_seeds_pass(range(1000, 2050), catalog)


def test_a_causal_broadcast_that_does_not_wait_is_caught(catalog: Catalog):
    caught: dict[str, int] = {}
    for seed in range(1000):
        found = first_violation(seed, "no-wait-crb", catalog)
        if found is not None:
            caught[found[0].name] = caught.get(found[0].name, 0) + 1
            if sum(caught.values()) >= 3:
                break
    assert caught == {"causal delivery": 3}

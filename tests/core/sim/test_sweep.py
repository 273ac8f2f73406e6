"""Seed sweeps in several processes: same results, same order, same first failure."""

from __future__ import annotations

import gc
import itertools
import os

import pytest
from netweave import Component
from netweave.errors import ConfigurationError
from netweave.sim import Scenario, sweep
from netweave.sim._sweep import GC_THRESHOLD
from netweave.testing import check_conformance
from netweave_broadcast.beb import BebData


def _events(seed: int) -> tuple[int, int]:
    scenario = Scenario.random(nodes=4, seed=seed, layer="beb", messages=5, crash=1,
                               loss=0.05, partition=True)
    cluster = scenario.run(seed)
    return cluster.clock.events, os.getpid()


def test_results_come_back_in_seed_order_whatever_the_number_of_jobs() -> None:
    seeds = [7, 3, 11, 0, 5, 2, 9, 4]
    alone = [(s, r[0]) for s, r in sweep(_events, seeds)]
    both = list(sweep(_events, seeds, jobs=2, chunk=1))
    assert [(s, r[0]) for s, r in both] == alone
    assert [s for s, _ in alone] == seeds
    assert {pid for _, (_, pid) in both} - {os.getpid()}, "no seed ran in a worker"


def test_a_local_function_reaches_the_workers() -> None:
    offset = 1000  # a closure: it cannot be pickled, the workers get it by forking

    def job(seed: int) -> int:
        return seed + offset

    assert [r for _, r in sweep(job, range(10), jobs=2)] == list(range(1000, 1010))


def test_stopping_early_leaves_no_worker_behind() -> None:
    results = sweep(lambda seed: seed * seed, range(200), jobs=2, chunk=5)
    for seed, square in results:
        assert square == seed * seed
        if seed == 12:
            break
    results.close()
    # A new sweep may start: the previous one let go of the process-wide job.
    assert [r for _, r in sweep(lambda seed: -seed, range(3), jobs=2)] == [0, -1, -2]


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_endless_seed_source_is_read_as_the_sweep_goes(jobs: int) -> None:
    got = []
    results = sweep(lambda seed: seed * 2, itertools.count(), jobs=jobs, chunk=3)
    for seed, double in results:
        got.append(double)
        if seed == 9:
            break
    results.close()
    assert got == [2 * s for s in range(10)]


def test_invalid_jobs_and_nesting_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="jobs"):
        list(sweep(lambda s: s, range(3), jobs=-1))

    def nested(seed: int) -> int:
        return sum(r for _, r in sweep(lambda s: s, range(3), jobs=2))

    with pytest.raises(RuntimeError, match="do not nest"):
        list(sweep(nested, range(2), jobs=2))


class BebDroppingN2sMessages(Component):
    """A broken reliable broadcast: n1 never delivers what n2 broadcasts."""

    name = "test-sweep-broken-rb"
    provides = ("reliable-broadcast",)
    layer = "broken-rb"

    def broadcast(self, message_id: str, payload: object) -> None:
        for q in self.ctx.members:
            self.ctx.send(q, BebData(message_id, payload))

    def start(self) -> None:
        self.ctx.subscribe(("msg", BebData), self._on_data)

    def _on_data(self, sender: str, msg: BebData) -> None:
        if not (self.ctx.node_id == "n1" and sender == "n2"):
            self.ctx.deliver(msg.id, sender, msg.payload)


def test_conformance_reports_the_same_first_failure_with_two_jobs() -> None:
    alone = check_conformance(BebDroppingN2sMessages, range(40))
    both = check_conformance(BebDroppingN2sMessages, range(40), jobs=2)
    assert alone.failure is not None and both.failure is not None
    assert (both.failure.seed, both.failure.property) == (alone.failure.seed,
                                                         alone.failure.property)
    assert both.seeds == alone.seeds
    assert check_conformance("beb", range(30), jobs=2).ok


def test_an_error_at_a_later_seed_of_the_same_chunk_does_not_hide_an_earlier_result() -> None:
    def job(seed: int) -> int:
        if seed == 3:
            raise ValueError("seed 3 broke")
        return seed

    seen = []
    with pytest.raises(ValueError, match="seed 3 broke"):
        for _, value in sweep(job, range(8), jobs=2, chunk=4):
            seen.append(value)
    assert seen == [0, 1, 2]


class _Cycle:
    """A reference cycle that only the cyclic garbage collector can free."""

    alive = 0

    def __init__(self) -> None:
        self.me = self
        _Cycle.alive += 1

    def __del__(self) -> None:
        _Cycle.alive -= 1


def _garbage(seed: int) -> tuple[int, int, bool]:
    # Each seed leaves a few cycles behind, as a dropped simulated cluster does; report
    # how many earlier ones are still alive, and the worker's collector settings.
    before = _Cycle.alive
    for _ in range(5):
        _Cycle()
    return before, gc.get_threshold()[0], gc.isenabled()


def test_workers_collect_each_seeds_garbage_and_leave_the_callers_collector_alone() -> None:
    threshold = gc.get_threshold()
    gc.collect()  # the workers must not inherit cycles this process has not freed yet
    results = [r for _, r in sweep(_garbage, range(12), jobs=2, chunk=4)]
    # Within a chunk a seed sees nothing left of the seeds before it: each worker
    # collected them when they ended (its own threshold would not have yet).
    assert [before for before, _, _ in results] == [0] * 12
    assert {(thr, on) for _, thr, on in results} == {(GC_THRESHOLD, True)}
    assert gc.get_threshold() == threshold
    assert [thr for _, (_, thr, _) in sweep(_garbage, range(2))] == [threshold[0]] * 2


def _cyclic_result(seed: int) -> tuple[int, _Cycle]:
    # A result with a reference cycle: alive at the seed's own collections (so promoted to
    # an older generation), garbage once its chunk was sent back.
    return _Cycle.alive, _Cycle()


def test_workers_free_the_results_of_earlier_chunks() -> None:
    chunk = 4
    gc.collect()  # the workers must not inherit cycles this process has not freed yet
    alive = [before for _, (before, _) in sweep(_cyclic_result, range(40), jobs=2,
                                                chunk=chunk)]
    # Within a chunk, only that chunk's earlier results are alive; nothing from before.
    assert max(alive) < chunk, alive

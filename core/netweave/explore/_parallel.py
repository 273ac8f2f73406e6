"""Breadth-first search on several processes (``netweave explore --jobs J``).

Theory of operation. The search goes level by level, as the single-process search does,
so the first violation it finds is still one of the shortest runs. A state cannot travel
between processes (it is the nodes' live objects), so each worker process holds its part
of the frontier as snapshots of its own :class:`~netweave.explore.World`. A level has two
rounds:

1. *expand*: every worker takes every choice of every state it holds and sends the
   digests of the states reached to the coordinator (this process), which keeps the one
   set of digests seen; the first worker to reach a new state, in worker order, owns it;
2. *keep*: each worker steps again to the new states it owns (from the parent it holds:
   one step), judges them as the single-process search does, and keeps them as its
   frontier of the next level.

Then the coordinator evens the frontiers out: a worker with more states than another
hands some over as paths of choices, which the other replays from the initial state.
(All states start in one worker, with the initial state; after the first level the
others get their share.) A violation stops the search: the coordinator takes the first
one, in worker order, of the first level that has one. The figures are those of one
process when the scope is exhausted; with a violation or a limit they count whole levels.

Limits: ``max_depth`` is a number of levels; ``max_states`` is checked before a level
that reaches states (so the count may pass it by up to a level, and a scope whose last
level reaches nothing is exhausted even at its limit); the deadline (``max_seconds``) is
also given to the workers, which stop a round when it passes (the level is then not
complete, and the search is not exhaustive).

Workers are forked, so the world's factory (a closure over loaded plugin classes) need
not be picklable; where ``fork`` is not available, ``--jobs`` is refused. A worker holds
only its own end of its pipe, so it sees the coordinator end (even killed) and ends too;
it ignores Ctrl-C, which the coordinator handles by stopping it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, NetweaveError
from ._sleep import NOTHING, Sleep, independent

if TYPE_CHECKING:
    from ._search import Found, Result
    from ._world import Choice, Snapshot, World

__all__ = ["parallel_bfs"]

Path = tuple["Choice", ...]
Judge = Callable[["World"], Any]
"""Makes the judge of a world's states (``state(world, path, result)``)."""


def _worker(conn: Connection, inherited: Sequence[Connection],
            make_world: Callable[[], World], make_judge: Judge,
            make_result: Callable[[], Result], symmetry: bool, sleep_sets: bool) -> None:
    """A worker's loop: answer the coordinator's requests until ``stop`` (or until the
    coordinator is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for end in inherited:  # the coordinator's ends: held here, they would hide its end
        end.close()
    try:
        world = make_world()
        root = world.save()
        judge = make_judge(world)
        counts = make_result()
        frontier: list[tuple[Snapshot, Path, frozenset[int]]] = []
        reached: list[tuple[int, Choice]] = []  # (parent, choice)
        while True:
            try:
                request = conn.recv()
            except EOFError:
                return  # the coordinator is gone
            kind = request[0]
            if kind == "stop":
                return
            if kind == "take":  # states handed over: replay their paths
                for path, asleep in request[1]:
                    world.restore(root)
                    for choice in path:
                        world.step(choice)
                    frontier.append((world.save(), path, asleep))
                conn.send(("took", len(frontier)))
            elif kind == "give":
                count = request[1]
                given, frontier = frontier[len(frontier) - count:], frontier[
                    :len(frontier) - count]
                conn.send(("given", [(path, asleep) for _, path, asleep in given]))
            elif kind == "expand":
                deadline = request[1]
                digests: list[tuple[str, str, frozenset[int]]] = []
                reached = []
                cut = False
                slept = 0
                for parent, (snapshot, _, asleep) in enumerate(frontier):
                    if deadline is not None and time.monotonic() >= deadline:
                        cut = True
                        break
                    world.restore(snapshot)
                    choices = world.choices()
                    tokens = world.tokens(choices) if sleep_sets else [0] * len(choices)
                    taken: list[int] = []
                    for choice, tok in zip(choices, tokens, strict=True):
                        if tok in asleep:
                            slept += 1
                            continue
                        if reached and reached[-1][0] == parent:
                            world.restore(snapshot)
                        world.step(choice)
                        key, exact = world.digests(symmetry)
                        child_asleep = NOTHING
                        if sleep_sets:
                            child_asleep = frozenset(
                                t for t in (*asleep, *taken) if independent(t, tok))
                            taken.append(tok)
                        digests.append((key, exact if sleep_sets else "", child_asleep))
                        reached.append((parent, choice))
                conn.send(("reached", digests, cut, slept))
            elif kind == "keep":
                keep, deadline = request[1], request[2]
                parents, frontier = frontier, []
                found: Found | None = None
                cut = False
                for owned, (parent, choice) in zip(keep, reached, strict=True):
                    if owned is None:
                        continue
                    if deadline is not None and time.monotonic() >= deadline:
                        cut = True
                        break
                    asleep, again = owned
                    snapshot, path, _ = parents[parent]
                    world.restore(snapshot)
                    world.step(choice)
                    child = (*path, choice)
                    if not again:
                        found = judge.state(world, child, counts)
                        if found is not None:
                            break
                    frontier.append((world.save(), child, asleep))
                reached = []
                conn.send(("kept", len(frontier), counts.ends,
                           dict(counts.sometimes.reached), found, cut))
            else:  # pragma: no cover - a coordinator bug
                raise ValueError(f"unknown request {kind!r}")
    except Exception:
        with contextlib.suppress(OSError):
            conn.send(("error", traceback.format_exc()))


class _Pool:
    """The worker processes and the coordinator's side of their pipes."""

    def __init__(self, jobs: int, make_world: Callable[[], World], make_judge: Judge,
                 make_result: Callable[[], Result], symmetry: bool,
                 sleep_sets: bool) -> None:
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:  # pragma: no cover - platforms without fork
            raise ConfigurationError("--jobs needs the fork start method, which this "
                                     "platform lacks; explore with --jobs 1") from None
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        try:
            for _ in range(jobs):
                mine, theirs = context.Pipe()
                proc = context.Process(
                    target=_worker, daemon=True,
                    args=(theirs, [*self.conns, mine], make_world, make_judge, make_result,
                          symmetry, sleep_sets))
                proc.start()
                theirs.close()
                self.conns.append(mine)
                self.procs.append(proc)
        except BaseException:
            self.close()
            raise

    def ask(self, requests: list[tuple[Any, ...] | None]) -> list[Any]:
        """Send each worker its request (``None``: nothing), then collect the answers."""
        for conn, request in zip(self.conns, requests, strict=True):
            if request is not None:
                conn.send(request)
        answers = []
        for proc, conn, request in zip(self.procs, self.conns, requests, strict=True):
            try:
                answer = conn.recv() if request is not None else None
            except (EOFError, OSError):
                proc.join(1)
                raise NetweaveError(f"explore worker process {proc.pid} ended without "
                                    f"answering (exit code {proc.exitcode}); the search "
                                    "stopped") from None
            if answer is not None and answer[0] == "error":
                raise NetweaveError(f"an explore worker failed:\n{answer[1]}")
            answers.append(answer)
        return answers

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(("stop",))
        for proc in self.procs:
            proc.join(2)  # a worker amid a round (Ctrl-C) does not read its stop
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for conn in self.conns:
            conn.close()


def parallel_bfs(make_world: Callable[[], World], make_judge: Judge, root: World,
                 jobs: int, result: Result, *, max_states: int | None,
                 max_depth: int | None, symmetry: bool, deadline: float | None,
                 tick: Callable[[], bool]) -> None:
    """Explore breadth-first on ``jobs`` processes from ``root``, the initial state
    (judged already, its counts in ``result``), filling ``result`` (see the module
    documentation); with sleep sets if ``result.sleep_sets``."""
    seen = {root.digest(symmetry)}
    result.distinct = 1
    sleep = Sleep()
    pool = _Pool(jobs, make_world, make_judge, type(result), symmetry, result.sleep_sets)
    try:
        sizes = pool.ask([("take", [((), NOTHING)]), *([None] * (jobs - 1))])
        frontier = [sizes[0][1], *([0] * (jobs - 1))]
        level = 0
        base_sometimes, base_ends = dict(result.sometimes.reached), result.ends
        sometimes: list[dict[str, int]] = [{} for _ in range(jobs)]
        ends = [0] * jobs
        while any(frontier):
            if max_depth is not None and level >= max_depth:
                result.limit = "max-depth"
                break
            answers = pool.ask([("expand", deadline) if n else None for n in frontier])
            cut = any(a[2] for a in answers if a is not None)
            if not cut and not any(a[1] for a in answers if a is not None):
                break  # the last states have no successor: exhausted
            if max_states is not None and result.visited >= max_states:
                result.limit = "max-states"  # as one process: more to do, limit reached
                return
            # Ownership: the first way into a new state (in worker order) keeps it; with
            # sleep sets, what sleeps in it is known once every way in of the level is.
            keys: list[list[tuple[str, bool] | None] | None] = []
            for answer in answers:
                if answer is None:
                    keys.append(None)
                    continue
                digests = answer[1]
                result.visited += len(digests)
                result.slept += answer[3]
                owned: list[tuple[str, bool] | None] = []
                for key, exact, asleep in digests:
                    if key not in seen:
                        seen.add(key)
                        if result.sleep_sets:
                            sleep.arrive(key, exact, asleep)
                        owned.append((key, False))
                    elif result.sleep_sets and sleep.again(key, exact, asleep):
                        result.expanded_again += 1
                        owned.append((key, True))
                    else:
                        owned.append(None)
                keys.append(owned)
            keep: list[list[tuple[frozenset[int], bool] | None] | None] = [
                None if k is None else [
                    None if o is None else (sleep.expand(o[0]), o[1]) for o in k]
                for k in keys]
            level += 1
            answers = pool.ask([("keep", k, deadline) if k is not None else None
                                for k in keep])
            found: Found | None = None
            for w, answer in enumerate(answers):
                if answer is None:
                    frontier[w] = 0
                    continue
                _, size, worker_ends, worker_sometimes, worker_found, worker_cut = answer
                cut = cut or worker_cut
                frontier[w] = size
                ends[w] = worker_ends
                sometimes[w] = worker_sometimes
                if found is None and worker_found is not None:
                    found = worker_found
            result.distinct = len(seen)
            result.ends = base_ends + sum(ends)
            result.sometimes.reached = {
                what: base_sometimes.get(what, 0) + sum(s.get(what, 0) for s in sometimes)
                for what in result.sometimes.reached}
            if any(frontier) or found is not None:
                result.depth = level
            if found is not None:
                result.found = found
                return
            if cut:
                result.limit = "max-seconds"
                return
            if tick():
                return
            _even_out(pool, frontier)
        result.exhausted = not result.limit
    finally:
        pool.close()


def _even_out(pool: _Pool, frontier: list[int]) -> None:
    """Hand states from the fullest frontiers to the emptiest (as paths to replay)."""
    jobs = len(frontier)
    target = sum(frontier) // jobs
    if target < 1:
        return
    while True:
        full = max(range(jobs), key=frontier.__getitem__)
        empty = min(range(jobs), key=frontier.__getitem__)
        count = min(frontier[full] - target, target - frontier[empty])
        if count < max(1, target // 8):
            return
        requests: list[tuple[Any, ...] | None] = [None] * jobs
        requests[full] = ("give", count)
        (given,) = [a for a in pool.ask(requests) if a is not None]
        requests = [None] * jobs
        requests[empty] = ("take", given[1])
        (took,) = [a for a in pool.ask(requests) if a is not None]
        frontier[full] -= count
        frontier[empty] = took[1]

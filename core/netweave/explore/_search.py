"""The search: every run of a scope, each state once.

Theory of operation. Starting from the initial :class:`~netweave.explore.World`, the
search takes every choice of every state it reaches, hashing each state it reaches
(:meth:`World.digest`) so that runs that meet again are explored once. Breadth-first
(the default) finds the *shortest* counterexample; depth-first reaches deep runs with
little memory; ``random`` follows random runs to the end, one after another, for scopes
too large to exhaust.

Every new state is judged against the *safety* properties of the specifications that
judge its layers (the same ones ``netweave check`` uses, on the trace the world wrote),
except their ``final`` violations (what holds only of a finished run); every *quiescent*
state (nothing left that must happen: no message for a live process, no detection owed,
no timer left to fire) against every property, since a run may end there. A violation
stops the search with the path of choices that leads to it. The search is *exhaustive*
when it ran out of states before any limit (states, depth) cut it short: then no run of
the scope violates a property.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from ..check import History, SpecCatalog
from ..check._report import specs_for
from ..check._spec import Property, Spec, Violation
from ..errors import ConfigurationError
from ._sleep import NOTHING, Sleep, independent
from ._world import Choice, Snapshot, World

__all__ = ["Found", "Result", "Sometimes", "explore"]

STRATEGIES = ("bfs", "dfs", "random")


@attrs.frozen
class Found:
    """A run that violates a property."""

    spec: str
    layer: str
    property: str
    kind: str
    violation: Violation
    path: tuple[Choice, ...]
    """The choices from the initial state, in order."""


SOMETIMES = ("a crashed origin's message delivered elsewhere", "a detection",
             "a relay by a non-origin", "a message lost", "a restart")


@attrs.define
class Sometimes:
    """Things a scope should be able to reach, and in how many distinct states they hold:
    proof that the scope is not vacuous (a search that never crashes anybody proves
    little). Each is a property of a state, not of the path to it: two runs that reach one
    state are explored once, whatever their order."""

    reached: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(SOMETIMES, 0))

    def see(self, world: World) -> None:
        reached = self.reached
        down = {n for n in world.ids if not world.alive[n]}
        if down and any(item.split(":", 1)[-1].split("/", 1)[0] in down
                        for process, items in world.deliveries.items()
                        if process.split("#")[0] not in down for item in items):
            reached[SOMETIMES[0]] += 1
        if any(world.detector_reports(n) for n in world.running()):
            reached[SOMETIMES[1]] += 1
        if any((mid := _innermost_id(p.body)) is not None and not mid.startswith(f"{p.src}/")
               for p in world.flight.values()):
            reached[SOMETIMES[2]] += 1
        if world.losses:
            reached[SOMETIMES[3]] += 1
        if world.restarts:
            reached[SOMETIMES[4]] += 1


def _innermost_id(body: Any) -> str | None:
    found = None
    while body is not None:
        mid = getattr(body, "id", None)
        if isinstance(mid, str):
            found = mid
        body = getattr(body, "payload", None)
    return found


@attrs.define
class Result:
    """What a search did and found."""

    visited: int = 0
    """States reached (each choice taken from a state leads to one)."""
    distinct: int = 0
    """Different states among them."""
    depth: int = 0
    """The longest run explored, in choices."""
    ends: int = 0
    """Quiescent states judged for liveness."""
    exhausted: bool = False
    """Every state of the scope was explored."""
    limit: str = ""
    """What stopped the search first, if anything did (``max-states``, ``max-depth``...)."""
    seconds: float = 0.0
    found: Found | None = None
    sometimes: Sometimes = attrs.field(factory=Sometimes)
    sleep_sets: bool = False
    """Whether the search used sleep sets (:mod:`netweave.explore._sleep`)."""
    slept: int = 0
    """Steps not taken because they were asleep (each would reach a state reached by
    another order of the same steps)."""
    expanded_again: int = 0
    """States reached again after they were expanded with steps asleep, and so expanded
    once more."""

    @property
    def rate(self) -> float:
        """States per second."""
        return self.visited / self.seconds if self.seconds > 0 else 0.0


class _Judge:
    """The properties that judge a world's trace, chosen once from its first lines."""

    def __init__(self, world: World, catalog: SpecCatalog) -> None:
        history = History.from_records(world.trace)
        self.specs, self.unchecked = specs_for(history, catalog)
        if world.layer in self.unchecked:
            raise ConfigurationError(
                f"no specification judges layer {world.layer!r}: explore would prove "
                "nothing; give the plugin a netweave_specs hook or make it provide a "
                "standard abstraction (see the plugin guide)")
        self.safety: list[tuple[Spec, Property]] = []
        self.liveness: list[tuple[Spec, Property]] = []
        for spec in self.specs:
            for prop in spec.properties:
                (self.safety if prop.kind == "safety" else self.liveness).append((spec, prop))

    def state(self, world: World, path: tuple[Choice, ...], result: Result) -> Found | None:
        """Judge a new state: its safety, and everything if the run may end there; counts
        it in ``result`` (end states, what it reached)."""
        history = History.from_records(world.trace)
        found = self.first(history, self.safety, path)
        result.sometimes.see(world)
        if found is None and world.quiescent():
            result.ends += 1
            found = self.first(history, [*self.safety, *self.liveness], path, ended=True)
        return found

    def first(self, history: History, props: Sequence[tuple[Spec, Property]],
              path: tuple[Choice, ...], *, ended: bool = False) -> Found | None:
        """The first violation; a ``final`` one only if the run may end here."""
        for spec, prop in props:
            for violation in spec.violations(prop, history):
                if ended or not violation.final:
                    return Found(spec.name, spec.layer, prop.name, prop.kind, violation, path)
        return None


def explore(make_world: Callable[[], World], *, strategy: str = "bfs",
            max_states: int | None = None, max_depth: int | None = None,
            max_seconds: float | None = None, symmetry: bool = False, seed: int = 0,
            jobs: int = 1, specs: SpecCatalog | None = None,
            progress: Callable[[Result], None] | None = None,
            progress_every: float = 2.0, sleep_sets: bool = True) -> Result:
    """Explore the runs of the world ``make_world()`` builds (see the module docs).

    :param max_states: stop after reaching this many states (the search is then not
        exhaustive).
    :param max_depth: explore runs of at most this many choices.
    :param max_seconds: stop after this long (not exhaustive then either).
    :param symmetry: take states that differ only by a renaming of the nodes as one
        (sound only for components that treat node ids alike).
    :param seed: the random strategy's seed.
    :param jobs: breadth-first on this many worker processes (:mod:`._parallel`); the
        limits are then checked once per level (and the time limit by each worker).
    :param sleep_sets: skip the steps that would reach a state by another order of the
        same independent steps (:mod:`._sleep`): the same states, fewer steps. Used
        where they apply (not for ``random``, nor where timers may fire).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    check_jobs(jobs, strategy)
    began = time.monotonic()

    def make_judge(world: World) -> _Judge:
        return _Judge(world, specs or SpecCatalog.discover(world.installed))

    root = make_world()
    judge = make_judge(root)
    result = Result(sleep_sets=sleep_sets and strategy != "random" and root.commuting)
    last_report = began

    def tick() -> bool:
        """Report progress; whether the time limit is up."""
        nonlocal last_report
        now = time.monotonic()
        if max_seconds is not None and now - began >= max_seconds:
            result.limit = "max-seconds"
            return True
        if progress is not None and now - last_report >= progress_every:
            last_report = now
            result.seconds = now - began
            progress(result)
        return False

    def judge_state(world: World, path: tuple[Choice, ...]) -> Found | None:
        return judge.state(world, path, result)

    result.found = judge_state(root, ())
    if result.found is None:
        if strategy == "random":
            _random(root, judge_state, result, max_states, max_depth, seed, tick)
        elif jobs > 1:
            from ._parallel import parallel_bfs

            parallel_bfs(make_world, make_judge, root, jobs, result, max_states=max_states,
                         max_depth=max_depth, symmetry=symmetry,
                         deadline=None if max_seconds is None else began + max_seconds,
                         tick=tick)
        else:
            _systematic(root, judge_state, result, strategy, max_states, max_depth,
                        symmetry, tick, result.sleep_sets)
    result.seconds = time.monotonic() - began
    return result


def check_jobs(jobs: int, strategy: str) -> None:
    """Refuse a number of processes the search cannot use.

    :raises ConfigurationError: for fewer than one, or several with another strategy
        than breadth-first.
    """
    if jobs < 1:
        raise ConfigurationError(f"--jobs must be at least 1, not {jobs}")
    if jobs > 1 and strategy != "bfs":
        raise ConfigurationError(f"--jobs {jobs} explores breadth-first: use --strategy bfs "
                                 f"(not {strategy})")


def _systematic(root: World, judge_state: Callable[[World, tuple[Choice, ...]], Found | None],
                result: Result, strategy: str, max_states: int | None,
                max_depth: int | None, symmetry: bool, tick: Callable[[], bool],
                sleep_sets: bool) -> None:
    world = root
    key = world.digest(symmetry)
    seen = {key}
    sleep = Sleep() if sleep_sets else None
    result.distinct = 1
    frontier: deque[tuple[Snapshot, tuple[Choice, ...], str]] = deque(
        [(world.save(), (), key)])
    take = frontier.popleft if strategy == "bfs" else frontier.pop
    while frontier:
        snapshot, path, key = take()
        asleep = sleep.expand(key) if sleep is not None else NOTHING
        if max_depth is not None and len(path) >= max_depth:
            result.limit = result.limit or "max-depth"
            continue
        world.restore(snapshot)
        choices = world.choices()
        tokens = world.tokens(choices) if sleep is not None else [0] * len(choices)
        taken: list[int] = []
        stepped = False
        for choice, tok in zip(choices, tokens, strict=True):
            if tok in asleep:
                result.slept += 1
                continue
            if stepped:
                world.restore(snapshot)
            stepped = True
            world.step(choice)
            result.visited += 1
            key, exact = world.digests(symmetry)
            child_asleep = NOTHING
            if sleep is not None:
                child_asleep = frozenset(t for t in (*asleep, *taken) if independent(t, tok))
                taken.append(tok)
            if key in seen:
                if sleep is not None and sleep.again(key, exact, child_asleep):
                    result.expanded_again += 1
                    frontier.append((world.save(), (*path, choice), key))
                continue
            seen.add(key)
            result.distinct += 1
            child_path = (*path, choice)
            result.depth = max(result.depth, len(child_path))
            found = judge_state(world, child_path)
            if found is not None:
                result.found = found
                return
            if sleep is not None:
                sleep.arrive(key, exact, child_asleep)
            frontier.append((world.save(), child_path, key))
            if max_states is not None and result.visited >= max_states:
                result.limit = "max-states"
                return
        if tick():
            return
    result.exhausted = not result.limit


def _random(root: World, judge_state: Callable[[World, tuple[Choice, ...]], Found | None],
            result: Result, max_states: int | None, max_depth: int | None, seed: int,
            tick: Callable[[], bool]) -> None:
    rng = random.Random(seed)
    limit = max_states if max_states is not None else 100_000
    seen: set[str] = set()
    world = root
    start = world.save()
    while result.visited < limit:
        world.restore(start)
        path: tuple[Choice, ...] = ()
        while True:
            choices = world.choices()
            if not choices or (max_depth is not None and len(path) >= max_depth):
                break
            choice = rng.choice(choices)
            world.step(choice)
            path = (*path, choice)
            result.visited += 1
            key = world.digest()
            if key not in seen:
                seen.add(key)
                result.distinct += 1
            result.depth = max(result.depth, len(path))
            found = judge_state(world, path)
            if found is not None:
                result.found = found
                return
            if result.visited >= limit:
                break
        if tick():
            return
    result.limit = "max-states"


def replay(make_world: Callable[[], World], path: Iterable[Choice | dict[str, Any]]) -> World:
    """The world after taking ``path`` from the initial state (a counterexample's run).

    :raises ValueError: if a choice of the path is not possible where it comes.
    """
    world = make_world()
    for item in path:
        choice = item if isinstance(item, Choice) else Choice.from_dict(item)
        if choice not in world.choices():
            raise ValueError(f"the path does not replay: {choice} is not possible after "
                             f"{world.depth} choices")
        world.step(choice)
    return world

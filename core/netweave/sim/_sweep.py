"""Run one function over many seeds, in several processes, with results in seed order.

Theory of operation: seeds are independent simulations, so a sweep splits them into
chunks and hands the chunks to worker processes *forked* from the caller. Forking, not
pickling, carries the function to the workers: a class defined in a test or a notebook,
or a plugin registered with :func:`~netweave.register_plugin`, exists in the workers as
it does in the caller. Only seeds go out and only results come back (they must pickle).
Results are yielded in seed order, so a consumer that stops at the first failure sees
the same first failure whatever the number of jobs. Where the platform cannot fork, the
sweep runs in the calling process. Forking a process that runs other threads (a notebook
kernel does) may leave a worker waiting on a lock for ever: keep ``jobs=1`` there.

A worker tunes its own garbage collector to the work (:func:`_start_worker`): what a seed
leaves behind is collected when the seed ends, instead of by collections that walk the
live cluster several times during each seed. The calling process's collector is never
changed.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar

from ..errors import ConfigurationError

__all__ = ["default_jobs", "sweep"]

T = TypeVar("T")

DEFAULT_CHUNK = 16
"""Seeds per task: tens of milliseconds of work for a small scenario."""

_JOB: Callable[[int], Any] | None = None
"""The function of the sweep being run; set before the workers fork."""


def default_jobs() -> int:
    """The processes a sweep may use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


GC_THRESHOLD = 100_000
"""A worker's young-generation threshold: collections mostly wait for the end of a seed."""


def _start_worker() -> None:
    # A worker's own process, so its garbage collector may be tuned to the work: a seed
    # builds a cluster full of reference cycles and drops it whole when it ends. The
    # default threshold collects several times during a seed, each time walking the live
    # cluster; here the young generation is collected once after each seed (the dead
    # cluster and little else), during a seed only if it leaves 100,000 objects, and in
    # full before each chunk (see _run_chunk). The objects inherited from the parent are
    # frozen: no collection walks them again.
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)


def _run_chunk(seeds: list[int]) -> list[tuple[bool, Any]]:
    job = _JOB
    assert job is not None, "a sweep worker started without a job"
    # A full collection first: the last chunk's results were alive (and so promoted) at its
    # collections, and are garbage now that they were sent; after the freeze, the oldest
    # generation holds little else, so this is cheap.
    gc.collect()
    out: list[tuple[bool, Any]] = []
    for seed in seeds:
        # An error stays at its seed: a failure at an earlier seed must still come first.
        try:
            out.append((True, job(seed)))
        except Exception as exc:
            out.append((False, exc))
            break
        finally:
            gc.collect(0)
    return out


def sweep(fn: Callable[[int], T], seeds: Iterable[int], *, jobs: int = 1,
          chunk: int | None = None) -> Generator[tuple[int, T], None, None]:
    """Yield ``(seed, fn(seed))`` for every seed, in seed order, using ``jobs`` processes.

    :param jobs: worker processes; 1 runs everything here; 0 means one per usable CPU.
    :param chunk: seeds per task (default 16); seeds are read as the sweep goes, so an
        endless source is fine.

    Closing the iterator early (``break``) cancels the chunks not yet started.
    """
    global _JOB
    if jobs < 0:
        raise ConfigurationError(f"jobs must be 0 (one per CPU) or more, not {jobs}")
    jobs = jobs or default_jobs()
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for seed in seeds:  # lazily: an endless source stops where the caller stops
            yield seed, fn(seed)
        return
    if _JOB is not None:
        raise RuntimeError("sweeps do not nest: a sweep is already running in this process")
    rest = iter(seeds)
    size = chunk or DEFAULT_CHUNK
    _JOB = fn
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start_worker)
    running: deque[tuple[list[int], Future[list[tuple[bool, Any]]]]] = deque()

    def submit() -> None:
        part = list(islice(rest, size))
        if part:
            running.append((part, pool.submit(_run_chunk, part)))

    try:
        for _ in range(2 * jobs):  # a few chunks ahead: every worker stays busy
            submit()
        while running:
            part, future = running.popleft()
            results = future.result()
            submit()
            for seed, (ok, value) in zip(part, results, strict=False):
                if not ok:
                    raise value
                yield seed, value
    finally:
        _JOB = None
        pool.shutdown(wait=True, cancel_futures=True)

"""Sweeps on a Dask cluster: chunks of seeds sent to a running scheduler's workers.

Theory of operation: :func:`cluster_sweep` does over the network what
:func:`~netweave.sim.sweep` does with forked processes. It connects a
``dask.distributed.Client`` to a scheduler that is already running (started with
``dask scheduler``, workers with ``dask worker``; see the campaigns guide), serializes
the job once with cloudpickle, and submits chunks of seeds as tasks of one top-level
function, :func:`run_chunk`, which every worker can import because netweave is installed
there. A task returns plain values: ``(seed, ok, value)`` for each of its seeds.

The job travels by value when it must: a component class that is not installed on the
workers (defined in a test, a script, or a module found in the current directory) is
pickled with its code, so it exists on the workers as it does here. Installed plugins
travel by name and are found through their entry points on each worker.

Results are yielded in seed order, whatever the order in which chunks finish, so a
consumer that stops at the first failure sees the first failure a local run sees. A
worker that dies loses nothing: the scheduler gives its chunks to another worker, whose
result replaces the lost one. The sweep checks its accounting all the same: each chunk
must come back with exactly its seeds, in order, and no seed may be yielded twice.

``dask.distributed`` is an optional dependency (the ``cluster`` extra): it is imported
only here, only when a sweep is given a scheduler address.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from itertools import islice
from typing import Any, TypeVar

from ..errors import ConfigurationError
from ._sweep import GC_THRESHOLD

__all__ = ["CLUSTER_CHUNK", "ClusterSweepError", "cluster_sweep", "run_chunk"]

T = TypeVar("T")

CLUSTER_CHUNK = 32
"""Seeds per task on a cluster: a task costs the scheduler a round trip, so it carries
more seeds than a local process's chunk."""

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the scheduler before reporting it unreachable."""

POLL_EVERY = 0.5
"""Seconds between two questions to the scheduler about its workers."""

INSTALL_HINT = "pip install 'netweave[cluster]' (it installs dask.distributed)"

_JOBS: dict[bytes, Any] = {}
"""On a worker: the jobs already unpickled, by their pickled form (a job holds a plugin
catalog and specs that are costly to build once per chunk)."""


class ClusterSweepError(RuntimeError):
    """A cluster sweep could not account for its seeds, or its workers kept dying."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigurationError(f"--cluster needs dask.distributed, which is not installed: "
                                 f"{INSTALL_HINT}") from None
    return distributed


def connect(address: str, *, timeout: float | None = None) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address``
    (``tcp://HOST:PORT``), or a :class:`~netweave.errors.ConfigurationError` saying why
    not (the extra is missing, the scheduler cannot be reached)."""
    distributed = _import_distributed()
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    if "://" not in address:
        address = f"tcp://{address}"
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConfigurationError(f"cannot reach the Dask scheduler at {address} within "
                                 f"{timeout:g}s ({exc}); start one with 'dask scheduler' "
                                 f"and give its address, tcp://HOST:PORT") from None


def worker_count(client: Any) -> tuple[int, int]:
    """The workers the scheduler knows of now, and their threads in all."""
    try:
        workers = client.scheduler_info().get("workers", {})
    except Exception:  # a scheduler going away: the next result will say so
        return 0, 0
    return len(workers), sum(int(w.get("nthreads", 1)) for w in workers.values())


def dumps_job(job: Callable[[int], Any], *by_value: type) -> bytes:
    """``job`` pickled for the workers; the modules of the ``by_value`` classes (not
    installed on the workers) travel with their code."""
    import cloudpickle

    registered = []
    for cls in by_value:
        module = sys.modules.get(cls.__module__)
        if module is not None and cls.__module__ not in cloudpickle.list_registry_pickle_by_value():
            cloudpickle.register_pickle_by_value(module)
            registered.append(module)
    try:
        return bytes(cloudpickle.dumps(job))
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def run_chunk(payload: bytes, seeds: list[int],
              version: str | None = None) -> list[tuple[int, bool, Any]]:
    """Run the pickled job on each seed (on a worker); ``(seed, True, result)``, or
    ``(seed, False, error)`` for the seed that raised (the chunk stops there, as a local
    sweep does)."""
    import gc
    import pickle

    from .. import __version__

    if version is not None and version != __version__:
        raise ConfigurationError(f"this worker runs netweave {__version__}, the campaign "
                                 f"netweave {version}: install the same version everywhere")
    job = _JOBS.get(payload)
    if job is None:
        job = _JOBS[payload] = pickle.loads(payload)
    out: list[tuple[int, bool, Any]] = []
    # As in a local sweep's worker (see netweave.sim._sweep): the young generation is
    # collected once after each seed, not several times during it; the worker's own
    # settings come back when the chunk ends.
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    try:
        for seed in seeds:
            try:
                out.append((seed, True, job(seed)))
            except Exception as exc:
                try:
                    pickle.dumps(exc)
                except Exception:
                    exc = RuntimeError(f"{type(exc).__name__}: {exc}")
                out.append((seed, False, exc))
                break
            finally:
                gc.collect(0)
    finally:
        gc.set_threshold(*thresholds)
    return out


def cluster_sweep(fn: Callable[[int], T], seeds: Iterable[int], address: str | Any, *,
                  chunk: int | None = None, by_value: Iterable[type] = (),
                  on_workers: Callable[[int], None] | None = None,
                  ) -> Generator[tuple[int, T], None, None]:
    """Yield ``(seed, fn(seed))`` for every seed, in seed order, computed on the workers
    of the Dask scheduler at ``address`` (or by a ``Client`` given instead).

    :param fn: a picklable callable (cloudpickle: a class of a test or script is fine).
    :param chunk: seeds per task (default :data:`CLUSTER_CHUNK`).
    :param by_value: classes ``fn`` refers to that the workers cannot import.
    :param on_workers: called with the number of workers when it changes.

    Closing the iterator early cancels the chunks not yet finished.
    """
    own = isinstance(address, str)
    client: Any = connect(address) if isinstance(address, str) else address
    size = chunk or CLUSTER_CHUNK
    if size < 1:
        raise ConfigurationError(f"chunk must be at least 1, not {size}")
    from .. import __version__

    running: deque[tuple[list[int], Any]] = deque()
    try:
        # The job goes with every task (a few kilobytes): no worker holds something that
        # the others would need, so any of them may die.
        payload = dumps_job(fn, *by_value)
        rest = iter(seeds)
        workers, threads, polled = -1, 1, 0.0
        yielded: set[int] = set()

        def submit() -> bool:
            part = list(islice(rest, size))
            if part:
                running.append((part, client.submit(run_chunk, payload, part, __version__,
                                                    pure=False, retries=0)))
            return bool(part)

        def ahead() -> int:  # chunks in flight: every thread busy, and some queued
            return 4 * max(threads, 1) + 2

        def check_workers() -> None:
            nonlocal workers, threads, polled
            if time.monotonic() - polled < POLL_EVERY:
                return
            polled = time.monotonic()
            now, threads = worker_count(client)
            if now != workers:
                workers = now
                if on_workers is not None:
                    on_workers(now)

        check_workers()
        while len(running) < ahead() and submit():
            pass
        while running:
            part, future = running.popleft()
            results = _result(future)
            check_workers()
            while len(running) < ahead() and submit():
                pass
            got = [seed for seed, _, _ in results]
            if got != part[:len(got)] or (len(got) < len(part) and results[-1][1]):
                raise ClusterSweepError(f"accounting: a chunk of seeds {part[0]}-{part[-1]} "
                                        f"came back with seeds {got}")
            for seed, ok, value in results:
                if seed in yielded:
                    raise ClusterSweepError(f"accounting: seed {seed} came back twice")
                if not ok:
                    raise value
                yielded.add(seed)
                yield seed, value
    finally:
        if running:
            _cancel(client, [future for _, future in running])
        if own:
            _close(client)


def _result(future: Any) -> list[tuple[int, bool, Any]]:
    """A chunk's result; a lost scheduler or a chunk that killed its workers is an error
    of the sweep, with the reason."""
    distributed = _import_distributed()
    killed = getattr(distributed, "KilledWorker", ())
    try:
        result: list[tuple[int, bool, Any]] = future.result()
    except killed as exc:
        raise ClusterSweepError(f"a chunk of seeds killed every worker that ran it ({exc}); "
                                f"run those seeds locally to see why") from None
    except (OSError, TimeoutError) as exc:
        raise ClusterSweepError(f"lost the Dask scheduler: {exc}") from None
    return result


def _cancel(client: Any, futures: list[Any]) -> None:
    # A scheduler already gone has nothing left to cancel.
    with contextlib.suppress(Exception):
        client.cancel(futures)


def _close(client: Any) -> None:
    # Closing a client whose scheduler is gone: nothing more to do.
    with contextlib.suppress(Exception):
        client.close(timeout=5)

"""Benchmark worker processes: started, spoken to in JSON lines, and always ended by PID.

A :class:`Workers` group is a context manager: whatever happens in the ``with`` block
(an error, Ctrl-C, SIGTERM turned into an exception by :func:`sigterm_raises`), every
process it started is asked to quit, then killed by PID if it has not exited. Workers
also exit by themselves when their standard input closes, so even a driver killed with
SIGKILL leaves nothing running for long.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import IO, Any

__all__ = ["BenchError", "Worker", "Workers", "burners", "sigterm_raises"]


class BenchError(RuntimeError):
    """A benchmark could not run as planned (a worker failed or did not answer)."""


class Worker:
    """One worker process (``python -m MODULE SPEC``: ``netweave.bench._worker`` by default;
    the baselines run ``netweave.bench._baselines``, which speaks the same JSON lines)."""

    def __init__(self, name: str, spec: dict[str, Any],
                 module: str = "netweave.bench._worker") -> None:
        self.name = name
        self.spec = spec
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            start_new_session=True)
        self.pid = self.proc.pid
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[str] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._threads = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        for raw in stream:
            try:
                msg = json.loads(raw)
            except json.JSONDecodeError:
                continue
            for fn in self.listeners:
                fn(msg)
            self.events.put(msg)

    def _read_err(self) -> None:
        stream: IO[bytes] | None = self.proc.stderr
        assert stream is not None
        for raw in stream:
            self.stderr.append(raw.decode("utf-8", "replace").rstrip())
            del self.stderr[:-50]

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc.poll() is None

    def send(self, **command: Any) -> None:
        """Write one command line to the worker."""
        stdin = self.proc.stdin
        if stdin is None or not self.alive:
            raise BenchError(f"worker {self.name} is gone:\n{self.tail()}")
        try:
            stdin.write((json.dumps(command) + "\n").encode())
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise BenchError(f"worker {self.name} is gone ({exc}):\n{self.tail()}") from exc

    def expect(self, ev: str, timeout: float) -> dict[str, Any]:
        """The next message of kind ``ev`` (others are skipped), within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"worker {self.name}: no {ev!r} within {timeout:.1f}s\n"
                                 f"{self.tail()}")
            try:
                msg = self.events.get(timeout=min(left, 0.2))
            except queue.Empty:
                if not self.alive:
                    raise BenchError(f"worker {self.name} exited with {self.proc.returncode}"
                                     f" while waiting for {ev!r}:\n{self.tail()}") from None
                continue
            if msg.get("ev") == ev:
                return msg

    def ask(self, ev: str, timeout: float = 10.0, **command: Any) -> dict[str, Any]:
        """Send a command and wait for its answer of kind ``ev``."""
        self.send(**command)
        return self.expect(ev, timeout)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the worker (by PID) if it still runs."""
        if self.alive:
            os.kill(self.pid, sig)

    def end(self, grace: float = 3.0) -> None:
        """Ask the worker to quit; kill it by PID if it has not exited after ``grace`` s."""
        if self.alive:
            with contextlib.suppress(BenchError):
                self.send(cmd="quit")
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def tail(self) -> str:
        """The last lines the worker wrote on standard error."""
        return "\n".join(f"  [{self.name}] {line}" for line in self.stderr[-10:])


class Workers:
    """The processes of one benchmark run; all ended by PID when the block exits."""

    def __init__(self) -> None:
        self.all: list[Worker] = []
        self.others: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, spec: dict[str, Any]) -> Worker:
        """Start a worker with ``spec``."""
        w = Worker(name, spec)
        self.all.append(w)
        return w

    def add_process(self, proc: subprocess.Popen[bytes]) -> None:
        """Track another process (a CPU burner) so it is ended with the rest."""
        self.others.append(proc)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for proc in self.others:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        for w in self.all:
            if w.alive:
                w.signal(signal.SIGCONT)  # a worker stopped by a trial cannot quit otherwise
        for w in self.all:
            w.end()


def burners(count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` processes that keep one core busy each until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                             start_new_session=True) for _ in range(count)]


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt so cleanup code runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

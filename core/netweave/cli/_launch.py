"""Local clusters of real ``netweave node`` processes (for ``netweave demo`` and tests).

Each node is a separate OS process on loopback, fed commands on its standard input;
reader threads collect its deliveries (stdout, JSON) and its diagnostics (stderr). Faults
are injected by signal and recorded in ``<run-dir>/faults.jsonl`` in the trace format.
Every process is tracked by PID and ended by PID, including on errors (``with``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..config import ClusterConfig
from ..errors import ConfigurationError
from ..trace import dumps_line

__all__ = ["LocalCluster", "NodeProcess", "free_ports"]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports the OS just had free on ``host``."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class NodeProcess:
    """One running ``netweave node`` process."""

    def __init__(self, node_id: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
                 prefix: Sequence[str] = ()) -> None:
        self.node_id = node_id
        self.deliveries: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [*prefix, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=dict(env) if env is not None else None,
            start_new_session=True)
        self.pid = self.proc.pid
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self._on_out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self._on_err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _read(stream: IO[bytes] | None, handle: Callable[[str], None]) -> None:
        if stream is None:
            return
        for raw in stream:
            handle(raw.decode("utf-8", "replace").rstrip("\n"))

    def _on_out(self, line: str) -> None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return
        with self._lock:
            self.deliveries.append(record)

    def _on_err(self, line: str) -> None:
        with self._lock:
            self.stderr.append(line)
        if line.startswith("ready "):
            self.ready.set()

    def send(self, line: str) -> bool:
        """Write one command line; ``False`` if the process no longer reads."""
        stdin = self.proc.stdin
        if stdin is None or self.proc.poll() is not None:
            return False
        try:
            stdin.write((line.rstrip("\n") + "\n").encode())
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def broadcast(self, layer: str, text: str) -> bool:
        """Ask the node to broadcast ``text`` on ``layer``."""
        return self.send(f"broadcast {layer} {text}")

    def delivered(self, layer: str | None = None) -> list[dict[str, Any]]:
        """A copy of the deliveries so far (of ``layer``)."""
        with self._lock:
            return [d for d in self.deliveries if layer is None or d.get("layer") == layer]

    def log(self) -> list[str]:
        """A copy of the standard-error lines so far."""
        with self._lock:
            return list(self.stderr)

    def last_words(self, lines: int = 10, wait: float = 1.0) -> str:
        """The last ``lines`` of standard error, once the readers have reached the end of an
        exited process's output (waiting at most ``wait`` seconds for them)."""
        if not self.alive:
            for t in self._threads:
                t.join(wait)
        return "\n".join(self.log()[-lines:])

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to this process (by PID), if it still runs."""
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        """Wait for the exit code; kill the process after ``timeout`` seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(5)
            return None
        finally:
            for t in self._threads:
                t.join(1)
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


class LocalCluster:
    """Nodes of one cluster file as processes, with traces in ``run_dir``.

    :param prefix: command prefix for each node (e.g. ``["ip", "netns", "exec", ns]``),
        by node id.
    :param node_args: extra ``netweave node`` arguments, by node id.
    """

    def __init__(self, run_dir: str | os.PathLike[str], config: ClusterConfig, *,
                 log_level: str = "WARNING",
                 prefix: Callable[[str], Sequence[str]] | None = None,
                 node_args: Callable[[str], Sequence[str]] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.node_args = node_args
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.config_path = self.run_dir / "cluster.toml"
        self.config_path.write_text(config.to_toml(), encoding="utf-8")
        self.log_level = log_level
        self.prefix = prefix
        self.nodes: dict[str, NodeProcess] = {}
        self.history: list[NodeProcess] = []
        self._ended: set[NodeProcess] = set()
        """Processes this cluster killed or stopped (their end is no surprise)."""

    @property
    def ids(self) -> list[str]:
        """The member ids, in configuration order."""
        return list(self.config.members)

    def start(self, ids: Iterable[str] | None = None, *, wait: float = 20.0) -> None:
        """Start nodes (all by default) and wait until each listens.

        Fails as soon as one of them exits instead, or after ``wait`` seconds."""
        pending = [self._spawn(i) for i in (ids if ids is not None else self.ids)]
        deadline = time.monotonic() + wait
        while pending:
            for proc in list(pending):
                if proc.ready.is_set():
                    pending.remove(proc)
                elif not proc.alive:
                    tail = proc.last_words()
                    if proc.ready.is_set():  # listened, then ended: the run will tell
                        pending.remove(proc)
                        continue
                    raise ConfigurationError(f"node {proc.node_id} exited during start-up "
                                             f"(exit code {proc.proc.returncode}):\n{tail}")
            if not pending:
                break
            if time.monotonic() >= deadline:
                proc = pending[0]
                raise ConfigurationError(f"node {proc.node_id} did not start within "
                                         f"{wait:g}s:\n{proc.last_words()}")
            pending[0].ready.wait(0.05)

    def _spawn(self, node_id: str) -> NodeProcess:
        old = self.nodes.get(node_id)
        if old is not None and old.alive:
            raise ConfigurationError(f"node {node_id} is already running")
        argv = [sys.executable, "-c", "import sys; from netweave.cli import main; "
                "sys.exit(main(sys.argv[1:]))", "node", "--config", str(self.config_path),
                "--id", node_id, "--trace-dir", str(self.run_dir),
                "--state-dir", str(self.run_dir / "state"), "--log-level", self.log_level,
                *(self.node_args(node_id) if self.node_args else ())]
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        proc = NodeProcess(node_id, argv, env,
                           prefix=self.prefix(node_id) if self.prefix else ())
        self.nodes[node_id] = proc
        self.history.append(proc)
        return proc

    def record_fault(self, node_id: str, ev: str, **fields: Any) -> None:
        """Append a fault line to ``faults.jsonl`` (trace format)."""
        line = {"t": round(time.time(), 6), "node": node_id, "ev": ev, **fields}
        with open(self.run_dir / "faults.jsonl", "a", encoding="utf-8") as fh:
            fh.write(dumps_line(line) + "\n")

    def kill(self, node_id: str) -> None:
        """SIGKILL ``node_id`` and record the crash."""
        proc = self.nodes[node_id]
        self._ended.add(proc)
        proc.signal(signal.SIGKILL)
        proc.wait(5)
        self.record_fault(node_id, "crash")

    def restart(self, node_id: str, *, wait: float = 20.0) -> None:
        """Start ``node_id`` again (a new process with a higher incarnation)."""
        self.start([node_id], wait=wait)

    def stop(self, timeout: float = 10.0) -> dict[str, int | None]:
        """SIGTERM every running node and wait; returns exit codes by node id."""
        running = [p for p in self.nodes.values() if p.alive]
        self._ended.update(running)
        for proc in running:
            proc.signal(signal.SIGTERM)
        return {p.node_id: p.wait(timeout) for p in running}

    def exited(self) -> dict[str, int | None]:
        """Nodes whose current process ended without :meth:`kill` or :meth:`stop`: their
        exit codes by node id (empty while every node runs as expected)."""
        return {i: p.proc.poll() for i, p in self.nodes.items()
                if p not in self._ended and not p.alive}

    def close(self) -> None:
        """Kill whatever still runs (by PID)."""
        for proc in self.history:
            if proc.alive:
                proc.signal(signal.SIGKILL)
            proc.wait(5)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_until(self, predicate: Callable[[], bool], timeout: float,
                   interval: float = 0.05) -> bool:
        """Poll ``predicate`` until it holds or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return predicate()

"""Test helper: a real Dask scheduler and workers, each a separate process on loopback.

The scheduler writes its address to a scheduler file; each worker runs without a nanny
(one process, one thread), so the PID the test holds is the worker's own: killing it
kills the worker, and nobody starts it again. Every process is ended by its PID.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest


def require_distributed() -> None:
    """Skip the calling test, saying why, when the ``cluster`` extra is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        pytest.skip("dask.distributed is not installed (pip install 'netweave[cluster]')")


class DaskCluster:
    """``with DaskCluster(tmp_path, workers=2) as dc: ... dc.address ...``."""

    def __init__(self, directory: Path, workers: int = 2, *, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> None:
        self.directory = directory
        self.count = workers
        self.timeout = timeout
        self.env = {**os.environ, **(env or {}), "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
                    "PYTHONUNBUFFERED": "1"}
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.address = ""

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("wb")
        try:
            return subprocess.Popen([sys.executable, "-m", *argv], stdout=log,
                                    stderr=subprocess.STDOUT, env=self.env,
                                    cwd=self.directory, start_new_session=True)
        finally:
            log.close()

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> DaskCluster:
        info = self.directory / "scheduler.json"
        self.scheduler = self._spawn("scheduler", [
            "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
            "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
            "--scheduler-file", str(info)])
        deadline = time.monotonic() + self.timeout
        while not info.exists() or not info.read_text().strip():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler did not start:\n{self.log('scheduler')}")
            time.sleep(0.1)
        time.sleep(0.1)  # the file is written whole, but give its writer the moment
        self.address = json.loads(info.read_text())["address"]
        for i in range(self.count):
            self.workers.append(self._spawn(f"worker{i}", [
                "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                "--local-directory", str(self.directory / f"worker{i}"),
                "--name", f"w{i}"]))
        self.wait_for_workers(self.count)
        return self

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=self.timeout) as client:
            client.wait_for_workers(count, timeout=self.timeout)

    def kill_worker(self, index: int) -> int:
        """SIGKILL one worker by its PID; returns the PID."""
        proc = self.workers[index]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=self.timeout)
        return proc.pid

    def stop(self) -> None:
        procs = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            # A worker that lost a peer may hang while closing its connections to it:
            # a short grace, then SIGKILL, by the same PID.
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def __enter__(self) -> DaskCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()

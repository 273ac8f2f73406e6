"""``netweave node``'s delivery writer: bounded, off the event loop, and nothing it cannot
write goes uncounted."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
import time

import pytest
from netweave.cli.node import _Output


class _Stdout:
    def __init__(self, buffer: io.RawIOBase | io.BufferedIOBase) -> None:
        self.buffer = buffer


class _Closed(io.BytesIO):
    def write(self, data: object) -> int:
        raise BrokenPipeError("reader gone")


class _Gate(io.BytesIO):
    """Blocks every write until opened: a reader that stopped reading."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()

    def write(self, data: object) -> int:
        self.open.wait(10)
        return super().write(data)  # type: ignore[arg-type]


def test_a_closed_stdout_counts_and_logs_what_it_could_not_write(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(sys, "stdout", _Stdout(_Closed()))
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.WARNING, logger="netweave.node"):
            out = _Output(loop, 1 << 20, lambda: None, lambda: None)
            out.write(b"one\n")
            deadline = time.monotonic() + 5
            while not out.broken and time.monotonic() < deadline:
                time.sleep(0.01)
            out.write(b"two\n")
            out.write(b"three\n")
            assert out.close(5)
        assert out.broken and out.lost == 3
        assert any("output.lost" in r.message for r in caplog.records)
    finally:
        loop.close()


def test_a_full_buffer_says_so_once_and_room_comes_back_when_written(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gate = _Gate()
    monkeypatch.setattr(sys, "stdout", _Stdout(gate))
    loop = asyncio.new_event_loop()
    events: list[str] = []
    try:
        out = _Output(loop, 1024, lambda: events.append("full"),
                      lambda: events.append("room"))
        for _ in range(100):
            out.write(b"x" * 63 + b"\n")  # never blocks, whatever the reader does
        assert events == ["full"] and out.waiting >= 1024
        gate.open.set()
        assert out.close(5)
        loop.run_until_complete(asyncio.sleep(0.05))  # on_room comes through the loop
        assert events == ["full", "room"] and out.lost == 0
        assert gate.getvalue().count(b"\n") == 100
    finally:
        loop.close()

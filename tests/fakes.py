"""Small component classes for registry and node tests (not installed anywhere)."""

from __future__ import annotations

from typing import Any

import attrs
from netweave import Component, Message, upon_message


@attrs.frozen
class TimeoutOptions:
    timeout: float = attrs.field(default=1.0, metadata={"doc": "seconds"})

    def __attrs_post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"timeout must be > 0, not {self.timeout}")


class FakeFD(Component):
    name = "fake-fd"
    provides = ("failure-detector",)
    layer = "fd"
    Options = TimeoutOptions


class OtherFD(Component):
    name = "other-fd"
    provides = ("failure-detector",)


class FakeBeb(Component):
    name = "fake-beb"
    provides = ("best-effort-broadcast",)
    layer = "beb"
    implicit = True


class FakeRB(Component):
    name = "fake-rb"
    provides = ("reliable-broadcast",)
    requires = ("failure-detector", "best-effort-broadcast")
    layer = "rb"


class CycleA(Component):
    name = "cycle-a"
    provides = ("a",)
    requires = ("b",)


class CycleB(Component):
    name = "cycle-b"
    provides = ("b",)
    requires = ("a",)


class NeedsClock(Component):
    name = "needs-clock"
    provides = ("causal",)
    requires = ("vector-clock",)
    install_hints = {"vector-clock": "netweave-clocks"}


class Ping(Message, tag="test.ping"):
    n: int
    body: Any = None


class Echo(Component):
    """Replies to every ping; records what it saw (for node and link tests)."""

    name = "echo"
    provides = ("echo",)

    def start(self) -> None:
        self.seen: list[tuple[str, int]] = []

    @upon_message(Ping)
    def on_ping(self, sender: str, msg: Ping) -> None:
        self.seen.append((sender, msg.n))

"""Per-message metadata: the ``netweave_link_outgoing``/``netweave_link_incoming`` hooks.

A component attaches fields to every link message its node sends, without the sending
component knowing, and reads them on receipt, in the simulator with and without the
msgpack codec, under loss (retransmissions keep the fields), across a restart, and from
an observer registered with ``node.register``.
"""

from __future__ import annotations

from typing import Any

import pytest
from netweave import (
    Catalog,
    Component,
    ConfigurationError,
    Message,
    Node,
    hookimpl,
    upon_message,
)
from netweave.sim import NetworkModel, SimCluster


class Note(Message, tag="test.meta.note"):
    n: int


class Sender(Component):
    """Sends numbered notes; knows nothing of metadata."""

    name = "meta-sender"
    provides = ("meta-sender",)

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self.handled: list[tuple[str, int, int]] = []

    def send_notes(self, count: int) -> None:
        for i in range(count):
            for peer in self.ctx.peers:
                self.ctx.send(peer, Note(i))
        self.ctx.send(self.ctx.node_id, Note(-1))  # to itself: no link, no hooks

    @upon_message(Note)
    def on_note(self, sender: str, note: Note) -> None:
        try:
            stamper = self.ctx.component("stamper")
        except ConfigurationError:  # a node without the stamper
            self.handled.append((sender, note.n, -1))
            return
        assert isinstance(stamper, Stamper)
        self.handled.append((sender, note.n, stamper.last_seen))


class Stamper(Component):
    """Numbers every outgoing link message and records what arrives, with its fields."""

    name = "stamper"
    provides = ("stamper",)

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self.sent = 0
        self.last_seen = 0
        self.received: list[tuple[str, str, dict[str, Any]]] = []

    @hookimpl
    def netweave_link_outgoing(self, peer: str, message: Any) -> dict[str, Any] | None:
        self.sent += 1
        return {"stamp": {"from": self.ctx.node_id, "to": peer, "k": self.sent,
                          "pair": (1, 2)}}

    @hookimpl
    def netweave_link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        self.received.append((peer, type(message).__name__, meta))
        self.last_seen = meta["stamp"]["k"]


def cluster(*, encode: bool = False, loss: float = 0.0, seed: int = 3) -> SimCluster:
    catalog = Catalog.discover(autoload=False, extra=[Sender, Stamper])
    c = SimCluster(3, lambda n: n.use("meta-sender").use("stamper"), seed=seed,
                   catalog=catalog, encode=encode, network=NetworkModel(loss=loss))
    c.start()
    return c


def sender(c: SimCluster, node: str) -> Sender:
    found = c.nodes[node].component("meta-sender")
    assert isinstance(found, Sender)
    return found


def stamper(c: SimCluster, node: str) -> Stamper:
    found = c.nodes[node].component("stamper")
    assert isinstance(found, Stamper)
    return found


@pytest.mark.parametrize("encode", [False, True], ids=["objects", "msgpack"])
def test_fields_travel_with_every_link_message(encode: bool):
    c = cluster(encode=encode)
    c.run(0.1)
    sender(c, "n1").send_notes(3)
    c.run(2.0)
    for peer in ("n2", "n3"):
        got = stamper(c, peer).received
        assert [name for _, name, _ in got] == ["Note"] * 3
        stamps = [meta["stamp"] for _, _, meta in got]
        assert all(s["from"] == "n1" and s["to"] == peer for s in stamps)
        assert sorted(s["k"] for s in stamps) == sorted(
            k for k in range(1, 7) if (k % 2 == 1) == (peer == "n2"))
        # msgpack has no tuples: what crosses the codec comes back as a list
        assert all(s["pair"] == ([1, 2] if encode else (1, 2)) for s in stamps)
    # six notes to peers, none for the note n1 sent to itself
    assert stamper(c, "n1").sent == 6 and stamper(c, "n1").received == []
    assert (c.nodes["n1"].component("meta-sender").handled  # type: ignore[attr-defined]
            == [("n1", -1, 0)])


def test_incoming_hook_runs_before_the_message_handlers():
    c = cluster()
    c.run(0.1)
    sender(c, "n1").send_notes(2)
    c.run(2.0)
    # each handler saw the stamp of its own message, merged just before it ran
    handled = sender(c, "n2").handled
    received = [meta["stamp"]["k"] for _, _, meta in stamper(c, "n2").received]
    assert [k for _, _, k in handled] == received and len(handled) == 2


def test_retransmissions_keep_the_fields_and_arrive_once():
    c = cluster(loss=0.4, seed=11)
    c.run(0.1)
    sender(c, "n1").send_notes(20)
    c.run(30.0)
    for peer in ("n2", "n3"):
        ks = [meta["stamp"]["k"] for _, _, meta in stamper(c, peer).received]
        assert len(ks) == 20 and len(set(ks)) == 20
        assert all(meta["stamp"]["to"] == peer for _, _, meta in stamper(c, peer).received)
    assert c.nodes["n2"].links is not None


def test_a_restarted_receiver_gets_the_resent_messages_with_their_fields():
    c = cluster(seed=5)
    c.run(0.1)
    c.partition(["n1"], ["n2", "n3"])
    sender(c, "n1").send_notes(2)
    c.run(0.5)
    c.restart("n2")
    c.heal()
    c.run(10.0)
    got = stamper(c, "n2").received
    assert sorted(meta["stamp"]["k"] for _, _, meta in got) == [1, 3]


def test_an_observer_registered_on_the_node_sees_the_fields():
    seen: list[dict[str, Any]] = []

    class Observer:
        @hookimpl
        def netweave_link_incoming(self, peer: str, message: Any,
                                   meta: dict[str, Any]) -> None:
            seen.append(meta)

    catalog = Catalog.discover(autoload=False, extra=[Sender, Stamper])

    def configure(node: Node) -> None:
        node.use("meta-sender").use("stamper")
        if node.id == "n2":
            node.register(Observer())

    c = SimCluster(2, configure, catalog=catalog)
    c.start()
    c.run(0.1)
    sender(c, "n1").send_notes(1)
    c.run(1.0)
    assert [m["stamp"]["k"] for m in seen] == [1]


def test_without_implementations_nothing_is_attached():
    c = SimCluster(2, lambda n: n.use("meta-sender"),
                   catalog=Catalog.discover(autoload=False, extra=[Sender, Stamper]))
    sent: list[Any] = []
    c.watch(lambda src, dst, message: sent.append(message))
    c.start()
    c.run(0.1)
    assert not c.nodes["n1"].hooks.has_link_meta
    node = c.nodes["n1"]
    node.component("meta-sender").send_notes(1)  # type: ignore[attr-defined]
    c.run(1.0)
    data = [m for m in sent if type(m).__name__ == "LinkData"]
    assert data and all(m.meta is None for m in data)

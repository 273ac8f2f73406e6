"""Signed origins: a member that relays messages claiming another origin, over real TCP.

n4 is a member with valid credentials (the cluster secret, and its own key when there is a
keyring) running the same stack, plus a component that broadcasts, through best-effort
broadcast as any relay does, reliable-broadcast messages naming n3 as their origin with
n3's next numbers. Without signed origins, the documented limit: everyone delivers them
under n3's name and n3's real messages with those numbers are dropped as duplicates.
With signed origins: nobody delivers them (each is dropped, counted and logged), and
n3's real messages are delivered everywhere, once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from live_cluster import LiveCluster, run
from netweave import Component
from netweave.interfaces import BEST_EFFORT_BROADCAST
from netweave.origins import DOMAIN, OriginMessage
from netweave.transport import Security, TransportOptions
from tls_files import cluster_tls

pytest.importorskip("cryptography", reason="signed origins need the 'secure' extra")

from netweave.certificates import CertificateKeys
from netweave.keyring import seeded_keyrings
from netweave_broadcast.all_ack_urb import UrbData
from netweave_broadcast.eager_rb import EagerRbData
from netweave_broadcast.lazy_rb import LazyRbData

MEMBERS = ["n1", "n2", "n3", "n4"]
GOOD = ["n1", "n2", "n3"]
SECRET = b"cluster-secret-0123456789"

LAYERS: dict[str, tuple[type[OriginMessage], str, list[tuple[str, dict[str, Any]]]]] = {
    "eager-rb": (EagerRbData, "rb", [("eager-rb", {})]),
    "lazy-rb": (LazyRbData, "rb", [("perfect-fd", {}), ("lazy-rb", {})]),
    "all-ack-urb": (UrbData, "urb", [("perfect-fd", {}), ("all-ack-urb", {})]),
    "majority-ack-urb": (UrbData, "urb", [("majority-ack-urb", {})]),
}


class Forger(Component):
    """Broadcasts, through best-effort broadcast, whatever message it is handed."""

    name = "forger"
    provides = ("forgery",)
    requires = ("best-effort-broadcast",)

    def relay(self, message: Any) -> None:
        self.ctx.component(BEST_EFFORT_BROADCAST).broadcast(self.ctx.new_message_id(), message)


def forgeries(cls: type[OriginMessage], origin: str, inc: int, keys: Any) -> list[Any]:
    """Three messages claiming to be ``origin``'s first three: unsigned, signed with the
    forger's own key, and carrying a signature ``origin`` made for other content."""
    made = [cls(f"{origin}/{inc}/{900 + k}", k, f"forged-{k}") for k in (1, 2, 3)]
    if keys is None:
        return made

    def content(message: Any) -> bytes:
        return msgspec.msgpack.encode((DOMAIN, "test", message))

    own = keys["n4"].sign(content(made[1]))
    genuine = keys[origin].sign(content(cls(f"{origin}/{inc}/999", 3, "something else")))
    return [made[0], msgspec.structs.replace(made[1], sig=own),
            msgspec.structs.replace(made[2], sig=genuine)]


def replay(layer: str, signed: bool, tls: Path | None = None) -> dict[str, Any]:
    """The forgery on ``layer``; ``tls``: a directory of certificates (tls_files), to run
    under mutual TLS and sign origins with the nodes' TLS keys instead of a keyring."""
    cls, short, stack = LAYERS[layer]
    keys: dict[str, Any] | None = None
    if signed and tls is None:
        keys = seeded_keyrings(MEMBERS, 5)
    elif signed and tls is not None:
        keys = {i: CertificateKeys(i, ca=tls / "ca.pem", key=tls / f"{i}.key",
                                   certificates={m: tls / f"{m}.pem" for m in MEMBERS})
                for i in MEMBERS}

    def options(node_id: str) -> TransportOptions:
        if tls is not None:
            return TransportOptions(security=Security(
                ca=tls / "ca.pem", cert=tls / f"{node_id}.pem", key=tls / f"{node_id}.key"))
        return TransportOptions(security=Security(
            secret=SECRET, keyring=keys[node_id] if keys is not None else None))

    def plugins(node_id: str) -> list[tuple[Any, dict[str, Any]]]:
        return [*stack, *([(Forger, {})] if node_id == "n4" else [])]

    c = LiveCluster(MEMBERS, plugins=plugins, options=options, layer=short,
                    origin_keys=keys if signed else None)

    async def main() -> dict[str, Any]:
        await c.start()
        n3 = c.nodes["n3"]
        forger = c.nodes["n4"].component("forger")
        for message in forgeries(cls, "n3", n3.incarnation, keys):
            forger.relay(message)  # type: ignore[attr-defined]
        if not signed:
            assert await c.wait_for(lambda: all(
                {"forged-1", "forged-2", "forged-3"} <= payloads(c, i) for i in GOOD), 10)
        else:
            await asyncio.sleep(0.3)
        real = [n3.broadcast(short, f"real-{k}") for k in (1, 2, 3)]
        others = [c.nodes[i].broadcast(short, f"{i}-after") for i in ("n1", "n2")]
        expected = set(real + others) if signed else set(others)
        assert await c.wait_for(lambda: all(
            expected <= set(c.ids_delivered(i)) for i in GOOD), 10)
        if not signed:
            await asyncio.sleep(0.5)  # the real ones had the time to arrive, as others did
        result = {"delivered": {i: [(d.origin, d.payload) for d in c.delivered[i]]
                                for i in GOOD},
                  "real": real, "others": others,
                  "ids": {i: c.ids_delivered(i) for i in GOOD},
                  "dropped": {i: dict(c.nodes[i].origins.dropped)  # type: ignore[union-attr]
                              for i in GOOD} if signed else {}}
        await c.stop()
        return result

    return run(main(), 60)


def payloads(c: LiveCluster, node: str) -> set[Any]:
    return {d.payload for d in c.delivered[node]}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_without_signed_origins_a_member_can_speak_for_another(layer: str) -> None:
    # The documented limit: the link proves who relayed, not who originated.
    got = replay(layer, signed=False)
    for node in GOOD:
        delivered = got["delivered"][node]
        assert {("n3", f"forged-{k}") for k in (1, 2, 3)} <= set(delivered), (node, delivered)
        assert not any(p.startswith("real-") for _, p in delivered), (node, delivered)
        assert set(got["others"]) <= set(got["ids"][node])


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_with_signed_origins_nobody_delivers_a_forgery_and_the_real_ones_arrive(
        layer: str) -> None:
    assert_forgeries_refused(replay(layer, signed=True))


@pytest.mark.parametrize("layer", ["eager-rb", "all-ack-urb"])
def test_under_mutual_tls_origins_sign_with_the_nodes_tls_keys(layer: str,
                                                              tmp_path: Path) -> None:
    # No keyring: each node signs with its TLS key (ECDSA P-256 here) and checks the others'
    # signatures against their certificates.
    assert_forgeries_refused(replay(layer, signed=True,
                                    tls=cluster_tls(tmp_path, MEMBERS)))


def assert_forgeries_refused(got: dict[str, Any]) -> None:
    for node in GOOD:
        delivered = got["delivered"][node]
        assert not any(p.startswith("forged-") for _, p in delivered), (node, delivered)
        real = [(o, p) for o, p in delivered if p.startswith("real-")]
        assert sorted(real) == [("n3", f"real-{k}") for k in (1, 2, 3)], (node, delivered)
        ids = got["ids"][node]
        assert len(ids) == len(set(ids))  # each once
        assert set(got["real"] + got["others"]) <= set(ids)
        # each forgery dropped by reason: no signature, a wrong key, another message's
        dropped = got["dropped"][node]
        assert dropped.get("unsigned", 0) >= 1 and dropped.get("bad-signature", 0) >= 2, (
            node, dropped)

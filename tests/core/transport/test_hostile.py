"""Hostile input against a live node: each attack is refused with its reason and counted,
while a correct cluster beside it loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import shutil
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from live_cluster import LiveCluster, run
from netweave.link import LinkData
from netweave.message import Message
from netweave.transport import (
    FrameDecoder,
    FrameEncoder,
    Hello,
    Proof,
    Refuse,
    Security,
    TransportOptions,
)
from netweave.transport.framing import MessageCodec
from netweave.transport.handshake import PROTOCOL_VERSION, Handshake, proof_mac, proof_text
from netweave_broadcast.beb import BebData
from tls_files import cluster_tls, make_ca, make_cert

SECRET = b"cluster-secret-0123456789"
ENC = FrameEncoder()
MEMBERS = ["n1", "n2", "n3", "n4"]  # n4 is a member that never runs: its id is borrowed
FAST = dict(handshake_timeout=0.5, frame_timeout=0.5, idle_timeout=1.0, max_pending=8,
            max_frame=65536, reconnect_min=0.02)


class Stranger(Message, tag="test.hostile.stranger"):
    x: int


Attack = Callable[[str], Awaitable[Any]]


async def connect(address: str, **kw: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = address.rsplit(":", 1)
    return await asyncio.open_connection(host, int(port), **kw)


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float = 8.0) -> list[Message]:
    """Read until the node closes; returns the handshake frames it sent (e.g. Refuse)."""
    dec = FrameDecoder()
    got: list[Message] = []
    async with asyncio.timeout(timeout):
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionResetError:
                return got
            if not data:
                return got
            for body in dec.feed(data):
                with contextlib.suppress(msgspec.ValidationError):
                    got.append(msgspec.msgpack.decode(body, type=Hello | Proof | Refuse))


async def handshake(address: str, *, node: str = "n4", secret: bytes = SECRET,
                    cluster: str = "test", inc: int = 5, to: str = "n3",
                    keyring: Any = None, **kw: Any
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Message]:
    """Speak the dialer's side; returns the node's last handshake message. ``keyring``:
    sign the proof with it (the key of the node it holds, whatever ``node`` claims)."""
    reader, writer = await connect(address, **kw)
    nonce = b"N" * 32
    writer.write(ENC.frame(Hello(cluster, node, PROTOCOL_VERSION, inc, nonce, to)))
    dec = FrameDecoder()
    while True:
        data = await asyncio.wait_for(reader.read(4096), 3)
        assert data, "closed during the handshake"
        bodies = dec.feed(data)
        if bodies:
            break
    reply = msgspec.msgpack.decode(bodies[0], type=Hello | Refuse)
    if isinstance(reply, Refuse):
        return reader, writer, reply
    fields = dict(prover=node, verifier=reply.node, cluster=cluster, incarnation=inc,
                  prover_nonce=nonce, verifier_nonce=reply.nonce)
    writer.write(ENC.frame(Proof(
        proof_mac(secret, **fields) if secret else b"",  # type: ignore[arg-type]
        keyring.sign(proof_text(**fields)) if keyring is not None else b"")))  # type: ignore[arg-type]
    await writer.drain()
    last: Message = reply
    rest = bodies[1:]
    while not rest:
        data = await asyncio.wait_for(reader.read(4096), 3)
        if not data:
            return reader, writer, last
        rest = dec.feed(data)
    last = msgspec.msgpack.decode(rest[0], type=Proof | Refuse)
    return reader, writer, last


async def feed(c: LiveCluster, good: list[str], sent: set[str], stop: asyncio.Event) -> None:
    """Broadcast from each of ``good`` every 10 ms until ``stop``, honouring back-pressure.

    A node that is congested (a busy machine can leave a live peer ``high_water``
    messages behind) is skipped for that round, as an application would wait.
    """
    k = 0
    while not stop.is_set():
        for i in good:
            if c.nodes[i].running and not c.nodes[i].congested:
                sent.add(c.nodes[i].broadcast("beb", f"{i}-{k}"))
        k += 1
        await asyncio.sleep(0.01)


def hostile_run(attacks: list[tuple[str, Attack, int]], *, options: dict[str, Any] | None = None
                ) -> dict[str, int]:
    """Run a 3-node cluster under ``attacks`` (reason, attack(victim_address), count).

    Checks each reason was counted at least ``count`` times at the victim (n3) and the
    cluster's broadcasts were delivered exactly once everywhere. Returns the counters.
    """
    opts = TransportOptions(security=Security(secret=SECRET), **{**FAST, **(options or {})})
    c = LiveCluster(MEMBERS, options=opts)
    good = ["n1", "n2", "n3"]

    async def main() -> dict[str, int]:
        await c.start(good)
        sent: set[str] = set()
        stop = asyncio.Event()
        feeder = asyncio.create_task(feed(c, good, sent, stop))
        victim = c.addresses["n3"]
        closed = c.transport("n3").stats.closed
        for reason, attack, count in attacks:
            before = closed[reason]
            await attack(victim)
            assert await c.wait_for(lambda r=reason, n=before + count: closed[r] >= n, 5), (
                reason, dict(closed))
        await asyncio.sleep(0.3)  # traffic goes on after the attacks, too
        stop.set()
        await feeder
        assert await c.wait_for(lambda: c.complete(sent, good), 15)
        assert len(sent) > 30
        assert {conn.peer for conn in c.transport("n3").connections if conn.established} >= {
            "n1", "n2"}
        counters = dict(closed)
        await c.stop()
        return counters

    return run(main(), 90)


# -- attacks ---------------------------------------------------------------------------


async def oversized_prefix(address: str) -> None:
    reader, writer = await connect(address)
    writer.write(b"\xff\xff\xff\xff")  # 4 GiB announced, nothing else
    got = await closed_by_peer(reader)
    assert Refuse("frame-too-large") in got
    writer.close()


async def oversized_after_handshake(address: str) -> None:
    reader, writer, last = await handshake(address)
    assert isinstance(last, Proof)
    writer.write((65537).to_bytes(4, "big") + b"x" * 100)
    await closed_by_peer(reader)
    writer.close()


async def wrong_secret(address: str) -> None:
    reader, writer, last = await handshake(address, secret=b"not-the-cluster-secret!")
    assert last == Refuse("bad-proof")
    assert await closed_by_peer(reader) == []
    writer.close()


async def unknown_node(address: str) -> None:
    _reader, writer, last = await handshake(address, node="mallory")
    assert last == Refuse("unknown-node")
    writer.close()


async def wrong_cluster(address: str) -> None:
    _reader, writer, last = await handshake(address, cluster="elsewhere")
    assert last == Refuse("wrong-cluster")
    writer.close()


async def wrong_sender(address: str) -> None:
    # An insider authenticated as n4 (incarnation 5) sends a frame from incarnation 6.
    reader, writer, last = await handshake(address)
    assert isinstance(last, Proof)
    writer.write(ENC.frame(LinkData(6, 0, 1, "forged")))
    await closed_by_peer(reader)
    writer.close()


async def unknown_type(address: str) -> None:
    reader, writer, _ = await handshake(address)
    writer.write(ENC.frame(Stranger(1)))
    await closed_by_peer(reader)
    writer.close()


async def malformed(address: str) -> None:
    reader, writer, _ = await handshake(address)
    writer.write(b"\0\0\0\x01\xc1")
    await closed_by_peer(reader)
    writer.close()


async def slow_trickle(address: str) -> None:
    reader, writer, _ = await handshake(address)
    writer.write((100).to_bytes(4, "big"))
    for _ in range(30):  # one byte every 0.1 s: never completes within frame_timeout
        try:
            writer.write(b"\x00")
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.1)  # what the node sends meanwhile is left unread
        if writer.transport.is_closing() or reader.at_eof():
            break
    writer.close()


async def silent_stranger(address: str) -> None:
    reader, writer = await connect(address)
    await closed_by_peer(reader)
    writer.close()


async def idle_member(address: str) -> None:
    reader, writer, _ = await handshake(address)
    async with asyncio.timeout(8.0):  # read (link frames, unparsed) until the node closes
        with contextlib.suppress(ConnectionResetError):
            while await reader.read(65536):
                pass
    writer.close()


async def flood(address: str) -> None:
    conns = await asyncio.gather(*(connect(address) for _ in range(60)),
                                 return_exceptions=True)
    open_ = [c for c in conns if not isinstance(c, BaseException)]
    await asyncio.gather(*(closed_by_peer(r) for r, _ in open_), return_exceptions=True)
    for _, w in open_:
        w.close()


async def random_bytes(address: str) -> None:
    rng = random.Random(4)
    for _ in range(25):
        reader, writer = await connect(address)
        writer.write(rng.randbytes(rng.randrange(1, 200)))
        await closed_by_peer(reader)
        writer.close()


def test_malformed_frames_are_refused_with_their_reason() -> None:
    counters = hostile_run([
        ("frame-too-large", oversized_prefix, 1),
        ("frame-too-large", oversized_after_handshake, 1),
        ("unknown-type", unknown_type, 1),
        ("malformed", malformed, 1),
        ("wrong-sender", wrong_sender, 1),
    ])
    assert counters["frame-too-large"] >= 2


def test_strangers_are_refused_and_the_cluster_carries_on(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="netweave.transport")
    hostile_run([
        ("bad-proof", wrong_secret, 1),
        ("unknown-node", unknown_node, 1),
        ("wrong-cluster", wrong_cluster, 1),
        ("handshake-timeout", silent_stranger, 1),
    ])
    # No stranger ever got a connection, so none displaced a real peer's: every
    # connection n3 established is to n1 or n2. (A "replaced" count alone cannot tell:
    # two good peers dialing each other at once replace one of the two connections.)
    peers = {m.group(1) for r in caplog.records
             if r.getMessage().startswith("n3: connected to")
             and (m := re.match(r"n3: connected to (\S+)", r.getMessage()))}
    assert peers == {"n1", "n2"}, peers


def test_slow_and_idle_connections_are_closed() -> None:
    hostile_run([("slow-frame", slow_trickle, 1), ("idle-timeout", idle_member, 1)])


def test_connection_flood_hits_the_cap() -> None:
    counters = hostile_run([("connection-cap", flood, 40)])
    assert counters["connection-cap"] + counters.get("handshake-timeout", 0) >= 60


def test_random_bytes_on_live_sockets() -> None:
    counters = hostile_run([("handshake-timeout", random_bytes, 0)])
    refused = sum(v for k, v in counters.items()
                  if k in {"malformed", "unknown-type", "frame-too-large", "empty-frame",
                           "handshake-timeout", "unexpected-message"})
    assert refused >= 25, counters


# -- mutual TLS --------------------------------------------------------------------------


def tls_run(tmp_path: Path, attacks: list[tuple[str, Attack, int]]) -> None:
    tls = cluster_tls(tmp_path / "tls", MEMBERS)

    def options(node_id: str) -> TransportOptions:
        return TransportOptions(security=Security(
            ca=tls / "ca.pem", cert=tls / f"{node_id}.pem", key=tls / f"{node_id}.key"),
            **FAST)

    c = LiveCluster(MEMBERS, options=options)
    good = ["n1", "n2", "n3"]

    async def main() -> None:
        await c.start(good)
        sent = {c.nodes[i].broadcast("beb", i) for i in good for _ in range(10)}
        closed = c.transport("n3").stats.closed
        for reason, attack, count in attacks:
            before = closed[reason]
            await attack(c.addresses["n3"])
            counted = await c.wait_for(lambda r=reason, n=before + count: closed[r] >= n, 5)
            assert counted, dict(closed)
            sent |= {c.nodes[i].broadcast("beb", i) for i in good}
        assert await c.wait_for(lambda: c.complete(sent, good), 10)
        await c.stop()

    run(main(), 60)


def client_context(tmp_path: Path, cert: str | None, ca_dir: str = "tls") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        d = tmp_path / ca_dir
        ctx.load_cert_chain(d / f"{cert}.pem", d / f"{cert}.key")
    return ctx


def test_tls_client_without_certificate_is_refused(tmp_path: Path) -> None:
    async def no_cert(address: str) -> None:
        try:
            reader, writer = await connect(address, ssl=client_context(tmp_path, None))
        except (ssl.SSLError, ConnectionError):
            return
        await closed_by_peer(reader)
        writer.close()

    async def openssl_no_cert(address: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            "openssl", "s_client", "-connect", address, "-brief",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    attacks: list[tuple[str, Attack, int]] = [("tls-failed", no_cert, 1)]
    if shutil.which("openssl"):
        attacks.append(("tls-failed", openssl_no_cert, 1))
    tls_run(tmp_path, attacks)


def test_tls_certificate_from_another_ca_or_naming_another_node(tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_ca(other)
    make_cert(other, "n4")

    async def foreign_ca(address: str) -> None:
        try:
            reader, writer = await connect(
                address, ssl=client_context(tmp_path, "n4", ca_dir="other"))
        except (ssl.SSLError, ConnectionError):
            return
        await closed_by_peer(reader)
        writer.close()

    async def borrowed_identity(address: str) -> None:
        # A valid certificate for n4 cannot claim to be n2.
        _reader, writer, last = await handshake(
            address, node="n2", ssl=client_context(tmp_path, "n4"), secret=b"")
        assert last == Refuse("certificate-mismatch")
        writer.close()

    tls_run(tmp_path, [("tls-failed", foreign_ca, 1),
                       ("certificate-mismatch", borrowed_identity, 1)])


@pytest.mark.parametrize("size", [0, 1, 3])
def test_truncated_headers_wait_for_the_handshake_timeout(size: int) -> None:
    async def partial(address: str) -> None:
        reader, writer = await connect(address)
        writer.write(b"\x00" * size)
        await closed_by_peer(reader)
        writer.close()

    # A frame timeout as short as the handshake's would race it for the same connection.
    hostile_run([("handshake-timeout", partial, 1)], options={"frame_timeout": 2.0})


# -- a member claiming another member's id -----------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def test_link_frames_in_the_same_read_as_the_last_handshake_frame_are_taken() -> None:
    # A correct acceptor may write its last handshake frame and its first link frames
    # (a backlog it resends) at once; the dialer then reads both in one chunk. The
    # handshake's 4 KiB limit is for handshake frames: a 10 KB link frame after it is
    # read under max_frame and delivered, not refused as frame-too-large.
    c = LiveCluster(["n1", "n2"], options=TransportOptions(security=Security(secret=SECRET)))
    host, port = c.addresses["n1"].rsplit(":", 1)
    codec = MessageCodec([Hello, Proof, Refuse])
    payload = "x" * 10_000
    sent = asyncio.Event()

    async def acceptor(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        inc = now_ms()
        hs = Handshake("test", "n1", inc, "accept", frozenset(c.ids), expected=None,
                       secret=SECRET)
        dec = FrameDecoder()
        while not hs.done:
            data = await reader.read(65536)
            if not data:
                return
            for body in dec.feed(data):
                out = bytearray()
                for reply in hs.receive(codec.decode(body)):
                    ENC.append(out, reply)
                if hs.done:
                    first = LinkData(inc, c.nodes["n2"].incarnation, 1,
                                     BebData(f"n1/{inc}/1", payload))
                    ENC.append(out, first)
                writer.write(bytes(out))
        sent.set()
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()

    async def main() -> dict[str, int]:
        server = await asyncio.start_server(acceptor, host, int(port))
        await c.start(["n2"])
        await asyncio.wait_for(sent.wait(), 10)
        got = await c.wait_for(lambda: any(d.payload == payload for d in c.delivered["n2"]), 5)
        closed = dict(c.transport("n2").stats.closed)
        await c.stop()
        server.close()
        assert got, closed
        return closed

    assert run(main(), 30).get("frame-too-large", 0) == 0


def test_shared_secret_an_impostor_never_locks_the_real_node_out(
        caplog: pytest.LogCaptureFixture) -> None:
    # n4 holds the cluster secret and claims to be n3 to n2, with a fresh incarnation,
    # again and again for a while, holding each connection it gets. The secret cannot tell
    # it from n3: each time both live connections are a conflict, closed and counted, and
    # once it stops, n3 is n2's peer again and nothing was lost or delivered twice.
    caplog.set_level(logging.WARNING, logger="netweave")
    opts = TransportOptions(security=Security(secret=SECRET), **FAST)
    c = LiveCluster(MEMBERS, options=opts)
    good = ["n1", "n2", "n3"]

    async def impostor(address: str, inc: int, until: float) -> int:
        accepted = 0
        while time.monotonic() < until:
            try:
                reader, writer, last = await handshake(address, node="n3", inc=inc, to="n2")
            except (ConnectionError, AssertionError, TimeoutError):
                await asyncio.sleep(0.02)
                continue
            if isinstance(last, Proof):
                accepted += 1
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await closed_by_peer(reader, timeout=0.2)  # held until n2 closes it
            writer.close()
            await asyncio.sleep(0.01)
        return accepted

    async def main() -> None:
        await c.start(good)
        sent: set[str] = set()
        stop = asyncio.Event()
        feeder = asyncio.create_task(feed(c, good, sent, stop))
        await asyncio.sleep(0.3)
        real = c.nodes["n3"].incarnation
        transport = c.transport("n2")
        # An incarnation far ahead of the clock is refused outright: it would outlast
        # every restart of the real node.
        _r, writer, last = await handshake(c.addresses["n2"], node="n3", to="n2",
                                           inc=now_ms() + 7_200_000)
        assert last == Refuse("bad-incarnation")
        writer.close()
        accepted = await impostor(c.addresses["n2"], now_ms() + 60_000,
                                  time.monotonic() + 1.5)
        assert accepted >= 1
        assert transport.stats.conflicts >= 1
        assert transport.stats.closed["identity-conflict"] >= 2
        await asyncio.sleep(0.3)
        stop.set()
        await feeder

        def n3_back() -> bool:
            conn = transport.channels["n3"].conn
            return conn is not None and conn.peer_incarnation == real

        assert await c.wait_for(n3_back, 10), dict(transport.stats.closed)
        assert await c.wait_for(lambda: c.complete(sent, good), 15), {
            i: len(c.delivered[i]) for i in good}
        after = {c.nodes[i].broadcast("beb", f"{i}-after") for i in good}
        assert await c.wait_for(lambda: c.complete(sent | after, good), 10)
        await c.stop()

    run(main(), 90)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("two connections claim to be n3" in w for w in warnings), warnings


def test_shared_secret_a_node_restarted_below_a_false_claim_is_taken() -> None:
    # While n3 is down, n4 (with the secret) connects to n2 as n3 with an incarnation
    # ahead of the clock, then leaves. The real n3 starts again with a lower incarnation:
    # n2 takes it (nothing proved the other claim), instead of refusing it as stale.
    opts = TransportOptions(security=Security(secret=SECRET), **FAST)
    c = LiveCluster(MEMBERS, options=opts)
    good = ["n1", "n2", "n3"]

    async def main() -> None:
        await c.start(good)
        await c.nodes["n3"].stop()
        claim = now_ms() + 60_000
        _reader, writer, last = await handshake(c.addresses["n2"], node="n3", inc=claim,
                                                to="n2")
        assert isinstance(last, Proof)
        links = c.nodes["n2"].links
        assert links is not None
        assert await c.wait_for(lambda: links._peers["n3"].inc == claim, 5)
        writer.close()
        await asyncio.sleep(0.2)
        await c.start(["n3"])
        assert c.nodes["n3"].incarnation < claim
        sent = {c.nodes[i].broadcast("beb", f"{i}-x{k}") for i in good for k in range(5)}
        assert await c.wait_for(lambda: all(
            set(c.ids_delivered(i)) >= sent for i in good), 10)
        await c.stop()

    run(main(), 60)


def keyring_options(rings: dict[str, Any]) -> Callable[[str], TransportOptions]:
    return lambda node_id: TransportOptions(
        security=Security(secret=SECRET, keyring=rings[node_id]), **FAST)


def test_keyring_an_impostor_is_refused_at_the_handshake() -> None:
    # The same attack with per-node keys: n4 holds the secret and its own valid key, but
    # only n3's key signs n3's proof. Refused before anything replaces n3's connection.
    pytest.importorskip("cryptography", reason="the keyring needs the 'secure' extra")
    from netweave.keyring import seeded_keyrings

    rings = seeded_keyrings(MEMBERS, 11)
    c = LiveCluster(MEMBERS, options=keyring_options(rings))
    good = ["n1", "n2", "n3"]

    async def main() -> None:
        await c.start(good)
        sent: set[str] = set()
        stop = asyncio.Event()
        feeder = asyncio.create_task(feed(c, good, sent, stop))
        transport = c.transport("n2")
        assert await c.wait_for(lambda: len(transport.connections) == 2 and all(
            conn.established for conn in transport.connections), 5)
        before = transport.channels["n3"].conn
        closed = dict(transport.stats.closed)
        for _ in range(5):
            _r, writer, last = await handshake(c.addresses["n2"], node="n3", to="n2",
                                               inc=now_ms() + 60_000, keyring=rings["n4"])
            assert last == Refuse("bad-signature")
            writer.close()
        # n4 as itself, with its own key, is a member like any other
        _r, writer, last = await handshake(c.addresses["n2"], node="n4", to="n2",
                                           keyring=rings["n4"])
        assert isinstance(last, Proof)
        writer.close()
        stop.set()
        await feeder
        assert transport.stats.closed["bad-signature"] == 5
        assert transport.channels["n3"].conn is before  # never replaced
        for reason in ("replaced", "duplicate", "identity-conflict", "stale-incarnation"):
            assert transport.stats.closed[reason] == closed.get(reason, 0), reason
        assert await c.wait_for(lambda: c.complete(sent, good), 10)
        await c.stop()

    run(main(), 60)


# -- how many connections --------------------------------------------------------------


def test_max_connections_caps_open_connections_of_every_kind() -> None:
    # max_pending is high: only max_connections can refuse here. n3 holds its two peers'
    # connections; strangers that connect and say nothing fill the rest until their
    # handshake times out; every one beyond the cap is closed at once, and the peers'
    # connections and traffic are untouched.
    cap = 6
    opts = TransportOptions(security=Security(secret=SECRET), max_connections=cap,
                            **{**FAST, "max_pending": 64})
    c = LiveCluster(MEMBERS, options=opts)
    good = ["n1", "n2", "n3"]

    async def main() -> None:
        await c.start(good)
        transport = c.transport("n3")
        assert await c.wait_for(lambda: sum(
            1 for conn in transport.connections if conn.established) == 2, 5)
        peak = 0

        async def watch(stop: asyncio.Event) -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, len(transport.connections))
                await asyncio.sleep(0.005)

        done = asyncio.Event()
        watcher = asyncio.create_task(watch(done))
        conns = await asyncio.gather(*(connect(c.addresses["n3"]) for _ in range(20)),
                                     return_exceptions=True)
        opened = [x for x in conns if not isinstance(x, BaseException)]
        closed = transport.stats.closed
        assert await c.wait_for(lambda: closed["connection-cap"] >= 20 - (cap - 2), 5), (
            dict(closed))
        sent = {c.nodes[i].broadcast("beb", i) for i in good for _ in range(10)}
        assert await c.wait_for(lambda: c.complete(sent, good), 10)
        # the admitted strangers time out; then there is room again
        assert await c.wait_for(lambda: len(transport.connections) == 2, 5)
        done.set()
        await watcher
        assert peak == cap
        assert closed["connection-cap"] == 20 - (cap - 2)
        assert closed["handshake-timeout"] == cap - 2
        for _, w in opened:
            w.close()
        reader, writer = await connect(c.addresses["n3"])
        await closed_by_peer(reader)
        writer.close()
        assert closed["handshake-timeout"] == cap - 1  # admitted this time
        assert closed["connection-cap"] == 20 - (cap - 2)
        await c.stop()

    run(main(), 60)

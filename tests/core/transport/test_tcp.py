"""The TCP transport between in-process nodes: delivery, batching, resets, restarts, TLS."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from live_cluster import LiveCluster, run
from netweave import Node
from netweave.runtime.asyncio import next_incarnation
from netweave.transport import Security, TransportOptions
from tls_files import cluster_tls

SECRET = Security(secret=b"k" * 32)


def test_three_nodes_deliver_everything_once_with_batched_writes() -> None:
    c = LiveCluster(["n1", "n2", "n3"], options=TransportOptions(security=SECRET))

    async def main() -> None:
        await c.start()
        sent = {c.nodes[i].broadcast("beb", f"{i}-{k}") for k in range(300) for i in c.ids}
        assert await c.wait_for(lambda: c.complete(sent, c.ids))
        stats = c.transport("n1").stats
        peers = {conn.peer for conn in c.transport("n1").connections if conn.established}
        assert peers == {"n2", "n3"} and stats.dropped == 0
        # n1 sent 600 messages: far fewer frames than that, acks included (the links batch
        # a step's messages to a peer, the transport a step's frames into one write)
        assert stats.writes <= stats.frames_out < 600 / 2
        # Every message acknowledged in the end (the last acks may still be on their way
        # when the last delivery is made: wait for them, rather than stop before them).
        assert await c.wait_for(lambda: all(
            c.nodes[i].links is not None and c.nodes[i].links.pending() == 0
            for i in c.ids))
        await c.stop()

    run(main())


def test_connection_resets_lose_and_duplicate_nothing() -> None:
    c = LiveCluster(["n1", "n2", "n3"], options=TransportOptions(reconnect_min=0.01))

    async def main() -> None:
        await c.start()
        sent: set[str] = set()
        for round_ in range(20):
            for i in c.ids:
                sent |= {c.nodes[i].broadcast("beb", f"{i}-{round_}-{k}") for k in range(20)}
            await asyncio.sleep(0)
            if round_ % 4 == 1:  # cut every connection while frames are in flight
                for i in c.ids:
                    for conn in list(c.transport(i).connections):
                        assert conn.transport is not None
                        conn.transport.abort()
            await asyncio.sleep(0.01)
        assert await c.wait_for(lambda: c.complete(sent, c.ids), 15)
        assert sum(c.transport(i).stats.established for i in c.ids) > 6  # it reconnected
        await c.stop()

    run(main())


def test_a_node_that_starts_late_gets_what_was_sent_before() -> None:
    c = LiveCluster(["n1", "n2", "n3"])

    async def main() -> None:
        await c.start(["n1", "n2"])
        early = {c.nodes[i].broadcast("beb", "early") for i in ("n1", "n2")}
        await asyncio.sleep(0.5)
        await c.start(["n3"])
        assert await c.wait_for(lambda: set(c.ids_delivered("n3")) == early)
        # what waited for n3's connection was discarded, counted, and sent again by the links
        assert c.transport("n1").stats.discarded > 0
        assert c.transport("n1").stats.dropped == 0
        await c.stop()

    run(main())


def test_restart_uses_a_higher_incarnation_and_fresh_ids(tmp_path: Path) -> None:
    c = LiveCluster(["n1", "n2"], options=TransportOptions(reconnect_min=0.01))

    async def main() -> None:
        await c.start()
        first = c.nodes["n2"]
        old = first.broadcast("beb", "before")
        assert await c.wait_for(lambda: old in c.ids_delivered("n1"))
        first.halt()  # crash: no stop, the transport just dies with it
        runtime = first._runtime
        await runtime.transport.close(0.1)  # type: ignore[union-attr]
        again = Node("n2", peers=c.addresses, cluster=c.cluster, link_options=c.link_options)
        again.use("beb").on_deliver("beb", c.delivered["n2"].append)
        await again.start()
        c.nodes["n2"] = again
        assert again.incarnation > first.incarnation
        new = again.broadcast("beb", "after")
        assert new != old and new.split("/")[1] != old.split("/")[1]
        assert await c.wait_for(lambda: c.ids_delivered("n1").count(new) == 1)
        await c.stop()

    run(main())


def test_incarnations_grow_with_and_without_a_state_dir(tmp_path: Path, monkeypatch) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    monkeypatch.setattr("netweave.runtime.asyncio._last_incarnation", {})
    a = next_incarnation("n1")
    assert a == 1_000_000
    assert next_incarnation("n1") == a + 1  # the clock repeats: still above
    clock[0] = 900.0
    assert next_incarnation("n1") == a + 2  # the clock steps back: still above
    # then with a state directory: above everything before, and stored
    assert next_incarnation("n1", tmp_path) == a + 3
    assert (tmp_path / "n1.incarnation").read_text() == f"{a + 3}\n"
    monkeypatch.setattr("netweave.runtime.asyncio._last_incarnation", {})  # a new process
    assert next_incarnation("n1", tmp_path) == a + 4  # the stored counter, clock behind
    clock[0] = 2_000.0
    assert next_incarnation("n1", tmp_path) == 2_000_000  # the clock, ahead of the counter
    assert next_incarnation("n2", tmp_path) == 2_000_000  # each node its own


def test_async_with_and_blocking_run() -> None:
    got: list[str] = []

    async def main() -> None:
        from netweave.cli._launch import free_ports

        (port,) = free_ports(1)
        async with Node("solo", peers={"solo": f"127.0.0.1:{port}"}).use("beb") as node:
            node.on_deliver("beb", lambda d: got.append(d.payload))
            node.broadcast("beb", "hi")
            await asyncio.sleep(0.05)
        assert node.state == "stopped"

    run(main())
    assert got == ["hi"]

    async def body(node: Node) -> None:
        node.broadcast("beb", "from run")
        await asyncio.sleep(0.05)

    solo = Node("solo").use("beb").on_deliver("beb", lambda d: got.append(d.payload))
    solo.run(body)
    assert got == ["hi", "from run"] and solo.state == "stopped"


def test_mutual_tls_cluster(tmp_path: Path) -> None:
    tls = cluster_tls(tmp_path, ["n1", "n2", "n3"])

    def options(node_id: str) -> TransportOptions:
        return TransportOptions(security=Security(
            secret=b"k" * 32, ca=tls / "ca.pem", cert=tls / f"{node_id}.pem",
            key=tls / f"{node_id}.key"))

    c = LiveCluster(["n1", "n2", "n3"], options=options)

    async def main() -> None:
        await c.start()
        sent = {c.nodes[i].broadcast("beb", i) for i in c.ids for _ in range(20)}
        assert await c.wait_for(lambda: c.complete(sent, c.ids))
        await c.stop()

    run(main())


def test_listening_on_a_taken_port_is_a_configuration_error() -> None:
    from netweave.errors import ConfigurationError

    async def main() -> None:
        c = LiveCluster(["n1"])
        await c.start()
        twin = Node("n1", peers=c.addresses).use("beb")
        with pytest.raises(ConfigurationError, match="cannot listen"):
            await twin.start()
        assert twin.state == "built"  # nothing started, no trace line written
        await c.stop()

    run(main())


def test_uvloop_when_installed(tmp_path: Path) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is optional (the 'fast' extra)")
    tls = cluster_tls(tmp_path, ["n1", "n2", "n3"])

    def options(node_id: str) -> TransportOptions:
        return TransportOptions(security=Security(
            secret=b"k" * 32, ca=tls / "ca.pem", cert=tls / f"{node_id}.pem",
            key=tls / f"{node_id}.key"))

    c = LiveCluster(["n1", "n2", "n3"], options=options)

    async def main() -> bool:
        await c.start()
        sent = {c.nodes[i].broadcast("beb", i) for i in c.ids for _ in range(50)}
        ok = await c.wait_for(lambda: c.complete(sent, c.ids))
        await c.stop()
        return ok

    assert uvloop.run(asyncio.wait_for(main(), 30))


# -- an unworkable stack binds nothing ---------------------------------------------------

UNWORKABLE = ("eventually-perfect-fd", "all-ack-urb")
"""all-ack-urb needs a perfect detector: the registry refuses this stack."""


def nobody_listens(port: int) -> bool:
    """Nothing accepts on ``port`` and it can be bound (without SO_REUSEADDR)."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    return True


def test_node_start_with_an_unworkable_stack_raises_the_registry_error_first() -> None:
    import socket

    from netweave.cli._launch import free_ports
    from netweave.errors import MissingRequirementError

    async def main() -> None:
        (port, other) = free_ports(2)
        node = Node("n1", peers={"n1": f"127.0.0.1:{port}", "n2": f"127.0.0.1:{other}"})
        for name in UNWORKABLE:
            node.use(name)
        with pytest.raises(MissingRequirementError, match="perfect-failure-detector"):
            await node.start()
        assert node.state == "new" and node._runtime is None
        assert nobody_listens(port)
        # The port taken by someone else: still the registry's error, not "cannot listen"
        # (the stack is checked before any socket is opened).
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", port))
            holder.listen()
            again = Node("n1", peers={"n1": f"127.0.0.1:{port}", "n2": f"127.0.0.1:{other}"})
            for name in UNWORKABLE:
                again.use(name)
            with pytest.raises(MissingRequirementError):
                await again.start()

    run(main())


def test_netweave_node_with_an_unworkable_stack_exits_before_binding(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    from netweave.cli._launch import free_ports

    (port, other) = free_ports(2)
    config = tmp_path / "cluster.toml"
    config.write_text(f'[members]\nn1 = "127.0.0.1:{port}"\nn2 = "127.0.0.1:{other}"\n'
                      "[plugins]\n" + "".join(f"{name} = {{}}\n" for name in UNWORKABLE))
    argv = [sys.executable, "-c", "import sys; from netweave.cli import main; "
            "sys.exit(main(sys.argv[1:]))", "node", "--config", str(config), "--id", "n1"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert "requires 'perfect-failure-detector'" in done.stderr
    assert not any(line.startswith(("ready ", "stats ")) for line in done.stderr.splitlines())
    assert nobody_listens(port)
    with socket.socket() as holder:  # taken: the same error, not "cannot listen"
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "requires 'perfect-failure-detector'" in done.stderr
    assert "cannot listen" not in done.stderr

"""Push-back on live TCP: a peer that does not acknowledge slows its senders down instead of
losing their messages, and large payloads and frame limits behave as configured."""

from __future__ import annotations

import asyncio

import pytest
from live_cluster import LiveCluster, run
from netweave import BackpressureError, LinkOptions
from netweave.transport import Security, TransportOptions

SECRET = Security(secret=b"k" * 32)


def test_a_peer_that_never_acknowledges_makes_broadcast_push_back_until_it_recovers() -> None:
    c = LiveCluster(["n1", "n2"], options=TransportOptions(security=SECRET),
                    link_options=LinkOptions(high_water=50))

    async def main() -> None:
        await c.start()
        n1, n2 = c.nodes["n1"], c.nodes["n2"]
        assert await c.wait_for(lambda: n1.links is not None and n1.links.pending() == 0)
        n2.throttle_senders(True)  # n2 withholds every acknowledgement from now on
        sent = []
        with pytest.raises(BackpressureError,
                           match="links congested: peer 'n2' has 50 messages unacknowledged"):
            for k in range(1_000):
                sent.append(n1.broadcast("beb", k))
                await asyncio.sleep(0)
        assert len(sent) == 50 and n1.congested
        # while pushed back, an awaitable broadcast waits instead of raising
        waiting = asyncio.ensure_future(n1.broadcast_when_ready("beb", "after"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        assert await c.wait_for(lambda: len(c.delivered["n2"]) == 50)  # nothing held back
        n2.throttle_senders(False)  # it recovers: the push-back clears
        sent.append(await asyncio.wait_for(waiting, 5))
        assert await c.wait_for(lambda: c.complete(set(sent), ["n2"]))
        assert not n1.congested and n1.links is not None and n1.links.dropped == 0
        await c.stop()

    run(main())


def test_a_node_that_is_behind_pushes_back_on_its_own_broadcasts() -> None:
    c = LiveCluster(["n1", "n2"])

    async def main() -> None:
        await c.start()
        n1 = c.nodes["n1"]
        n1.throttle_senders(True)
        with pytest.raises(BackpressureError, match="behind on deliveries"):
            n1.broadcast("beb", "x")
        n1.throttle_senders(False)
        n1.broadcast("beb", "x")
        await c.stop()

    run(main())


def test_an_unread_deliveries_iterator_throttles_the_node_until_it_is_read() -> None:
    c = LiveCluster(["n1", "n2"], link_options=LinkOptions(high_water=20))

    async def main() -> None:
        await c.start()
        n1, n2 = c.nodes["n1"], c.nodes["n2"]
        stream = n2.deliveries("beb", limit=10)
        first = asyncio.ensure_future(stream.__anext__())  # subscribed, then not read
        await asyncio.sleep(0.05)
        sent = [n1.broadcast("beb", k) for k in range(11)]
        assert await c.wait_for(lambda: n2.congested)  # 10 wait unread: n2 throttles
        for k in range(11, 100):
            try:
                sent.append(n1.broadcast("beb", k))
            except BackpressureError:
                break
            await asyncio.sleep(0.001)
        assert n1.congested and len(sent) < 100  # n2's acks are withheld
        got = [await first]
        for _ in range(len(sent) - 1):
            got.append(await asyncio.wait_for(stream.__anext__(), 5))
        assert [d.payload for d in got] == list(range(len(sent)))
        assert await c.wait_for(lambda: not n1.congested and not n2.congested)
        await stream.aclose()
        await c.stop()

    run(main())


def test_a_100_kb_payload_is_delivered_and_a_frame_over_max_frame_is_refused() -> None:
    limit = 200_000
    c = LiveCluster(["n1", "n2"], options=TransportOptions(security=SECRET, max_frame=limit))

    async def main() -> None:
        await c.start()
        n1 = c.nodes["n1"]
        big = "x" * 100_000
        mid = n1.broadcast("beb", big)
        assert await c.wait_for(lambda: mid in c.ids_delivered("n2"))
        assert c.delivered["n2"][-1].payload == big
        closed = c.transport("n2").stats.closed
        # a frame one byte over the limit, after the handshake: refused, connection closed
        conn = next(x for x in c.transport("n1").connections if x.established)
        assert conn.transport is not None
        conn.transport.write((limit + 1).to_bytes(4, "big") + b"\x00" * 16)
        assert await c.wait_for(lambda: closed["frame-too-large"] == 1, 5), dict(closed)
        # the links resend on the next connection: nothing lost, nothing twice
        after = n1.broadcast("beb", "after")
        assert await c.wait_for(lambda: after in c.ids_delivered("n2"), 10)
        assert sorted(c.ids_delivered("n2")) == sorted([mid, after])
        # three such payloads in one step would be one batch over the limit: split
        more = [n1.broadcast("beb", big) for _ in range(3)]
        assert await c.wait_for(lambda: set(more) <= set(c.ids_delivered("n2")), 10)
        assert closed["frame-too-large"] == 1 and len(c.ids_delivered("n2")) == 5
        await c.stop()

    run(main())

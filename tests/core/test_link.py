"""Perfect links, pushed through a pair of in-memory endpoints with a hand-run clock."""

from __future__ import annotations

import heapq
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from netweave.link import (
    LinkAck,
    LinkBatch,
    LinkData,
    LinkFenced,
    LinkHello,
    LinkOptions,
    PerfectLinks,
)


class Wire:
    """Two endpoints, a clock, and a network that can lose, duplicate and reorder."""

    def __init__(self, seed=0, loss=0.0, dup=0.0, jitter=0.0):
        self.now = 0.0
        self.heap = []
        self.seq = 0
        self.rng = random.Random(seed)
        self.loss, self.dup, self.jitter = loss, dup, jitter
        self.delivered = {"a": [], "b": []}
        self.restarts = []
        self.up = {"a": True, "b": True}
        self.blocked = set()  # directed (src, dst) pairs that lose everything
        self.ends = {}
        self.sent = 0
        self.data_sent = 0
        for name, inc in (("a", 1), ("b", 1)):
            self.ends[name] = self.make(name, inc)

    def make(self, name, inc):
        return PerfectLinks(
            name, inc,
            transmit=lambda peer, msg, src=name: self.transmit(src, peer, msg),
            deliver=lambda sender, body, meta, me=name: self.delivered[me].append(body),
            now=lambda: self.now,
            call_later=self.call_later,
            on_peer_restart=lambda peer, inc: self.restarts.append((peer, inc)),
            options=LinkOptions(rto=0.1, max_rto=0.4, high_water=50, hard_limit=100),
        )

    def call_later(self, delay, fn):
        self.seq += 1
        heapq.heappush(self.heap, (self.now + delay, self.seq, fn, ()))

    def transmit(self, src, dst, msg):
        self.sent += 1
        self.data_sent += (len(msg.bodies) if type(msg) is LinkBatch
                           else type(msg) is LinkData)
        if (src, dst) in self.blocked or self.rng.random() < self.loss:
            return
        copies = 2 if self.rng.random() < self.dup else 1
        for _ in range(copies):
            delay = 0.01 + self.rng.random() * self.jitter
            self.seq += 1
            heapq.heappush(self.heap, (self.now + delay, self.seq, self.arrive, (src, dst, msg)))

    def arrive(self, src, dst, msg):
        if self.up[dst]:
            self.ends[dst].on_receive(src, msg)

    def run(self, until):
        while self.heap and self.heap[0][0] <= until:
            when, _, fn, args = heapq.heappop(self.heap)
            self.now = when
            fn(*args)
        self.now = until


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.floats(0, 0.5), dup=st.floats(0, 0.5),
       jitter=st.floats(0, 0.2), count=st.integers(1, 40))
def test_exactly_once_under_loss_duplication_and_reordering(seed, loss, dup, jitter, count):
    wire = Wire(seed, loss, dup, jitter)
    for i in range(count):
        wire.ends["a"].send("b", i)
    wire.run(200)
    assert sorted(wire.delivered["b"]) == list(range(count))
    assert wire.ends["a"].pending() == 0


def test_first_message_waits_for_the_peer_incarnation():
    wire = Wire()
    wire.ends["a"].send("b", "x")
    assert wire.ends["a"].pending("b") == 1
    wire.run(1)
    assert wire.delivered["b"] == ["x"]
    assert wire.ends["a"].pending("b") == 0


def test_restarted_peer_gets_unacked_messages_in_a_new_session():
    wire = Wire()
    wire.ends["a"].send("b", 0)
    wire.run(1)
    wire.up["b"] = False  # b crashes; what a sends now is lost
    wire.ends["a"].send("b", 1)
    wire.run(0.5 + wire.now)
    wire.ends["b"] = wire.make("b", 2)  # b restarts as a new process
    wire.delivered["b"] = []
    wire.up["b"] = True
    wire.ends["b"].greet(["a"])
    wire.run(wire.now + 5)
    assert wire.delivered["b"] == [1]
    assert wire.restarts == [("b", 2)]


def test_messages_for_an_old_incarnation_are_dropped():
    wire = Wire()
    wire.ends["a"].send("b", 0)
    wire.run(1)
    b = wire.ends["b"]
    b.on_receive("a", LinkData(1, 99, 5, "stale"))
    assert "stale" not in wire.delivered["b"] and b.stale == 1
    b.on_receive("a", LinkData(0, 1, 6, "from a past life"))
    assert b.stale == 2


def test_congestion_pushes_back_and_only_a_silent_peers_queue_is_capped(caplog):
    wire = Wire()
    wire.up["b"] = False
    a = wire.ends["a"]
    for i in range(150):
        a.send("b", i)
    # b may be slow, not gone: nothing is dropped, the application is asked to wait
    assert a.congested()
    assert a.congestion() == "peer 'b' has 150 messages unacknowledged (high_water 50)"
    assert a.pending("b") == 150 and a.dropped == 0
    wire.now += 10  # b stays silent: it no longer holds the application back
    assert not a.congested() and a.pending("b") == 150 and a.congestion() == ""
    with caplog.at_level("WARNING", logger="netweave.link"):
        for i in range(150, 160):
            a.send("b", i)
    assert a.pending("b") == 150 and a.dropped == 10
    assert [r.message for r in caplog.records] == [
        "a: dropping messages to b (silent for stall_after with hard_limit messages queued); "
        "counted in links.dropped"]  # once per episode, not once per message
    a.forget("b")
    assert a.pending() == 0 and not a.congested()
    a.send("b", "to the dead")  # kept for a next process of b, not lost
    assert a.pending() == 0 and a.held("b") == a.held() == 151 and a.dropped == 10


def test_a_crashed_peers_backlog_keeps_the_newest_and_counts_what_it_loses():
    wire = Wire()
    a = _session(wire)
    a.options = LinkOptions(rto=0.1, max_rto=0.4, crashed_backlog=10)
    wire.up["b"] = False
    for i in range(30):
        a.send("b", i)
    a.forget("b")
    assert (a.held("b"), a.dropped) == (10, 20)
    for i in range(30, 35):
        a.send("b", i)
    assert (a.held("b"), a.dropped) == (10, 25)
    wire.ends["b"] = wire.make("b", 2)  # b comes back as a new process: it gets the newest
    wire.up["b"] = True
    wire.ends["b"].send("a", "I am back")
    wire.run(wire.now + 2)
    assert wire.delivered["b"] == list(range(25, 35)) and a.held() == 0


def test_retransmission_backs_off_while_the_peer_is_silent():
    wire = Wire()
    wire.run(1)
    wire.up["b"] = False
    before = wire.sent
    wire.ends["a"].send("b", "x")
    wire.run(wire.now + 10)
    # rto 0.1 doubling to 0.4: about 25 resends in 10 s, not 100
    assert 15 <= wire.sent - before <= 40


def _session(wire):
    """Let a and b learn each other's incarnation; returns a."""
    wire.ends["a"].send("b", "hello")
    wire.run(1)
    assert wire.delivered["b"] == ["hello"]
    wire.delivered["b"] = []
    return wire.ends["a"]


def test_a_silent_peer_gets_one_probe_per_timeout_not_its_whole_queue():
    wire = Wire()
    a = _session(wire)
    wire.up["b"] = False
    before = wire.sent
    for i in range(20):
        a.send("b", i)
    wire.run(wire.now + 10)
    # 20 first sends, then one probe per timeout (about 25 in 10 s), not 20 per timeout
    assert 20 + 15 <= wire.sent - before <= 20 + 40
    wire.up["b"] = True  # b was only cut off: its answer to the next probe resends the rest
    wire.run(wire.now + 1)
    assert sorted(wire.delivered["b"]) == list(range(20))
    assert a.pending("b") == 0


def test_a_one_way_partition_still_delivers_every_message():
    wire = Wire()
    a = _session(wire)
    wire.blocked = {("a", "b"), ("b", "a")}
    for i in range(5):
        a.send("b", i)
    wire.run(wire.now + 2)
    wire.blocked = {("b", "a")}  # a reaches b again, but b's acks never come back
    wire.run(wire.now + 5)
    assert sorted(wire.delivered["b"]) == list(range(5))
    assert a.pending("b") == 5
    wire.blocked = set()
    wire.run(wire.now + 2)
    assert a.pending("b") == 0


def test_crossing_hellos_need_no_acks_and_a_lost_one_is_asked_again():
    wire = Wire()
    wire.ends["a"].greet(["b"])
    wire.ends["b"].greet(["a"])
    wire.run(1)
    assert wire.sent == 2  # each hello tells the other side all it needs
    assert wire.ends["a"]._peers["b"].inc == wire.ends["b"]._peers["a"].inc == 1

    wire = Wire()
    wire.blocked = {("a", "b")}
    wire.ends["a"].greet(["b"])
    wire.ends["b"].greet(["a"])
    wire.run(0.05)
    wire.blocked = set()  # a's hello was lost, a did not answer b's: b asks again
    wire.ends["b"].send("a", "x")
    wire.run(2)
    assert wire.delivered["a"] == ["x"]


def test_the_ack_that_ends_a_silence_is_applied_before_anything_is_resent():
    wire = Wire()
    a = _session(wire)
    wire.blocked = {("b", "a")}  # b gets everything, its acks are lost
    for i in range(30):
        a.send("b", i)
    wire.run(wire.now + 3)
    assert sorted(wire.delivered["b"]) == list(range(30)) and a.pending("b") == 30
    sent = []
    a._transmit = lambda peer, msg, orig=a._transmit: (sent.append(type(msg).__name__),
                                                       orig(peer, msg))
    wire.blocked = set()
    wire.run(wire.now + 3)
    assert a.pending("b") == 0
    assert sent.count("LinkData") <= 2  # a probe or two, not the whole queue again


def test_heard_from_is_the_last_arrival_from_the_peers_current_process():
    clock = [0.0]
    sent: list[tuple[str, object]] = []
    links = PerfectLinks("n1", 1, transmit=lambda peer, m: sent.append((peer, m)),
                         deliver=lambda *a: None, now=lambda: clock[0],
                         call_later=lambda delay, fn: None)
    assert links.heard_from("n2") is None
    clock[0] = 1.0
    links.on_receive("n2", LinkHello(2, 0))
    assert links.heard_from("n2") == 1.0
    clock[0] = 2.0
    links.on_receive("n2", LinkAck(1, 1, 0))  # an older process of n2: stale, not news
    assert links.heard_from("n2") == 1.0 and links.stale == 1
    clock[0] = 3.0
    links.on_receive("n2", LinkAck(2, 1, 0))
    assert links.heard_from("n2") == 3.0 and links.heard_from("n3") is None


class ReliableWire(Wire):
    """A transport that loses nothing while connected (TCP): links resend on reconnect."""

    def make(self, name, inc):
        links = super().make(name, inc)
        links.reliable = True
        return links

    def reconnect(self):
        """The connection died with what it held; a new one is up on both sides."""
        self.heap = [e for e in self.heap if e[2] != self.arrive]
        for me, peer in (("a", "b"), ("b", "a")):
            self.ends[me].connected(peer, self.ends[peer].incarnation)


def test_over_a_reliable_transport_nothing_is_resent_while_the_connection_lives():
    wire = ReliableWire(jitter=2.0)  # acks take far longer than rto: no retransmission
    a = wire.ends["a"]
    for i in range(20):
        a.send("b", i)
    wire.run(50)
    assert sorted(wire.delivered["b"]) == list(range(20)) and a.pending() == 0
    assert wire.ends["b"].duplicates == 0 and wire.data_sent == 20  # each once


def test_over_a_fair_loss_transport_the_same_delays_cause_retransmissions():
    wire = Wire(jitter=2.0)  # the control: the timer resends what is slow, not lost
    for i in range(20):
        wire.ends["a"].send("b", i)
    wire.run(50)
    assert sorted(wire.delivered["b"]) == list(range(20)) and wire.data_sent > 20


def test_over_a_reliable_transport_a_new_connection_resends_what_the_old_one_lost():
    wire = ReliableWire()
    a, b = wire.ends["a"], wire.ends["b"]
    a.send("b", "first")
    wire.run(1)
    wire.blocked.add(("a", "b"))  # the connection dies holding these two
    a.send("b", "lost-1")
    a.send("b", "lost-2")
    wire.run(30)
    assert wire.delivered["b"] == ["first"] and a.pending("b") == 2  # no timer resend
    wire.blocked.clear()
    wire.reconnect()
    wire.run(31)
    assert wire.delivered["b"] == ["first", "lost-1", "lost-2"]
    assert a.pending() == 0 and b.duplicates == 0


def test_a_reconnect_from_a_new_incarnation_is_a_restart_learnt_before_any_message():
    wire = ReliableWire()
    a = wire.ends["a"]
    a.send("b", "one")
    wire.run(1)
    wire.up["b"] = False
    a.send("b", "unacked")
    wire.run(2)
    wire.ends["b"] = wire.make("b", 2)
    wire.up["b"] = True
    a.connected("b", 2)
    wire.run(3)
    assert wire.delivered["b"] == ["one", "unacked"] and wire.restarts == [("b", 2)]
    a.connected("b", 1)  # a late connection of the old process changes nothing
    assert wire.restarts == [("b", 2)] and a.pending() == 0


def test_withheld_acks_make_the_sender_push_back_until_released():
    wire = ReliableWire()
    a, b = wire.ends["a"], wire.ends["b"]
    a.send("b", "hello")
    wire.run(1)
    b.hold_acks(True)
    for i in range(60):
        a.send("b", i)
    wire.run(5)
    assert len(wire.delivered["b"]) == 61  # data still arrives and is delivered
    assert a.congested() and a.pending("b") == 60 and b.holding_acks
    b.hold_acks(False)
    wire.run(6)
    assert not a.congested() and a.pending() == 0 and a.dropped == 0


def test_over_a_reliable_transport_a_queue_that_grows_in_time_pushes_back():
    wire = ReliableWire(jitter=0.0)
    a, b = wire.ends["a"], wire.ends["b"]
    a.options = LinkOptions(rto=0.1, max_rto=0.4, high_water=50, max_delay=0.1)
    a.send("b", "hello")
    wire.run(1)
    b.hold_acks(True)  # b is alive (it speaks) but its acks lag
    a.send("b", 1)
    wire.run(1.05)
    b.send("a", "still here")
    wire.run(1.06)
    assert not a.congested()  # 1 message, 0.06 s old: fine
    wire.run(1.2)
    b.send("a", "still here")
    wire.run(1.21)
    assert a.congested() and a.pending("b") == 1  # 0.21 s old, far below high_water
    assert a.congestion() == (
        "peer 'b' has left a message unacknowledged for 0.210s (max_delay 0.1s)")
    wire.run(5)  # b goes quiet: the delay rule no longer counts it, the count rule does
    assert not a.congested()
    plain = Wire()  # a fair-loss transport (the simulator): only the count counts
    pa, pb = plain.ends["a"], plain.ends["b"]
    pa.options = a.options
    pa.send("b", "hello")
    plain.run(1)
    pb.hold_acks(True)
    pa.send("b", 1)
    plain.run(1.2)
    pb.send("a", "still here")
    plain.run(1.21)
    assert pa.pending("b") == 1 and not pa.congested()


# -- a transport that does not prove identities (a shared secret) ----------------------
# A higher incarnation claimed by another member under a peer's name must not lock the
# real process out, and taking the real one back loses and duplicates nothing.


def claimed(wire: ReliableWire, inc: int) -> None:
    """Another member connects to ``a`` as ``b`` with incarnation ``inc`` and says hello
    (it acknowledges nothing): ``a`` takes it for a restart of ``b``."""
    wire.ends["a"].connected("b", inc, False)
    wire.run(wire.now + 1)


def test_the_real_process_is_taken_back_with_its_session_as_it_was() -> None:
    wire = ReliableWire()
    a, b = wire.ends["a"], wire.ends["b"]
    for i in range(3):
        a.send("b", f"a{i}")
        b.send("a", f"b{i}")
    wire.run(1)
    wire.blocked.add(("a", "b"))  # a's frames now go to the impostor's connection
    claimed(wire, 99)
    assert wire.restarts == [("b", 99)]
    a.send("b", "during")  # for the impostor, which never acknowledges it
    b.send("a", "refused")  # the real b speaks: stale, as incarnation 1 < 99
    wire.run(wire.now + 1)
    assert a.stale >= 1 and "refused" not in wire.delivered["a"]
    wire.blocked.clear()
    a.connected("b", 1, False)  # the real b connects again, the impostor is gone
    b.connected("a", 1)
    wire.run(wire.now + 2)
    assert wire.restarts[-1] == ("b", 1)
    assert wire.delivered["b"] == ["a0", "a1", "a2", "during"]
    assert wire.delivered["a"] == ["b0", "b1", "b2", "refused"]
    a.send("b", "after")
    b.send("a", "after")
    wire.run(wire.now + 1)
    assert wire.delivered["b"][-1] == "after" == wire.delivered["a"][-1]
    assert a.pending() == b.pending() == 0 and a.duplicates == b.duplicates == 0


def test_a_session_not_kept_is_taken_up_where_the_peer_numbers() -> None:
    # Two claims in a row: the real process's session was not the last one given up. Its
    # numbers come from its first data and its first acknowledgement.
    wire = ReliableWire()
    a, b = wire.ends["a"], wire.ends["b"]
    for i in range(5):
        a.send("b", f"a{i}")
        b.send("a", f"b{i}")
    wire.run(1)
    wire.blocked.add(("a", "b"))
    claimed(wire, 50)
    claimed(wire, 60)
    a.send("b", "during")
    wire.blocked.clear()
    a.connected("b", 1, False)
    b.connected("a", 1)
    wire.run(wire.now + 2)
    b.send("a", "later")
    a.send("b", "later")
    wire.run(wire.now + 2)
    assert wire.delivered["b"] == ["a0", "a1", "a2", "a3", "a4", "during", "later"]
    assert wire.delivered["a"] == ["b0", "b1", "b2", "b3", "b4", "later"]
    assert a.pending() == b.pending() == 0


def test_with_proven_identities_a_lower_incarnation_stays_refused() -> None:
    wire = ReliableWire()
    a = wire.ends["a"]
    a.send("b", "one")
    wire.run(1)
    a.connected("b", 99)  # proven: a real restart
    a.connected("b", 1)  # a late connection of the old process changes nothing
    wire.run(2)
    assert wire.restarts == [("b", 99)]
    wire.ends["b"].send("a", "stale")
    wire.run(3)
    assert "stale" not in wire.delivered["a"] and a.stale >= 1


def test_a_fenced_process_stays_fenced_even_unproven() -> None:
    wire = ReliableWire()
    a = wire.ends["a"]
    a.send("b", "one")
    wire.run(1)
    a.forget("b")  # declared crashed: incarnation 1 is fenced
    sent = []
    a._transmit = lambda peer, msg: sent.append(msg)  # type: ignore[method-assign]
    a.connected("b", 1, False)
    assert wire.restarts == [] and type(sent[-1]).__name__ == "LinkFenced"
    assert not any(type(m) is LinkData for m in sent)


def test_a_mutual_detection_ends_on_the_side_that_sees_fewer_processes_alive():
    # A partition both ways: each side declared the other crashed and has nothing more to
    # say to it. Over a reliable transport, each keeps telling the other it is fenced;
    # the side that takes fewer processes for alive ends (here a tie: the lower id wins).
    wire = ReliableWire()
    a, b = wire.ends["a"], wire.ends["b"]
    fenced = {"a": [], "b": []}
    a._on_fenced = fenced["a"].append
    b._on_fenced = fenced["b"].append
    a.send("b", "hello")
    b.send("a", "hello")
    wire.run(1)
    wire.blocked |= {("a", "b"), ("b", "a")}
    a.forget("b")
    b.forget("a")
    wire.run(5)
    assert fenced == {"a": [], "b": []}  # nothing crosses the partition
    wire.blocked.clear()  # it heals: only the notices cross it
    wire.run(10)
    # b is told until it ends (a node ends at the first; these links are left running)
    assert fenced["a"] == [] and set(fenced["b"]) == {"a"}


def test_a_notice_from_a_process_this_one_declared_crashed_counts_what_it_sees():
    wire = ReliableWire()
    a, b = wire.ends["a"], wire.ends["b"]
    ended = []
    a._on_fenced = ended.append
    a.send("b", "hello")
    wire.run(1)
    a.forget("b")
    # b declared a crashed too and sees three processes alive, a only itself: a ends
    a.on_receive("b", LinkFenced(b.incarnation, a.incarnation, 3))
    assert ended == ["b"]
    ended.clear()
    a.on_receive("b", LinkFenced(b.incarnation, a.incarnation, 1))  # a tie: "a" < "b"
    assert ended == []


def test_resends_are_counted_per_peer_and_the_peer_incarnation_is_known():
    wire = Wire(loss=0.5, seed=3)  # a lossy network: the timer resends
    a = wire.ends["a"]
    assert a.peer_incarnation("b") is None
    for i in range(10):
        a.send("b", i)
    wire.run(60)
    assert sorted(wire.delivered["b"]) == list(range(10))
    assert a.resent["b"] > 0 and a.peer_incarnation("b") == 1
    reliable = ReliableWire()
    r = reliable.ends["a"]
    r.send("b", "x")
    reliable.run(1)
    reliable.blocked.add(("a", "b"))
    r.send("b", "lost")
    reliable.run(5)
    assert r.resent == {}  # nothing on a timer over a live connection
    reliable.blocked.clear()
    reliable.reconnect()
    reliable.run(6)
    assert r.resent == {"b": 1} and reliable.delivered["b"] == ["x", "lost"]


def test_a_new_process_learnt_from_its_connection_is_heard_from_then():
    # A detector asks heard_from(peer) right after PeerRestarted: when the new process
    # was learnt from its connection (no message yet), the old process's last message
    # must not stand for it, or a perfect detector takes the new process for silent
    # since then and declares it crashed (seen on real processes: 57 ms after restore).
    w = Wire()
    a = w.ends["a"]
    a.send("b", "x")
    w.run(1.0)
    assert a.heard_from("b") is not None and a.heard_from("b") < 0.1
    w.now = 3.0
    a.connected("b", 2)
    assert w.restarts == [("b", 2)]
    assert a.heard_from("b") == 3.0

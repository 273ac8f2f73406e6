"""A node's counters, readable from Python (:func:`collect`) and by Prometheus.

:func:`enable` attaches a recorder to a node: a trace sink that counts broadcasts and
deliveries per layer, suspicions and restorations per peer, and times the delivery of
this node's own broadcasts; link hooks that count the component messages sent to and
received from each peer; bus subscriptions for crash detections and peer restarts.
:func:`collect` returns all of it with what the node itself keeps (links: unacknowledged
and held messages per peer, duplicates, stale, dropped, fenced; the TCP transport's
counters, connections closed by reason among them; bus dispatches; handler errors; with
signed origins, the messages signed, checked and refused by reason) as one plain dict.
Enable before the node starts to count everything; counters belong to one process
(incarnation) of the node.

With ``prometheus_client`` installed (``pip install 'netweave[metrics]'``),
:class:`NodeCollector` exposes the same as Prometheus metrics (``netweave_..._total``
counters, gauges, a latency histogram in seconds) and :func:`serve` starts an HTTP
endpoint for them in a thread; ``netweave node --metrics HOST:PORT`` does so.

>>> node = Node("n1", peers=["n2"]).use("beb")           # doctest: +SKIP
>>> enable(node)                                           # doctest: +SKIP
>>> collect(node)["deliveries"]                            # doctest: +SKIP
{'beb': 12}
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .events import Crashed, PeerRestarted
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .node import Node

__all__ = ["LATENCY_BUCKETS", "NodeCollector", "Recorder", "collect", "enable", "on_loop", "serve"]

LATENCY_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the delivery latency histogram's buckets (and +Inf)."""

MAX_OPEN = 100_000
"""Own broadcasts remembered while waiting for their local delivery; the oldest beyond
are forgotten (a layer that never delivers them locally must not grow memory)."""


class _Latency:
    """A cumulative histogram with fixed buckets."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.sum = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.sum += seconds

    def as_dict(self) -> dict[str, Any]:
        cumulative, seen = [], 0
        for bound, n in zip((*LATENCY_BUCKETS, float("inf")), self.counts, strict=True):
            seen += n
            cumulative.append([bound, seen])
        return {"buckets": cumulative, "sum": self.sum, "count": seen}


class Recorder:
    """What :func:`enable` attaches to one node: the counts only it can see happen."""

    def __init__(self, node: Node) -> None:
        self.node_id = node.id
        self.broadcasts: Counter[str] = Counter()
        self.deliveries: Counter[str] = Counter()
        self.latency: dict[str, _Latency] = {}
        self.sent: Counter[str] = Counter()
        """Component messages handed to the links for each peer."""
        self.received: Counter[str] = Counter()
        """Component messages the links delivered from each peer (once each)."""
        self.suspicions: Counter[str] = Counter()
        self.restores: Counter[str] = Counter()
        self.crashes: Counter[str] = Counter()
        """Crash detections (a perfect detector's ``Crashed``) per peer."""
        self.restarts: Counter[str] = Counter()
        self.incarnations: dict[str, int] = {}
        """The last incarnation announced by a restart of each peer."""
        self.suspected: set[str] = set()
        self._open: dict[str, float] = {}

    # -- trace sink ---------------------------------------------------------------------

    def __call__(self, record: Mapping[str, Any]) -> None:
        ev = record.get("ev")
        if ev == "deliver":
            layer = record.get("layer", "?")
            self.deliveries[layer] += 1
            began = self._open.pop(record.get("id", ""), None)
            if began is not None:
                hist = self.latency.get(layer)
                if hist is None:
                    hist = self.latency[layer] = _Latency()
                hist.add(max(0.0, record["t"] - began))
        elif ev == "broadcast":
            self.broadcasts[record.get("layer", "?")] += 1
            mid = record.get("id")
            if isinstance(mid, str):
                if len(self._open) >= MAX_OPEN:
                    del self._open[next(iter(self._open))]
                self._open[mid] = record["t"]
        elif ev in ("suspect", "restore") and record.get("layer") == "fd":
            peer = str(record.get("peer"))
            if ev == "suspect":
                self.suspicions[peer] += 1
                self.suspected.add(peer)
            else:
                self.restores[peer] += 1
                self.suspected.discard(peer)

    # -- link hooks and bus -------------------------------------------------------------

    @hookimpl
    def netweave_link_outgoing(self, peer: str, message: Any) -> None:
        self.sent[peer] += 1

    @hookimpl
    def netweave_link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        self.received[peer] += 1

    def on_crashed(self, event: Crashed) -> None:
        self.crashes[event.peer] += 1

    def on_restarted(self, event: PeerRestarted) -> None:
        self.restarts[event.peer] += 1
        self.incarnations[event.peer] = event.incarnation
        self.suspected.discard(event.peer)


_LOCK = threading.Lock()


def _recorder_of(node: Node) -> Recorder | None:
    # The recorder is one of the node's trace sinks, so it lives as long as the node (no
    # registry keyed by nodes: a compiled Node takes no weak reference).
    for sink in node.tracer.sinks:
        if isinstance(sink, Recorder):
            return sink
    return None


def enable(node: Node) -> Recorder:
    """Attach a recorder to ``node`` (once; later calls return the same one).

    Call it before the node starts: what happened before is not counted. It adds a
    trace sink (so the node builds its trace lines even without a trace file), two link
    hooks and two bus subscriptions.
    """
    with _LOCK:
        found = _recorder_of(node)
        if found is not None:
            return found
        recorder = Recorder(node)
        node.tracer.sinks.append(recorder)
    node.register(recorder)
    node.bus.subscribe(Crashed, recorder.on_crashed)
    node.bus.subscribe(PeerRestarted, recorder.on_restarted)
    return recorder


def _peer_incarnation(links: Any, peer: str) -> int | None:
    """The incarnation the links know ``peer`` by (0 or ``None``: not heard yet)."""
    ask = getattr(links, "peer_incarnation", None)
    if callable(ask):
        value = ask(peer)
        return int(value) if value else None
    # Until the links say it themselves: their per-peer state names the session.
    state = getattr(links, "_peers", {}).get(peer)
    inc = getattr(state, "inc", 0) if state is not None else 0
    return int(inc) or None


def collect(node: Node) -> dict[str, Any]:
    """Every counter of ``node`` now, as plain values (see the module's documentation).

    Enables the recorder if it was not (its counts then start now). Call it from the
    thread that runs the node (:func:`serve` does).
    """
    rec = enable(node)
    links = node.links
    now = node._now()
    peers: dict[str, dict[str, Any]] = {}
    for peer in node.peers:
        entry: dict[str, Any] = {
            "sent": rec.sent[peer], "received": rec.received[peer],
            "suspicions": rec.suspicions[peer], "restores": rec.restores[peer],
            "crashes": rec.crashes[peer], "suspected": peer in rec.suspected,
            "restarts": rec.restarts[peer],
            "incarnation": rec.incarnations.get(peer),
        }
        if links is not None:
            entry["unacknowledged"] = links.pending(peer)
            entry["held"] = links.held(peer)
            heard = links.heard_from(peer)
            entry["silent_for"] = None if heard is None else max(0.0, now - heard)
            if entry["incarnation"] is None:
                entry["incarnation"] = _peer_incarnation(links, peer)
            resent = getattr(links, "resent", None)
            if isinstance(resent, Mapping):
                entry["retransmitted"] = int(resent.get(peer, 0))
        peers[peer] = entry
    out: dict[str, Any] = {
        "node": node.id,
        "incarnation": node.incarnation,
        "state": node.state,
        "broadcasts": dict(sorted(rec.broadcasts.items())),
        "deliveries": dict(sorted(rec.deliveries.items())),
        "delivery_latency": {layer: h.as_dict() for layer, h in sorted(rec.latency.items())},
        "peers": peers,
        "bus": {"dispatched": getattr(node.bus, "dispatched", 0)},
        "errors": node.errors,
        "links": None,
        "transport": None,
        "origins": node.origins.stats() if node.origins is not None else None,
    }
    if links is not None:
        out["links"] = {"unacknowledged": links.pending(), "held": links.held(),
                        "duplicates": links.duplicates, "stale": links.stale,
                        "dropped": links.dropped, "fenced": links.fenced,
                        "malformed": links.malformed, "congested": node.congested}
    transport = getattr(getattr(node, "_runtime", None), "transport", None)
    stats = getattr(transport, "stats", None)
    if stats is not None:
        out["transport"] = stats.as_dict()
    return out


# -- Prometheus ---------------------------------------------------------------------------

_TRANSPORT = (
    ("frames_in", "netweave_transport_frames_received_total",
     "Frames received on peer connections."),
    ("frames_out", "netweave_transport_frames_sent_total", "Frames queued to peers."),
    ("bytes_out", "netweave_transport_sent_bytes_total", "Bytes written to peer connections."),
    ("writes", "netweave_transport_writes_total", "Socket writes on peer connections."),
    ("accepted", "netweave_transport_connections_accepted_total",
     "Connections accepted from peers."),
    ("dialed", "netweave_transport_connections_dialed_total", "Connections dialed to peers."),
    ("connect_failures", "netweave_transport_connect_failures_total",
     "Dials that failed."),
    ("established", "netweave_transport_connections_established_total",
     "Connections that completed the handshake."),
    ("dropped", "netweave_transport_frames_dropped_total",
     "Frames dropped while their peer was not connected (the links resend them)."),
    ("discarded", "netweave_transport_frames_discarded_total",
     "Frames that waited for a connection, discarded when it came up (the links resend)."),
    ("bad_payloads", "netweave_transport_bad_payloads_total",
     "Frames whose body could not be decoded."),
)

_LINKS = (
    ("duplicates", "netweave_link_duplicates_total",
     "Data messages received more than once (delivered once)."),
    ("stale", "netweave_link_stale_total", "Messages from or for another incarnation, dropped."),
    ("dropped", "netweave_link_dropped_total",
     "Messages dropped for a peer that is gone (crashed, or silent with a full queue)."),
    ("fenced", "netweave_link_fenced_total",
     "Messages that arrived from a process after it was declared crashed."),
    ("malformed", "netweave_link_malformed_total", "Messages that are not link messages."),
)


_ORIGINS = (
    ("signed", "netweave_origins_signed_total",
     "Messages this node signed as their origin (signed origins)."),
    ("verified", "netweave_origins_verified_total",
     "Origin signatures checked and found good."),
    ("cached", "netweave_origins_verified_copies_total",
     "Messages taken as checked: copies of one whose signature was checked already."),
)


class NodeCollector:
    """A Prometheus collector over :func:`collect`: ``registry.register(NodeCollector(
    lambda: collect(node)))``. ``source`` returns the dict of :func:`collect` (or
    ``None`` when there is no node to report on); it is called at each scrape."""

    def __init__(self, source: Callable[[], Mapping[str, Any] | None]) -> None:
        self.source = source

    def describe(self) -> list[Any]:
        return []  # the families depend on the node (layers, peers): nothing to check ahead

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        data = self.source()
        if data is None:
            return
        node = data["node"]

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Any:
            # prometheus_client appends _total itself; the names here carry it for grep.
            return CounterMetricFamily(name.removesuffix("_total"), doc,
                                       labels=("node", *labels))

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Any:
            return GaugeMetricFamily(name, doc, labels=("node", *labels))

        def counters(table: tuple[tuple[str, str, str], ...],
                     values: Mapping[str, Any]) -> Iterator[Any]:
            for key, name, doc in table:
                c = counter(name, doc)
                c.add_metric([node], values.get(key, 0))
                yield c

        g = gauge("netweave_node_incarnation", "This process's incarnation.")
        g.add_metric([node], data["incarnation"])
        yield g
        g = gauge("netweave_node_running", "1 while the node runs (0: stopped, crashed or "
                  "fenced).")
        g.add_metric([node], 1.0 if data["state"] == "running" else 0.0)
        yield g
        c = counter("netweave_broadcasts_total", "Broadcasts made by this node.", ("layer",))
        for layer, n in data["broadcasts"].items():
            c.add_metric([node, layer], n)
        yield c
        c = counter("netweave_deliveries_total", "Messages delivered to the application.",
                    ("layer",))
        for layer, n in data["deliveries"].items():
            c.add_metric([node, layer], n)
        yield c
        h = HistogramMetricFamily(
            "netweave_delivery_latency_seconds", "From this node's broadcast to its own "
            "delivery of it.", labels=("node", "layer"))
        for layer, hist in data["delivery_latency"].items():
            buckets = [("+Inf" if b == float("inf") else repr(float(b)), n)
                       for b, n in hist["buckets"]]
            h.add_metric([node, layer], buckets, hist["sum"])
        yield h
        per_peer = (
            ("sent", counter, "netweave_link_messages_sent_total",
             "Component messages sent to the peer (each once, however often the links resend)."),
            ("received", counter, "netweave_link_messages_received_total",
             "Component messages delivered from the peer (once each)."),
            ("retransmitted", counter, "netweave_link_messages_retransmitted_total",
             "Messages sent to the peer again."),
            ("unacknowledged", gauge, "netweave_link_unacknowledged_messages",
             "Messages to the peer not acknowledged yet."),
            ("held", gauge, "netweave_link_held_messages",
             "Messages kept for the next process of a peer declared crashed."),
            ("silent_for", gauge, "netweave_peer_silent_seconds",
             "Seconds since anything arrived from the peer's current process."),
            ("suspicions", counter, "netweave_fd_suspicions_total",
             "Times the failure detector suspected (or detected) the peer."),
            ("restores", counter, "netweave_fd_restores_total",
             "Times the failure detector withdrew a suspicion of the peer."),
            ("crashes", counter, "netweave_fd_crashes_detected_total",
             "Crashes of the peer reported by a perfect failure detector."),
            ("suspected", gauge, "netweave_fd_suspected",
             "1 while the failure detector suspects the peer."),
            ("incarnation", gauge, "netweave_peer_incarnation",
             "The incarnation of the peer's current process, as this node knows it."),
            ("restarts", counter, "netweave_peer_restarts_total",
             "New processes (incarnations) of the peer seen."),
        )
        for key, kind, name, doc in per_peer:
            family = kind(name, doc, ("peer",))
            seen = False
            for peer, entry in data["peers"].items():
                value = entry.get(key)
                if value is None:
                    continue
                family.add_metric([node, peer], float(value))
                seen = True
            if seen:
                yield family
        c = counter("netweave_bus_dispatched_total", "Events dispatched by the node's bus.")
        c.add_metric([node], data["bus"]["dispatched"])
        yield c
        c = counter("netweave_handler_errors_total",
                    "Handler exceptions caught and logged.")
        c.add_metric([node], data["errors"])
        yield c
        links = data.get("links")
        if links is not None:
            yield from counters(_LINKS, links)
            g = gauge("netweave_node_congested", "1 while broadcast pushes back.")
            g.add_metric([node], 1.0 if links["congested"] else 0.0)
            yield g
        origins = data.get("origins")
        if origins is not None:
            from .origins import REASONS

            yield from counters(_ORIGINS, origins)
            c = counter("netweave_origins_refused_total",
                        "Messages refused because their origin signature failed, by reason "
                        "(never delivered, never counted as seen).", ("reason",))
            refused = {**dict.fromkeys(REASONS, 0), **origins["dropped"]}
            for reason, n in refused.items():
                c.add_metric([node, reason], n)
            yield c
        transport = data.get("transport")
        if transport is not None:
            yield from counters(_TRANSPORT, transport)
            c = counter("netweave_transport_connections_closed_total",
                        "Connections closed, by reason; a refused frame (too large, "
                        "unauthenticated, from the wrong sender...) closes its connection.",
                        ("reason",))
            for reason, n in transport.get("closed", {}).items():
                c.add_metric([node, reason], n)
            yield c


def serve(address: str, source: Callable[[], Mapping[str, Any] | None]) -> Any:
    """Serve ``source()`` (see :class:`NodeCollector`) at ``http://ADDRESS/metrics`` from a
    thread; returns the server (``.shutdown()`` stops it). ``address`` is
    ``HOST:PORT`` (port 0: any free port; ``server.server_address`` tells which).

    :raises ImportError: without ``prometheus_client``.
    """
    from prometheus_client import CollectorRegistry, start_http_server

    from .transport.tcp import parse_address

    host, port = parse_address(address)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(source))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


def on_loop(loop: Any, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Run ``fn()`` on the asyncio ``loop`` (from another thread) and return its result:
    a node's state is read where it changes."""
    done = threading.Event()
    box: list[Any] = [None, None]

    def call() -> None:
        try:
            box[0] = fn()
        except Exception as exc:  # handed back to the calling thread
            box[1] = exc
        finally:
            done.set()

    loop.call_soon_threadsafe(call)
    began = time.monotonic()
    if not done.wait(timeout):
        raise TimeoutError(f"the node's event loop did not answer within {timeout:g} s "
                           f"({time.monotonic() - began:.1f} s)")
    if box[1] is not None:
        raise box[1]
    return box[0]

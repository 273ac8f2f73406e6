"""The node: a builder for a stack of components, and the handle of the running stack.

Building (``build()``, or implicitly ``start``) resolves and orders the selected plugins
through the registry and instantiates one component per plugin with its own context,
before any socket opens: every configuration mistake surfaces there. A runtime (asyncio
TCP or the simulator) is then attached and the components start in dependency order.

The node is the only place where application calls enter (``broadcast``) and
deliveries leave (callbacks, ``deliveries()`` async iterators, the trace). Both go through
the bus, so a callback fires exactly when the layer indicates delivery, once per message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar, overload

import pluggy

from . import _runtime
from ._hooks import NodeHooks, hookimpl_names
from ._link_types import DEFAULT_LINK_OPTIONS
from ._registry import Catalog, Fill, PluginInfo, Selection, plan
from .bus import Bus
from .errors import BackpressureError, ConfigurationError, FencedError, NodeStateError
from .events import Crashed, Deliver, PeerRestarted, Started, Stopping
from .interfaces import PORTS, Port
from .link import LinkOptions, PerfectLinks
from .message import Message
from .origins import OriginGuard, OriginKeys, OriginMessage
from .plugin import Component
from .trace import Tracer

if TYPE_CHECKING:
    from ._runtime import FrontDoor, LinkFactory, Links, Runtime, TimerHandle
    from .context import RandomSource, TimerId
    from .transport.options import TransportOptions

__all__ = ["BackpressureError", "FencedError", "Node", "NodeStateError"]

log = logging.getLogger("netweave.node")
T = TypeVar("T")
DeliveryCallback = Callable[[Deliver], Any]


MID = "mid"
"""The link metadata key of a traced message's id (``trace_messages``); reserved."""


def _describe(message: object) -> dict[str, Any]:
    """A traced message's kind and the broadcast id it is about, if any: those of the
    innermost message, since an upper layer's message travels as the payload of the
    layer below (a urb relay of ``n1/1/1`` is a beb message of the relaying node)."""
    while isinstance(getattr(message, "payload", None), Message):
        message = message.payload  # type: ignore[attr-defined]
    fields: dict[str, Any] = {"msg": getattr(getattr(message, "__struct_config__", None),
                                             "tag", None) or type(message).__name__}
    mid = getattr(message, "id", None)
    if isinstance(mid, str):
        fields["id"] = mid
    return fields


class _TimerFire:
    """What a runtime calls when a component's timer is due: publishes ``event``, unless
    the timer was cancelled or the node stopped. Its ``event`` says what the timer is
    for (to a runtime that shows or chooses timers, like the explorer)."""

    __slots__ = ("event", "node", "tid")

    def __init__(self, node: Node, tid: int, event: object) -> None:
        self.node = node
        self.tid = tid
        self.event = event

    def __call__(self) -> None:
        self.node._fire(self.tid, self.event)


class _ComponentContext:
    """The :class:`~netweave.context.Context` of one component of one node."""

    __slots__ = ("_app_layer", "_log", "_name", "_node", "members", "node_id", "peers", "send")

    def __init__(self, node: Node, layer: str | None, name: str) -> None:
        self._node = node
        self._app_layer = layer or "?"  # the layer name its deliveries carry
        self._name = name
        self._log: logging.Logger | None = None
        # Plain attributes, not properties: components read them once per message.
        self.node_id = node.id
        self.members = node.members
        self.peers = node.peers
        self.send = node._send

    @property
    def log(self) -> logging.Logger:
        if self._log is None:
            self._log = logging.getLogger(f"netweave.{self._name}.{self._node.id}")
        return self._log

    @property
    def incarnation(self) -> int:
        return self._node.incarnation

    @property
    def rng(self) -> RandomSource:
        return self._node._runtime_or_fail().rng

    def now(self) -> float:
        return self._node._runtime_or_fail().now()

    def heard_from(self, peer: str) -> float | None:
        links = self._node.links
        return links.heard_from(peer) if links is not None else None

    def publish(self, event: object) -> None:
        self._node.bus.publish(event)

    def subscribe(self, key: Hashable, handler: Callable[..., Any]) -> None:
        self._node.bus.subscribe(key, handler)

    def set_timer(self, delay: float, event: object) -> TimerId:
        return self._node._set_timer(delay, event)

    def cancel_timer(self, timer: TimerId) -> None:
        self._node._cancel_timer(timer)

    def new_message_id(self) -> str:
        return self._node._new_message_id()

    def deliver(self, message_id: str, origin: str, payload: Any) -> None:
        if isinstance(payload, Message):
            guard = self._node.origins
            if guard is not None and isinstance(payload, OriginMessage) \
                    and not guard.check(payload):
                return  # not its origin's: the layer above never sees it
            self._node.bus.publish_to(("deliver", type(payload)), (message_id, origin, payload))
        else:
            self._node._app_deliver(self._app_layer, message_id, origin, payload)

    def component(self, abstraction: str) -> Any:
        return self._node.component(abstraction)

    def sign(self, message: Any) -> Any:
        guard = self._node.origins
        return guard.sign(message) if guard is not None else message

    def verify(self, message: Any) -> bool:
        guard = self._node.origins
        return guard is None or not isinstance(message, OriginMessage) or guard.check(message)

    def trace(self, ev: str, **fields: Any) -> None:
        self._node.tracer.emit(ev, **fields)

    def annotate_trace(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self._node.tracer.add_enricher(fn)


class Node:
    """One process of a netweave cluster.

    >>> node = Node("n1", peers=["n2", "n3"]).use("perfect-fd", timeout=2.0).use("urb")

    :param node_id: this node's id, unique in the cluster.
    :param peers: the other members: ids, or a mapping of id to ``"host:port"``.
    :param listen: ``"host:port"`` this node listens on (real runs).
    :param incarnation: this process's incarnation; default: chosen by the runtime so
        that it grows across restarts.
    :param catalog: the installed plugins; default: discovered from entry points.
    :param fill: how to satisfy unselected requirements: ``"implicit"`` (default: only
        plugins marked implicit, like best-effort broadcast), ``"defaults"``, ``"none"``.
    :param trace_messages: also trace a ``send`` line for every component message sent
        to another node and a ``recv`` line where it is delivered (for diagrams).
    :param origin_keys: sign the messages this node originates and check every other
        origin's signature before a layer sees its message (signed origins, see
        :mod:`netweave.origins`); a :class:`netweave.keyring.Keyring` signing for this
        node. Default: no signatures.
    """

    def __init__(
        self,
        node_id: str,
        peers: Iterable[str] | Mapping[str, str] = (),
        *,
        listen: str | None = None,
        cluster: str = "netweave",
        incarnation: int | None = None,
        catalog: Catalog | None = None,
        fill: Fill = "implicit",
        link_options: LinkOptions | None = None,
        strict: bool = False,
        trace_messages: bool = False,
        origin_keys: OriginKeys | None = None,
    ) -> None:
        if not node_id or "/" in node_id:
            raise ConfigurationError(f"invalid node id {node_id!r}: non-empty, without '/'")
        self.id = node_id
        self.addresses: dict[str, str] = dict(peers) if isinstance(peers, Mapping) else {}
        members = sorted({*peers, node_id})
        self.members: tuple[str, ...] = tuple(members)
        self.peers: tuple[str, ...] = tuple(m for m in members if m != node_id)
        self._member_set = frozenset(self.members)
        self.listen = listen
        self.cluster = cluster
        self.incarnation = incarnation or 0
        self.fill: Fill = fill
        self.strict = strict
        self.link_options = link_options or DEFAULT_LINK_OPTIONS
        self.origins: OriginGuard | None = (
            OriginGuard(node_id, cluster, origin_keys) if origin_keys is not None else None)
        """Signed origins: this node's signing and checking, and their counters (``None``
        when the node does not sign origins)."""
        self.trace_messages = trace_messages
        """Whether the trace gets a ``send`` and a ``recv`` line per component message that
        crosses a link (for diagrams; off by default: it is a line per message)."""
        self._mids = 0
        self._catalog = catalog
        self._selections: list[Selection] = []
        self._callbacks: dict[str, list[DeliveryCallback]] = {}
        self._queues: dict[str, list[Any]] = {}  # deliveries() queues: put_nowait(Deliver)
        self._observers: list[object] = []
        self.plan: list[tuple[PluginInfo, Any]] = []
        self.components: list[Component] = []
        self._by_key: dict[str, Component] = {}
        self.bus = Bus(on_error=self._on_handler_error)
        self.hooks = NodeHooks()
        self.tracer = Tracer(node_id, self._now)
        self.links: Links | None = None
        """This incarnation's links (``None`` until a runtime is attached):
        :class:`~netweave.link.PerfectLinks`, or the runtime's own (``make_links``)."""
        self._runtime: Runtime | None = None
        self._timers: dict[int, TimerHandle] = {}
        self._throttled_by: set[Hashable] = set()
        self._next_timer = 0
        self._seq = 0
        self.state = "new"
        self.errors = 0
        """Handler exceptions caught and logged (a component survives a bad message)."""
        self.fenced_by: str | None = None
        """The peer that declared this process crashed, once it learnt it (state
        ``fenced``: see :class:`FencedError`)."""

    # -- building ---------------------------------------------------------------------

    def use(self, plugin: str | type[Component], /, **options: Any) -> Node:
        """Select a plugin (by name, layer, abstraction or class) with its options."""
        if self.state != "new":
            raise NodeStateError(f"node {self.id!r} is already built; use() it before start")
        self._selections.append(Selection(plugin, options))
        return self

    def on_deliver(self, layer: str, callback: DeliveryCallback) -> Node:
        """Call ``callback(delivery)`` each time ``layer`` delivers a message, once each."""
        self._callbacks.setdefault(layer, []).append(callback)
        return self

    def register(self, plugin: object) -> Node:
        """Register an extra pluggy plugin (hook implementations) with this node."""
        self._observers.append(plugin)
        if self.state != "new":
            self.hooks.register(plugin)
        return self

    @property
    def pm(self) -> pluggy.PluginManager:
        """This node's own pluggy plugin manager (hooks: ``netweave.hookspecs``)."""
        return self.hooks.pm

    @property
    def catalog(self) -> Catalog:
        """The installed plugins this node chooses from."""
        if self._catalog is None:
            self._catalog = Catalog.discover()
        return self._catalog

    def build(self) -> Node:
        """Resolve, validate and order the plugins and create the components. No I/O.

        :raises netweave.errors.PluginError: on any configuration problem.
        """
        if self.state != "new":
            return self
        if not self._selections:
            raise ConfigurationError(f"node {self.id!r} uses no plugin; add one with .use(...)")
        self.plan = plan(self.catalog, self._selections, fill=self.fill)
        for info, options in self.plan:
            ctx = _ComponentContext(self, info.cls.layer, info.name)
            component = info.cls(ctx, options)
            self.components.append(component)
            for key in (info.name, *info.provides, info.cls.layer):
                if key:
                    self._by_key.setdefault(key, component)
            hooks = hookimpl_names(info.cls)
            if hooks:
                # Register only the hook methods: pluggy inspects every attribute otherwise.
                proxy = SimpleNamespace(**{h: getattr(component, h) for h in hooks})
                self.hooks.register(proxy, name=f"component:{info.name}")
        for obs in self._observers:
            self.hooks.register(obs)
        for info, _ in self.plan:
            for name in info.provides:
                port = PORTS.get(name)
                missing = [r for r in port.requests if not callable(
                    getattr(info.cls, r, None)) or getattr(info.cls, r) is getattr(
                        Component, r, None)] if port is not None else []
                if missing:
                    raise ConfigurationError(
                        f"plugin {info.name!r} provides {name!r} but has no "
                        f"{', '.join(m + '()' for m in missing)}: the requests of that "
                        "abstraction (see netweave.interfaces)")
        known = set(self._by_key)
        for layer in self._callbacks:
            if layer not in known:
                raise ConfigurationError(
                    f"on_deliver({layer!r}): no selected plugin has that layer; "
                    f"layers here: {', '.join(self.layers) or 'none'}")
        self.state = "built"
        self.hooks.node_built(self)
        return self

    @property
    def layers(self) -> list[str]:
        """Short layer names of the selected broadcast components, in start order."""
        return [c.layer for c in self.components if c.layer]

    @overload  # a Port is a str: the first overload wins for ports, on purpose
    def component(self, key: Port[T]) -> T: ...  # type: ignore[overload-overlap]

    @overload
    def component(self, key: str) -> Component: ...

    def component(self, key: str) -> Any:
        """The component selected under a plugin name, abstraction or layer name (typed
        with the abstraction's interface when ``key`` is a
        :class:`~netweave.interfaces.Port`)."""
        found = self._by_key.get(key)
        if found is None:
            raise ConfigurationError(f"node {self.id!r} has no component for {key!r}")
        return found

    # -- running (called by runtimes) -------------------------------------------------

    def attach(self, runtime: Runtime, *, incarnation: int | None = None) -> None:
        """Bind the built node to a runtime. Called by the runtimes, not by users."""
        self.build()
        if incarnation is not None:
            self.incarnation = incarnation
        if self.incarnation <= 0:
            raise ConfigurationError(f"node {self.id!r}: incarnation must be positive")
        self._runtime = runtime
        self.tracer.clock = runtime.now
        make: LinkFactory | None = getattr(runtime, "make_links", None)
        links: Links
        if make is not None:
            links = make(self.id, self.incarnation, deliver=self._link_deliver,
                         on_peer_restart=self._peer_restarted, on_fenced=self._fenced,
                         options=self.link_options)
        else:
            links = PerfectLinks(
                self.id, self.incarnation, transmit=runtime.transmit,
                deliver=self._link_deliver, now=runtime.now, call_later=runtime.call_later,
                call_soon=getattr(runtime, "call_soon", None),
                on_peer_restart=self._peer_restarted, on_fenced=self._fenced,
                options=self.link_options, reliable=bool(getattr(runtime, "reliable", False)),
            )
        self.links = links
        links.hold_acks(bool(self._throttled_by))

    def _peer_restarted(self, peer: str, incarnation: int) -> None:
        self.bus.publish(PeerRestarted(peer, incarnation))

    def start_components(self) -> None:
        """Start every component in dependency order. Called by the runtimes."""
        if self.state != "built" or self._runtime is None:
            raise NodeStateError(f"node {self.id!r} cannot start from state {self.state!r}")
        self.state = "running"
        # Which plugin ran each layer: tells checkers which specification applies.
        self.tracer.emit("start", incarnation=self.incarnation,
                         layers={c.layer: c.name for c in self.components if c.layer})
        self.bus.subscribe(Crashed, self._on_crashed)
        for component in self.components:
            component.subscribe_handlers()
        assert self.links is not None
        self.links.greet(self.peers)
        for component in self.components:
            self.bus.call_soon(component.start)
        self.bus.publish(Started())
        self.hooks.node_started(self)

    def stop_components(self) -> None:
        """Stop components in reverse order and write ``stop``. Called by the runtimes."""
        if self.state != "running":
            return
        self.bus.publish(Stopping())
        for component in reversed(self.components):
            self.bus.call_soon(component.stop)
        self.state = "stopped"
        self._cancel_all_timers()
        self.tracer.emit("stop")
        self.hooks.node_stopped(self)

    def halt(self) -> None:
        """Stop at once without stopping components (a crash, as seen from inside)."""
        self.state = "crashed"
        self._cancel_all_timers()

    def _fenced(self, by: str) -> None:
        """A peer declared this process crashed: end it as a crash (trace: ``crash`` with
        ``reason: fenced``) and let the runtime decide what comes next."""
        if self.state != "running":
            return
        self.fenced_by = by
        self.tracer.emit("crash", reason="fenced", by=by)
        self.halt()
        self.state = "fenced"
        on_fenced = getattr(self._runtime, "fenced", None)
        if on_fenced is not None:
            on_fenced()

    def receive(self, sender: str, message: Message) -> None:
        """A link message arrived from ``sender`` (already authenticated by the transport)."""
        if self.state == "running" and self.links is not None:
            self.links.on_receive(sender, message)

    def connected(self, peer: str, incarnation: int, proven: bool = True) -> None:
        """A new connection to ``peer`` is up (reliable transports): the links resend.

        ``proven``: whether the transport proves which node a connection is (a keyring,
        mutual TLS); where it does not, a lower incarnation than the one known is taken as
        the peer's process (the higher one may have been another member's claim)."""
        if self.state == "running" and self.links is not None:
            self.links.connected(peer, incarnation, proven)

    # -- real runs (asyncio + TCP; see netweave.runtime.asyncio) -----------------------

    async def start(self, *, transport: TransportOptions | None = None,
                    state_dir: str | os.PathLike[str] | None = None) -> None:
        """Listen, start the components and connect to the peers over TCP.

        :param transport: limits, timeouts and security; default: open, loopback-friendly.
        :param state_dir: where to keep the incarnation counter; default: wall-clock ms.
        """
        await self._front().start_node(self, transport=transport, state_dir=state_dir)

    async def stop(self) -> None:
        """Stop the components (the trace gets ``stop``) and close every connection."""
        await self._front().stop_node(self)

    async def __aenter__(self) -> Node:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def run(self, main: Callable[[Node], Awaitable[Any]] | None = None, **options: Any) -> None:
        """Blocking: start, run ``await main(node)`` or serve until SIGINT/SIGTERM, stop."""
        self._front().run_node(self, main, **options)  # type: ignore[arg-type]

    def _front(self) -> FrontDoor:
        # The runtime behind start, stop, run, deliveries and broadcast_when_ready: the
        # netweave package installs the asyncio runtime (the kernel imports no runtime).
        return _runtime.front_door()

    # -- application API --------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the node has started and not stopped or crashed."""
        return self.state == "running"

    def broadcast(self, layer: str, payload: Any) -> str:
        """Ask ``layer`` to broadcast ``payload``; returns the message id.

        :raises NodeStateError: if the node is not running.
        :raises BackpressureError: if the links are congested (see ``congested``).
        """
        if self.state != "running":
            if self.state == "fenced":
                raise FencedError(
                    f"node {self.id!r} incarnation {self.incarnation} was declared crashed by "
                    f"{self.fenced_by} and is fenced: nothing it broadcasts would be accepted; "
                    "start a new incarnation")
            raise NodeStateError(f"node {self.id!r} is {self.state}; start it before broadcast")
        component = self._by_key.get(layer)
        if component is None or component.layer is None:
            raise ConfigurationError(
                f"node {self.id!r} has no broadcast layer {layer!r}; "
                f"its layers: {', '.join(self.layers) or 'none'}")
        if self.congested:
            raise BackpressureError(
                f"node {self.id!r}: {self._congestion()}; retry later, or await "
                "broadcast_when_ready(...)")
        mid = self._new_message_id()
        tracer = self.tracer
        if tracer.sinks:  # hot path: one dict per line, none when nothing records
            tracer.write({"t": tracer.stamp(), "node": tracer.node, "ev": "broadcast",
                          "layer": component.layer, "id": mid, "origin": self.id})
        self.bus.call_soon(component.broadcast, mid, payload)
        return mid

    @property
    def congested(self) -> bool:
        """Whether ``broadcast`` would push back: some live peer has ``high_water``
        messages unacknowledged or, over TCP, has left one unacknowledged for more than
        ``max_delay``; or this node's own consumer is behind (:meth:`throttle_senders`)."""
        links = self.links
        return links is not None and (links.holding_acks or links.congested())

    def _congestion(self) -> str:
        links = self.links
        if links is not None and links.holding_acks:
            return "its application is behind on deliveries (throttle_senders)"
        why = links.congestion() if links is not None else ""
        return f"links congested: {why or 'a live peer is behind'}"

    def broadcast_when_ready(self, layer: str, payload: Any,
                             timeout: float | None = None) -> Awaitable[str]:
        """Wait while the node is congested, then broadcast (asyncio); the message id.

        :raises TimeoutError: if still congested after ``timeout`` seconds.
        """
        return self._front().broadcast_when_ready(self, layer, payload, timeout)

    def metrics(self) -> dict[str, Any]:
        """Every counter of this node now, as plain values: broadcasts and deliveries per
        layer, link messages per peer, suspicions and crashes, transport counters...
        (:func:`netweave.metrics.collect`, where each is described).

        The first call starts the recorder of the counts only it can see happen (what a
        layer broadcast and delivered, what the links sent and received): call
        :func:`netweave.metrics.enable` before :meth:`start` to count from the start.
        """
        from .metrics import collect

        return collect(self)

    def throttle_senders(self, on: bool, *, key: Hashable = "application") -> None:
        """Say that the application cannot take more deliveries now (``True``) or can again.

        While on, this node withholds its link acknowledgements, so every sender's queue to
        it fills until its ``broadcast`` pushes back; this node's own ``broadcast`` pushes
        back too. Deliveries already on their way still arrive. ``deliveries()`` iterators
        and ``netweave node``'s output turn it on and off by themselves, each under its own
        ``key``: the node stays throttled while any key holds it.
        """
        if on:
            self._throttled_by.add(key)
        else:
            self._throttled_by.discard(key)
        if self.links is not None:
            self.links.hold_acks(bool(self._throttled_by))

    def deliveries(self, layer: str, *, limit: int = 10_000) -> AsyncIterator[Deliver]:
        """Iterate over the deliveries of ``layer`` from now on (asyncio).

        When ``limit`` deliveries wait unread, the node throttles its senders
        (:meth:`throttle_senders`) until half of them are read: a slow consumer slows the
        cluster down instead of filling memory.
        """
        return self._front().deliveries(self, self._queues, layer, limit)

    # -- internals used by contexts ---------------------------------------------------

    def _runtime_or_fail(self) -> Runtime:
        if self._runtime is None:
            raise NodeStateError(f"node {self.id!r} has no runtime yet; start it first")
        return self._runtime

    def _now(self) -> float:
        return self._runtime.now() if self._runtime is not None else 0.0

    def _new_message_id(self) -> str:
        self._seq += 1
        return f"{self.id}/{self.incarnation}/{self._seq}"

    def _send(self, peer: str, message: Any) -> None:
        if self.state != "running":
            return
        if peer == self.id:
            self.bus.publish_message(peer, message)
            return
        if peer not in self._member_set and peer not in self.addresses:
            raise ConfigurationError(f"node {self.id!r}: {peer!r} is not a cluster member")
        assert self.links is not None
        meta = self.hooks.link_outgoing(peer, message) if self.hooks.has_link_meta else None
        if self.trace_messages and self.tracer.sinks:
            self._mids += 1
            mid = f"{self.id}/{self.incarnation}/m{self._mids}"
            meta = {**(meta or {}), MID: mid}
            self.tracer.emit("send", to=peer, mid=mid, **_describe(message))
        self.links.send(peer, message, meta)

    def _link_deliver(self, sender: str, body: Any, meta: dict[str, Any] | None) -> None:
        origins = self.origins
        if origins is not None and isinstance(body, OriginMessage) and not origins.check(body):
            return  # a relay sent to this node alone, not signed by its origin
        if self.hooks.has_link_meta:
            self.hooks.link_incoming(sender, body, meta or {})
        if meta and self.trace_messages and self.tracer.sinks:
            mid = meta.get(MID)
            if isinstance(mid, str):
                self.tracer.emit("recv", mid=mid, **{"from": sender}, **_describe(body))
        self.bus.publish_message(sender, body)

    def _on_crashed(self, event: Crashed) -> None:
        if self.links is not None:
            self.links.forget(event.peer)

    def _app_deliver(self, layer: str, mid: str, origin: str, payload: Any) -> None:
        tracer = self.tracer
        if tracer.sinks:  # hot path: one dict per line, none when nothing records
            tracer.write({"t": tracer.stamp(), "node": tracer.node, "ev": "deliver",
                          "layer": layer, "id": mid, "origin": origin})
        callbacks = self._callbacks.get(layer)
        queues = self._queues.get(layer)
        observed = self.bus.has_subscribers(Deliver)
        if not (callbacks or queues or observed):
            return
        delivery = Deliver(layer, mid, origin, payload)
        if observed:
            self.bus.publish(delivery)
        for callback in callbacks or ():
            callback(delivery)
        for queue in queues or ():
            queue.put_nowait(delivery)

    def _set_timer(self, delay: float, event: object) -> int:
        runtime = self._runtime_or_fail()
        self._next_timer += 1
        tid = self._next_timer

        self._timers[tid] = runtime.call_later(delay, _TimerFire(self, tid, event))
        return tid

    def _fire(self, tid: int, event: object) -> None:
        if self._timers.pop(tid, None) is not None and self.state == "running":
            self.bus.publish(event)

    def _cancel_timer(self, timer: int) -> None:
        handle = self._timers.pop(timer, None)
        if handle is not None:
            handle.cancel()

    def _cancel_all_timers(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _on_handler_error(self, exc: BaseException, key: Hashable, args: tuple[Any, ...]) -> None:
        self.errors += 1
        if self.strict or os.environ.get("NETWEAVE_STRICT"):
            raise exc
        log.error("node %s: handler failed on %r: %r", self.id, key, exc, exc_info=exc)

    def __repr__(self) -> str:
        return f"<Node {self.id!r} {self.state} inc={self.incarnation}>"



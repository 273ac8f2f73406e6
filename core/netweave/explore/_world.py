"""The stepping world: a cluster whose every next step is a choice made from outside.

Theory of operation. A :class:`World` builds one :class:`~netweave.Node` per member with
the component under test, the layers it needs, and a *modelled* failure detector (the
detector is a choice of the explorer, not a protocol of heartbeats). Each node runs on a
:class:`_StepRuntime`: nothing happens by itself. What may happen next is a list of
:class:`Choice` values: a node broadcasts, a message in flight is delivered, a node's
earliest timer fires, a node crashes or restarts, a detector reports a crash (or, for an
eventually perfect one, suspects and restores), a message of a crashed sender is lost.
:meth:`World.step` takes one and runs the nodes to completion.

The network is data. Perfect links are given by their semantics, not by a protocol: a
message sent to a peer is *in flight* (a :class:`Packet`) until a ``deliver`` choice hands
it to the receiver, in any order (``ordered=True``: in send order per directed link). It
is never lost while its sender lives; once its sender has crashed it may be lost (a
``lose`` choice, within the scope's loss budget), as perfect links promise nothing for
it. A message to a crashed process waits for its next incarnation, as the links resend
what a peer never acknowledged once it comes back. A restarted process greets its peers
(a ``hello`` in flight), which tells each of them it restarted
(:class:`~netweave.PeerRestarted`), as the links' first message of a new process does.

Time is virtual, in whole microseconds: each step takes a millisecond, and a timer's
firing moves the clock to its due time if that is later (a node's timers fire in due
order), so the trace's times order its lines and what a component computes from ``now()``
stays meaningful; counted in integers, two runs that reach one state by different paths
see the same times in it, where sums of float steps could differ in their last bit.
The state of the whole world is the components' state, the messages in flight, the
timers (in a scope where timers may fire: else they cannot change what happens next),
the budgets and each process's deliveries so far; :meth:`World.digest` hashes
its canonical form (:mod:`netweave.explore._digest`) and :meth:`World.copy` snapshots it.
"""

from __future__ import annotations

import copy
import io
import itertools
import pickle
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MethodType
from typing import Any

import attrs

from .._registry import Catalog
from .._vtime import US, delay_us
from ..errors import ConfigurationError
from ..node import Node
from ..node import _describe as describe_message
from ..plugin import Component
from ..trace import ListSink
from ._detectors import DETECTORS
from ._digest import (
    Renaming,
    Texts,
    Undigestable,
    canonical,
    digest_text,
    rename_ids,
    shared_object,
)
from ._sleep import KINDS, MAX_NODES, token

__all__ = ["Choice", "Packet", "Scope", "World"]

QUANTUM_US = 1000
"""The virtual time one step takes (microseconds)."""
SYMMETRIC_MEMORY = 1 << 20
"""Symmetric digests remembered by exact digest (forgotten all at once beyond)."""


@attrs.frozen
class Scope:
    """The bounds of an exploration: which runs exist at all."""

    nodes: int = attrs.field(default=3)
    """Cluster size (ids ``n1``..``nN``)."""
    messages: int = 2
    """Broadcasts in a run, from any node."""
    crashes: int = 1
    """Crashes in a run (a restart's crash counts too)."""
    restarts: int = 0
    """Restarts of a crashed node in a run."""
    losses: int | None = None
    """Messages of crashed senders that may be lost (default: one per crash)."""
    fd: str = attrs.field(default="perfect")
    """The detector modelled: ``perfect`` (reports a crash some time after it happened,
    never before) or ``eventual`` (may also suspect a live process, then restore it)."""
    suspicions: int = 1
    """Wrong suspicions in a run (``eventual`` only)."""
    timers: int = 0
    """Timer firings per node incarnation. Default none: the standard layers need no
    timer to be correct (lazy-rb's reports only free memory), and every firing multiplies
    the runs; a component whose guarantees rest on a timer needs one or more."""
    ordered: bool = False
    """Deliver in send order per directed link (default: any order, as the links may)."""

    @nodes.validator
    def _check_nodes(self, _: object, value: int) -> None:
        if value < 1:
            raise ConfigurationError(f"--nodes must be at least 1, not {value}")

    @fd.validator
    def _check_fd(self, _: object, value: str) -> None:
        if value not in DETECTORS:
            raise ConfigurationError(f"--fd {value!r}: choose one of {', '.join(DETECTORS)}")

    def __attrs_post_init__(self) -> None:
        for name in ("messages", "crashes", "restarts", "suspicions", "timers"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"--{name} must be >= 0, not {getattr(self, name)}")
        if self.losses is not None and self.losses < 0:
            raise ConfigurationError(f"--losses must be >= 0, not {self.losses}")

    @property
    def loss_budget(self) -> int:
        """Messages that may be lost in a run."""
        return self.crashes if self.losses is None else self.losses

    @property
    def ids(self) -> list[str]:
        """The node ids."""
        return [f"n{i}" for i in range(1, self.nodes + 1)]


@attrs.frozen
class Choice:
    """One thing that may happen next."""

    kind: str
    """One of ``KINDS``."""
    node: str
    """The node it happens at (the broadcaster, receiver, timer owner, crashed node, or
    the node whose detector reports)."""
    peer: str = ""
    """``deliver``/``lose``: the sender; ``detect``/``suspect``/``restore``: the peer."""
    ref: int = 0
    """``deliver``/``lose``: the message's number; ``timer``: the timer's number;
    ``broadcast``: the broadcast's number."""
    label: str = attrs.field(default="", eq=False)
    """What the message or timer is (for people; not part of the choice's identity)."""

    def __str__(self) -> str:
        what = f" ({self.label})" if self.label else ""
        if self.kind == "broadcast":
            return f"{self.node} broadcasts b{self.ref}"
        if self.kind == "deliver":
            return f"{self.node} receives #{self.ref} from {self.peer}{what}"
        if self.kind == "lose":
            return f"#{self.ref} from {self.peer} to {self.node} is lost{what}"
        if self.kind == "timer":
            return f"{self.node}: timer {self.ref} fires{what}"
        if self.kind in ("detect", "suspect", "restore"):
            verb = {"detect": "detects", "suspect": "suspects", "restore": "restores"}
            return f"{self.node} {verb[self.kind]} {self.peer}"
        return f"{self.node} {self.kind}es" if self.kind == "crash" else f"{self.node} restarts"

    def as_dict(self) -> dict[str, Any]:
        """The form a counterexample file stores."""
        out: dict[str, Any] = {"kind": self.kind, "node": self.node}
        if self.peer:
            out["peer"] = self.peer
        if self.ref:
            out["ref"] = self.ref
        if self.label:
            out["label"] = self.label
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Choice:
        """Read :meth:`as_dict`'s form back."""
        try:
            kind, node = str(data["kind"]), str(data["node"])
        except KeyError as exc:
            raise ConfigurationError(f"a choice needs {exc.args[0]!r}: {dict(data)!r}") from None
        if kind not in KINDS:
            raise ConfigurationError(f"unknown choice kind {kind!r}: one of {', '.join(KINDS)}")
        return cls(kind, node, str(data.get("peer", "")), int(data.get("ref", 0)),
                   str(data.get("label", "")))


@attrs.define
class Packet:
    """A message in flight from ``src`` to ``dst``."""

    ref: int
    src: str
    src_inc: int
    dst: str
    body: Any
    meta: dict[str, Any] | None = None
    hello: bool = False
    """A restarted process's greeting (no body): tells ``dst`` of the new incarnation."""
    texts: dict[tuple[str, ...] | None, str] = attrs.field(factory=dict, eq=False, repr=False)
    """The body's canonical text under each renaming computed so far (a packet never
    changes while in flight, and snapshots share it)."""
    links: dict[tuple[str, ...] | None, str] = attrs.field(factory=dict, eq=False, repr=False)
    """The same for :meth:`link`."""

    def link(self, key: tuple[str, ...] | None, rename: Mapping[str, str] | None) -> str:
        """The directed link it is on, ``src#inc>dst``, under ``rename``."""
        text = self.links.get(key)
        if text is None:
            text = self.links[key] = (f"{_rename(self.src, rename)}#{self.src_inc}>"
                                      f"{_rename(self.dst, rename)}")
        return text

    def text(self, key: tuple[str, ...] | None, shared: Mapping[int, str],
             rename: Mapping[str, str] | None) -> str:
        """The body's canonical text under ``rename`` (``key`` names the renaming)."""
        text = self.texts.get(key)
        if text is None:
            text = "hello" if self.hello else canonical(self.body, shared, rename)
            self.texts[key] = text
        return text


def _describe(body: Any) -> str:
    """The message's kind and the broadcast id it is about, as the trace's send lines say."""
    fields = describe_message(body)
    return f"{fields['msg']} {fields['id']}" if "id" in fields else str(fields["msg"])


class _Timer:
    __slots__ = ("cancelled", "due", "fn", "ref")

    def __init__(self, ref: int, due: int, fn: Callable[[], Any]) -> None:
        self.ref = ref
        self.due = due
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _StepRuntime:
    """The runtime of one node incarnation in a :class:`World`: nothing runs by itself."""

    reliable = True  # the modelled links lose nothing of a live sender

    def __init__(self, world: World, node_id: str, incarnation: int) -> None:
        self.world = world
        self.node_id = node_id
        self.rng = random.Random(f"{node_id}/{incarnation}")
        self.fired = 0

    def now(self) -> float:
        return self.world.now_us / US

    def call_later(self, delay: float, fn: Callable[[], Any]) -> _Timer:
        world = self.world
        world.timer_count += 1
        timer = _Timer(world.timer_count, world.now_us + delay_us(delay), fn)
        world.timers[self.node_id].append(timer)
        return timer

    def call_soon(self, fn: Callable[[], Any]) -> None:
        self.world.soon.append(fn)

    def transmit(self, peer: str, message: Any) -> None:  # pragma: no cover - links modelled
        raise AssertionError("the modelled links send no protocol message")

    def make_links(self, node_id: str, incarnation: int, *,
                   deliver: Callable[[str, Any, dict[str, Any] | None], None],
                   on_peer_restart: Callable[[str, int], None],
                   on_fenced: Callable[[str], None], options: Any) -> _ModelledLinks:
        return _ModelledLinks(self.world, node_id, incarnation, deliver, on_peer_restart)

    def fenced(self) -> None:  # pragma: no cover - nobody fences in a modelled world
        pass


class _ModelledLinks:
    """A node's links, given by the world's network (no protocol): what is sent is in
    flight until a ``deliver`` choice; what arrives from a peer's new process tells of its
    restart, as :class:`~netweave.link.PerfectLinks` does."""

    holding_acks = False
    duplicates = stale = dropped = fenced = malformed = 0

    def __init__(self, world: World, node_id: str, incarnation: int,
                 deliver: Callable[[str, Any, dict[str, Any] | None], None],
                 on_peer_restart: Callable[[str, int], None]) -> None:
        self.world = world
        self.node_id = node_id
        self.incarnation = incarnation
        self.deliver = deliver
        self.on_peer_restart = on_peer_restart
        self.incarnations: dict[str, int] = {}
        self.heard: dict[str, float] = {}
        self.forgotten: dict[str, int] = {}
        """Peers declared crashed, with the incarnation that crashed."""

    def send(self, peer: str, body: Any, meta: dict[str, Any] | None = None) -> None:
        self.world._enqueue(self.node_id, self.incarnation, peer, body, meta)

    def receive(self, packet: Packet) -> None:
        known = self.incarnations.get(packet.src, 0)
        if packet.src_inc < known:
            return  # from a process the peer no longer is: the links drop it as stale
        self.heard[packet.src] = self.world.now_us / US
        if packet.src_inc > known:
            self.incarnations[packet.src] = packet.src_inc
            # A new process of the peer: one above what spoke before, or above the process
            # declared crashed (known here even if it never spoke: the abstraction's
            # semantics, which a message of the crashed process arriving late must not
            # pass for a restart).
            if known or packet.src_inc > self.forgotten.get(packet.src, packet.src_inc):
                self.on_peer_restart(packet.src, packet.src_inc)
        if not packet.hello:
            self.deliver(packet.src, packet.body, packet.meta)

    def on_receive(self, peer: str, msg: Any) -> None:  # pragma: no cover - see receive
        raise AssertionError("the modelled links receive packets, not protocol messages")

    def forget(self, peer: str) -> None:
        self.forgotten[peer] = self.world.incarnations[peer]

    def heard_from(self, peer: str) -> float | None:
        return self.heard.get(peer)

    def peer_incarnation(self, peer: str) -> int | None:
        return self.incarnations.get(peer)

    def greet(self, peers: Iterable[str]) -> None:
        pass

    def hold_acks(self, hold: bool) -> None:
        pass

    def congested(self, ignore: frozenset[str] = frozenset()) -> bool:
        return False

    def congestion(self) -> str:
        return ""

    def pending(self, peer: str | None = None) -> int:
        return 0

    def held(self, peer: str | None = None) -> int:
        return 0

    def connected(self, peer: str, incarnation: int, proven: bool = True) -> None:
        pass


def _no_detector(uses: Sequence[tuple[str | type[Component], Mapping[str, Any]]],
                 catalog: Catalog) -> None:
    for plugin, _ in uses:
        cls = plugin if isinstance(plugin, type) else getattr(
            catalog.plugins.get(plugin), "cls", None)
        if cls is not None and "failure-detector" in cls.provides:
            raise ConfigurationError(
                f"explore models the failure detector itself; leave {cls.name!r} out and "
                "choose the kind with --fd perfect or --fd eventual")


def _with_detector(installed: Catalog, detector: type[Component]) -> Catalog:
    catalog = Catalog({name: info for name, info in installed.plugins.items()
                       if "failure-detector" not in info.provides})
    catalog.add(detector, distribution="netweave (explore)")
    return catalog


class World:
    """A cluster stepped by choices (see the module documentation).

    :param plugin: the component under test (a name or a class) and its options.
    :param uses: more plugins to select (name or class, options), e.g. a lower layer.
    :param scope: the bounds of the runs.
    :param layer: the layer whose broadcasts the workload makes (default: the plugin's).
    """

    def __init__(self, plugin: str | type[Component], scope: Scope, *,
                 options: Mapping[str, Any] | None = None,
                 uses: Sequence[tuple[str | type[Component], Mapping[str, Any]]] = (),
                 catalog: Catalog | None = None, layer: str | None = None) -> None:
        self.scope = scope
        classes = [p for p, _ in [(plugin, {}), *uses] if isinstance(p, type)]
        self.installed = catalog or Catalog.discover(extra=classes)
        """The plugins as installed (their specifications judge the runs)."""
        _no_detector([(plugin, {}), *uses], self.installed)
        self.catalog = _with_detector(self.installed, DETECTORS[scope.fd])
        """The same, the detectors replaced by the one modelled."""
        self.selection: list[tuple[str | type[Component], Mapping[str, Any]]] = [
            (DETECTORS[scope.fd], {}), (plugin, dict(options or {})), *uses]
        self.ids = scope.ids
        self._index = {n: i for i, n in enumerate(self.ids, 1)}
        self.sink = ListSink()
        self.nodes: dict[str, Node] = {}
        self.alive: dict[str, bool] = {}
        self.runtimes: dict[str, _StepRuntime] = {}
        self.incarnations = dict.fromkeys(self.ids, 0)
        self.now_us = 0
        """Virtual time in microseconds: a step takes ``QUANTUM_US``; a timer's firing
        moves it to the timer's due time if that is later."""
        self.timers: dict[str, list[_Timer]] = {n: [] for n in self.ids}
        self.timer_count = 0
        self.soon: list[Callable[[], Any]] = []
        self.flight: dict[int, Packet] = {}
        self.packet_count = 0
        self.broadcasts = self.crashes = self.restarts = self.losses = self.suspicions = 0
        self.depth = 0
        self._clean: dict[str, _Part] = {}
        """The saved part each node is still equal to (no step touched it since)."""
        self._texts: dict[str, dict[tuple[str, ...] | None, str]] = {}
        """Canonical texts of the nodes not clean, computed since the last step, by
        renaming (see :meth:`_text`)."""
        self.deliveries: dict[str, list[str]] = {}
        """Each process's deliveries so far (``node#inc`` -> ``layer:id``), in order."""
        self._renamings: dict[tuple[str, ...], Renaming] = {}
        """The renamings tried so far (symmetry), each with the strings it renamed."""
        self._component_texts = Texts()
        """Canonical texts of the component states met so far."""
        self._symmetric: dict[str, str] = {}
        """Symmetric digests by the digest of the state under its own names."""
        self._objects_of: tuple[tuple[Node, ...], dict[int, str], dict[int, Any]] | None = None
        for node_id in self.ids:
            self._start(node_id)
        first = self.nodes[self.ids[0]]
        self.layer = layer or self._layer_of(plugin, first)
        self._check_digestible()

    # -- building ---------------------------------------------------------------------

    def _layer_of(self, plugin: str | type[Component], node: Node) -> str:
        key = plugin.name if isinstance(plugin, type) else plugin
        component = node.component(key)
        if not component.layer:
            raise ConfigurationError(
                f"{component.name!r} has no layer: explore broadcasts through a layer; "
                "give the broadcast layer's plugin (and this one with --use)")
        return component.layer

    def _start(self, node_id: str) -> None:
        self.incarnations[node_id] += 1
        inc = self.incarnations[node_id]
        node = Node(node_id, peers=self.ids, catalog=self.catalog, incarnation=inc,
                    strict=True, fill="defaults")
        for plugin, options in self.selection:
            node.use(plugin, **options)
        node.build()
        node.tracer.sinks.append(self._record)
        runtime = _StepRuntime(self, node_id, inc)
        node.attach(runtime)
        self.nodes[node_id] = node
        self.runtimes[node_id] = runtime
        self.alive[node_id] = True
        self.timers[node_id] = []
        self.deliveries[f"{node_id}#{inc}"] = []
        node.start_components()
        self._settle()

    def _record(self, line: dict[str, Any]) -> None:
        self.sink.records.append(line)
        if line.get("ev") == "deliver":
            node = line["node"]
            key = f"{node}#{self.incarnations[node]}"
            self.deliveries[key].append(f"{line.get('layer')}:{line.get('id')}")

    def _check_digestible(self) -> None:
        try:
            self.digest()
        except Undigestable as exc:
            raise ConfigurationError(f"explore cannot hash this state: {exc}") from None

    # -- the network ------------------------------------------------------------------

    def _enqueue(self, src: str, src_inc: int, dst: str, body: Any,
                 meta: dict[str, Any] | None, hello: bool = False) -> None:
        if not self.alive.get(src) or self.incarnations[src] != src_inc:
            return
        self.packet_count += 1
        self.flight[self.packet_count] = Packet(self.packet_count, src, src_inc, dst, body,
                                                meta, hello)

    def _deliverable(self) -> Iterator[Packet]:
        seen: set[tuple[str, str]] = set()
        for packet in self.flight.values():
            if not self.alive[packet.dst]:
                continue
            if self.scope.ordered:
                link = (packet.src, packet.dst)
                if link in seen:
                    continue
                seen.add(link)
            yield packet

    # -- choices ----------------------------------------------------------------------

    def choices(self) -> list[Choice]:
        """Everything that may happen next, in a fixed order."""
        out: list[Choice] = []
        scope = self.scope
        alive = [n for n in self.ids if self.alive[n]]
        for packet in self._deliverable():
            label = "hello" if packet.hello else _describe(packet.body)
            out.append(Choice("deliver", packet.dst, packet.src, packet.ref, label))
        for node_id in alive:
            timer = self._next_timer(node_id)
            if timer is not None and self.runtimes[node_id].fired < scope.timers:
                out.append(Choice("timer", node_id, "", timer.ref, _event_name(timer.fn)))
        out.extend(self._detector_choices(alive))
        if self.losses < scope.loss_budget:
            for packet in self.flight.values():
                if not self.alive[packet.src] or packet.src_inc < self.incarnations[packet.src]:
                    out.append(Choice("lose", packet.dst, packet.src, packet.ref,
                                      "hello" if packet.hello else _describe(packet.body)))
        if self.broadcasts < scope.messages:
            out.extend(Choice("broadcast", n, "", self.broadcasts + 1) for n in alive)
        if self.crashes < scope.crashes:
            out.extend(Choice("crash", n) for n in alive)
        if self.restarts < scope.restarts:
            out.extend(Choice("restart", n) for n in self.ids if not self.alive[n])
        return out

    def _detector_choices(self, alive: list[str]) -> Iterator[Choice]:
        eventual = self.scope.fd == "eventual"
        for node_id in alive:
            reported = self._detector(node_id).reported
            for peer in self.ids:
                if peer == node_id:
                    continue
                if not self.alive[peer]:
                    if peer not in reported:
                        yield Choice("detect", node_id, peer)
                elif not eventual:
                    continue
                elif peer in reported:
                    yield Choice("restore", node_id, peer)
                elif self.suspicions < self.scope.suspicions:
                    yield Choice("suspect", node_id, peer)

    def _detector(self, node_id: str) -> Any:
        return self.nodes[node_id].component("failure-detector")

    def detector_reports(self, node_id: str) -> set[str]:
        """The peers ``node_id``'s detector reports now (crashed or suspected)."""
        reports: set[str] = self._detector(node_id).reported
        return reports

    def _next_timer(self, node_id: str) -> _Timer | None:
        timers = self.timers[node_id]
        timers[:] = [t for t in timers if not t.cancelled]
        return min(timers, key=lambda t: (t.due, t.ref), default=None)

    def required(self) -> list[Choice]:
        """What must still happen for the run to be over (liveness is judged once none
        is left): deliveries to live processes, detections and restorations owed."""
        return [c for c in self.choices() if c.kind in ("deliver", "detect", "restore")]

    def quiescent(self) -> bool:
        """Nothing left that must happen: no message for a live process, no detection owed,
        no timer that may still fire."""
        if self.required():
            return False
        return not any(self._next_timer(n) is not None
                       and self.runtimes[n].fired < self.scope.timers
                       for n in self.ids if self.alive[n])

    # -- stepping ---------------------------------------------------------------------

    def step(self, choice: Choice) -> None:
        """Let ``choice`` happen and run the nodes until nothing more follows from it.

        :raises ValueError: if the choice is not possible now.
        """
        kind = choice.kind
        self.now_us += QUANTUM_US
        # Only the node a choice happens at runs; the others keep their saved parts.
        self._clean.pop(choice.node, None)
        self._texts = {}
        if kind == "deliver":
            packet = self._packet(choice)
            if not self.alive[packet.dst]:
                raise ValueError(f"not possible now: {choice} ({packet.dst} is down)")
            del self.flight[packet.ref]
            _links(self.nodes[packet.dst]).receive(packet)
        elif kind == "lose":
            packet = self._packet(choice)
            del self.flight[packet.ref]
            self.losses += 1
        elif kind == "broadcast":
            self._running(choice.node, choice)
            self.broadcasts += 1
            self.nodes[choice.node].broadcast(self.layer, f"b{self.broadcasts}")
        elif kind == "timer":
            self._running(choice.node, choice)
            timer = self._next_timer(choice.node)
            if timer is None or timer.ref != choice.ref:
                raise ValueError(f"not possible now: {choice}")
            self.timers[choice.node].remove(timer)
            self.now_us = max(self.now_us, timer.due)
            self.runtimes[choice.node].fired += 1
            timer.fn()
        elif kind == "crash":
            self._running(choice.node, choice)
            self.crashes += 1
            node = self.nodes[choice.node]
            node.tracer.emit("crash")
            self.alive[choice.node] = False
            node.halt()
            self.timers[choice.node] = []
        elif kind == "restart":
            if self.alive[choice.node]:
                raise ValueError(f"not possible now: {choice} (it is running)")
            self.restarts += 1
            self._start(choice.node)
            node = self.nodes[choice.node]
            for peer in node.peers:
                self._enqueue(node.id, node.incarnation, peer, None, None, hello=True)
        elif kind in ("detect", "suspect", "restore"):
            self._running(choice.node, choice)
            if kind == "suspect":
                self.suspicions += 1
            self._detector(choice.node).report(kind, choice.peer)
        else:
            raise ValueError(f"unknown choice kind {kind!r}")
        self._settle()
        self.depth += 1

    def _packet(self, choice: Choice) -> Packet:
        packet = self.flight.get(choice.ref)
        if packet is None or packet.dst != choice.node or packet.src != choice.peer:
            raise ValueError(f"not possible now: {choice} (no such message in flight)")
        return packet

    def _running(self, node_id: str, choice: Choice) -> None:
        if node_id not in self.alive:
            raise ValueError(f"not possible: {choice} ({node_id} is not a member)")
        if not self.alive[node_id]:
            raise ValueError(f"not possible now: {choice} ({node_id} is down)")

    def _settle(self) -> None:
        while self.soon:
            batch, self.soon = self.soon, []
            for fn in batch:
                fn()

    # -- state ------------------------------------------------------------------------

    def state(self, rename: Mapping[str, str] | None = None) -> str:
        """The canonical text of the whole state (see the module documentation)."""
        shared = self._shared()
        parts: list[str] = []
        key = self._key(rename)
        for node_id in self.ids:
            text = self._text(node_id, shared, rename, key)
            parts.append(f"{text}:{self._timers_text(node_id, shared, rename)}")
        parts.sort()
        links: dict[str, list[str]] = {}
        for p in self.flight.values():  # in send order
            links.setdefault(p.link(key, rename), []).append(p.text(key, shared, rename))
        # Ordered links: the order on each link is part of the state; else a multiset.
        flight = sorted(f"{link}:{bodies if self.scope.ordered else sorted(bodies)}"
                        for link, bodies in links.items())
        deliveries = sorted(f"{_rename_all(k, rename)}={_rename_all(','.join(v), rename)}"
                            for k, v in self.deliveries.items())
        budgets = (self.broadcasts, self.crashes, self.restarts, self.losses,
                   self.suspicions)
        return f"{budgets}|{'|'.join(parts)}|{flight}|{deliveries}"

    def _key(self, rename: Mapping[str, str] | None) -> tuple[str, ...] | None:
        """What names a renaming among those of this world's ids (``None``: none)."""
        return None if rename is None else tuple(rename.get(n, n) for n in self.ids)

    def _text(self, node_id: str, shared: Mapping[int, str],
              rename: Mapping[str, str] | None, key: tuple[str, ...] | None) -> str:
        """:meth:`_node_text`, computed once per renaming for as long as the node is not
        stepped: a clean node keeps its texts in its saved part, shared by the snapshots
        (a state reached in one step differs from its parent at one node only)."""
        part = self._clean.get(node_id)
        if part is not None and part.node is not self.nodes[node_id]:
            part = None
        texts = part.texts if part is not None else self._texts.setdefault(node_id, {})
        text = texts.get(key)
        if text is None:
            text = texts[key] = self._node_text(node_id, shared, rename)
        return text

    def _shared(self) -> dict[int, str]:
        """The names of the objects the nodes share (never followed by canonical texts)."""
        return self._objects()[0]

    def _memo(self) -> dict[int, Any]:
        """The shared objects by id, which copies of the components' state refer to and
        never copy."""
        return self._objects()[1]

    def _objects(self) -> tuple[dict[int, str], dict[int, Any]]:
        """The nodes, their components, contexts and options by id, named and themselves:
        the same while the nodes are the same objects."""
        nodes = tuple(self.nodes.values())  # held here: their ids stay theirs
        cached = self._objects_of
        if cached is not None and len(cached[0]) == len(nodes) and all(
                a is b for a, b in zip(cached[0], nodes, strict=True)):
            return cached[1], cached[2]
        names: dict[int, str] = {}
        objects: dict[int, Any] = {}
        for node in nodes:
            for obj, name in ((node, f"node:{node.id}"), *(
                    pair for c in node.components for pair in (
                        (c, f"component:{c.name}"), (c.ctx, "ctx"), (c.options, "options")))):
                names[id(obj)] = name
                objects[id(obj)] = obj
        self._objects_of = (nodes, names, objects)
        return names, objects

    def _node_text(self, node_id: str, shared: Mapping[int, str],
                   rename: Mapping[str, str] | None) -> str:
        """The canonical text of one node's own state (its components and links)."""
        node = self.nodes[node_id]
        alive = self.alive[node_id]
        if not alive:
            return f"{_rename(node_id, rename)}:{node.incarnation}:down"
        key = self._key(rename)
        texts = self._component_texts
        comps = ";".join(
            f"{c.name}={texts.canonical(_digestible_state(c), shared, rename, key, c.name)}"
            for c in node.components)
        links = _links(node)
        seen = canonical(links.incarnations, shared, rename) + canonical(
            links.forgotten, shared, rename)
        return f"{_rename(node_id, rename)}:{node.incarnation}:{node._seq}:[{comps}]:{seen}"

    def digest(self, symmetry: bool = False) -> str:
        """A hash of the canonical state; with ``symmetry``, the same for every renaming
        of the nodes (:meth:`digests`)."""
        return self.digests(symmetry)[0]

    def digests(self, symmetry: bool = False) -> tuple[str, str]:
        """The digest (:meth:`digest`) and the digest under the nodes' own names.

        Symmetric: each node gets a *signature*, the text of everything about it with its
        own id written ``@`` and every other id ``*`` (the same for a renamed state).
        The nodes are named in the order of their signatures; the digest is the smallest
        over the orders that tied signatures allow (all of them at the start, few later).
        """
        exact = digest_text(self.state())
        if not symmetry:
            return exact, exact
        # A state met again under the same names (most are: two orders of the same steps)
        # has the symmetric digest it had: no signature, no renaming.
        known = self._symmetric.get(exact)
        if known is not None:
            return known, exact
        shared = self._shared()
        signature = {node_id: self._signature(node_id, shared) for node_id in self.ids}
        ordered = sorted(self.ids, key=signature.__getitem__)
        groups = [list(g) for _, g in itertools.groupby(ordered, key=signature.__getitem__)]
        best: str | None = None
        for arrangement in itertools.product(*(itertools.permutations(g) for g in groups)):
            names = [n for group in arrangement for n in group]
            if names == self.ids:
                key = exact
            else:
                key = digest_text(self.state(self._renaming(dict(zip(names, self.ids,
                                                                     strict=True)))))
            if best is None or key < best:
                best = key
        assert best is not None
        if len(self._symmetric) >= SYMMETRIC_MEMORY:
            self._symmetric.clear()
        self._symmetric[exact] = best
        return best, exact

    @property
    def commuting(self) -> bool:
        """Whether independent steps meet in one state in either order (no timer may
        fire: see :mod:`netweave.explore._sleep`)."""
        return not self.scope.timers and len(self.ids) <= MAX_NODES

    def tokens(self, choices: Sequence[Choice]) -> list[int]:
        """Each choice's token (:func:`netweave.explore._sleep.token`): the same for the
        same step on every way into this state."""
        index = self._index
        shared: Mapping[int, str] | None = None
        out = []
        for choice in choices:
            extra = 0
            if choice.kind in ("deliver", "lose"):
                packet = self.flight[choice.ref]
                shared = shared if shared is not None else self._shared()
                extra = hash((packet.src_inc, packet.text(None, shared, None)))
            out.append(token(choice.kind, index.get(choice.node, 0),
                             index.get(choice.peer, 0), extra))
        return out

    def _renaming(self, pairs: dict[str, str]) -> Renaming:
        key = tuple(pairs.get(n, n) for n in self.ids)
        found = self._renamings.get(key)
        if found is None:
            found = self._renamings[key] = Renaming(pairs)
        return found

    def _signature(self, node_id: str, shared: Mapping[int, str]) -> str:
        rename = self._renaming({n: "@" if n == node_id else "*" for n in self.ids})
        key = self._key(rename)
        flight = sorted(
            f"{rename[p.src]}#{p.src_inc}>{rename[p.dst]}:{p.text(key, shared, rename)}"
            for p in self.flight.values() if node_id in (p.src, p.dst))
        delivered = sorted(f"{k.split('#')[1]}={_rename_all(','.join(v), rename)}"
                           for k, v in self.deliveries.items()
                           if k.split("#")[0] == node_id)
        return (f"{self._text(node_id, shared, rename, key)}:"
                f"{self._timers_text(node_id, shared, rename)}:{flight}:{delivered}")

    def _timers_text(self, node_id: str, shared: Mapping[int, str],
                     rename: Mapping[str, str] | None) -> str:
        """A node's timers, each by when it comes due from now and what it is, and how
        many fired; nothing in a scope where no timer fires (they cannot change what
        happens next)."""
        if not self.scope.timers:
            return ""
        pending = self.timers[node_id]
        timers = sorted(f"{max(t.due - self.now_us, 0)}:"
                        f"{canonical(_event_of(t.fn), shared, rename)}"
                        for t in pending if not t.cancelled) if pending else []
        return f"{self.runtimes[node_id].fired}:{timers}"

    def save(self) -> Snapshot:
        """The state of the world now, to :meth:`restore` later (any number of times).

        Copy on write: a node no step touched since the last save or restore keeps the
        part (its components' copied state) it had then, shared between snapshots."""
        memo: dict[int, Any] | None = None
        parts: dict[str, _Part] = {}
        for node_id, node in self.nodes.items():
            part = self._clean.get(node_id)
            if part is None or part.node is not node:
                memo = memo if memo is not None else self._memo()
                part = _Part(node, _node_state(node), _freeze(
                    {id(c): _state_of(c) for c in node.components}, memo),
                    self._texts.get(node_id, {}))
                self._clean[node_id] = part
            parts[node_id] = part
        return Snapshot(
            scalars=(self.now_us, self.timer_count, self.packet_count, self.broadcasts,
                     self.crashes, self.restarts, self.losses, self.suspicions, self.depth),
            incarnations=dict(self.incarnations), alive=dict(self.alive),
            nodes=dict(self.nodes),
            runtimes={n: (r, r.fired) for n, r in self.runtimes.items()},
            flight=dict(self.flight),
            timers={n: [(t, t.cancelled) for t in ts] for n, ts in self.timers.items()},
            records=list(self.sink.records),
            deliveries={k: list(v) for k, v in self.deliveries.items()},
            parts=parts)

    def restore(self, snapshot: Snapshot) -> None:
        """Put the world back in a saved state (the snapshot stays as it is)."""
        (self.now_us, self.timer_count, self.packet_count, self.broadcasts, self.crashes,
         self.restarts, self.losses, self.suspicions, self.depth) = snapshot.scalars
        self.incarnations = dict(snapshot.incarnations)
        self.alive = dict(snapshot.alive)
        self.nodes = dict(snapshot.nodes)
        self.runtimes = {}
        for node_id, (runtime, fired) in snapshot.runtimes.items():
            runtime.fired = fired
            self.runtimes[node_id] = runtime
        self.flight = dict(snapshot.flight)
        self.timers = {}
        for node_id, pairs in snapshot.timers.items():
            for timer, cancelled in pairs:
                timer.cancelled = cancelled
            self.timers[node_id] = [t for t, _ in pairs]
        self.sink.records[:] = snapshot.records
        self.deliveries = {k: list(v) for k, v in snapshot.deliveries.items()}
        self.soon = []
        self._texts = {}
        memo: dict[int, Any] | None = None
        for node_id, part in snapshot.parts.items():
            if self._clean.get(node_id) is part:
                continue  # untouched since it was that part
            memo = memo if memo is not None else self._memo()
            node = part.node
            _set_node_state(node, part.state)
            states = _thaw(part.components, memo)
            for component in node.components:
                kept = {k: v for k, v in vars(component).items() if k in _KEPT}
                vars(component).clear()
                vars(component).update(kept)
                vars(component).update(states[id(component)])
            self._clean[node_id] = part


    @property
    def trace(self) -> list[dict[str, Any]]:
        """Every trace line so far."""
        return self.sink.records

    def running(self) -> list[str]:
        """The nodes running now."""
        return [n for n in self.ids if self.alive[n]]


_KEPT = ("ctx", "options")


def _bind(function: Callable[..., Any], owner: Any) -> MethodType:
    """A bound method, as a snapshot writes one (``MethodType`` itself does not pickle)."""
    return MethodType(function, owner)


class _Pickler(pickle.Pickler):
    """Pickles a components' state, writing the objects a world shares (nodes,
    components, contexts, options) as references to them, never copies. (Python is asked
    only about objects of other classes than the built-in ones.)"""

    def __init__(self, file: io.BytesIO, shared: Mapping[int, Any]) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def reducer_override(self, obj: Any) -> Any:
        key = id(obj)
        if key in self.shared:
            return shared_object, (key,)
        if type(obj) is MethodType:
            # Bound to the very function, as a deep copy keeps it: pickle's own way looks
            # the name up again on the object, which may find an override or nothing.
            return _bind, (obj.__func__, obj.__self__)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: Mapping[int, Any]) -> None:
        super().__init__(file)
        self.shared = shared

    def find_class(self, module: str, name: str) -> Any:
        if module == shared_object.__module__ and name == shared_object.__name__:
            return self.shared.__getitem__
        return super().find_class(module, name)


def _freeze(states: dict[int, Any], shared: dict[int, Any]) -> bytes | dict[int, Any]:
    """A copy of ``states`` that :func:`_thaw` turns into a fresh copy, any number of
    times: pickled (several times faster than a deep copy, both ways), or deep-copied if
    something in it does not pickle."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, shared).dump(states)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
        return copy.deepcopy(states, dict(shared))
    return buffer.getvalue()


def _thaw(frozen: bytes | dict[int, Any], shared: dict[int, Any]) -> dict[int, Any]:
    if isinstance(frozen, bytes):
        states: dict[int, Any] = _Unpickler(io.BytesIO(frozen), shared).load()
        return states
    return copy.deepcopy(frozen, dict(shared))


def _state_of(component: Component) -> dict[str, Any]:
    return {k: v for k, v in vars(component).items() if k not in _KEPT}


def _digestible_state(component: Component) -> dict[str, Any]:
    custom = getattr(component, "explore_state", None)
    if callable(custom):
        return {"state": custom()}
    return _state_of(component)


def _links(node: Node) -> _ModelledLinks:
    links = node.links
    assert isinstance(links, _ModelledLinks)
    return links


def _node_state(node: Node) -> tuple[Any, ...]:
    links = _links(node)
    return (node.state, node._seq, node._mids, dict(node._timers), node._next_timer,
            node.errors, node.fenced_by, dict(links.incarnations), dict(links.heard),
            dict(links.forgotten))


def _set_node_state(node: Node, state: tuple[Any, ...]) -> None:
    links = _links(node)
    (node.state, node._seq, node._mids, timers, node._next_timer, node.errors,
     node.fenced_by, incarnations, heard, forgotten) = state
    node._timers = dict(timers)
    links.incarnations = dict(incarnations)
    links.heard = dict(heard)
    links.forgotten = dict(forgotten)


@attrs.frozen
class Snapshot:
    """A saved state of a :class:`World` (see :meth:`World.save`)."""

    scalars: tuple[Any, ...]
    incarnations: dict[str, int]
    alive: dict[str, bool]
    nodes: dict[str, Node]
    runtimes: dict[str, tuple[_StepRuntime, int]]
    flight: dict[int, Packet]
    timers: dict[str, list[tuple[_Timer, bool]]]
    records: list[dict[str, Any]]
    deliveries: dict[str, list[str]]
    parts: dict[str, _Part]


class _Part:
    """One node's saved state: its node and links fields, a deep copy of its components'
    state, and its canonical texts once computed (by renaming). Never changed after it is
    made (but ``texts``, filled as they are asked for), so snapshots share it."""

    __slots__ = ("components", "node", "state", "texts")

    def __init__(self, node: Node, state: tuple[Any, ...],
                 components: bytes | dict[int, Any],
                 texts: dict[tuple[str, ...] | None, str]) -> None:
        self.node = node
        self.state = state
        self.components = components
        self.texts = texts


def _event_of(fn: Callable[[], Any]) -> Any:
    return getattr(fn, "event", None) or getattr(fn, "__qualname__", "timer")


def _event_name(fn: Callable[[], Any]) -> str:
    event = getattr(fn, "event", None)
    return type(event).__name__ if event is not None else ""


def _rename(node_id: str, rename: Mapping[str, str] | None) -> str:
    return rename.get(node_id, node_id) if rename else node_id


def _rename_all(text: str, rename: Mapping[str, str] | None) -> str:
    if isinstance(rename, Renaming):
        return rename.apply(text)
    return rename_ids(text, rename) if rename else text

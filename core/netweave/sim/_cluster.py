"""A simulated cluster: many nodes in one process, virtual time, one seed.

Theory of operation: one :class:`~netweave.sim._clock.VirtualClock` orders everything.
Each node incarnation gets a :class:`_SimRuntime` whose timers and deliveries are
scheduled on that clock and silently dropped once the incarnation has crashed. The
:class:`~netweave.sim._network.NetworkModel` decides, with the seeded source, whether and
when each link message arrives. Faults (crash, restart, pause, resume, partitions, loss)
are methods, and each one is recorded in the trace of the node it hits.

A crash is abrupt: no ``stop`` line, no message leaves afterwards, timers vanish, and
what peers send to it is lost (on TCP its connections died with it; what was already in
flight may still reach a process restarted meanwhile). A restart builds a fresh node
from the same configuration with the next incarnation. A paused node keeps its state but
handles nothing; what arrives meanwhile waits and is handled, in order, on resume.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .._registry import Catalog
from ..errors import ConfigurationError
from ..message import Message
from ..node import Node
from ..trace import ListSink, write_trace_dir
from ._clock import Scheduled, VirtualClock
from ._links import LINK_MODELS, ModelledNetwork
from ._network import NetworkModel

if TYPE_CHECKING:
    from .._runtime import LinkFactory
    from ..keyring import Keyring

__all__ = ["SimCluster"]

Configure = Callable[[Node], Any]


class _SimRuntime:
    """The runtime of one node incarnation inside a :class:`SimCluster`."""

    __slots__ = ("_cluster", "_rng", "_seed", "_step", "alive", "backlog", "node", "now",
                 "paused")

    def __init__(self, cluster: SimCluster, node: Node, seed: int) -> None:
        self._cluster = cluster
        # The clock's time, read without a Python frame: links and traces ask for it a lot.
        self.now: Callable[[], float] = partial(getattr, cluster.clock, "now")
        # Bound once: every timer of the node schedules it.
        self._step: Callable[[Callable[..., Any], tuple[Any, ...]], None] = self._run
        self.node = node
        self._seed = seed
        self._rng: random.Random | None = None
        self.alive = True
        self.paused = False
        self.backlog: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    @property
    def rng(self) -> random.Random:
        # Created on first use (most layers draw nothing); its seed names the node and
        # incarnation, so when it is created does not change what it draws.
        if self._rng is None:
            node = self.node
            self._rng = random.Random(f"{self._seed}/{node.id}/{node.incarnation}")
        return self._rng

    def call_later(self, delay: float, fn: Callable[[], Any]) -> Scheduled:
        handle = Scheduled()
        clock = self._cluster.clock
        if delay > 0.0:
            clock.call_at(clock.now + delay, self._step, fn, (), handle=handle)
        else:
            clock.call_soon(self._step, fn, (), handle=handle)
        return handle

    def call_soon(self, fn: Callable[[], Any]) -> None:
        # After the current step, at the same virtual time; cannot be cancelled.
        self._cluster.clock.call_soon(self._step, fn, ())

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if not self.alive:
            return
        if self.paused:
            self.backlog.append((fn, args))
            return
        fn(*args)

    def transmit(self, peer: str, message: Message) -> None:
        if self.alive and not self.paused:
            self._cluster._transmit(self.node.id, peer, message)

    @property
    def make_links(self) -> LinkFactory | None:
        """The cluster's modelled links, or ``None``: the node's own perfect links."""
        net = self._cluster._modelled
        return net.links(self) if net is not None else None

    def fenced(self) -> None:
        """The node learnt it was declared crashed (it wrote its ``crash`` line): it is
        crashed from now on; a scenario's ``restart`` starts a new incarnation."""
        self.alive = False


class SimCluster:
    """Run nodes of one configuration in virtual time.

    :param nodes: node ids, or a count (ids ``n1``..``nN``).
    :param configure: called with each new :class:`~netweave.Node` (also after a
        restart) to select its plugins, e.g. ``lambda n: n.use("perfect-fd").use("urb")``.
    :param seed: the one seed of every random choice.
    :param network: the network model (latency, loss, duplication, reordering).
    :param encode: pass every link message through the msgpack codec (slower; catches
        payloads that would not cross a real network).
    :param trace_messages: also trace a ``send`` and a ``recv`` line for every component
        message that crosses a link (``netweave timeline`` shows them as arrows).
    :param signed_origins: every node signs the messages it originates and checks the
        others' (:mod:`netweave.origins`), with Ed25519 keys derived from ``seed``
        (:func:`netweave.keyring.seeded_keyrings`; needs the ``secure`` extra).
    :param links: ``"protocol"`` (default): each node runs
        :class:`~netweave.link.PerfectLinks` over the fair-loss network (acknowledgements,
        hellos, retransmissions: how the links themselves are tested); ``"modelled"``:
        perfect-link semantics given directly, faults acting on the messages (see
        :mod:`netweave.sim._links`), about a third of the events.
    """

    def __init__(
        self,
        nodes: int | Sequence[str],
        configure: Configure,
        *,
        seed: int = 0,
        network: NetworkModel | None = None,
        catalog: Catalog | None = None,
        trace: bool = True,
        encode: bool = False,
        strict: bool = True,
        fill: str = "implicit",
        trace_messages: bool = False,
        signed_origins: bool = False,
        links: str = "protocol",
    ) -> None:
        if links not in LINK_MODELS:
            raise ConfigurationError(f"links={links!r}: choose one of {', '.join(LINK_MODELS)}")
        ids = [f"n{i}" for i in range(1, nodes + 1)] if isinstance(nodes, int) else list(nodes)
        if len(set(ids)) != len(ids) or not ids:
            raise ConfigurationError(f"node ids must be unique and non-empty: {ids!r}")
        self.ids = ids
        self.seed = seed
        self.configure = configure
        self.network = network or NetworkModel()
        self.catalog = catalog or Catalog.discover()
        self.clock = VirtualClock()
        self.rng = random.Random(seed)
        self.sink = ListSink() if trace else None
        self.encode = encode
        self.strict = strict
        self.fill = fill
        self.trace_messages = trace_messages
        self.keyrings: dict[str, Keyring] = {}
        """Each node's keys, with ``signed_origins`` (derived from the seed)."""
        if signed_origins:
            from ..keyring import seeded_keyrings

            self.keyrings = seeded_keyrings(ids, seed)
        self.links = links
        """The link model: ``"protocol"`` or ``"modelled"``."""
        self._modelled = ModelledNetwork(self) if links == "modelled" else None
        self.nodes: dict[str, Node] = {}
        self._runtimes: dict[str, _SimRuntime] = {}
        self._incarnations: dict[str, int] = dict.fromkeys(ids, 0)
        self.messages_sent = 0
        self._watchers: list[Callable[[str, str, Message], Any]] = []
        # Bound once: every link message schedules it.
        self._arrival: Callable[[str, str, Any], None] = self._arrive
        if encode:
            self._encoder = msgspec.msgpack.Encoder()
            self._decoder = msgspec.msgpack.Decoder()
        for node_id in ids:
            self._build(node_id)

    # -- construction -----------------------------------------------------------------

    def _build(self, node_id: str) -> Node:
        self._incarnations[node_id] += 1
        node = Node(node_id, peers=self.ids, catalog=self.catalog,
                    incarnation=self._incarnations[node_id], strict=self.strict,
                    fill=self.fill, trace_messages=self.trace_messages,  # type: ignore[arg-type]
                    origin_keys=self.keyrings.get(node_id))
        self.configure(node)
        node.build()
        if self.sink is not None:
            node.tracer.sinks.append(self.sink.records.append)
        self.nodes[node_id] = node
        return node

    def start(self, node_ids: Iterable[str] | None = None) -> None:
        """Start nodes (all by default) now."""
        for node_id in node_ids if node_ids is not None else self.ids:
            node = self.nodes[node_id]
            if node.state != "built":
                raise ConfigurationError(f"{node_id} is {node.state}; it cannot start")
            runtime = _SimRuntime(self, node, self.seed)
            self._runtimes[node_id] = runtime
            node.attach(runtime)
            node.start_components()
            if self._modelled is not None:
                self._modelled.started(node_id, node.incarnation)

    # -- time -------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual time, seconds."""
        return self.clock.now

    def run(self, until: float | None = None, *, duration: float | None = None,
            max_events: int | None = None) -> None:
        """Advance virtual time to ``until`` (or by ``duration``), running what is due."""
        if until is None:
            until = self.clock.now + (duration if duration is not None else 0.0)
        self.clock.run(until, max_events)

    def at(self, when: float, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(*args)`` at virtual time ``when`` (for scenarios)."""
        self.clock.call_at(when, fn, *args)

    # -- network ----------------------------------------------------------------------

    def _transmit(self, src: str, dst: str, message: Message) -> None:
        self.messages_sent += 1
        for watcher in self._watchers:
            watcher(src, dst, message)
        runtime = self._runtimes.get(dst)
        if runtime is not None and not runtime.alive:
            return  # lost, as on TCP: a crashed process's connections died with it
        if self.encode:
            message = self._decoder.decode(self._encoder.encode(message))
        for delay in self.network.delays(src, dst, self.rng):
            self.clock.call_later(delay, self._arrival, src, dst, message)

    def _delays(self, src: str, dst: str) -> Sequence[float]:
        """The network model's delays for one message from ``src`` to ``dst``."""
        return self.network.delays(src, dst, self.rng)

    def _arrive(self, src: str, dst: str, message: Any) -> None:
        runtime = self._runtimes.get(dst)
        if runtime is None or not runtime.alive:
            return
        if self.encode:
            from ..message import revive

            message = revive(message)
        if runtime.paused:
            runtime.backlog.append((runtime.node.receive, (src, message)))
            return
        runtime.node.receive(src, message)

    def watch(self, fn: Callable[[str, str, Message], Any]) -> None:
        """Call ``fn(src, dst, message)`` for every link message a running node sends.

        It sees each message as it leaves ``src``, before the network decides whether
        and when it arrives (so lost ones too): for counting what an algorithm sends.
        """
        self._watchers.append(fn)

    # -- application ------------------------------------------------------------------

    def broadcast(self, node_id: str, layer: str, payload: Any) -> str | None:
        """Broadcast now from ``node_id`` if it is running; returns the id or ``None``."""
        node = self.nodes[node_id]
        runtime = self._runtimes.get(node_id)
        if not node.running or runtime is None or runtime.paused:
            return None
        return node.broadcast(layer, payload)

    # -- faults -----------------------------------------------------------------------

    def _fault(self, node_id: str, kind: str, **fields: Any) -> None:
        self.nodes[node_id].tracer.emit("fault", kind=kind, **fields)

    def crash(self, node_id: str) -> None:
        """Crash ``node_id`` now: no more messages, timers or trace lines from it."""
        node = self.nodes[node_id]
        runtime = self._runtimes.get(node_id)
        if runtime is None or not runtime.alive:
            return
        node.tracer.emit("crash")
        runtime.alive = False
        node.halt()

    def restart(self, node_id: str) -> Node:
        """Start a fresh process for ``node_id`` with the next incarnation."""
        self.crash(node_id)
        node = self._build(node_id)
        self.start([node_id])
        return node

    def pause(self, node_id: str) -> None:
        """Freeze ``node_id``: it keeps its state but handles nothing until resumed."""
        runtime = self._runtimes.get(node_id)
        if runtime is not None and runtime.alive and not runtime.paused:
            self._fault(node_id, "pause")
            runtime.paused = True

    def resume(self, node_id: str) -> None:
        """Unfreeze ``node_id``; what arrived meanwhile is handled now, in order."""
        runtime = self._runtimes.get(node_id)
        if runtime is None or not runtime.alive or not runtime.paused:
            return
        self._fault(node_id, "resume")
        runtime.paused = False
        backlog, runtime.backlog = runtime.backlog, []
        for fn, args in backlog:
            self.clock.call_at(self.clock.now, runtime._run, fn, args)

    def partition(self, *groups: Iterable[str]) -> None:
        """Symmetric partition between ``groups`` (nodes in no group stay connected)."""
        lists = [sorted(g) for g in groups]
        self.network.partition(lists)
        for node_id in sorted({n for g in lists for n in g}):
            self._fault(node_id, "partition", groups=lists)

    def one_way(self, sources: Iterable[str], targets: Iterable[str]) -> None:
        """Messages from ``sources`` to ``targets`` are lost until :meth:`heal`."""
        src, dst = sorted(sources), sorted(targets)
        self.network.one_way(src, dst)
        for node_id in sorted(set(src) | set(dst)):
            self._fault(node_id, "partition", one_way=True, sources=src, targets=dst)

    def heal(self) -> None:
        """Remove every partition."""
        affected = sorted({n for pair in self.network.blocked for n in pair})
        self.network.heal()
        if self._modelled is not None:
            self._modelled.heal()
        for node_id in affected:
            self._fault(node_id, "heal")

    def set_loss(self, probability: float) -> None:
        """Change the loss probability from now on."""
        self.network.loss = probability
        for node_id in self.ids:
            self._fault(node_id, "loss", probability=probability)

    # -- results ----------------------------------------------------------------------

    @property
    def trace(self) -> list[dict[str, Any]]:
        """Every trace line so far, in emission order."""
        return self.sink.records if self.sink is not None else []

    def alive(self) -> list[str]:
        """Ids of the nodes currently running."""
        return [n for n in self.ids if self.nodes[n].running]

    def write_trace(self, directory: str | Path) -> list[Path]:
        """Write one ``<node>.jsonl`` per node into ``directory`` (byte-deterministic)."""
        return write_trace_dir(self.trace, self.ids, directory)

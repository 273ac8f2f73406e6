"""Scenarios: a cluster, a workload and a schedule of faults, from TOML or from a seed.

A scenario file::

    [cluster]
    nodes = 5                      # or ids = ["a", "b", "c"]
    layer = "urb"                  # requirements filled with default providers
    # use = ["perfect-fd", "all-ack-urb"]   # or exactly these plugins, nothing added
    # signed_origins = true        # origins sign, everyone checks (keys from the seed)
    # links = "modelled"           # perfect links given directly ("protocol": the
                                   # links' protocol over the lossy network, the default)

    [plugins.perfect-fd]           # options of a plugin
    timeout = 2.0

    [network]
    latency = { dist = "uniform", low = 0.001, high = 0.01 }
    loss = 0.05
    duplicate = 0.01
    reorder = 0.1

    [workload]
    messages = 20                  # broadcasts at random times from random senders
    start = 0.5
    window = 5.0
    # senders = ["n1"]

    [[broadcast]]                  # explicit broadcasts, beside or instead of the workload
    at = 1.0
    node = "n1"
    payload = "hello"

    [[faults]]
    at = 2.0
    kind = "crash"                 # crash, restart, pause, resume, partition, one-way,
    node = "n3"                    # heal, loss
    # groups = [["n1", "n2"], ["n3"]]       (partition)
    # sources = ["n1"], targets = ["n2"]    (one-way)
    # probability = 0.2                     (loss)

    [run]
    quiet = 20.0                   # quiet period after the last broadcast or fault

Every random draw of a scenario comes from its seed, so a seed fixes the whole run.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

import attrs

from .. import _toml
from .._registry import Catalog
from .._vtime import US, to_us
from ..errors import ConfigurationError
from ..node import Node
from ..plugin import Component
from ._cluster import SimCluster
from ._links import LINK_MODELS
from ._network import NetworkModel

__all__ = ["Broadcast", "Fault", "Scenario"]

FAULT_KINDS = ("crash", "restart", "pause", "resume", "partition", "one-way", "heal", "loss")


@attrs.frozen
class Fault:
    """One scheduled fault."""

    at: float
    """Virtual time, seconds."""
    kind: str = attrs.field(validator=attrs.validators.in_(FAULT_KINDS))
    """What happens; one of ``FAULT_KINDS``."""
    fields: Mapping[str, Any] = attrs.field(factory=dict)
    """Its parameters (``node``, ``groups``, ``sources``/``targets``, ``probability``)."""


@attrs.frozen
class Broadcast:
    """One scheduled broadcast."""

    at: float
    node: str
    payload: Any
    layer: str | None = None


@attrs.define
class Scenario:
    """A whole simulated run, deterministic given a seed."""

    nodes: list[str]
    selections: list[tuple[str, dict[str, Any]]]
    fill: str = "defaults"
    network: dict[str, Any] = attrs.field(factory=dict)
    broadcasts: list[Broadcast] = attrs.field(factory=list)
    faults: list[Fault] = attrs.field(factory=list)
    workload: dict[str, Any] = attrs.field(factory=dict)
    quiet: float = 20.0
    layer: str | None = None
    signed_origins: bool = False
    """Origins sign what they broadcast, every node checks (keys derived from the seed)."""
    links: str = "protocol"
    """The simulator's link model (:class:`~netweave.sim.SimCluster`'s ``links``)."""
    end: float = attrs.field(default=0.0, init=False, eq=False)
    """Virtual time the run ends at (set by :meth:`build`)."""

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read a scenario file (see the module documentation for its keys)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read scenario {path}: {exc}") from None
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "scenario") -> Scenario:
        """Build a scenario from parsed TOML."""
        known = {"cluster", "plugins", "network", "workload", "broadcast", "faults", "run"}
        unknown = set(data) - known
        if unknown:
            raise ConfigurationError(f"{origin}: unknown section(s) {sorted(unknown)}; "
                                     f"known: {sorted(known)}")
        cluster = dict(data.get("cluster", {}))
        if "ids" in cluster:
            nodes = [str(n) for n in cluster["ids"]]
        else:
            nodes = [f"n{i}" for i in range(1, int(cluster.get("nodes", 3)) + 1)]
        plugin_opts: dict[str, dict[str, Any]] = {
            k: dict(v) for k, v in dict(data.get("plugins", {})).items()}
        if "use" in cluster:
            names = [str(u) for u in cluster["use"]]
            fill = "none"
            layer = cluster.get("layer")
        elif "layer" in cluster:
            names = [str(cluster["layer"])]
            fill = "defaults"
            layer = str(cluster["layer"])
        else:
            raise ConfigurationError(f"{origin}: [cluster] needs 'layer' or 'use'")
        selections = [(n, plugin_opts.pop(n, {})) for n in names]
        selections += list(plugin_opts.items())
        faults = []
        for f in data.get("faults", []):
            f = dict(f)
            try:
                at = float(f.pop("at"))
                kind = str(f.pop("kind"))
                faults.append(Fault(at, kind, f))
            except (KeyError, ValueError, TypeError) as exc:
                raise ConfigurationError(f"{origin}: invalid fault {f!r}: {exc}") from None
        broadcasts = [Broadcast(float(b["at"]), str(b["node"]), b.get("payload", ""),
                                b.get("layer")) for b in data.get("broadcast", [])]
        run = dict(data.get("run", {}))
        signed = cluster.get("signed_origins", False)
        if not isinstance(signed, bool):
            raise ConfigurationError(f"{origin}: signed_origins must be true or false")
        links = cluster.get("links", "protocol")
        if links not in LINK_MODELS:
            raise ConfigurationError(f"{origin}: links must be one of {LINK_MODELS}, "
                                     f"not {links!r}")
        return cls(nodes=nodes, selections=selections, fill=fill,
                   network=dict(data.get("network", {})), broadcasts=broadcasts, faults=faults,
                   workload=dict(data.get("workload", {})), quiet=float(run.get("quiet", 20.0)),
                   layer=layer, signed_origins=signed, links=links)

    @classmethod
    def random(cls, *, nodes: int, seed: int, layer: str | None = None,
               use: Sequence[str] = (), messages: int = 20, crash: int = 0, loss: float = 0.0,
               partition: bool = False, duplicate: float = 0.0, reorder: float = 0.0,
               window: float = 5.0, quiet: float = 20.0,
               lossy_quiet: bool = False) -> Scenario:
        """The built-in random scenario of ``netweave sim`` (every draw from ``seed``).

        Loss ends with the broadcast window (a ``loss`` fault of probability 0), so the
        quiet period is synchronous, as a perfect detector and the liveness properties
        assume; ``lossy_quiet=True`` keeps losing to the end.
        """
        if nodes < 1:
            raise ConfigurationError("--nodes must be at least 1")
        if not 0 <= crash < nodes:
            raise ConfigurationError(f"--crash must be between 0 and {nodes - 1} (some node "
                                     f"must stay correct), not {crash}")
        if messages < 0:
            raise ConfigurationError("--messages must be >= 0")
        if bool(layer) == bool(use):
            raise ConfigurationError("choose either a layer or a list of plugins to use")
        rng = random.Random(f"scenario/{seed}")
        ids = [f"n{i}" for i in range(1, nodes + 1)]
        faults: list[Fault] = []
        for victim in rng.sample(ids, crash):
            faults.append(Fault(round(rng.uniform(0.5, window), 6), "crash", {"node": victim}))
        if partition and nodes > 1:
            shuffled = rng.sample(ids, nodes)
            cut = rng.randint(1, nodes - 1)
            start = round(rng.uniform(0.5, window), 6)
            faults.append(Fault(start, "partition",
                                {"groups": [sorted(shuffled[:cut]), sorted(shuffled[cut:])]}))
            # Shorter than the default detection time: a delay, not a crash, to detectors
            # that assume synchrony. Scenario files can partition for longer.
            faults.append(Fault(round(start + rng.uniform(0.2, 0.8), 6), "heal"))
        if loss and not lossy_quiet:
            faults.append(Fault(round(window, 6), "loss", {"probability": 0.0}))
        faults.sort(key=lambda f: f.at)
        selections: list[tuple[str, dict[str, Any]]] = (
            [(layer, {})] if layer else [(u, {}) for u in use])
        return cls(nodes=ids, selections=selections, fill="defaults" if layer else "none",
                   network={"loss": loss, "duplicate": duplicate, "reorder": reorder},
                   faults=faults,
                   workload={"messages": messages, "start": 0.5, "window": window},
                   quiet=quiet, layer=layer)

    # -- running ----------------------------------------------------------------------

    def configure(self, node: Node) -> None:
        """Select this scenario's plugins on ``node``."""
        for name, options in self.selections:
            node.use(name, **options)

    def build(self, seed: int, *, catalog: Catalog | None = None, trace: bool = True,
              encode: bool = False, strict: bool = True,
              trace_messages: bool = False) -> SimCluster:
        """Create the cluster and schedule the workload and the faults (nothing runs yet)."""
        try:
            network = NetworkModel(**self.network)
        except TypeError as exc:
            raise ConfigurationError(f"invalid [network]: {exc}") from None
        cluster = SimCluster(self.nodes, self.configure, seed=seed, network=network,
                             catalog=catalog, trace=trace, encode=encode, strict=strict,
                             fill=self.fill, trace_messages=trace_messages,
                             signed_origins=self.signed_origins, links=self.links)
        layer = self._workload_layer(next(iter(cluster.nodes.values())))
        # (time, sender, layer, payload): drawn first, so equal times keep that order.
        plan = ([(at, node, layer, payload) for at, node, payload in self._workload(seed)]
                if layer else [])
        plan += [(b.at, b.node, b.layer or layer, b.payload) for b in self.broadcasts]
        plan.sort(key=itemgetter(0))
        for at, node, on, payload in plan:
            if node not in cluster.nodes:
                raise ConfigurationError(f"broadcast from unknown node {node!r}")
            cluster.at(at, cluster.broadcast, node, on, payload)
        for f in self.faults:
            cluster.at(f.at, _apply, cluster, f)
        # In whole microseconds, as the clock counts: the cluster's time at the end.
        self.end = to_us(max([0.0] + [b[0] for b in plan] + [f.at for f in self.faults])
                         + self.quiet) / US
        cluster.start()
        return cluster

    def run(self, seed: int, **kwargs: Any) -> SimCluster:
        """Build and run the scenario to its end (last event + quiet period)."""
        cluster = self.build(seed, **kwargs)
        cluster.run(self.end)
        return cluster

    def _drawn(self, seed: int) -> list[Broadcast]:
        """The ``[workload]`` broadcasts of ``seed`` (times, senders, payloads ``m1``...)."""
        return [Broadcast(at, node, payload) for at, node, payload in self._workload(seed)]

    def _workload(self, seed: int) -> list[tuple[float, str, str]]:
        """The time, sender and payload of each ``[workload]`` broadcast of ``seed``."""
        rng = random.Random(f"workload/{seed}")
        wl = self.workload
        senders = [str(s) for s in wl.get("senders", self.nodes)]
        start, window = float(wl.get("start", 0.5)), float(wl.get("window", 5.0))
        return [(round(rng.uniform(start, window), 6), rng.choice(senders), f"m{i + 1}")
                for i in range(int(wl.get("messages", 0)))]

    def explicit(self, seed: int, *, catalog: Catalog | None = None) -> Scenario:
        """This scenario with the broadcasts ``seed`` draws for its ``[workload]`` written
        out as explicit ones: it runs the same with ``seed``, and each broadcast can be
        edited or removed (what :func:`~netweave.sim.shrink_scenario` does)."""
        drawn: list[Broadcast] = []
        if int(self.workload.get("messages", 0)):
            node = Node(self.nodes[0], peers=self.nodes, catalog=catalog,
                        fill=self.fill)  # type: ignore[arg-type]
            self.configure(node)
            node.build()
            if self._workload_layer(node):
                drawn = self._drawn(seed)
        return attrs.evolve(self, broadcasts=sorted(drawn + self.broadcasts, key=lambda b: b.at),
                            workload={})

    def summary(self) -> str:
        """Its size in a few words: nodes, broadcasts (explicit and drawn), faults."""
        count = len(self.broadcasts) + int(self.workload.get("messages", 0))
        return (f"{len(self.nodes)} node{'s' * (len(self.nodes) != 1)}, "
                f"{count} broadcast{'s' * (count != 1)}, "
                f"{len(self.faults)} fault{'s' * (len(self.faults) != 1)}")

    def to_toml(self, *, header: str = "") -> str:
        """This scenario as a scenario file (``header``: comment lines to start it with);
        :meth:`from_toml` reads it back as an equal scenario (tuples come back as lists).

        :raises ConfigurationError: for what a file cannot say: with ``fill="defaults"``
            (a file's ``layer``), a ``layer`` other than the first selection; other
            ``fill`` values than ``"defaults"`` and ``"none"`` (a file's ``use``); a
            value TOML has no type for (``None``, an integer beyond 64 bits).
        """
        out = [_toml.comment(line) for line in header.splitlines()]
        names = [name for name, _ in self.selections]
        out.append("[cluster]")
        out.append(f"ids = {_toml.value(self.nodes)}")
        if self.fill == "defaults" and names and self.layer == names[0]:
            out.append(f"layer = {_toml.value(names[0])}")
        elif self.fill == "none":
            out.append(f"use = {_toml.value(names)}")
            if self.layer:
                out.append(f"layer = {_toml.value(self.layer)}")
        elif self.fill == "defaults":
            raise ConfigurationError(
                f"a scenario file selects with 'layer' the plugin the workload broadcasts "
                f"on, then its requirements; this scenario's layer is {self.layer!r}, its "
                f"first selection {names[0] if names else None!r}: make them the same, or "
                f"select every plugin with fill='none' ('use')")
        else:
            raise ConfigurationError(f"a scenario file cannot select plugins with "
                                     f"fill={self.fill!r}: 'layer' means 'defaults', 'use' "
                                     f"means 'none'")
        if self.signed_origins:
            out.append("signed_origins = true")
        if self.links != "protocol":
            out.append(f"links = {_toml.value(self.links)}")
        for i, (name, options) in enumerate(self.selections):
            # With a layer, a table is what selects a further plugin, even an empty one.
            if options or (self.fill == "defaults" and i > 0):
                out += ["", f"[plugins.{_toml.key(name)}]", *_toml.pairs(options)]
        sections: list[tuple[str, Mapping[str, Any]]] = [("network", self.network),
                                                          ("workload", self.workload)]
        for title, table in sections:
            if table:
                out += ["", f"[{title}]", *_toml.pairs(table)]
        for b in self.broadcasts:
            out += ["", "[[broadcast]]", f"at = {_toml.value(b.at)}",
                    f"node = {_toml.value(b.node)}", f"payload = {_toml.value(b.payload)}"]
            if b.layer is not None:
                out.append(f"layer = {_toml.value(b.layer)}")
        for f in self.faults:
            out += ["", "[[faults]]", f"at = {_toml.value(f.at)}",
                    f"kind = {_toml.value(f.kind)}", *_toml.pairs(f.fields)]
        out += ["", "[run]", f"quiet = {_toml.value(self.quiet)}"]
        return "\n".join(out) + "\n"

    def _workload_layer(self, node: Node) -> str:
        if self.layer:
            chosen = node.component(self.layer)
            if type(chosen).broadcast is Component.broadcast:
                return ""  # a layer that broadcasts nothing (fd): faults only, no workload
            return chosen.layer or self.layer
        layered = [c for c in node.components
                   if c.layer and type(c).broadcast is not Component.broadcast]
        # Only detectors or clocks selected: faults only, no workload.
        return (layered[-1].layer or "") if layered else ""


def _apply(cluster: SimCluster, fault: Fault) -> None:
    f = fault.fields
    kind = fault.kind
    if kind in ("crash", "restart", "pause", "resume"):
        node = f.get("node")
        if node not in cluster.nodes:
            raise ConfigurationError(f"fault {kind} at {fault.at}: unknown node {node!r}")
        getattr(cluster, kind)(node)
    elif kind == "partition":
        cluster.partition(*f["groups"])
    elif kind == "one-way":
        cluster.one_way(f["sources"], f["targets"])
    elif kind == "heal":
        cluster.heal()
    elif kind == "loss":
        cluster.set_loss(float(f["probability"]))

"""Test helper: nodes of one cluster on one asyncio loop, over real loopback TCP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from netweave import Deliver, LinkOptions, Node
from netweave.cli._launch import free_ports
from netweave.transport import TransportOptions
from netweave.transport.tcp import TcpTransport

T = TypeVar("T")


def run(coro: Awaitable[T], timeout: float = 60.0) -> T:
    """Run ``coro`` on a fresh loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


class LiveCluster:
    """``ids`` are members; only those passed to :meth:`start` run (others stay absent)."""

    def __init__(self, ids: Iterable[str], *,
                 plugins: Iterable[tuple[Any, dict[str, Any]]]
                 | Callable[[str], Iterable[tuple[Any, dict[str, Any]]]] = (("beb", {}),),
                 options: TransportOptions | Callable[[str], TransportOptions] | None = None,
                 cluster: str = "test", link_options: LinkOptions | None = None,
                 layer: str = "beb", origin_keys: Mapping[str, Any] | None = None) -> None:
        """``plugins``: the stack, or a function of the node id giving its stack;
        ``origin_keys``: each node's keyring, to sign origins (``Node(origin_keys=...)``)."""
        self.ids = list(ids)
        ports = free_ports(len(self.ids))
        self.addresses = {i: f"127.0.0.1:{p}" for i, p in zip(self.ids, ports, strict=True)}
        self.plugins = plugins if callable(plugins) else list(plugins)
        self.origin_keys = dict(origin_keys or {})
        self.options = options or TransportOptions()
        self.cluster = cluster
        self.link_options = link_options or LinkOptions(rto=0.05, max_rto=0.4)
        self.layer = layer
        self.nodes: dict[str, Node] = {}
        self.delivered: dict[str, list[Deliver]] = {}

    def _options(self, node_id: str) -> TransportOptions:
        return self.options(node_id) if callable(self.options) else self.options

    async def start(self, ids: Iterable[str] | None = None) -> None:
        for node_id in ids if ids is not None else self.ids:
            node = Node(node_id, peers=self.addresses, cluster=self.cluster,
                        link_options=self.link_options, strict=True,
                        origin_keys=self.origin_keys.get(node_id))
            stack = self.plugins(node_id) if callable(self.plugins) else self.plugins
            for name, opts in stack:
                node.use(name, **opts)
            got = self.delivered.setdefault(node_id, [])
            node.on_deliver(self.layer, got.append)
            self.nodes[node_id] = node
            await node.start(transport=self._options(node_id))

    async def stop(self) -> None:
        for node in self.nodes.values():
            if node.running:
                await node.stop()

    def transport(self, node_id: str) -> TcpTransport:
        runtime: Any = self.nodes[node_id]._runtime
        return runtime.transport  # type: ignore[no-any-return]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.02)
        return predicate()

    def ids_delivered(self, node_id: str) -> list[str]:
        return [d.id for d in self.delivered[node_id]]

    def complete(self, expected: set[str], ids: Iterable[str]) -> bool:
        """Every node in ``ids`` delivered exactly ``expected``, each once."""
        return all(sorted(self.ids_delivered(i)) == sorted(expected) for i in ids)

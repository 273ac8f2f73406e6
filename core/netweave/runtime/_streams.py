"""The coroutines behind :meth:`netweave.Node.deliveries` and
:meth:`netweave.Node.broadcast_when_ready`.

They belong to the asyncio runtime (the kernel imports no asyncio); the node reaches
them through its front door (:attr:`netweave.Node.front_door`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..events import Deliver

if TYPE_CHECKING:
    from ..node import Node

_RECHECK = 0.005
"""Seconds between two looks at a congested node's links (acks wake it sooner)."""


class DeliveryQueue(asyncio.Queue[Deliver]):
    """The queue of one ``deliveries()`` iterator: throttles the node's senders while
    ``limit`` deliveries wait unread, until half of them are read."""

    def __init__(self, node: Node, limit: int) -> None:
        super().__init__()
        if limit < 2:
            raise ValueError(f"deliveries(limit={limit!r}): at least 2")
        self.node = node
        self.limit = limit
        self.throttled = False

    def put_nowait(self, item: Deliver) -> None:
        super().put_nowait(item)
        if not self.throttled and self.qsize() >= self.limit:
            self.throttled = True
            self.node.throttle_senders(True, key=self)

    def get_nowait(self) -> Deliver:
        item = super().get_nowait()
        if self.throttled and self.qsize() <= self.limit // 2:
            self.release()
        return item

    def release(self) -> None:
        """Stop throttling on this queue's behalf."""
        if self.throttled:
            self.throttled = False
            self.node.throttle_senders(False, key=self)


async def deliveries(node: Node, queues: dict[str, list[Any]],
                     layer: str, limit: int) -> AsyncIterator[Deliver]:
    """Yield what ``layer`` delivers from the first ``__anext__`` on, until closed."""
    queue = DeliveryQueue(node, limit)
    queues.setdefault(layer, []).append(queue)
    try:
        while True:
            yield await queue.get()
    finally:
        queues[layer].remove(queue)
        queue.release()


async def broadcast_when_ready(node: Node, layer: str, payload: Any,
                               timeout: float | None) -> str:
    """Wait until ``node`` is not congested, then broadcast ``payload`` on ``layer``."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while node.congested and node.running:
        if deadline is not None and loop.time() >= deadline:
            raise TimeoutError(f"node {node.id!r} still congested after {timeout}s")
        await asyncio.sleep(_RECHECK)
    return node.broadcast(layer, payload)

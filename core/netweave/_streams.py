"""The async iterator behind :meth:`netweave.Node.deliveries`.

It lives apart from ``node.py`` because that module may be compiled with mypyc (see
``hatch_build.py``), which cannot compile an async generator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from .events import Deliver


async def deliveries(queues: dict[str, list[asyncio.Queue[Deliver]]],
                     layer: str) -> AsyncIterator[Deliver]:
    """Yield what ``layer`` delivers from the first ``__anext__`` on, until closed."""
    queue: asyncio.Queue[Deliver] = asyncio.Queue()
    queues.setdefault(layer, []).append(queue)
    try:
        while True:
            yield await queue.get()
    finally:
        queues[layer].remove(queue)

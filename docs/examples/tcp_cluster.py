"""Three nodes over real TCP on the loopback interface, in one asyncio program.

Each node runs the perfect failure detector and lazy reliable broadcast; each broadcasts
one message, and each reads its deliveries with ``async for``. In a real deployment each
node is its own process on its own machine (see ``netweave node``); the code is the same.
"""

import asyncio
import socket

from netweave import Node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def receive(node: Node, count: int) -> list[str]:
    payloads = []
    async for delivery in node.deliveries("rb"):
        payloads.append(delivery.payload)
        if len(payloads) == count:
            return payloads
    return payloads


async def main() -> None:
    addresses = {node_id: f"127.0.0.1:{free_port()}" for node_id in ("n1", "n2", "n3")}
    nodes = [Node(node_id, peers=addresses).use("perfect-fd", timeout=2.0).use("rb")
             for node_id in addresses]
    for node in nodes:
        await node.start()  # listens, starts the components, connects to the peers
    readers = [asyncio.create_task(receive(node, count=3)) for node in nodes]
    await asyncio.sleep(0)  # let the readers subscribe before anything is delivered
    try:
        for node in nodes:
            node.broadcast("rb", f"hello from {node.id}")
        results = await asyncio.wait_for(asyncio.gather(*readers), timeout=10)
        for node, payloads in zip(nodes, results, strict=True):
            print(f"{node.id} delivered: {', '.join(sorted(payloads))}")
    finally:
        for node in nodes:
            await node.stop()  # stops the components and closes the connections


asyncio.run(main())

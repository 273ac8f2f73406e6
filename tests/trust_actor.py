"""A member that forges relayed messages: one process of a real cluster, on real TCP.

::

    python tests/trust_actor.py --config CLUSTER.toml --id n4 --layer eager-rb \\
        --victim n3 [--trace-dir DIR] [--state-dir DIR]

The process builds its node from the cluster file exactly as ``netweave node`` does
(``ClusterConfig.node``, the transport options of its id: its own credentials and no
others), adds a :class:`Forger` and starts it on the TCP transport. It writes its trace to
``DIR/<id>.jsonl``, its deliveries as JSON lines on standard output and a ``ready`` line
on standard error, as ``netweave node`` does, so :class:`netweave.cli._launch.NodeProcess`
runs it. Then:

1. it waits until it is connected to every other member;
2. it waits for the first message of ``--layer`` that ``--victim`` really broadcast (as
   every member relays it, the forger gets it with the victim's signature, if any);
3. it relays, through best-effort broadcast as any relay does, three messages naming the
   victim as origin with the victim's next three numbers: one unsigned, one signed with
   this member's own key (when the cluster has a keyring), one carrying the signature the
   victim made for the message of step 2;
4. it prints ``forged ID ID ID`` on standard error and stays a member until its standard
   input closes or it gets SIGTERM, then prints its ``stats`` line and exits 0.

It exits 2 if step 1 or 2 does not happen within ``--wait`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import msgspec
from netweave import Component, Deliver, Node, upon_deliver
from netweave.config import ClusterConfig
from netweave.interfaces import BEST_EFFORT_BROADCAST
from netweave.origins import DOMAIN, OriginMessage, origin_node
from netweave.runtime.asyncio import LoopFlushedSink
from netweave_broadcast.all_ack_urb import UrbData
from netweave_broadcast.eager_rb import EagerRbData

DATA: dict[str, type[OriginMessage]] = {"eager-rb": EagerRbData, "all-ack-urb": UrbData}
"""The data message of each layer this process can forge."""


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Forger(Component):
    """Keeps the first relayed data message of each origin; relays whatever it is handed."""

    name = "forger"
    provides = ("forgery",)
    requires = ("best-effort-broadcast",)

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self.first: dict[str, OriginMessage] = {}

    def relay(self, message: OriginMessage) -> None:
        self.ctx.component(BEST_EFFORT_BROADCAST).broadcast(self.ctx.new_message_id(), message)

    def _seen(self, _: str, __: str, message: OriginMessage) -> None:
        origin = origin_node(getattr(message, message.origin_field, None))
        if origin is not None:
            self.first.setdefault(origin, message)

    @upon_deliver(EagerRbData)
    def on_rb(self, message_id: str, origin: str, message: EagerRbData) -> None:
        self._seen(message_id, origin, message)

    @upon_deliver(UrbData)
    def on_urb(self, message_id: str, origin: str, message: UrbData) -> None:
        self._seen(message_id, origin, message)


def forgeries(config: ClusterConfig, me: str, real: Any) -> list[Any]:
    """Three messages naming ``real``'s origin, with its next three numbers: unsigned,
    signed with ``me``'s own key (if it has one), and carrying ``real``'s signature."""
    origin, inc, _ = real.id.split("/")
    made = [type(real)(id=f"{origin}/{inc}/{900 + k}", seq=real.seq + k, payload=f"forged-{k}")
            for k in (1, 2, 3)]
    keys = config.keyring(me)  # this member's credentials, nobody else's
    if keys is not None:
        content = msgspec.msgpack.encode((DOMAIN, config.name, made[1]))
        made[1] = msgspec.structs.replace(made[1], sig=keys.sign(content))
    if real.sig:
        made[2] = msgspec.structs.replace(made[2], sig=real.sig)
    return made


async def wait_for(check: Any, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def read_until_closed(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (OSError, ValueError):
        return
    while await reader.readline():
        pass
    stop.set()


async def serve(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    config = ClusterConfig.from_toml(args.config)
    node: Node = config.node(args.id)
    node.use(Forger)
    node.build()
    sink = None
    if args.trace_dir is not None:
        sink = LoopFlushedSink(args.trace_dir / f"{args.id}.jsonl", loop)
        node.tracer.sinks.append(sink)

    def show(delivery: Deliver) -> None:
        print(json.dumps({"layer": delivery.layer, "id": delivery.id, "origin":
                          delivery.origin, "payload": delivery.payload,
                          "incarnation": node.incarnation}, default=str), flush=True)

    for layer in node.layers:
        if layer != "fd":
            node.on_deliver(layer, show)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start(transport=config.transport_options(args.id), state_dir=args.state_dir)
    code = 0
    watcher = loop.create_task(read_until_closed(stop))
    try:
        runtime: Any = node._runtime
        transport = runtime.transport
        host, port = transport.address
        err(f"ready {node.id} listening on {host}:{port} incarnation {node.incarnation} "
            f"layers {','.join(node.layers)}")
        peers = [m for m in config.members if m != args.id]

        def connected() -> bool:
            return all((c := transport.channels[p].conn) is not None and c.established
                       for p in peers)

        forger: Forger = node.component("forger")  # type: ignore[assignment]
        if not await wait_for(connected, args.wait):
            err(f"trust_actor {args.id}: not connected to {', '.join(peers)} "
                f"within {args.wait:g}s")
            code = 2
            return code
        err(f"connected {' '.join(peers)}")

        def heard() -> bool:
            real = forger.first.get(args.victim)
            return isinstance(real, DATA[args.layer])

        if not await wait_for(heard, args.wait):
            err(f"trust_actor {args.id}: no {args.layer} message of {args.victim} "
                f"within {args.wait:g}s")
            code = 2
            return code
        made = forgeries(config, args.id, forger.first[args.victim])
        for message in made:
            forger.relay(message)
        err("forged " + " ".join(f"{m.id}:{'signed' if m.sig else 'unsigned'}" for m in made))
        await stop.wait()
    finally:
        watcher.cancel()
        await node.stop()
        if sink is not None:
            sink.close()
        stats: dict[str, Any] = {"node": node.id, "code": code}
        if node.origins is not None:
            stats["origins"] = node.origins.stats()
        err("stats " + json.dumps(stats))
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--layer", choices=sorted(DATA), required=True)
    parser.add_argument("--victim", required=True)
    parser.add_argument("--trace-dir", type=Path)
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--wait", type=float, default=20.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())

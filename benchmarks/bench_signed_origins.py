"""What signed origins cost, measured in the same run as the unsigned stack.

    python benchmarks/bench_signed_origins.py [--layers eager-rb,lazy-rb,all-ack-urb]
        [--nodes 4,8] [--messages 400] [--tcp-messages 3000] [--rounds 2]

Three parts, each alternating unsigned and signed runs of the same work:

- *primitives*: one Ed25519 signature, one check, and what a copy already checked costs
  (encode the message, hash it, look it up), for a message of ~100 bytes of payload;
- *simulator*: CPU microseconds per broadcast for the whole cluster (every node in one
  process, virtual time, no faults), per layer and cluster size, and how many signatures
  each broadcast made and checked;
- *tcp*: four nodes on one asyncio loop over loopback TCP, every connection on a keyring
  in both arms (so only the origins' signatures differ), each node broadcasting as fast as
  the links let it (``broadcast_when_ready``) until ``--tcp-messages`` are delivered
  everywhere: broadcasts per second and the median latency from broadcast to the last
  delivery. One process on one core: it measures CPU, as the simulator part does.

Needs the ``secure`` extra (``pip install 'netweave[secure]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import header


def primitives(rounds: int) -> None:
    import msgspec
    from netweave.keyring import seeded_keyrings
    from netweave.origins import OriginGuard
    from netweave_broadcast.eager_rb import EagerRbData

    keys = seeded_keyrings(["n1", "n2"], 0)
    signer = OriginGuard("n1", "bench", keys["n1"])
    payload = {"k": "x" * 100}
    count = 2000
    print("\n## primitives (one message, ~100-byte payload)\n")
    print("| operation | us per message |")
    print("|---|---|")
    best: dict[str, float] = {}
    for _ in range(rounds):
        began = time.perf_counter()
        signed = [signer.sign(EagerRbData(f"n1/1/{i}", i, payload)) for i in range(1, count)]
        best["sign (encode + Ed25519)"] = min(best.get("sign (encode + Ed25519)", 1e9),
                                              (time.perf_counter() - began) / count * 1e6)
        checker = OriginGuard("n2", "bench", keys["n2"])
        began = time.perf_counter()
        for m in signed:
            checker.check(m)
        best["check, first copy (Ed25519 verify)"] = min(
            best.get("check, first copy (Ed25519 verify)", 1e9),
            (time.perf_counter() - began) / count * 1e6)
        again = [msgspec.msgpack.decode(msgspec.msgpack.encode(m), type=EagerRbData)
                 for m in signed]  # copies as relays bring them: other objects, same bytes
        began = time.perf_counter()
        for m in again:
            checker.check(m)
        best["check, a copy already checked"] = min(
            best.get("check, a copy already checked", 1e9),
            (time.perf_counter() - began) / count * 1e6)
    for name, value in best.items():
        print(f"| {name} | {value:.1f} |")


def sim_part(layers: list[str], sizes: list[int], messages: int, rounds: int) -> None:
    from netweave.sim import Scenario

    print(f"\n## simulator ({messages} broadcasts, no faults, CPU time, best of {rounds})\n")
    print("| layer | nodes | unsigned us/broadcast | signed us/broadcast | ratio | "
          "signatures made / checked per broadcast |")
    print("|---|---|---|---|---|---|")
    warm = Scenario.random(nodes=4, seed=1, layer=layers[0], messages=10, quiet=1.0)
    warm.signed_origins = True
    warm.run(1, trace=False)  # imports, plugin discovery, key derivation: not measured
    for layer in layers:
        for n in sizes:
            best = {False: 1e18, True: 1e18}
            per: tuple[float, float] = (0.0, 0.0)
            for _ in range(rounds):
                for signed in (False, True):
                    scenario = Scenario.random(nodes=n, seed=1, layer=layer,
                                               messages=messages, quiet=5.0)
                    scenario.signed_origins = signed
                    gc.collect()
                    began = time.process_time()
                    cluster = scenario.run(1, trace=False)
                    took = time.process_time() - began
                    best[signed] = min(best[signed], took)
                    if signed:
                        guards = [x.origins for x in cluster.nodes.values()
                                  if x.origins is not None]
                        per = (sum(g.signed for g in guards) / messages,
                               sum(g.verified for g in guards) / messages)
            u = best[False] / messages * 1e6
            s = best[True] / messages * 1e6
            print(f"| {layer} | {n} | {u:.0f} | {s:.0f} | {s / u:.2f} | "
                  f"{per[0]:.1f} / {per[1]:.1f} |")


def tcp_part(layer: str, messages: int, rounds: int) -> None:
    from live_cluster import LiveCluster
    from netweave.keyring import seeded_keyrings
    from netweave.transport import Security, TransportOptions

    ids = ["n1", "n2", "n3", "n4"]
    keys = seeded_keyrings(ids, 0)
    stack = {"eager-rb": [("eager-rb", {})], "lazy-rb": [("perfect-fd", {}), ("lazy-rb", {})],
             "all-ack-urb": [("perfect-fd", {}), ("all-ack-urb", {})]}[layer]
    short = "urb" if "urb" in layer else "rb"

    async def one(signed: bool) -> tuple[float, float]:
        c = LiveCluster(ids, plugins=stack, layer=short,
                        options=lambda i: TransportOptions(security=Security(keyring=keys[i])),
                        origin_keys=keys if signed else None)
        await c.start()
        sent_at: dict[str, float] = {}
        last: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        for i in ids:
            c.nodes[i].on_deliver(short, lambda d: last.__setitem__(d.id, loop.time()))
        per_node = messages // len(ids)

        async def sender(i: str) -> None:
            node = c.nodes[i]
            for k in range(per_node):
                mid = await node.broadcast_when_ready(short, {"k": k, "pad": "x" * 64})
                sent_at[mid] = loop.time()

        began = loop.time()
        await asyncio.gather(*(sender(i) for i in ids))
        total = per_node * len(ids)
        await c.wait_for(lambda: all(len(c.delivered[i]) >= total for i in ids), 120)
        took = loop.time() - began
        latency = statistics.median(last[m] - t for m, t in sent_at.items() if m in last)
        await c.stop()
        return total / took, latency * 1000

    print(f"\n## tcp ({layer}, 4 nodes in one process, keyring connections, "
          f"{messages} broadcasts, {rounds} rounds alternated)\n")
    print("| origins | broadcasts/s | p50 latency ms |")
    print("|---|---|---|")
    got: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(rounds):
        for signed in (False, True):
            gc.collect()
            got[signed].append(asyncio.run(one(signed)))
    for signed in (False, True):
        rates = [r for r, _ in got[signed]]
        lat = [x for _, x in got[signed]]
        print(f"| {'signed' if signed else 'unsigned'} | "
              f"{' / '.join(f'{r:,.0f}' for r in rates)} | "
              f"{' / '.join(f'{x:.0f}' for x in lat)} |")
    u = statistics.mean(r for r, _ in got[False])
    s = statistics.mean(r for r, _ in got[True])
    print(f"\nsigned / unsigned throughput: {s / u:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="eager-rb,lazy-rb,all-ack-urb,fifo-rb")
    parser.add_argument("--nodes", default="4,8")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--tcp-layers", default="eager-rb,all-ack-urb")
    parser.add_argument("--tcp-messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    layers = [x for x in args.layers.split(",") if x]
    sizes = [int(x) for x in args.nodes.split(",") if x]
    params: dict[str, Any] = vars(args)
    header("signed origins: cost against the unsigned stack", **params)
    primitives(args.rounds)
    sim_part(layers, sizes, args.messages, args.rounds)
    for layer in [x for x in args.tcp_layers.split(",") if x]:
        tcp_part(layer, args.tcp_messages, args.rounds)


if __name__ == "__main__":
    main()

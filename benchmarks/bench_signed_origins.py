"""What signed origins cost, measured in the same run as the unsigned stack.

    python benchmarks/bench_signed_origins.py [--layers eager-rb,lazy-rb,all-ack-urb]
        [--nodes 4,8] [--messages 400] [--tcp-messages 3000] [--rounds 2]
        [--parts primitives,sim,tcp]

Three parts, each alternating unsigned and signed runs of the same work:

- *primitives*: one signature, one check, and what a copy already checked costs (encode
  the message, hash it, look it up), for a message of ~100 bytes of payload, with the
  keyring's Ed25519 keys and with the TLS keys of certificates (ECDSA P-256, RSA 2048,
  Ed25519; made with the openssl command when it is there);
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


def key_sources(directory: Path) -> dict[str, tuple[Any, Any]]:
    """Signer and checker keys of each kind: the keyring's Ed25519, and the TLS keys of
    certificates (ECDSA P-256, RSA 2048, Ed25519) when the openssl command is there."""
    import shutil

    from netweave.certificates import CertificateKeys
    from netweave.keyring import seeded_keyrings

    keys = seeded_keyrings(["n1", "n2"], 0)
    sources: dict[str, tuple[Any, Any]] = {"keyring Ed25519": (keys["n1"], keys["n2"])}
    if shutil.which("openssl") is None:
        print("(no openssl command: the TLS key kinds are left out)")
        return sources
    from tls_files import EC, make_ca, make_cert

    for label, kind in (("TLS ECDSA P-256", EC), ("TLS RSA 2048", ("rsa:2048",)),
                        ("TLS Ed25519", ("ed25519",))):
        tls = directory / label.replace(" ", "-")
        make_ca(tls)
        for node_id in ("n1", "n2"):
            make_cert(tls, node_id, key=kind)
        pair = tuple(CertificateKeys(i, ca=tls / "ca.pem", key=tls / f"{i}.key",
                                     certificates={m: tls / f"{m}.pem" for m in ("n1", "n2")})
                     for i in ("n1", "n2"))
        sources[label] = pair
    return sources


def primitives(rounds: int) -> None:
    import tempfile

    import msgspec
    from netweave.origins import OriginGuard
    from netweave_broadcast.eager_rb import EagerRbData

    payload = {"k": "x" * 100}
    count = 2000
    print("\n## primitives (one message, ~100-byte payload)\n")
    print("| keys | sign | check, first copy | check, a copy already checked |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        sources = key_sources(Path(tmp))
    for label, (n1, n2) in sources.items():
        best = [1e9, 1e9, 1e9]
        for _ in range(rounds):
            signer = OriginGuard("n1", "bench", n1)
            began = time.perf_counter()
            signed = [signer.sign(EagerRbData(f"n1/1/{i}", i, payload))
                      for i in range(1, count + 1)]
            best[0] = min(best[0], (time.perf_counter() - began) / count * 1e6)
            checker = OriginGuard("n2", "bench", n2)
            began = time.perf_counter()
            assert all(checker.check(m) for m in signed)
            best[1] = min(best[1], (time.perf_counter() - began) / count * 1e6)
            again = [msgspec.msgpack.decode(msgspec.msgpack.encode(m), type=EagerRbData)
                     for m in signed]  # copies as relays bring them: other objects, same bytes
            began = time.perf_counter()
            assert all(checker.check(m) for m in again)
            best[2] = min(best[2], (time.perf_counter() - began) / count * 1e6)
        print(f"| {label} | " + " | ".join(f"{b:.1f} us" for b in best) + " |")


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
    parser.add_argument("--parts", default="primitives,sim,tcp",
                        help="which parts to run (default: all three)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    layers = [x for x in args.layers.split(",") if x]
    sizes = [int(x) for x in args.nodes.split(",") if x]
    params: dict[str, Any] = vars(args)
    header("signed origins: cost against the unsigned stack", **params)
    if "primitives" in parts:
        primitives(args.rounds)
    if "sim" in parts:
        sim_part(layers, sizes, args.messages, args.rounds)
    for layer in [x for x in args.tcp_layers.split(",") if x] if "tcp" in parts else []:
        tcp_part(layer, args.tcp_messages, args.rounds)


if __name__ == "__main__":
    main()

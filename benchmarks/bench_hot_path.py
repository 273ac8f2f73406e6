"""The CPU a broadcast costs on the delivery path, every node in one process.

    python benchmarks/bench_hot_path.py [--layers beb,eager-rb] [--nodes 4]
        [--broadcasts 40000] [--rounds 3] [--compare-with DIR]

Two parts:

- *events*: building one delivery event (:class:`netweave.Deliver`, a frozen
  ``msgspec.Struct``) against the same fields as a frozen attrs class, the form every
  other event has;
- *stack*: ``--nodes`` nodes on one asyncio loop over loopback TCP, each broadcasting as
  fast as its links let it until ``--broadcasts`` are delivered everywhere; the figure is
  process CPU time per broadcast (sending, every delivery, the links' acknowledgements),
  which sharing the machine with other work moves less than wall time.

``--compare-with DIR`` runs the stack part of another checkout (``DIR/core`` and
``DIR/plugins`` first on the path, e.g. a ``git worktree`` of an older commit) in turns
with this one, so that a change is judged against its parent in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))


def events() -> None:
    import attrs
    from netweave import Deliver

    @attrs.frozen
    class AttrsDeliver:
        layer: str
        id: str
        origin: str
        payload: Any

    print("\n## events (ns to build one, best of 5)\n")
    print("| class | ns |")
    print("|---|---|")
    for name, cls in (("Deliver (msgspec.Struct, frozen)", Deliver),
                      ("the same fields, attrs.frozen", AttrsDeliver)):
        best = min(timeit.repeat(lambda cls=cls: cls("beb", "n1/1/2", "n1", 1.0),
                                 number=200_000, repeat=5))
        print(f"| {name} | {best / 200_000 * 1e9:.0f} |")


def stack_once(layer: str, nodes: int, broadcasts: int) -> float:
    """CPU microseconds per broadcast of one run (called in a fresh process)."""
    from live_cluster import LiveCluster, run
    from netweave import BackpressureError

    short = {"beb": "beb", "eager-rb": "rb", "lazy-rb": "rb", "all-ack-urb": "urb"}[layer]
    stack: list[tuple[Any, dict[str, Any]]] = [(layer, {})]
    if layer in ("lazy-rb", "all-ack-urb"):
        stack.insert(0, ("perfect-fd", {}))
    ids = [f"n{i}" for i in range(1, nodes + 1)]
    cluster = LiveCluster(ids, plugins=stack, layer=short)
    per = broadcasts // nodes

    async def main() -> float:
        await cluster.start()
        counts = dict.fromkeys(ids, 0)
        for i in ids:
            cluster.nodes[i].on_deliver(short, lambda d, i=i: counts.__setitem__(
                i, counts[i] + 1))
        began = time.process_time()

        async def sender(i: str) -> None:
            node = cluster.nodes[i]
            sent = 0
            while sent < per:
                try:
                    node.broadcast(short, 1.0)
                    sent += 1
                except BackpressureError:
                    await asyncio.sleep(0)
                if sent % 64 == 0:
                    await asyncio.sleep(0)

        await asyncio.gather(*(sender(i) for i in ids))
        while min(counts.values()) < per * nodes:
            await asyncio.sleep(0.005)
        cpu = time.process_time() - began
        await cluster.stop()
        return cpu / (per * nodes) * 1e6

    return run(main(), 600)


def stack(layers: list[str], nodes: int, broadcasts: int, rounds: int,
          other: Path | None) -> None:
    arms = [("this checkout", None)] + ([(str(other), other)] if other else [])
    print(f"\n## stack ({nodes} nodes, one loop, {broadcasts} broadcasts, CPU us per "
          f"broadcast, {rounds} rounds, arms in turns)\n")
    print("| layer | " + " | ".join(name for name, _ in arms) + " |")
    print("|---|" + "---|" * len(arms))
    for layer in layers:
        got: dict[str, list[float]] = {name: [] for name, _ in arms}
        for _ in range(rounds):
            for name, path in arms:
                env = dict(os.environ)
                if path is not None:
                    env["PYTHONPATH"] = f"{path / 'core'}{os.pathsep}{path / 'plugins'}"
                out = subprocess.run(
                    [sys.executable, __file__, "--one", layer, str(nodes), str(broadcasts)],
                    env=env, check=True, capture_output=True, text=True, timeout=900)
                got[name].append(float(out.stdout.split()[-1]))
        print(f"| {layer} | " + " | ".join(
            ", ".join(f"{v:.1f}" for v in got[name]) for name, _ in arms) + " |")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        print(stack_once(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        return
    from _common import header

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="beb,eager-rb")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--broadcasts", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare-with", type=Path, metavar="DIR")
    args = parser.parse_args()
    header("the delivery path: CPU per broadcast", **vars(args))
    events()
    stack([x for x in args.layers.split(",") if x], args.nodes, args.broadcasts,
          args.rounds, args.compare_with)


if __name__ == "__main__":
    main()

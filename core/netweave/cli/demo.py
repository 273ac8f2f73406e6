"""``netweave demo``: a real cluster on loopback, a crash, and the verdict of the checker.

The demo starts one ``netweave node`` process per node (perfect failure detector plus a
broadcast layer, uniform reliable broadcast by default; each node prints its deliveries
from an ``on_deliver`` callback), authenticates them with a fresh cluster secret, has
every node broadcast, kills one node with SIGKILL halfway through, waits until the
survivors agree and have detected the crash, stops them, checks the recorded traces and
prints a verdict with a per-node summary. The exit code is 0 only if every property of
every layer held.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..config import ClusterConfig
from ..trace import read_trace
from ._launch import LocalCluster, free_ports

NAME = "demo"
HELP = "Run a real cluster on loopback, crash a node, and check the traces (exit 0 = OK)."

_FD = {"period": 0.2, "timeout": 1.0, "start_grace": 5.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=int, default=4, metavar="N", help="cluster size (4)")
    parser.add_argument("--layer", default="urb", help="broadcast layer to run (urb)")
    parser.add_argument("--messages", type=int, default=20, metavar="M",
                        help="broadcasts per node (20)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--crash", metavar="NODE_ID",
                       help="the node to SIGKILL halfway (default: the last one)")
    group.add_argument("--no-crash", action="store_true", help="crash nobody")
    parser.add_argument("--run-dir", type=Path, metavar="DIR",
                        help="keep the cluster file and traces in DIR (default: a temporary "
                        "directory, removed afterwards)")
    parser.add_argument("--interval", type=float, default=0.02, metavar="S",
                        help="seconds between two rounds of broadcasts (0.02)")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(records: list[dict[str, Any]], layer: str, ids: list[str]) -> list[dict[str, Any]]:
    """Per node: broadcasts, deliveries, suspected peers, delivery latency p50/p99 (ms)."""
    sent_at: dict[str, float] = {}
    rows: dict[str, dict[str, Any]] = {
        i: {"node": i, "broadcast": 0, "delivered": 0, "suspected": [], "lat": []} for i in ids}
    for r in records:
        if r.get("ev") == "broadcast" and r.get("layer") == layer:
            sent_at.setdefault(r["id"], r["t"])
    for r in records:
        row = rows.get(r.get("node", ""))
        if row is None:
            continue
        ev = r.get("ev")
        if ev == "broadcast" and r.get("layer") == layer:
            row["broadcast"] += 1
        elif ev == "deliver" and r.get("layer") == layer:
            row["delivered"] += 1
            if r["id"] in sent_at:
                row["lat"].append((r["t"] - sent_at[r["id"]]) * 1000)
        elif ev == "suspect":
            row["suspected"].append(r.get("peer", "?"))
    out = []
    for row in rows.values():
        lat = row.pop("lat")
        row["p50_ms"] = _percentile(lat, 0.5)
        row["p99_ms"] = _percentile(lat, 0.99)
        out.append(row)
    return out


def _table(rows: list[dict[str, Any]], crashed: str | None) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    lines = [f"{'node':<6} {'state':<8} {'broadcast':>9} {'delivered':>9}  "
             f"{'suspected':<12} {'p50 ms':>7} {'p99 ms':>7}"]
    for r in rows:
        state = "crashed" if r["node"] == crashed else "correct"
        lines.append(f"{r['node']:<6} {state:<8} {r['broadcast']:>9} {r['delivered']:>9}  "
                     f"{','.join(sorted(set(r['suspected']))) or '-':<12} "
                     f"{ms(r['p50_ms']):>7} {ms(r['p99_ms']):>7}")
    return "\n".join(lines)


def _progress(cluster: LocalCluster, layer: str, expected: int, tty: bool,
              final: bool = False) -> None:
    parts = []
    for node_id, proc in cluster.nodes.items():
        mark = "" if proc.alive else " (killed)"
        parts.append(f"{node_id} {len(proc.delivered(layer)):>3}/{expected}{mark}")
    text = "  delivered: " + "  ".join(parts)
    if tty:
        print("\r" + text, end="\n" if final else "", flush=True)
    elif final:
        print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..check import check_trace

    if args.nodes < 2:
        print("netweave demo: error: --nodes must be at least 2", file=sys.stderr)
        return 2
    ids = [f"n{i}" for i in range(1, args.nodes + 1)]
    victim = None if args.no_crash else (args.crash or ids[-1])
    if victim is not None and victim not in ids:
        print(f"netweave demo: error: --crash {victim}: not one of {', '.join(ids)}",
              file=sys.stderr)
        return 2
    keep = args.run_dir is not None
    run_dir = Path(args.run_dir) if keep else Path(tempfile.mkdtemp(prefix="netweave-demo-"))
    if keep and run_dir.exists():
        for old in run_dir.glob("*.jsonl"):
            old.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    secret = run_dir / "cluster.secret"
    secret.write_text(secrets.token_hex(32) + "\n")
    os.chmod(secret, 0o600)
    ports = free_ports(len(ids))
    config = ClusterConfig.from_dict({
        "cluster": f"demo-{secrets.token_hex(3)}",
        "members": {i: f"127.0.0.1:{p}" for i, p in zip(ids, ports, strict=True)},
        "plugins": {"perfect-fd": dict(_FD), args.layer: {}},
        "fill": "defaults",
        "security": {"secret_file": secret.name},
    }, base=run_dir)
    tty = sys.stdout.isatty()
    began = time.monotonic()
    print(f"netweave demo: {len(ids)} node processes on loopback, perfect-fd + {args.layer}, "
          f"{args.messages} broadcasts each" + (f", SIGKILL {victim} halfway" if victim else ""))
    print(f"  run dir: {run_dir}")
    codes: dict[str, int | None] = {}
    with LocalCluster(run_dir, config) as cluster:
        cluster.start()
        print(f"  {len(ids)} nodes ready in {time.monotonic() - began:.1f}s "
              f"(ports {', '.join(map(str, ports))}, HMAC-authenticated)")
        layer = args.layer
        total = args.messages * len(ids)
        crashed_at = None
        for k in range(args.messages):
            if victim is not None and crashed_at is None and k == args.messages // 2:
                cluster.kill(victim)
                crashed_at = time.monotonic()
                if tty:
                    print()
                print(f"  SIGKILL {victim} after {k} of its {args.messages} broadcasts")
            for node_id, proc in cluster.nodes.items():
                if proc.alive:
                    proc.broadcast(layer, f"{node_id} says {k}")
            _progress(cluster, layer, total, tty)
            time.sleep(args.interval)
        survivors = [p for p in cluster.nodes.values() if p.alive]

        def settled() -> bool:
            from_survivors = args.messages * len(survivors)
            seen = [{d["id"] for d in p.delivered(layer)} for p in survivors]
            union = set().union(*seen)
            return all(len(s) >= from_survivors and s == union for s in seen)

        deadline = 30.0
        def watch() -> bool:
            _progress(cluster, layer, total, tty)
            return settled()

        done = cluster.wait_until(watch, deadline, 0.1)
        if crashed_at is not None:
            # Let every survivor's detector notice the crash before the traces are judged.
            time.sleep(max(0.0, crashed_at + _FD["timeout"] + 3 * _FD["period"]
                           - time.monotonic()))
        _progress(cluster, layer, total, tty, final=True)
        if not done:
            print(f"  survivors did not agree within {deadline:.0f}s")
        codes = cluster.stop()
    records = read_trace(run_dir)
    report = check_trace(records)
    print()
    print(report.format(excerpts=True))
    print()
    print(_table(summarize(records, args.layer, ids), victim))
    bad_exit = {k: v for k, v in codes.items() if v != 0}
    ok = report.ok and done and not bad_exit
    print()
    if bad_exit:
        print(f"  nodes that did not stop cleanly: {bad_exit}")
    verdict = "every property held" if ok else "some property did NOT hold"
    print(f"verdict: {'OK' if ok else 'FAILED'}: {verdict} "
          f"({len(report.results)} properties, {len(records)} trace lines, "
          f"{time.monotonic() - began:.1f}s)")
    if keep:
        print(f"traces kept in {run_dir} (check them again: netweave check {run_dir})")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0 if ok else 1

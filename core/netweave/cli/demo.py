"""``netweave demo``: a real cluster on loopback, a crash, and the verdict of the checker.

The demo starts one ``netweave node`` process per node (perfect failure detector plus a
broadcast layer, uniform reliable broadcast by default; each node prints its deliveries
from an ``on_deliver`` callback), authenticates them with a fresh cluster secret (with
``--secure``: a fresh Ed25519 key per node, the keyring of them all, and signed origins:
the ``secure`` profile), has every node broadcast, kills one node with SIGKILL halfway
through, waits until the survivors agree and have detected the crash, stops them, checks
the recorded traces and prints a verdict with a per-node summary. The exit code is 0
only if every property of every layer held; 1 for a failed run, with its reason; 2 for
bad options, which are all checked before any process starts.

The nodes trace every message they send and receive, and the demo writes the run as a
``netweave view`` page (lanes, message arrows, the check's verdicts marked) and prints
its path: ``view.html`` in ``--run-dir`` when the run is kept, else
``netweave-demo.html`` in the current directory (the run's directory is temporary);
``--view FILE`` writes it elsewhere, ``--no-view`` not at all.

``--layer`` takes a layer (``urb``: its default plugin runs) or a broadcast plugin
(``majority-ack-urb``: that plugin runs); broadcasts and deliveries are counted on the
plugin's layer. The liveness properties (every survivor detects the crash, delivers what
it must) are judged only once their bounds have passed: the detector's timeout plus its
period after the crash, or after its start grace when nobody had heard from the crashed
node yet, plus a margin.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .._registry import Catalog, Selection, plan
from ..config import ClusterConfig
from ..errors import NetweaveError
from ..trace import read_trace
from ._launch import LocalCluster, free_ports

if TYPE_CHECKING:
    from ..check import Report

NAME = "demo"
HELP = "Run a real cluster on loopback, crash a node, and check the traces (exit 0 = OK)."

_FD = {"period": 0.2, "timeout": 1.0, "start_grace": 5.0}
_MARGIN = 0.5
"""Seconds added to every liveness bound before the traces are judged."""
_AGREE_WITHIN = 30.0
"""Seconds the survivors get to deliver the same messages."""
VIEW = "netweave-demo.html"
"""The view page of a run whose directory is temporary, in the current directory."""
RUN_VIEW = "view.html"
"""The view page of a run kept in ``--run-dir``, beside its traces."""


def _integer(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=_integer(2), default=4, metavar="N",
                        help="cluster size, at least 2 (4)")
    parser.add_argument("--layer", default="urb", metavar="LAYER",
                        help="broadcast layer (beb, rb, urb, fifo, ...: its default plugin) "
                        "or broadcast plugin (e.g. majority-ack-urb) to run (urb)")
    parser.add_argument("--messages", type=_integer(1), default=20, metavar="M",
                        help="broadcasts per node, at least 1 (20)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--crash", metavar="NODE_ID",
                       help="the node to SIGKILL halfway (default: the last one)")
    group.add_argument("--no-crash", action="store_true", help="crash nobody")
    parser.add_argument("--run-dir", type=Path, metavar="DIR",
                        help="keep the cluster file and traces in DIR (default: a temporary "
                        "directory, removed afterwards)")
    parser.add_argument("--interval", type=_seconds, default=0.02, metavar="S",
                        help="seconds between two rounds of broadcasts (0.02)")
    parser.add_argument("--secure", action="store_true",
                        help="give each node its own Ed25519 key (netweave keys, in the run "
                        "dir) instead of a shared secret, and sign origins: the 'secure' "
                        "profile (needs the 'secure' extra)")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--view", type=Path, metavar="FILE",
                      help=f"write the run's netweave view page (HTML) to FILE (default: "
                      f"{RUN_VIEW} in --run-dir, else {VIEW} in the current directory)")
    view.add_argument("--no-view", action="store_true", help="write no view page")


class _Usage(Exception):
    """A bad option: one line on standard error, exit code 2."""


@attrs.frozen
class Choice:
    """What ``--layer`` selected."""

    selector: str
    """The plugin name or layer name, as the cluster file selects it."""
    layer: str
    """The layer broadcasts go to and deliveries are counted on."""
    plugin: str
    """The plugin that runs that layer."""
    agreement: bool
    """Whether the layer promises that correct nodes deliver the same messages."""


def broadcast_plugins(catalog: Catalog) -> dict[str, str]:
    """Installed broadcast plugins (a layer, a broadcast abstraction): name -> layer."""
    return {name: str(info.cls.layer) for name, info in sorted(catalog.plugins.items())
            if info.cls.layer and any(a.endswith("broadcast") for a in info.provides)}


def choose_layer(name: str, catalog: Catalog | None = None) -> Choice:
    """Map a ``--layer`` value (a broadcast plugin or layer name) to what runs.

    :raises _Usage: for anything else, naming what is accepted.
    """
    from ..check import SpecCatalog

    catalog = catalog if catalog is not None else Catalog.discover()
    plugins = broadcast_plugins(catalog)
    layers = sorted(set(plugins.values()))
    if name in plugins:
        layer = plugins[name]
    elif name in layers:
        layer = name
    else:
        info = catalog.plugins.get(name)
        what = (f"{name} is a failure detector (the demo always runs perfect-fd), "
                "not a broadcast layer" if info is not None and info.cls.layer == "fd"
                else f"{name} is not a broadcast layer or plugin")
        raise _Usage(f"--layer {name}: {what}; use a layer ({', '.join(layers)}) or a "
                     f"broadcast plugin ({', '.join(plugins)})")
    info = catalog.resolve(name)
    specs = SpecCatalog.discover(catalog).for_plugin(info)
    agreement = any("agreement" in prop.name for spec in specs for prop in spec.properties)
    return Choice(name, layer, info.name, agreement)


def view_path(args: argparse.Namespace) -> Path | None:
    """Where the run's view page goes (see the module documentation); ``None``: nowhere."""
    if args.no_view:
        return None
    if args.view is not None:
        return Path(args.view)
    return args.run_dir / RUN_VIEW if args.run_dir is not None else Path(VIEW)


def _validate(args: argparse.Namespace) -> tuple[list[str], str | None, Choice]:
    """Every check that needs no process: node ids, the crash, the stack, the run dir,
    the view page's path."""
    ids = [f"n{i}" for i in range(1, args.nodes + 1)]
    victim = None if args.no_crash else (args.crash or ids[-1])
    if victim is not None and victim not in ids:
        raise _Usage(f"--crash {victim}: not one of {', '.join(ids)}")
    catalog = Catalog.discover()
    choice = choose_layer(args.layer, catalog)
    try:
        plan(catalog, [Selection("perfect-fd", dict(_FD)), Selection(choice.selector)],
             fill="defaults")
    except NetweaveError as exc:
        raise _Usage(f"--layer {args.layer}: {exc}") from exc
    if args.run_dir is not None and args.run_dir.exists() and not args.run_dir.is_dir():
        raise _Usage(f"--run-dir {args.run_dir}: exists and is not a directory")
    if args.view is not None:
        if args.view.is_dir():
            raise _Usage(f"--view {args.view}: is a directory; give a file name")
        if not args.view.absolute().parent.is_dir():
            raise _Usage(f"--view {args.view}: no directory {args.view.parent}")
    if args.secure:
        from ..keyring import public_key_of

        try:
            public_key_of(bytes(32))
        except NetweaveError as exc:
            raise _Usage(f"--secure: {exc}") from exc
    return ids, victim, choice


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


def _progress(cluster: LocalCluster, layer: str, sent: int, tty: bool,
              final: bool = False) -> None:
    """Per node, the messages delivered on ``layer`` out of the ``sent`` broadcasts so far."""
    parts = []
    for node_id, proc in cluster.nodes.items():
        mark = "" if proc.alive else " (killed)"
        parts.append(f"{node_id} {len(proc.delivered(layer)):>3}/{sent}{mark}")
    text = "  delivered: " + "  ".join(parts)
    if tty:
        print("\r" + text, end="\n" if final else "", flush=True)
    elif final:
        print(text, flush=True)


def _suspects(trace: Path) -> set[str]:
    """The peers a node's trace (so far) shows it suspects."""
    current: set[str] = set()
    try:
        text = trace.read_text(encoding="utf-8")
    except OSError:
        return current
    for line in text.splitlines():
        if '"suspect"' in line or '"restore"' in line:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            if r.get("ev") == "suspect":
                current.add(r.get("peer"))
            elif r.get("ev") == "restore":
                current.discard(r.get("peer"))
    return current


def _exits(cluster: LocalCluster) -> str | None:
    """Why the run cannot go on: the nodes that exited unasked, with their last words."""
    lost = cluster.exited()
    if not lost:
        return None
    said = []
    for node_id, code in lost.items():
        words = cluster.nodes[node_id].last_words(1)
        said.append(f"node {node_id} exited during the run (exit code {code})"
                    + (f": {words}" if words else ""))
    return "; ".join(said)


def run(args: argparse.Namespace) -> int:
    try:
        ids, victim, choice = _validate(args)
    except _Usage as exc:
        print(f"netweave demo: error: {exc}", file=sys.stderr)
        return 2
    keep = args.run_dir is not None
    # Absolute: the nodes read the cluster file, and the paths in it, from their own cwd.
    run_dir = (args.run_dir.absolute() if keep
               else Path(tempfile.mkdtemp(prefix="netweave-demo-")))
    try:
        return _demo(args, ids, victim, choice, run_dir, keep, view_path(args))
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def _write_view(path: Path, records: list[dict[str, Any]], report: Report,
                title: str) -> None:
    """Write the run's view page and say where it is (or why it is not)."""
    from ..view import write_view

    try:
        write_view(records, path, report, title=title)
    except (OSError, ValueError) as exc:
        print(f"view of the run: not written ({exc})")
        return
    print(f"view of the run: {path} (open it in a browser)")


def _security(run_dir: Path, ids: list[str], secure: bool) -> dict[str, Any]:
    """The cluster file's ``[security]``, and the secret or keys it names, in ``run_dir``:
    a fresh shared secret (every member can claim every id), or with ``secure`` a fresh
    key per node, their keyring and signed origins (each node proves its own id, and
    every relayed message its origin)."""
    if secure:
        from ..keyring import write_keys

        for old in (run_dir / "keys").glob("*.key"):
            old.unlink()  # fresh keys each run, as the secret is
        keyring = write_keys(run_dir / "keys", ids)
        return {"profile": "secure", "keyring": keyring.relative_to(run_dir).as_posix(),
                "private_key": "keys/{id}.key"}
    secret = run_dir / "cluster.secret"
    secret.write_text(secrets.token_hex(32) + "\n")
    os.chmod(secret, 0o600)
    return {"secret_file": secret.name}


def _demo(args: argparse.Namespace, ids: list[str], victim: str | None, choice: Choice,
          run_dir: Path, keep: bool, view: Path | None) -> int:
    from ..check import check_trace

    if keep and run_dir.exists():
        for old in run_dir.glob("*.jsonl"):
            old.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    security = _security(run_dir, ids, args.secure)
    ports = free_ports(len(ids))
    config = ClusterConfig.from_dict({
        "cluster": f"demo-{secrets.token_hex(3)}",
        "members": {i: f"127.0.0.1:{p}" for i, p in zip(ids, ports, strict=True)},
        "plugins": {"perfect-fd": dict(_FD), choice.selector: {}},
        "fill": "defaults",
        "security": security,
    }, base=run_dir)
    layer = choice.layer
    tty = sys.stdout.isatty()
    began = time.monotonic()
    print(f"netweave demo: {len(ids)} node processes on loopback, perfect-fd + {layer} "
          f"({choice.plugin}), {args.messages} broadcasts each"
          + (f", SIGKILL {victim} halfway" if victim else ""))
    print(f"  run dir: {run_dir}")
    codes: dict[str, int | None] = {}
    reasons: list[str] = []
    # Every message sent and received is traced: the view draws them as arrows.
    with LocalCluster(run_dir, config, node_args=lambda _: ["--trace-messages"]) as cluster:
        cluster.start()
        ready_at = time.monotonic()
        print(f"  {len(ids)} nodes ready in {ready_at - began:.1f}s "
              f"(ports {', '.join(map(str, ports))}, "
              + ("a key per node, origins signed)" if args.secure else "HMAC-authenticated)"))
        sent = 0
        crashed_at = None
        lost = None
        for k in range(args.messages):
            if victim is not None and crashed_at is None and k == args.messages // 2:
                cluster.kill(victim)
                crashed_at = time.monotonic()
                if tty:
                    print()
                print(f"  SIGKILL {victim} after {k} of its {args.messages} broadcasts")
            for node_id, proc in cluster.nodes.items():
                if proc.alive and proc.broadcast(layer, f"{node_id} says {k}"):
                    sent += 1
            _progress(cluster, layer, sent, tty)
            lost = _exits(cluster)
            if lost:
                break
            time.sleep(args.interval)
        survivors = [p for p in cluster.nodes.values() if p.alive]

        def settled() -> bool:
            from_survivors = args.messages * len(survivors)
            seen = [{d["id"] for d in p.delivered(layer)} for p in survivors]
            union = set().union(*seen)
            return all(len(s) >= from_survivors and (s == union or not choice.agreement)
                       for s in seen)

        def watch() -> bool:
            _progress(cluster, layer, sent, tty)
            return settled() or cluster.exited() != {}

        done = lost is None and cluster.wait_until(watch, _AGREE_WITHIN, 0.1)
        lost = lost or _exits(cluster)
        if crashed_at is not None and lost is None:
            # Strong completeness is judged at the end: every survivor's detector must have
            # had its bound, counted from the crash, or from the end of its start grace
            # when nobody had heard from the crashed node yet.
            bound = (max(crashed_at, ready_at + _FD["start_grace"]) + _FD["timeout"]
                     + _FD["period"] + _MARGIN)

            def detected() -> bool:
                return cluster.exited() != {} or all(
                    victim in _suspects(run_dir / f"{p.node_id}.jsonl") for p in survivors)

            if not cluster.wait_until(detected, bound - time.monotonic(), 0.1):
                reasons.append(f"the survivors did not all detect the crash of {victim} "
                               f"within {bound - crashed_at:.1f}s")
            time.sleep(max(0.0, crashed_at + _FD["timeout"] + _FD["period"] + _MARGIN
                           - time.monotonic()))
            lost = _exits(cluster)
        _progress(cluster, layer, sent, tty, final=True)
        if lost:
            print(f"  {lost}")
            reasons.append(lost)
        elif not done:
            what = "deliver the same messages" if choice.agreement else "deliver their messages"
            reasons.insert(0, f"the survivors did not {what} within {_AGREE_WITHIN:.0f}s")
            print(f"  {reasons[0]}")
        codes = cluster.stop()
    records = read_trace(run_dir)
    report = check_trace(records)
    print()
    print(report.format(excerpts=True))
    print()
    print(_table(summarize(records, layer, ids), victim))
    if view is not None:
        print()
        _write_view(view, records, report, f"netweave demo: {len(ids)} nodes, perfect-fd + "
                    f"{layer} ({choice.plugin})" + (f", SIGKILL {victim}" if victim else ""))
    bad_exit = {k: v for k, v in codes.items() if v != 0}
    if bad_exit:
        reasons.append(f"nodes that did not stop cleanly: {bad_exit}")
    if not report.ok:
        reasons.insert(0, f"{len(report.violated)} of {len(report.results)} properties "
                       "did NOT hold")
    print()
    verdict = ("OK: every property held" if not reasons
               else "FAILED: " + "; ".join(reasons))
    print(f"verdict: {verdict} ({len(report.results)} properties, {len(records)} trace lines, "
          f"{time.monotonic() - began:.1f}s)")
    if keep:
        print(f"traces kept in {run_dir} (check them again: netweave check {run_dir})")
    return 0 if not reasons else 1

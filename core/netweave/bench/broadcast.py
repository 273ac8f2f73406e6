"""Broadcast layers on real processes: throughput, latency, link cost and memory.

For each layer and cluster size, one process per node on loopback. Every node
broadcasts; the payload is the broadcast's ``time.monotonic()``, so each delivery
yields a latency without any clock skew (one machine, one monotonic clock). Two phases
run on the same cluster, each a warm-up followed by a measured window:

- **rate**: the whole cluster broadcasts ``rate`` per second (split evenly), for the
  latency at a moderate load;
- **saturation**: every node broadcasts as fast as its links accept (a node whose
  links hold ``high_water`` unacknowledged messages waits), for the sustained
  throughput, the latency under load, and memory: peak RSS and the RSS growth between
  the end of the warm-up and the end of the window.

*Sustained* broadcasts/s is the slowest node's deliveries per second in the window
(every node delivers every broadcast). After each phase the benchmark waits until
every node has delivered every broadcast ("complete"), so a layer that falls behind or
loses messages shows.

Raw baselines (:mod:`._baselines`: ``raw-beb``, ``raw-relay``, ``zmq-pubsub``) run as
extra layers when named in ``layers``, in the saturation phase only, over the same
warm-up and window; when a layer and its baseline were both measured, the ratios of
their sustained broadcasts/s are printed and added to the results.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..cli._launch import free_ports
from ._baselines import BASELINES, unavailable
from ._baselines import measure as measure_baseline
from ._procs import Worker, Workers
from ._report import Histogram, PhaseFigures, Row, header, ms, rate

__all__ = ["BASELINES", "LAYERS", "PhaseFigures", "measure", "ratio_rows", "run"]

LAYERS: dict[str, tuple[list[str], str]] = {
    "beb": (["beb"], "beb"),
    "lazy-rb": (["perfect-fd", "lazy-rb"], "rb"),
    "eager-rb": (["eager-rb"], "rb"),
    "all-ack-urb": (["perfect-fd", "all-ack-urb"], "urb"),
    "majority-ack-urb": (["majority-ack-urb"], "urb"),
    "fifo-rb": (["perfect-fd", "lazy-rb", "fifo-rb"], "fifo"),
}
"""Benchmarked plugin -> (the stack a node runs, the layer broadcast on)."""


def _start(ws: Workers, plugin: str, nodes: int, loop: str,
           links: dict[str, Any]) -> list[Worker]:
    stack, layer = LAYERS[plugin]
    ids = [f"n{i}" for i in range(1, nodes + 1)]
    members = {i: f"127.0.0.1:{p}" for i, p in zip(ids, free_ports(nodes), strict=True)}
    spec = {"role": "node", "members": members, "loop": loop, "fill": "defaults",
            "plugins": [[name, {}] for name in stack], "record": [layer], "links": links}
    workers = [ws.start(i, {**spec, "id": i}) for i in ids]
    for w in workers:
        w.expect("ready", 60)
    return workers


def _drain(workers: list[Worker], timeout: float) -> bool:
    """Wait until every node delivered every broadcast; whether that happened in time."""
    deadline = time.monotonic() + timeout
    while True:
        counts = [w.ask("count", cmd="count") for w in workers]
        total = sum(c["broadcast"] for c in counts)
        if all(c["delivered"] >= total for c in counts):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def _phase(workers: list[Worker], plugin: str, mode: str, total_rate: float,
           warmup: float, duration: float, batch: int, suspicions: list[int]) -> PhaseFigures:
    layer = LAYERS[plugin][1]
    n = len(workers)
    before = sum(suspicions)
    start = time.monotonic() + 0.3
    warm, end = start + warmup, start + warmup + duration
    per_node = total_rate / n if mode == "rate" else 0.0
    for w in workers:
        w.send(cmd="load", layer=layer, rate=per_node, start=start, warm=warm, end=end,
               batch=batch)
    results = [w.expect("result", warmup + duration + 60) for w in workers]
    complete = _drain(workers, 10.0 + duration / 2)
    hist = Histogram()
    for r in results:
        hist.merge(Histogram.from_json(r["hist"]))
    span = sum(r["end"]["t"] - r["warm"]["t"] for r in results) / n
    delivered = [r["end"]["delivered"] - r["warm"]["delivered"] for r in results]
    bcast_window = sum(r["end"]["broadcast"] - r["warm"]["broadcast"] for r in results)
    bcast_all = sum(r["end"]["broadcast"] - r["start"]["broadcast"] for r in results) or 1
    frames = sum(r["end"]["frames"] - r["start"]["frames"] for r in results)
    data = sum(r["end"]["data"] - r["start"]["data"] for r in results)
    data_out = sum(r["end"]["data_out"] - r["start"]["data_out"] for r in results)
    growth = max((r["end"]["rss"] - r["warm"]["rss"]) / r["warm"]["rss"] for r in results)
    return PhaseFigures(
        plugin, n, mode, bcast_window / span, min(delivered) / span, sum(delivered) / span,
        hist.quantile(0.5), hist.quantile(0.99), frames / bcast_all, data / bcast_all,
        (data_out - data) / bcast_all,
        max(r["peak_rss"] for r in results) / 2**20, growth, complete,
        sum(suspicions) - before)


def measure(plugin: str, nodes: int, *, total_rate: float, warmup: float, duration: float,
            sat_warmup: float, batch: int, loop: str, links: dict[str, Any] | None = None,
            modes: tuple[str, ...] = ("rate", "saturate")) -> list[PhaseFigures]:
    """Both phases for one layer and cluster size, on a fresh cluster.

    :param links: :class:`~netweave.LinkOptions` fields for every node.
    """
    links = dict(links or {})
    suspicions = [0]
    with Workers() as ws:
        workers = _start(ws, plugin, nodes, loop, links)

        def count(msg: dict[str, Any]) -> None:
            if msg.get("ev") == "suspect":
                suspicions[0] += 1

        for w in workers:
            w.listeners.append(count)
        return [_phase(workers, plugin, mode, total_rate,
                       warmup if mode == "rate" else sat_warmup, duration, batch, suspicions)
                for mode in modes]


def _print_header_row() -> None:
    print(f"{'layer':<17}{'n':>2} {'mode':<9}{'offered/s':>10}{'sustained/s':>12}"
          f"{'deliv/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'frames/b':>9}{'data/b':>7}{'resent/b':>9}"
          f"{'peakMB':>8}{'rss+':>8} {'complete':<8} susp", flush=True)


def _print(f: PhaseFigures) -> None:
    print(f"{f.layer:<17}{f.nodes:>2} {f.mode:<9}{rate(f.offered):>10}{rate(f.sustained):>12}"
          f"{rate(f.deliveries):>10}{ms(f.p50):>9}{ms(f.p99):>9}{f.frames_per_bcast:>9.2f}"
          f"{f.data_per_bcast:>7.2f}{f.resent_per_bcast:>9.2f}{f.peak_rss_mb:>8.1f}"
          f"{f.rss_growth:>+8.1%} "
          f"{'yes' if f.complete else 'NO':<8} {f.suspicions}"
          + ("" if f.lost is None else f"  goodput, lost {f.lost:.1%}"), flush=True)


def run(*, layers: Iterable[str] = tuple(LAYERS), sizes: Iterable[int] = (3, 4, 5),
        duration: float = 5.0, warmup: float = 1.0, total_rate: float = 1000.0,
        batch: int = 64, loop: str = "asyncio", links: dict[str, Any] | None = None,
        modes: tuple[str, ...] = ("rate", "saturate")) -> list[Row]:
    """Every layer at every size; prints one line per phase, returns the goal rows."""
    layers, sizes = list(layers), list(sizes)
    sat_warmup = max(warmup, min(10.0, duration / 5))
    header("broadcast on real processes (loopback), every node broadcasting",
           layers=",".join(layers), sizes=",".join(map(str, sizes)), duration=duration,
           warmup=warmup, saturation_warmup=sat_warmup, rate=total_rate, batch=batch,
           loop=loop, links=links or "defaults", modes=",".join(modes))
    _print_header_row()
    found: dict[tuple[str, int, str], PhaseFigures] = {}
    raw: dict[tuple[str, int], PhaseFigures] = {}
    for plugin in layers:
        for n in sizes:
            if plugin in BASELINES:
                f_raw = _baseline(plugin, n, sat_warmup, duration, batch, loop, modes)
                if f_raw is not None:
                    raw[(plugin, n)] = f_raw
                    _print(f_raw)
                continue
            for f in measure(plugin, n, total_rate=total_rate, warmup=warmup,
                             duration=duration, sat_warmup=sat_warmup, batch=batch,
                             loop=loop, links=links, modes=modes):
                found[(plugin, n, f.mode)] = f
                _print(f)
    suffix = "".join(f" --{k.replace('_', '-')} {links[k]:g}" for k in ("high_water", "rto")
                     if links and k in links)
    if tuple(modes) != ("rate", "saturate"):
        suffix += f" --modes {','.join(modes)}"
    return goal_rows(found, duration, suffix) + ratio_rows(found, raw, duration)


def _baseline(kind: str, n: int, warmup: float, duration: float, batch: int, loop: str,
              modes: tuple[str, ...]) -> PhaseFigures | None:
    """A baseline's saturated figures, or ``None`` (said why) when it does not run."""
    reason = unavailable(kind) or (None if "saturate" in modes
                                   else "measured in the saturate phase only")
    if reason:
        print(f"{kind:<17}{n:>2} skipped: {reason}", flush=True)
        return None
    return measure_baseline(kind, n, warmup=warmup, duration=duration, batch=batch,
                            loop=loop)


RATIOS = (("beb", "raw-beb"), ("eager-rb", "raw-relay"), ("all-ack-urb", "raw-relay"),
          ("beb", "zmq-pubsub"))
"""(layer, baseline) pairs whose sustained broadcasts/s are compared when both ran."""


def ratio_rows(found: dict[tuple[str, int, str], PhaseFigures],
               raw: dict[tuple[str, int], PhaseFigures], duration: float) -> list[Row]:
    """Each layer's saturated throughput as a fraction of its baseline's; also printed."""
    rows = []
    for layer, base in RATIOS:
        for (kind, n), b in sorted(raw.items()):
            f = found.get((layer, n, "saturate"))
            if kind != base or f is None or not b.sustained:
                continue
            what = "goodput" if b.lost is not None else "sustained"
            text = (f"{rate(f.sustained)} / {rate(b.sustained)} "
                    f"({f.sustained / b.sustained:.1%})")
            name = f"{layer} / {base} {what}, {n} nodes, broadcasts/s"
            print(f"{name}: {text}", flush=True)
            rows.append(Row(name, _figure(f, text),
                            f"netweave bench broadcast --layers {layer},{base} --nodes {n} "
                            f"--modes saturate --duration {duration:g}"))
    return rows


def goal_rows(found: dict[tuple[str, int, str], PhaseFigures], duration: float,
              suffix: str = "") -> list[Row]:
    """The issue's broadcast goals beside the figures measured (for what was run)."""
    rows = []
    cmd = "netweave bench broadcast --layers {} --nodes 4 --duration {:g}" + suffix
    beb = found.get(("beb", 4, "saturate"))
    if beb:
        rows.append(Row("beb, 4 nodes, broadcasts/s sustained", _figure(beb, rate(beb.sustained)),
                        cmd.format("beb", duration), ">= 100,000",
                        _sound(beb) and beb.sustained >= 100_000))
    sat = found.get(("all-ack-urb", 4, "saturate"))
    if sat:
        rows.append(Row("all-ack-urb, 4 nodes, broadcasts/s sustained",
                        _figure(sat, rate(sat.sustained)), cmd.format("all-ack-urb", duration),
                        ">= 20,000", _sound(sat) and sat.sustained >= 20_000))
    fixed = found.get(("all-ack-urb", 4, "rate"))
    if fixed:
        ok = (_sound(fixed) and fixed.p50 is not None and fixed.p99 is not None
              and fixed.p50 < 0.002 and fixed.p99 < 0.010)
        rows.append(Row("all-ack-urb, 4 nodes, latency p50 / p99 ms at 1,000/s",
                        _figure(fixed, f"{ms(fixed.p50)} / {ms(fixed.p99)}"),
                        cmd.format("all-ack-urb", duration), "p50 < 2 ms, p99 < 10 ms", ok))
    sats = [f for f in found.values() if f.mode == "saturate"]
    if sats:
        worst = max(sats, key=lambda f: f.rss_growth)
        # A short window still holds the fill-up of the steady state (lazy-rb's relay
        # buffers, fifo's reordering buffer): growth is judged on 30 s or more.
        judged = duration >= MEMORY_WINDOW
        rows.append(Row(f"RSS growth after warm-up, saturated {duration:g} s (worst: "
                        f"{worst.layer}, {worst.nodes} nodes)",
                        _figure(worst, f"{worst.rss_growth:+.1%}"),
                        f"netweave bench broadcast --layers {worst.layer} --nodes "
                        f"{worst.nodes} --duration {duration:g}{suffix}",
                        "within 10%" if judged else
                        f"within 10% (judged on windows of {MEMORY_WINDOW:g} s or more)",
                        (_sound(worst) and abs(worst.rss_growth) <= 0.10) if judged
                        else None))
    return rows


MEMORY_WINDOW = 30.0
"""Shortest saturated window whose RSS growth is judged against the memory goal."""


def _sound(f: PhaseFigures) -> bool:
    """Whether the run delivered everything and nobody was suspected (all processes live)."""
    return f.complete and not f.suspicions


def _figure(f: PhaseFigures, text: str) -> str:
    if _sound(f):
        return text
    return (f"{text} (" + ("" if f.complete else "incomplete, ")
            + f"{f.suspicions} false suspicions)")

"""Failure detection on real processes: detection time, and false suspicions when busy.

Detection: a cluster of ``nodes`` processes runs ``perfect-fd`` with a profile; in each
trial, after heartbeats have flowed for a random part of a period (so the fault falls
anywhere in the heartbeat cycle), the last node gets SIGKILL (a crash) or SIGSTOP (a
silent partition: its sockets stay open, nothing comes out). Each survivor reports the
``time.monotonic()`` of its suspicion; the sample is that minus the signal's time. The
victim is then killed and started again (a new incarnation) for the next trial.

Busy: the same detector under a broadcast load while ``burn`` extra processes keep
every core busy, for ``duration`` seconds; every suspicion is false, since nobody fails.

QoS (``--qos``): the quality of service of every installed detector, after Chen, Toueg
and Aguilera (detection time T_D, mistake recurrence time T_MR, mistake duration T_M,
query accuracy probability P_A), measured in the simulator over many seeds of latency,
loss, pauses and one-way partitions (:mod:`netweave.bench.qos`), printed as a table and
drawn as T_D against P_A (``--plot FILE``, an SVG). With ``--qos-trials N`` each
detector's default setting is also measured on real processes: T_D from N SIGKILL and N
SIGSTOP trials as above, and T_MR, T_M and P_A from a busy run (:func:`busy_qos`: a
broadcast load while ``burn`` processes keep every core busy, nobody failing, so every
suspicion is a mistake), one more table.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..cli._launch import free_ports
from ._procs import Worker, Workers, burners
from ._report import Row, header, ms, quantile

if TYPE_CHECKING:
    from .qos import QosResult

__all__ = ["PROFILES", "busy", "busy_qos", "detection", "run", "run_qos"]

PROFILES: dict[str, dict[str, float]] = {
    "default": {"period": 0.5, "timeout": 2.0},
    "fast": {"period": 0.2, "timeout": 1.0},
}
"""perfect-fd options of each profile (``fast`` is what ``netweave demo`` uses)."""


def _cluster(ws: Workers, nodes: int, plugins: list[list[Any]], loop: str,
             record: list[str]) -> tuple[dict[str, Any], dict[str, Worker]]:
    ids = [f"n{i}" for i in range(1, nodes + 1)]
    members = {i: f"127.0.0.1:{p}" for i, p in zip(ids, free_ports(nodes), strict=True)}
    spec = {"role": "node", "members": members, "loop": loop, "fill": "defaults",
            "plugins": plugins, "record": record}
    workers = {i: ws.start(i, {**spec, "id": i}) for i in ids}
    for w in workers.values():
        w.expect("ready", 60)
    return spec, workers


def detection(profile: str, fault: str, *, trials: int, nodes: int = 3,
              loop: str = "asyncio", detector: str = "perfect-fd",
              wait: float | None = None) -> tuple[list[float], int]:
    """Detection times (s) of ``fault`` (``kill`` or ``stop``), and wrong suspicions.

    :param detector: the detector run: ``perfect-fd`` with the options of ``profile``,
        or another one with its defaults (``profile`` then only names the run).
    :param wait: the longest a detection may take (default: timeout + period of the
        profile, plus 10 s).
    """
    opts = PROFILES[profile] if detector == "perfect-fd" else {}
    period = PROFILES[profile]["period"]
    limit = wait if wait is not None else PROFILES[profile]["timeout"] + period + 10
    sig = signal.SIGKILL if fault == "kill" else signal.SIGSTOP
    samples: list[float] = []
    wrong = 0
    with Workers() as ws:
        spec, workers = _cluster(ws, nodes, [[detector, opts]], loop, [])
        victim_id = sorted(workers)[-1]
        for _ in range(trials):
            survivors = [w for i, w in workers.items() if i != victim_id]
            time.sleep(2 * period + random.uniform(0, period))
            victim = workers[victim_id]
            killed_at = time.monotonic()
            victim.signal(sig)
            for s in survivors:
                while True:
                    msg = s.expect("suspect", limit)
                    if msg["peer"] == victim_id:
                        samples.append(msg["t"] - killed_at)
                        break
                    wrong += 1
            victim.signal(signal.SIGKILL)
            victim.end()
            workers[victim_id] = ws.start(victim_id, {**spec, "id": victim_id})
            workers[victim_id].expect("ready", 60)
            for s in survivors:
                s.expect("restarted", 30)
    return samples, wrong


def busy(profile: str, *, duration: float, nodes: int = 3, burn: int = 2,
         total_rate: float = 300.0, layer: str = "all-ack-urb",
         loop: str = "asyncio") -> tuple[int, int]:
    """False suspicions (and broadcasts made) under load with ``burn`` busy processes."""
    from .broadcast import LAYERS

    stack, short = LAYERS[layer]
    plugins = [[name, PROFILES[profile] if name == "perfect-fd" else {}] for name in stack]
    if "perfect-fd" not in stack:
        plugins.insert(0, ["perfect-fd", PROFILES[profile]])
    suspicions = [0]
    with Workers() as ws:
        _, workers = _cluster(ws, nodes, plugins, loop, [short])

        def count(msg: dict[str, Any]) -> None:
            if msg.get("ev") == "suspect":
                suspicions[0] += 1

        for w in workers.values():
            w.listeners.append(count)
        for proc in burners(burn):
            ws.add_process(proc)
        start = time.monotonic() + 0.5
        for w in workers.values():
            w.send(cmd="load", layer=short, rate=total_rate / nodes, start=start, warm=start,
                   end=start + duration, batch=64)
        results = [w.expect("result", duration + 60) for w in workers.values()]
    return suspicions[0], sum(r["end"]["broadcast"] for r in results)


def busy_qos(detector: str, *, duration: float, nodes: int = 3, burn: int = 2,
             total_rate: float = 300.0, warmup: float = 2.0, loop: str = "asyncio",
             kill: list[float] | None = None, stop: list[float] | None = None
             ) -> QosResult:
    """The QoS of ``detector`` (its defaults) on real processes.

    A cluster of ``nodes`` processes runs the detector beside a best-effort broadcast
    load of ``total_rate`` broadcasts/s while ``burn`` processes keep the cores busy, for
    ``duration`` seconds; nobody fails, so each suspicion (or crash report) after
    ``warmup`` seconds is a mistake: T_MR, T_M and P_A come from them as in the
    simulator. ``kill`` and ``stop`` are detection times measured apart (:func:`detection`),
    the T_D samples of the result.
    """
    from . import qos

    events: list[dict[str, Any]] = []
    with Workers() as ws:
        _, workers = _cluster(ws, nodes, [[detector, {}], ["beb", {}]], loop, ["beb"])
        for node_id, worker in workers.items():
            def keep(msg: dict[str, Any], node_id: str = node_id) -> None:
                if msg.get("ev") in ("suspect", "restore"):
                    events.append({**msg, "node": node_id})

            worker.listeners.append(keep)
        for proc in burners(burn):
            ws.add_process(proc)
        start = time.monotonic() + 0.5
        for w in workers.values():
            w.send(cmd="load", layer="beb", rate=total_rate / nodes, start=start, warm=start,
                   end=start + duration, batch=64)
        for w in workers.values():
            w.expect("result", duration + 60)
    trace = sorted(({"t": e["t"] - start, "node": e["node"], "ev": e["ev"], "layer": "fd",
                     "peer": e["peer"]} for e in events), key=lambda line: line["t"])
    # A run shorter than the warm-up is judged after its first quarter instead of not at all.
    window = attrs.evolve(qos.MIXES["calm"], nodes=nodes, duration=duration,
                          warmup=min(warmup, duration / 4))
    judged = qos._judge(trace, sorted(workers), window, messages=0)
    detections = tuple((kill or []) + (stop or []))
    return qos.QosResult(detector, f"real, {burn} busy", {}, 1, detections, 0,
                         judged.observed, judged.mistakes, judged.wrong, 0, 0, 0.0)


def run(*, trials: int = 10, busy_duration: float = 10.0, nodes: int = 3, burn: int = 2,
        busy_rate: float = 300.0, loop: str = "asyncio",
        profiles: tuple[str, ...] = ("default", "fast")) -> list[Row]:
    """Detection times and busy-run false suspicions for each profile; returns goal rows."""
    header("failure detection, perfect-fd on real processes (loopback)", nodes=nodes,
           trials=trials, busy_duration=busy_duration, burners=burn,
           busy_load=f"all-ack-urb {busy_rate:g}/s", loop=loop,
           profiles="; ".join(f"{p} {PROFILES[p]}" for p in profiles))
    print(f"{'profile':<8} {'fault':<8} {'samples':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'bound ms':>9} {'within':>7}", flush=True)
    rows: list[Row] = []
    for profile in profiles if trials > 0 else ():
        opts = PROFILES[profile]
        bound = opts["timeout"] + opts["period"] + 0.010
        for fault, name in (("kill", "SIGKILL"), ("stop", "SIGSTOP")):
            samples, wrong = detection(profile, fault, trials=trials, nodes=nodes, loop=loop)
            p50, p99 = quantile(samples, 0.5), quantile(samples, 0.99)
            within = sum(s <= bound for s in samples)
            print(f"{profile:<8} {name:<8} {len(samples):>7} {ms(p50, 0):>8} "
                  f"{ms(p99, 0):>8} {ms(max(samples), 0):>8} {ms(bound, 0):>9} "
                  f"{within:>4}/{len(samples)}" + (f"  ({wrong} wrong suspicions)"
                                                   if wrong else ""), flush=True)
            rows.append(Row(
                f"detection after {name}, {profile} profile, p50 / p99 ms",
                f"{ms(p50, 0)} / {ms(p99, 0)}",
                f"netweave bench fd --trials {trials} --profiles {profile}",
                f"p99 <= timeout + period + 10 ms = {bound * 1000:.0f} ms",
                p99 is not None and p99 <= bound))
    for profile in profiles:
        false, made = busy(profile, duration=busy_duration, nodes=nodes, burn=burn,
                           total_rate=busy_rate, loop=loop)
        print(f"busy {busy_duration:g} s, {profile} profile: {false} false suspicions "
              f"({made} broadcasts, {burn} busy processes)", flush=True)
        rows.append(Row(f"false suspicions, {busy_duration:g} s with both cores busy, "
                        f"{profile} profile", str(false),
                        f"netweave bench fd --trials 0 --busy-duration {busy_duration:g} "
                        f"--profiles {profile}",
                        "0 (default profile)" if profile == "default" else "",
                        (false == 0) if profile == "default" else None))
    return rows


def run_qos(*, seeds: int = 48, mix: str = "faulty", jobs: int = 0,
            plot: Path | None = None, trials: int = 0, loop: str = "asyncio",
            only: list[str] | None = None, busy_duration: float = 10.0) -> list[Row]:
    """QoS of every installed detector (or ``only`` these) in the simulator; with
    ``trials``, on real processes too (detection times of ``trials`` SIGKILL and SIGSTOP
    each, mistakes in a busy run of ``busy_duration`` seconds). Returns result rows."""
    from . import qos

    chosen = qos.MIXES[mix]
    names = only if only is not None else qos.detectors()
    header("failure-detector QoS in the simulator (Chen, Toueg, Aguilera)", seeds=seeds,
           mix=mix, detectors=",".join(names), jobs=jobs or "one per CPU")
    print(f"# {mix}: {chosen.describe()}")
    print("# T_D: crash to permanent suspicion (0: already suspected), per correct observer;"
          " T_MR: time between mistakes; T_M: mistake length; P_A: fraction of time right"
          " about a live peer; msgs/node/s: link messages, acknowledgements included",
          flush=True)
    began = time.monotonic()
    results = qos.measure(seeds=seeds, mix=chosen, jobs=jobs, only=names)
    print(qos.render_table(results))
    print(f"# {seeds} seeds x {len(results)} settings in {time.monotonic() - began:.0f} s",
          flush=True)
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        plot.write_text(qos.render_plot(
            results, title=f"Failure detectors: T_D against P_A ({mix} network, "
                           f"{seeds} seeds)"), encoding="utf-8")
        print(f"# plot: {plot}", flush=True)
    command = f"netweave bench fd --qos --qos-seeds {seeds} --qos-mix {mix}"
    rows = [Row(f"QoS ({mix}), {r.detector} {r.setting}: T_D p50 s / P_A",
                f"{r.td_median if r.td_median is not None else float('nan'):.2f} / "
                f"{qos.format_pa(r.p_a)}", command) for r in results]
    if trials > 0:
        print(f"{'detector':<22} {'fault':<8} {'samples':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8}", flush=True)
        real: list[QosResult] = []
        for name in names:
            times: dict[str, list[float]] = {}
            for fault, signame in (("kill", "SIGKILL"), ("stop", "SIGSTOP")):
                samples, wrong = detection("default", fault, trials=trials, loop=loop,
                                           detector=name, wait=60.0)
                times[fault] = samples
                p50, p99 = quantile(samples, 0.5), quantile(samples, 0.99)
                print(f"{name:<22} {signame:<8} {len(samples):>7} {ms(p50, 0):>8} "
                      f"{ms(p99, 0):>8} {ms(max(samples, default=None), 0):>8}"
                      + (f"  ({wrong} wrong suspicions)" if wrong else ""), flush=True)
                rows.append(Row(f"detection after {signame} on real processes, {name} "
                                "defaults, p50 / p99 ms", f"{ms(p50, 0)} / {ms(p99, 0)}",
                                f"netweave bench fd --qos --qos-trials {trials}"))
            real.append(busy_qos(name, duration=busy_duration, loop=loop,
                                 kill=times["kill"], stop=times["stop"]))
        print(f"# on real processes: T_D from the SIGKILL and SIGSTOP trials above; T_MR, "
              f"T_M and P_A over {busy_duration:g} s with both cores kept busy and nobody "
              "failing (every suspicion a mistake)", flush=True)
        print(qos.render_table(real), flush=True)
        rows += [Row(f"QoS on real processes, busy, {r.detector}: T_D p50 s / mistakes / P_A",
                     f"{r.td_median if r.td_median is not None else float('nan'):.2f} / "
                     f"{r.mistakes} / {qos.format_pa(r.p_a)}",
                     f"netweave bench fd --qos --qos-trials {trials} --busy-duration "
                     f"{busy_duration:g}") for r in real]
    return rows

"""Single link: the raw baseline and the full stack, measured in the same run.

Two processes each time. First the raw baseline (:mod:`._raw`): one process streams
framed ``LinkData`` messages to the other for ``duration`` seconds after a warm-up, then
pings it ``rtt_count`` times, one request in flight. Then two netweave nodes do the same
through the whole stack, node to perfect links to TCP to perfect links to node (the
:class:`~netweave.bench._probe.LinkProbe` component), and the figures are printed as a
ratio to the baseline's.
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from ..cli._launch import free_ports
from ._procs import Worker, Workers
from ._report import Histogram, Row, header, ms, rate

__all__ = ["LinkFigures", "measure", "run"]


@attrs.frozen
class LinkFigures:
    """Throughput and round trip of one kind of link."""

    messages_per_s: float
    rtt_p50: float | None
    rtt_p99: float | None
    rtt_samples: int


def _pair(ws: Workers, kind: str, loop: str) -> tuple[Worker, Worker]:
    a, b = (f"127.0.0.1:{p}" for p in free_ports(2))
    if kind == "raw":
        recv = ws.start("raw-recv", {"role": "raw", "side": "listen", "address": b,
                                     "loop": loop})
        recv.expect("ready", 20)
        send = ws.start("raw-send", {"role": "raw", "side": "connect", "address": b,
                                     "loop": loop})
        send.expect("ready", 20)
        return send, recv
    members = {"a": a, "b": b}
    spec: dict[str, Any] = {"role": "node", "members": members, "loop": loop, "fill": "none",
                            "plugins": [["bench-probe", {}]]}
    send = ws.start("node-a", {**spec, "id": "a"})
    recv = ws.start("node-b", {**spec, "id": "b"})
    send.expect("ready", 30)
    recv.expect("ready", 30)
    return send, recv


def measure(kind: str, *, duration: float, warmup: float, batch: int, rtt_count: int,
            loop: str) -> LinkFigures:
    """Run one kind of link (``raw`` or ``netweave``) in two fresh processes."""
    with Workers() as ws:
        send, recv = _pair(ws, kind, loop)
        start = time.monotonic() + 0.3
        warm, end = start + warmup, start + warmup + duration
        recv.send(cmd="window", start=warm, end=end)
        send.send(cmd="stream", peer="b", start=start, until=end, batch=batch)
        window = recv.expect("window", warmup + duration + 10)
        send.expect("streamed", 30)
        time.sleep(0.5)  # let the receiver drain what the stream left queued
        rtt = send.ask("rtt", timeout=60, cmd="rtt", peer="b", count=rtt_count,
                       warmup=min(200, rtt_count), max_time=30)
    hist = Histogram.from_json(rtt["hist"])
    return LinkFigures(window["count"] / window["span"], hist.quantile(0.5),
                       hist.quantile(0.99), hist.total)


def run(*, duration: float = 3.0, warmup: float = 1.0, batch: int = 256,
        rtt_count: int = 2000, loop: str = "asyncio") -> list[Row]:
    """Measure both links, print them side by side; returns the result rows."""
    header("single link: raw asyncio baseline vs the full netweave stack, 2 processes",
           duration=duration, warmup=warmup, batch=batch, rtt_count=rtt_count, loop=loop)
    raw = measure("raw", duration=duration, warmup=warmup, batch=batch, rtt_count=rtt_count,
                  loop=loop)
    full = measure("netweave", duration=duration, warmup=warmup, batch=batch,
                   rtt_count=rtt_count, loop=loop)
    ratio = full.messages_per_s / raw.messages_per_s if raw.messages_per_s else 0.0
    print(f"{'link':<22} {'messages/s':>12} {'rtt p50 ms':>11} {'rtt p99 ms':>11}")
    for name, f in (("raw baseline", raw), ("netweave full stack", full)):
        print(f"{name:<22} {rate(f.messages_per_s):>12} {ms(f.rtt_p50, 3):>11} "
              f"{ms(f.rtt_p99, 3):>11}")
    rtt_ratio = (full.rtt_p50 / raw.rtt_p50) if full.rtt_p50 and raw.rtt_p50 else None
    print(f"full stack / baseline: {ratio:.1%} of the messages/s, round trip p50 "
          f"{rtt_ratio:.1f}x" if rtt_ratio else f"full stack / baseline: {ratio:.1%}")
    cmd = f"netweave bench link --duration {duration:g}"
    p99_ok = full.rtt_p99 is not None and full.rtt_p99 < 0.0005
    return [
        Row("raw baseline, messages/s (one way, batched writes)", rate(raw.messages_per_s),
            cmd),
        Row("raw baseline, round trip p50 / p99 ms",
            f"{ms(raw.rtt_p50, 3)} / {ms(raw.rtt_p99, 3)}", cmd),
        Row("single link full stack, messages/s (ratio to baseline)",
            f"{rate(full.messages_per_s)} ({ratio:.0%})", cmd, ">= 35% of baseline",
            ratio >= 0.35),
        Row("single link full stack, round trip p50 / p99 ms",
            f"{ms(full.rtt_p50, 3)} / {ms(full.rtt_p99, 3)}", cmd, "p99 < 0.5 ms", p99_ok),
    ]

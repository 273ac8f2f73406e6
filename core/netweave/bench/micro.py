"""In-process benchmarks: the event bus, the wire codec and the simulator.

- **bus**: dispatches per second for one subscriber, events published from outside a
  dispatch (each publish drains at once) and from inside a handler (queued, drained by
  the running dispatch).
- **codec**: link frames as the transport handles them: encoded into one buffer
  (``FrameEncoder.append``), split (``FrameDecoder.feed``), decoded into link messages
  (``MessageCodec.decode``) and their payload revived (``revive``), for a best-effort
  broadcast frame, a uniform reliable broadcast relay (two nested payloads) and an ack.
- **sim**: whole random scenarios of ``netweave sim`` (crashes, loss, a partition that
  heals, then a quiet period), seeds and simulated events per second, in one process and
  in one process per CPU (:func:`netweave.sim.sweep`).
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from ..bus import Bus
from ..link import LinkAck, LinkData, LinkHello
from ..message import Message, message_types, revive
from ..transport.framing import FrameDecoder, FrameEncoder, MessageCodec
from ..transport.handshake import Ping
from ._report import Row, header, rate

__all__ = ["bus_rates", "codec_rates", "run_bus", "run_codec", "run_sim", "sim_rates"]


@attrs.frozen
class _Event:
    n: int


def _outside(n: int) -> float:
    bus = Bus()
    count = [0]

    def handler(e: _Event) -> None:
        count[0] += 1

    bus.subscribe(_Event, handler)
    events = [_Event(i) for i in range(n)]
    publish = bus.publish
    t0 = time.perf_counter()
    for e in events:
        publish(e)
    took = time.perf_counter() - t0
    assert count[0] == n
    return n / took


def _chained(n: int) -> float:
    bus = Bus()
    left = [n]
    event = _Event(0)

    def handler(e: _Event) -> None:
        left[0] -= 1
        if left[0]:
            bus.publish(event)

    bus.subscribe(_Event, handler)
    t0 = time.perf_counter()
    bus.publish(event)
    took = time.perf_counter() - t0
    assert left[0] == 0
    return n / took


def bus_rates(events: int, repeat: int) -> tuple[float, float]:
    """Best of ``repeat``: events/s published from outside, and from inside a handler."""
    return (max(_outside(events) for _ in range(repeat)),
            max(_chained(events) for _ in range(repeat)))


def run_bus(*, events: int = 1_000_000, repeat: int = 3) -> list[Row]:
    """Print the bus figures; returns the result row."""
    header("event bus, one subscriber", events=events, repeat=repeat)
    out, inside = bus_rates(events, repeat)
    print(f"publish from outside a dispatch: {out:,.0f} events/s")
    print(f"publish from inside a handler:   {inside:,.0f} events/s", flush=True)
    cmd = f"netweave bench bus --events {events}"
    return [Row("event bus, dispatches/s, one subscriber (outside / inside a handler)",
                f"{rate(out)} / {rate(inside)}", cmd)]


def _message_type(plugin: str, tag: str) -> Any:
    """The message class ``tag`` of the installed plugin ``plugin`` (found through the
    plugin catalog, as every tool finds plugins: this module imports none)."""
    from .._registry import Catalog
    from ..errors import ConfigurationError

    if plugin not in Catalog.discover().plugins:  # discovering imports its module
        raise ConfigurationError(f"the codec benchmark decodes {plugin!r} messages: "
                                 f"install the plugin that provides it")
    return message_types()[tag]


def _frames() -> dict[str, Message]:
    BebData = _message_type("beb", "beb.data")
    UrbData = _message_type("all-ack-urb", "urb.data")

    payload = 1764131000.123456  # what the broadcast benchmark sends: a time
    return {
        "beb data": LinkData(1764131000123, 1764131000456, 123456,
                             BebData("n1/1764131000123/123456", payload)),
        "urb relay": LinkData(1764131000123, 1764131000456, 123456,
                              BebData("n2/1764131000456/99", UrbData(
                                  "n1/1764131000123/123456", 4242, payload))),
        "ack": LinkAck(1764131000123, 1764131000456, 123456, ()),
    }


def codec_rates(count: int) -> dict[str, tuple[float, float, int]]:
    """Per frame kind: frames encoded/s, frames split+decoded+revived/s, bytes a frame."""
    codec: MessageCodec[Any] = MessageCodec([LinkData, LinkAck, LinkHello, Ping])
    encoder = FrameEncoder()
    out = {}
    for name, msg in _frames().items():
        buf = bytearray()
        append = encoder.append
        t0 = time.perf_counter()
        for _ in range(count):
            append(buf, msg)
        enc = count / (time.perf_counter() - t0)
        size = len(buf) // count
        data = bytes(buf)
        decode = codec.decode
        t0 = time.perf_counter()
        for body in FrameDecoder().feed(data):
            m = decode(body)
            if type(m) is LinkData:
                inner = revive(m.body)
                revive(getattr(inner, "payload", None))
        dec = count / (time.perf_counter() - t0)
        out[name] = (enc, dec, size + 4)
    return out


def run_codec(*, count: int = 200_000) -> list[Row]:
    """Print the codec figures; returns the result rows."""
    header("wire codec: link frames (length + msgspec msgpack)", frames=count)
    print(f"{'frame':<10} {'bytes':>6} {'encode/s':>12} {'decode/s':>12}")
    rows = []
    for name, (enc, dec, size) in codec_rates(count).items():
        print(f"{name:<10} {size:>6} {rate(enc):>12} {rate(dec):>12}", flush=True)
        rows.append(Row(f"codec, {name} frame ({size} bytes), encode / decode+revive per s",
                        f"{rate(enc)} / {rate(dec)}", f"netweave bench codec --count {count}"))
    return rows


SIM_LINKS = "modelled"
"""The simulator benchmark's link model: modelled links run the scenario with a third of
the events (the choice and its measurements: ``docs/operations/performance.md``)."""


def sim_rates(*, layer: str, nodes: int, seeds: int, messages: int, crash: int, loss: float,
              trace: bool = True, jobs: int = 1, links: str = SIM_LINKS) -> dict[str, float]:
    """Run ``seeds`` random scenarios in ``jobs`` processes; seeds/s, events/s, averages."""
    from ..sim import Scenario, sweep

    def one(seed: int) -> tuple[int, int, int]:
        scenario = Scenario.random(nodes=nodes, seed=seed, layer=layer, messages=messages,
                                   crash=crash, loss=loss, partition=True)
        scenario.links = links
        cluster = scenario.run(seed, trace=trace)
        return cluster.clock.events, cluster.messages_sent, len(cluster.trace)

    events = sent = lines = 0
    t0 = time.perf_counter()
    for _, (e, m, n) in sweep(one, range(seeds), jobs=jobs):
        events, sent, lines = events + e, sent + m, lines + n
    took = time.perf_counter() - t0
    return {"seeds_per_s": seeds / took, "events_per_s": events / took,
            "events": events / seeds, "messages": sent / seeds, "lines": lines / seeds}


GOAL_SCENARIO = {"layer": "beb", "messages": 20}
"""The goal's "5-node scenario of a few hundred events": ``netweave sim``'s 20 broadcasts
over best-effort broadcast, with a crash, 5% loss and a partition that heals."""


def run_sim(*, layer: str = "beb", nodes: int = 5, seeds: int = 300, messages: int = 20,
            crash: int = 1, loss: float = 0.05, trace: bool = True,
            jobs: int = 0, links: str = SIM_LINKS) -> list[Row]:
    """Print the simulator figures, in one process and in ``jobs`` (0: one per CPU)."""
    from ..sim import default_jobs

    jobs = jobs or default_jobs()
    header("simulator", layer=layer, nodes=nodes, seeds=seeds, messages=messages, crash=crash,
           loss=loss, trace=trace, jobs=jobs, links=links)
    rows = []
    goal = layer == GOAL_SCENARIO["layer"] and messages == GOAL_SCENARIO["messages"]
    for n in sorted({1, jobs}):
        r = sim_rates(layer=layer, nodes=nodes, seeds=seeds, messages=messages, crash=crash,
                      loss=loss, trace=trace, jobs=n, links=links)
        where = "1 process" if n == 1 else f"{n} processes"
        print(f"{where}: {r['seeds_per_s']:,.0f} seeds/s, {r['events_per_s']:,.0f} events/s "
              f"({r['events']:,.0f} events, {r['messages']:,.0f} link messages, "
              f"{r['lines']:,.0f} trace lines per seed)", flush=True)
        flag = "" if links == SIM_LINKS else f" --links {links}"
        cmd = (f"netweave bench sim --seeds {seeds} --jobs {n}{flag}" if goal else
               f"python benchmarks/bench_sim.py --layer {layer} --messages {messages} "
               f"--seeds {seeds} --jobs {n}{flag}")
        rows.append(Row(f"simulator, {nodes}-node {layer}, {messages} broadcasts, a crash, loss "
                        f"and a healed partition, {links} links (~{r['events']:,.0f} events), "
                        f"{where}: "
                        f"seeds/s (events/s)",
                        f"{rate(r['seeds_per_s'])} ({rate(r['events_per_s'])})", cmd,
                        ">= 1,000 seeds/s" if goal else "",
                        r["seeds_per_s"] >= 1000 if goal else None))
    return rows

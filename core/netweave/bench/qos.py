"""Quality of service of the failure detectors, in the simulator (Chen, Toueg, Aguilera).

Chen, Toueg and Aguilera (*On the quality of service of failure detectors*, 2002) judge a
detector by how fast it detects and how well it avoids mistakes, for one observer q and
one monitored process p:

- **T_D, detection time**: from p's crash to the moment q starts suspecting p for good
  (0 if q already suspected p when it crashed and never took it back);
- **T_MR, mistake recurrence time**: time between two consecutive mistakes (a mistake
  starts when q suspects p while p is alive);
- **T_M, mistake duration**: how long a mistake lasts (until q restores p);
- **P_A, query accuracy probability**: the probability that q, asked at a random moment,
  is right about a live p; here 1 - (time spent wrongly suspecting) / (time observed).

Each seed draws one run of a small cluster (:class:`QosMix`): lognormal latency with a
tail of held-back messages, link loss, pauses of varied length (the process is alive but
silent: garbage collection, a swapped VM, SIGSTOP), one-way partitions (a node's messages
to one peer, or to all, are lost for a while), and one crash late in the run. The same
seeds are run for every detector and setting, so they face the same faults. Over all
ordered pairs of live processes, after a warm-up, T_MR and T_M are estimated as the
observed time and the mistaken time divided by the number of mistakes, P_A as above, and
T_D is sampled at each correct observer of the crash.

Accuracy and speed trade against each other: every point of :func:`render_plot` is one
detector with one setting of its options.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .._registry import Catalog
from ..sim import NetworkModel, SimCluster, sweep
from ._report import quantile

__all__ = ["MIXES", "SETTINGS", "QosMix", "QosResult", "detectors", "format_pa", "measure",
           "render_plot", "render_table", "run_seed"]

SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "perfect-fd": {
        "default": {},
        "fast": {"period": 0.2, "timeout": 1.0},
    },
    "eventually-perfect-fd": {
        "default": {},
        "fast": {"period": 0.2, "timeout": 1.0, "increment": 0.5},
    },
    "phi-accrual-fd": {
        "default": {},
        "fast": {"period": 0.5, "acceptable_pause": 1.0},
        "threshold 3": {"threshold": 3.0},
    },
    "swim-fd": {
        "default": {},
        "lifeguard": {"lifeguard": True},
        "fast": {"period": 0.25, "probe_timeout": 0.1, "suspicion_timeout": 1.0},
    },
}
"""Options of each setting measured, per detector (an installed detector not named here
is measured with its defaults only)."""


@attrs.frozen
class QosMix:
    """How each seed's run is drawn."""

    nodes: int = 4
    duration: float = 120.0
    """Simulated seconds per run."""
    warmup: float = 10.0
    """Seconds before anything is judged (detectors learn the network)."""
    median_latency: tuple[float, ...] = (0.005, 0.02, 0.05)
    """Medians of the lognormal one-way latency to choose from, seconds."""
    tail: tuple[float, float] = (0.02, 0.5)
    """Probability that a message is held back, and the most it is held (seconds)."""
    loss: tuple[float, ...] = (0.0, 0.01, 0.05)
    """Link loss probabilities to choose from."""
    pause: tuple[float, float] = (0.1, 10.0)
    """Shortest and longest pause, seconds (drawn log-uniformly)."""
    cut: tuple[float, float] = (0.5, 10.0)
    """Shortest and longest one-way partition, seconds (drawn log-uniformly)."""
    gap: float = 12.0
    """Mean quiet time between two faults, seconds (exponential)."""
    crash: tuple[float, float] = (0.55, 0.7)
    """The crash falls in this part of the run."""

    def describe(self) -> str:
        """One line: what the runs are made of."""
        medians = "/".join(f"{m * 1000:g}" for m in self.median_latency)
        return (f"{self.nodes} nodes, {self.duration:g} s each ({self.warmup:g} s warm-up); "
                f"lognormal latency, median {medians} ms, {self.tail[0]:.0%} held up to "
                f"{self.tail[1]:g} s; loss "
                f"{'/'.join(f'{x:.0%}' for x in self.loss)}; pauses {self.pause[0]:g}-"
                f"{self.pause[1]:g} s and one-way partitions {self.cut[0]:g}-{self.cut[1]:g} s, "
                f"one every {self.gap:g} s on average; one crash at "
                f"{self.crash[0]:.0%}-{self.crash[1]:.0%} of the run")


MIXES: dict[str, QosMix] = {
    "faulty": QosMix(),
    "calm": QosMix(median_latency=(0.001, 0.005), tail=(0.01, 0.1), loss=(0.0, 0.01),
                   pause=(0.05, 1.0), cut=(0.2, 1.0), gap=20.0),
}
"""The networks of ``netweave bench fd --qos --qos-mix NAME``: ``faulty`` (wide-area
latency, loss, pauses of up to 10 s and one-way partitions of up to 10 s, about one
fault every 12 s) and ``calm`` (a LAN: millisecond latency, little loss, pauses and cuts
of at most a second, one every 20 s)."""


@attrs.frozen
class _Fault:
    at: float
    kind: str  # pause, cut, crash
    node: str
    length: float = 0.0
    targets: tuple[str, ...] = ()


def _draw(mix: QosMix, seed: int) -> tuple[NetworkModel, list[_Fault]]:
    """The network and the faults of ``seed`` (the same for every detector)."""
    rng = random.Random(f"qos/{seed}")
    ids = [f"n{i}" for i in range(1, mix.nodes + 1)]
    network = NetworkModel(
        latency={"dist": "lognormal", "low": 0.0005, "mean": rng.choice(mix.median_latency)},
        loss=rng.choice(mix.loss), reorder=mix.tail[0], reorder_delay=mix.tail[1])
    victim = rng.choice(ids)
    crash_at = round(mix.duration * rng.uniform(*mix.crash), 6)
    faults = [_Fault(crash_at, "crash", victim)]
    t = rng.uniform(1.0, mix.gap)
    while True:
        kind = rng.choice(("pause", "cut"))
        low, high = mix.pause if kind == "pause" else mix.cut
        length = math.exp(rng.uniform(math.log(low), math.log(high)))
        if t + length > mix.duration - 1.0:
            break
        node = rng.choice(ids)
        others = [i for i in ids if i != node]
        targets = tuple(others) if rng.random() < 0.5 else (rng.choice(others),)
        faults.append(_Fault(round(t, 6), kind, node, round(length, 6),
                             targets if kind == "cut" else ()))
        t += length + rng.expovariate(1.0 / mix.gap)
    return network, faults


def _schedule(c: SimCluster, faults: Sequence[_Fault]) -> None:
    for f in faults:
        if f.kind == "crash":
            c.at(f.at, c.crash, f.node)
        elif f.kind == "pause":
            c.at(f.at, c.pause, f.node)
            c.at(f.at + f.length, c.resume, f.node)
        else:
            c.at(f.at, c.one_way, [f.node], list(f.targets))
            c.at(f.at + f.length, c.heal)


@attrs.frozen
class _Run:
    observed: float = 0.0
    """Seconds of (observer, live peer) pairs watched after the warm-up."""
    mistakes: int = 0
    wrong: float = 0.0
    """Seconds spent suspecting a live peer."""
    detections: tuple[float, ...] = ()
    undetected: int = 0
    """Correct observers that never suspected the crashed process for good."""
    fenced: int = 0
    """Processes that ended because a perfect detector declared them crashed."""
    messages: int = 0
    node_seconds: float = 0.0


def run_seed(detector: str, options: Mapping[str, Any], seed: int, mix: QosMix,
             catalog: Catalog | None = None) -> _Run:
    """One run of ``detector`` with ``options`` on the faults of ``seed``, judged."""
    network, faults = _draw(mix, seed)
    c = SimCluster(mix.nodes, lambda node: node.use(detector, **options), seed=seed,
                   network=network, catalog=catalog)
    c.start()
    _schedule(c, faults)
    c.run(mix.duration)
    return _judge(c.trace, c.ids, mix, c.messages_sent)


def _judge(trace: Iterable[Mapping[str, Any]], ids: Sequence[str], mix: QosMix,
           messages: int) -> _Run:
    end, start = mix.duration, mix.warmup
    crashed: dict[str, float] = {}
    fenced = 0
    planned: tuple[str, float] | None = None
    # (observer, peer) -> [(t, suspected)] in order
    changes: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for line in trace:
        ev = line["ev"]
        if ev == "crash":
            crashed.setdefault(line["node"], line["t"])
            if line.get("reason") == "fenced":
                fenced += 1
            elif planned is None:
                planned = (line["node"], line["t"])
        elif ev in ("suspect", "restore") and line.get("layer") == "fd":
            changes.setdefault((line["node"], line["peer"]), []).append(
                (line["t"], ev == "suspect"))
    observed = wrong = 0.0
    mistakes = 0
    for q in ids:
        for p in ids:
            if p == q:
                continue
            stop = min(end, crashed.get(p, end), crashed.get(q, end))
            if stop <= start:
                continue
            observed += stop - start
            suspected, since, judged = False, start, False
            for t, s in changes.get((q, p), ()):
                if t >= stop:
                    break
                if t < start:
                    suspected = s  # the state the window starts in
                    continue
                if not judged:
                    judged = True
                    mistakes += suspected  # a mistake under way when the window opens
                if s and not suspected:
                    suspected, since = True, t
                    mistakes += 1
                elif not s and suspected:
                    suspected = False
                    wrong += t - since
            if suspected:
                mistakes += not judged
                wrong += stop - since
    detections: list[float] = []
    undetected = 0
    if planned is not None:
        victim, at = planned
        for q in ids:
            if q == victim or q in crashed:
                continue
            history = changes.get((q, victim), [])
            if history and history[-1][1]:
                # The last change is a suspicion: when did the final one begin?
                began = history[-1][0]
                for t, s in reversed(history):
                    if not s:
                        break
                    began = t
                detections.append(max(0.0, began - at))
            else:
                undetected += 1
    return _Run(observed, mistakes, wrong, tuple(detections), undetected, fenced, messages,
                len(ids) * mix.duration)


@attrs.frozen
class QosResult:
    """The QoS of one detector with one setting, over every seed."""

    detector: str
    setting: str
    options: dict[str, Any]
    seeds: int
    detections: tuple[float, ...]
    """T_D samples (seconds), one per correct observer of each run's crash."""
    undetected: int
    observed: float
    mistakes: int
    wrong: float
    fenced: int
    messages: int
    node_seconds: float

    @property
    def td_median(self) -> float | None:
        """T_D, median."""
        return quantile(self.detections, 0.5)

    @property
    def td_p99(self) -> float | None:
        """T_D, 99th percentile."""
        return quantile(self.detections, 0.99)

    @property
    def t_mr(self) -> float | None:
        """Mean mistake recurrence time (``None``: no mistake seen)."""
        return self.observed / self.mistakes if self.mistakes else None

    @property
    def t_m(self) -> float | None:
        """Mean mistake duration (``None``: no mistake seen)."""
        return self.wrong / self.mistakes if self.mistakes else None

    @property
    def p_a(self) -> float:
        """Query accuracy probability."""
        return 1.0 - self.wrong / self.observed if self.observed else 1.0

    @property
    def cost(self) -> float:
        """Link messages per node per second (heartbeats, probes, acknowledgements)."""
        return self.messages / self.node_seconds if self.node_seconds else 0.0


def detectors(catalog: Catalog | None = None) -> list[str]:
    """Every installed plugin that provides ``failure-detector``: known ones first."""
    catalog = catalog if catalog is not None else Catalog.discover()
    names = [n for n, info in catalog.plugins.items() if "failure-detector" in info.provides]
    return sorted(names, key=lambda n: (n not in SETTINGS, list(SETTINGS).index(n)
                                        if n in SETTINGS else 0, n))


def measure(*, seeds: int = 48, mix: QosMix | None = None, jobs: int = 0,
            only: Sequence[str] | None = None,
            settings: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
            catalog: Catalog | None = None) -> list[QosResult]:
    """Run every (detector, setting) over ``seeds`` seeds; results in the same order.

    :param only: the detectors to measure (default: every installed one).
    :param settings: options per setting per detector (default: :data:`SETTINGS`; a
        detector not named runs with its defaults).
    :param jobs: processes (0: one per CPU).
    """
    catalog = catalog if catalog is not None else Catalog.discover()
    mix = mix if mix is not None else QosMix()
    table = settings if settings is not None else SETTINGS
    configs: list[tuple[str, str, dict[str, Any]]] = []
    for name in only if only is not None else detectors(catalog):
        for setting, options in (table.get(name) or {"default": {}}).items():
            configs.append((name, setting, dict(options)))

    def job(task: int) -> _Run:
        name, _, options = configs[task % len(configs)]
        return run_seed(name, options, task // len(configs), mix, catalog)

    runs: list[list[_Run]] = [[] for _ in configs]
    # The detectors' warnings (a perfect detector that was wrong, a fenced process) are
    # what the figures count; hundreds of them on the terminal would hide the table.
    quiet = logging.getLogger("netweave")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for task, run in sweep(job, range(seeds * len(configs)), jobs=jobs, chunk=4):
            runs[task % len(configs)].append(run)
    finally:
        quiet.setLevel(level)
    out = []
    for (name, setting, options), rs in zip(configs, runs, strict=True):
        out.append(QosResult(
            name, setting, options, len(rs), tuple(d for r in rs for d in r.detections),
            sum(r.undetected for r in rs), sum(r.observed for r in rs),
            sum(r.mistakes for r in rs), sum(r.wrong for r in rs), sum(r.fenced for r in rs),
            sum(r.messages for r in rs), sum(r.node_seconds for r in rs)))
    return out


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_pa(value: float) -> str:
    """P_A as text: ``1`` when no mistake was seen, else six decimals."""
    return "1" if value >= 1.0 else f"{value:.6f}"


def render_table(results: Sequence[QosResult], *, markdown: bool = False) -> str:
    """The results as a text table, or a markdown one."""
    head = ["detector", "setting", "T_D p50 s", "T_D p99 s", "undetected", "mistakes",
            "T_MR s", "T_M s", "P_A", "msgs/node/s"]
    rows = []
    for r in results:
        rows.append([r.detector, r.setting, _s(r.td_median), _s(r.td_p99),
                     f"{r.undetected}/{r.undetected + len(r.detections)}",
                     str(r.mistakes) + (f" ({r.fenced} fenced)" if r.fenced else ""),
                     _s(r.t_mr, 1), _s(r.t_m), format_pa(r.p_a),
                     f"{r.cost:.1f}" if r.node_seconds else "-"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(row))
                  + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head), *(fmt.format(*row) for row in rows)])


# -- the plot ------------------------------------------------------------------------------

_COLOURS = ("#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#5f3dc4", "#0b7285", "#862e9c")


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def render_plot(results: Sequence[QosResult], *, title: str = "") -> str:
    """T_D (median, with a bar up to the 99th percentile) against P_A, one point per
    detector and setting, as a self-contained SVG document.

    P_A is drawn on a scale of nines (0.9, 0.99, 0.999, ...): the distance to 1 is what
    differs between detectors. A setting that made no mistake at all sits on the right
    edge, at "1"."""
    width, height = 760, 470
    left, right, top, bottom = 70, 200, 50, 60
    pw, ph = width - left - right, height - top - bottom
    points = [r for r in results if r.td_median is not None]
    nines = [-math.log10(1.0 - r.p_a) for r in points if r.p_a < 1.0]
    top_nines = max(3, math.ceil(max(nines, default=3.0)) + 1)
    low_nines = min(1, math.floor(min(nines, default=1.0)))
    td_max = max((r.td_p99 or r.td_median or 0.0 for r in points), default=1.0)
    y_top = _nice(td_max * 1.1)

    def x_of(pa: float) -> float:
        n = top_nines if pa >= 1.0 else min(-math.log10(1.0 - pa), top_nines)
        return left + pw * (n - low_nines) / (top_nines - low_nines)

    def y_of(td: float) -> float:
        return top + ph * (1.0 - td / y_top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        out.append(f'<text x="{left}" y="22" font-size="14" font-weight="bold">'
                   f'{_esc(title)}</text>')
    # axes and grid
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
               'stroke="#868e96"/>')
    for n in range(low_nines, top_nines + 1):
        x = left + pw * (n - low_nines) / (top_nines - low_nines)
        label = "1 (no mistake)" if n == top_nines else (
            "0" if n == 0 else "0." + "9" * n)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" '
                   'stroke="#e9ecef"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">'
                   f'{label}</text>')
    steps = 5
    for i in range(steps + 1):
        v = y_top * i / steps
        y = y_of(v)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" '
                   'stroke="#e9ecef"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 18}" text-anchor="middle">'
               'P_A, query accuracy probability (scale of nines; right is better)</text>')
    out.append(f'<text x="18" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 18 {top + ph / 2})">T_D, detection time, s '
               '(median, bar to p99; lower is better)</text>')
    # points
    names = list(dict.fromkeys(r.detector for r in results))
    colour = {n: _COLOURS[i % len(_COLOURS)] for i, n in enumerate(names)}
    placed = [(x_of(r.p_a), y_of(r.td_median or 0.0)) for r in points]
    taken: list[tuple[float, float, float, float]] = [(x - 6, y - 6, x + 6, y + 6)
                                                       for x, y in placed]
    for r, (x, y) in zip(points, placed, strict=True):
        assert r.td_median is not None
        c = colour[r.detector]
        if r.td_p99 is not None and r.td_p99 > r.td_median:
            y99 = y_of(r.td_p99)
            out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y99:.1f}" '
                       f'stroke="{c}" stroke-width="1.5" stroke-opacity="0.5"/>')
            out.append(f'<line x1="{x - 4:.1f}" y1="{y99:.1f}" x2="{x + 4:.1f}" '
                       f'y2="{y99:.1f}" stroke="{c}" stroke-width="1.5" '
                       'stroke-opacity="0.5"/>')
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{c}">'
                   f'<title>{_esc(r.detector)} {_esc(r.setting)}: T_D p50 '
                   f'{r.td_median:.2f} s, p99 {_s(r.td_p99)} s, P_A {format_pa(r.p_a)}'
                   '</title></circle>')
        lx, ly, end = _label_place(x, y, 6.2 * len(r.setting), taken)
        anchor = ' text-anchor="end"' if end else ""
        out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" fill="{c}" font-size="11"{anchor}>'
                   f'{_esc(r.setting)}</text>')
    # legend
    for i, name in enumerate(names):
        ly = top + 10 + 20 * i
        out.append(f'<circle cx="{left + pw + 20}" cy="{ly}" r="5" fill="{colour[name]}"/>')
        out.append(f'<text x="{left + pw + 30}" y="{ly + 4}">{_esc(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _label_place(x: float, y: float, w: float,
                 taken: list[tuple[float, float, float, float]]) -> tuple[float, float, bool]:
    """Where a label of width ``w`` goes beside the point (x, y), clear of the labels and
    points placed so far: its baseline, and whether it ends (rather than starts) there."""
    h = 11.0
    candidates = [(8, -5, False), (8, 13, False), (-8, -5, True), (-8, 13, True)]
    candidates += [(8, -5 - 12 * i, False) for i in range(1, 5)]
    candidates += [(8, 13 + 12 * i, False) for i in range(1, 5)]
    for dx, dy, end in candidates:
        x0 = x + dx - (w if end else 0)
        box = (x0, y + dy - h + 2, x0 + w, y + dy + 2)
        if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                   for b in taken):
            taken.append(box)
            return x + dx, y + dy, end
    taken.append((x + 8, y - 5 - h, x + 8 + w, y - 5))
    return x + 8, y - 5, False


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power

"""The tracer's ``t``: exactly ``round(float(clock()), 6)`` on every line, in every build."""

from __future__ import annotations

from netweave.sim import SimCluster
from netweave.trace import Tracer


def test_every_line_has_the_clock_reading_rounded_to_six_places():
    # Repeated instants, ints beside equal floats, both zeros and a value that rounds to
    # zero: each line must be what round() gives, on a float (a compiled build's clock is
    # typed float, so "t" is never an int there).
    readings = [-1.0, 2, 2.0, 2.0, 0.0, -0.0, -0.0, 1.23456789, 1.23456789, 1, 5e-7, 5e-7,
                3.0000004, 3.0000004]
    clock = iter(readings)
    lines: list[dict[str, object]] = []
    tracer = Tracer("n1", lambda: next(clock), [lines.append])
    for _ in readings:
        tracer.emit("x")
    assert [repr(line["t"]) for line in lines] == [repr(round(float(r), 6)) for r in readings]


def test_virtual_time_is_a_float_even_when_scheduled_at_an_integer():
    cluster = SimCluster(2, lambda n: n.use("beb"), seed=1)
    cluster.start()
    cluster.at(1, cluster.broadcast, "n1", "beb", "x")
    cluster.run(3)
    assert type(cluster.now) is float
    broadcast = next(r for r in cluster.trace if r["ev"] == "broadcast")
    assert repr(broadcast["t"]) == "1.0"

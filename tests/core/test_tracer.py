"""The tracer's ``t``: exactly ``round(float(clock()), 6)`` on every line, in every build."""

from __future__ import annotations

import math
import random
import struct

from netweave.sim import SimCluster
from netweave.trace import Tracer, round6


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


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_round6_is_round_to_six_places_bit_for_bit():
    # Exact ties (a multiple of 1e-6 plus half of one) and values a few ulps either side
    # of them are where a shortcut through x * 1e6 could round the other way; random
    # bit patterns bring the huge, tiny, infinite and NaN values.
    rng = random.Random(20261127)
    values = [0.0, -0.0, 5e-7, -5e-7, 1.5e-6, 2.5e-6, 1.0000005, 4503599627.3704965,
              1e300, -1e300, 5e-324, math.inf, -math.inf, -1e-9, 1e-9]
    for _ in range(50_000):
        tie = (rng.randrange(-10**9, 10**9) + 0.5) / 1e6
        values += [tie, math.nextafter(tie, math.inf), math.nextafter(tie, -math.inf),
                   rng.uniform(0.0, 100.0), rng.uniform(-1e9, 1e9),
                   struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]]
    wrong = [x for x in values
             if not math.isnan(x) and _bits(round6(x)) != _bits(round(x, 6))]
    assert wrong == []
    assert math.isnan(round6(math.nan))

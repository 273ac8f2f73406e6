"""The benchmark suite: its statistics, its command line, and that it ends its processes."""

from __future__ import annotations

import signal
import time

import pytest
from netweave.bench import broadcast, link, micro
from netweave.bench._procs import BenchError, Workers
from netweave.bench._report import Histogram, Row, markdown, quantile
from netweave.cli import main
from netweave.cli._launch import free_ports


def test_histogram_quantiles_are_within_its_resolution():
    samples = [i / 10_000 for i in range(1, 10_001)]  # 0.1 ms .. 1 s, uniform
    h = Histogram.of(samples)
    for q in (0.5, 0.9, 0.99):
        exact = quantile(samples, q)
        assert exact is not None
        assert h.quantile(q) == pytest.approx(exact, rel=0.02)
    assert Histogram().quantile(0.5) is None


def test_histograms_merge_and_survive_json():
    a, b = Histogram.of([0.001] * 3), Histogram.of([0.002] * 5)
    a.merge(Histogram.from_json(b.to_json()))
    assert a.total == 8
    assert a.quantile(0.5) == pytest.approx(0.002, rel=0.02)
    assert a.quantile(0.25) == pytest.approx(0.001, rel=0.02)


def test_exact_quantile_uses_the_nearest_rank():
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.99) == 4.0
    assert quantile([], 0.5) is None


def test_results_table_marks_goals_met_and_missed():
    table = markdown([Row("a", "1", "netweave bench x", ">= 2", False),
                      Row("b", "3", "netweave bench y", ">= 2", True), Row("c", "4", "z")])
    assert "| a | 1 | >= 2 (**missed**) | `netweave bench x` |" in table
    assert "| b | 3 | >= 2 (met) | `netweave bench y` |" in table
    assert "| c | 4 | - | `z` |" in table


def test_unknown_parts_layers_and_profiles_are_refused(capsys):
    assert main(["bench", "nope"]) == 2
    assert main(["bench", "fd", "--profiles", "slow"]) == 2
    assert main(["bench", "broadcast", "--layers", "urb2"]) == 2
    out = capsys.readouterr().out
    assert "nope" in out and "slow" in out and "urb2" in out


def test_codec_and_bus_figures_are_measured():
    rates = micro.codec_rates(500)
    assert set(rates) == {"beb data", "urb relay", "ack"}
    for enc, dec, size in rates.values():
        assert enc > 0 and dec > 0 and size > 4
    outside, inside = micro.bus_rates(2000, 1)
    assert outside > 0 and inside > 0


def test_every_worker_is_ended_when_the_block_fails():
    address = f"127.0.0.1:{free_ports(1)[0]}"
    with pytest.raises(RuntimeError, match="boom"), Workers() as ws:
        plain = ws.start("plain", {"role": "raw", "side": "listen", "address": address})
        plain.expect("ready", 30)
        stopped = ws.start("stopped", {"role": "raw", "side": "connect", "address": address})
        stopped.expect("ready", 30)
        stopped.signal(signal.SIGSTOP)
        raise RuntimeError("boom")
    assert plain.proc.poll() is not None
    assert stopped.proc.poll() is not None


def test_a_worker_that_does_not_answer_is_reported():
    address = f"127.0.0.1:{free_ports(1)[0]}"
    with Workers() as ws:
        w = ws.start("raw", {"role": "raw", "side": "listen", "address": address})
        w.expect("ready", 30)
        began = time.monotonic()
        with pytest.raises(BenchError, match="no 'rtt'"):
            w.expect("rtt", 0.3)
        assert time.monotonic() - began < 5


def test_a_short_single_link_run_measures_both_directions():
    f = link.measure("netweave", duration=0.3, warmup=0.1, batch=32, rtt_count=20,
                     loop="asyncio")
    assert f.messages_per_s > 0
    assert f.rtt_samples == 20
    assert f.rtt_p50 is not None and 0 < f.rtt_p50 < 1.0


def test_a_short_broadcast_run_delivers_everything():
    (f,) = broadcast.measure("beb", 3, total_rate=300, warmup=0.2, duration=0.5,
                             sat_warmup=0.2, batch=16, loop="asyncio", modes=("rate",))
    assert f.complete
    assert f.suspicions == 0
    assert f.sustained > 0 and f.p50 is not None
    assert f.data_per_bcast == pytest.approx(2.0, abs=0.2)  # one data message per peer


def test_memory_growth_is_judged_only_on_long_windows():
    def saturated(growth):
        return broadcast.PhaseFigures("fifo-rb", 4, "saturate", 1, 1, 1, 1.0, 2.0, 3.0, 3.0,
                                      0.0, 30.0, growth, True, 0)

    found = {("fifo-rb", 4, "saturate"): saturated(0.13)}
    (short,) = broadcast.goal_rows(found, duration=5)
    assert short.met is None and "judged on windows of 30 s" in short.goal
    (long,) = broadcast.goal_rows(found, duration=60)
    assert long.met is False and long.goal == "within 10%"
    (fine,) = broadcast.goal_rows({("fifo-rb", 4, "saturate"): saturated(0.015)}, duration=60)
    assert fine.met is True


def test_every_header_says_how_fast_this_interpreter_is(capsys):
    from netweave.bench._report import header, interpreter_speed

    assert 0 < interpreter_speed() < 100_000  # microseconds for a 1,000-integer sum
    header("part", seeds=3)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "# part"
    assert out[2].startswith("# interpreter speed: sum(range(1000)) in ")
    assert out[2].endswith(" us")
    assert out[-1] == "# seeds=3"


def test_a_header_says_which_build_it_measured(monkeypatch):
    from netweave import __version__
    from netweave.bench import _report

    # The build this test runs on: the pure one (.venv) or the compiled one (dev.py compiled).
    compiled = _report.compiled_build()
    if compiled is None:
        assert "compiled" not in _report.source()
    else:
        assert _report.source().endswith(
            f", compiled with mypyc ({len(compiled['compiled'])} modules)")
    monkeypatch.setattr(_report, "compiled_build",
                        lambda: {"compiled": ["bus.py", "link.py"], "commit": "abc1234",
                                 "dirty": True})
    assert _report.source() == (f"netweave {__version__}, commit abc1234 + uncommitted "
                                "changes, compiled with mypyc (2 modules)")
    monkeypatch.setattr(_report, "compiled_build",
                        lambda: {"compiled": [], "commit": None, "dirty": False})
    assert _report.source() == f"netweave {__version__}, compiled with mypyc (0 modules)"

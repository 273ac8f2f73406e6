"""The broadcast benchmark's raw baselines: short runs measure, and leave no process."""

from __future__ import annotations

import importlib.util
import os

import pytest
from netweave.bench import broadcast
from netweave.bench._baselines import BASELINES, measure, unavailable
from netweave.cli import main


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("kind", list(BASELINES))
def test_a_short_baseline_run_measures_and_ends_its_processes(kind):
    if kind == "zmq-pubsub" and importlib.util.find_spec("zmq") is None:
        pytest.skip("zmq-pubsub needs pyzmq, which is not installed")
    pids: list[int] = []
    f = measure(kind, 3, warmup=0.2, duration=0.5, batch=16, pids=pids)
    assert len(pids) == 3
    assert all(_gone(pid) for pid in pids)
    assert (f.layer, f.nodes, f.mode) == (kind, 3, "saturate")
    assert f.offered > 0 and f.sustained > 0 and f.deliveries > 0
    assert f.p50 is not None and f.p50 > 0
    assert f.frames_per_bcast > 0 and f.peak_rss_mb > 0
    if kind == "zmq-pubsub":
        assert f.lost is not None and 0.0 <= f.lost < 1.0
    else:
        assert f.complete and f.lost is None  # TCP loses nothing


def test_the_command_line_knows_the_baselines(capsys):
    assert main(["bench", "broadcast", "--layers", "beb,raw-beb,raw-relay,zmq-pubsub,"
                 "raw-nope", "--modes", "saturate"]) == 2
    out = capsys.readouterr().out
    assert "unknown raw-nope" in out and "raw-relay" in out
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for kind in BASELINES:
        assert kind in help_text


def test_a_missing_pyzmq_is_named(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    reason = unavailable("zmq-pubsub")
    assert reason is not None and "pyzmq" in reason
    assert unavailable("raw-beb") is None
    with pytest.raises(RuntimeError, match="pyzmq"):
        measure("zmq-pubsub", 3, warmup=0.1, duration=0.1)


def test_ratios_compare_layers_with_their_baselines_when_both_ran(capsys):
    def saturated(layer, sustained, lost=None):
        return broadcast.PhaseFigures(layer, 4, "saturate", 1, sustained, 1, 1.0, 2.0, 3.0,
                                      3.0, 0.0, 30.0, 0.0, True, 0, lost)

    found = {("beb", 4, "saturate"): saturated("beb", 20_000),
             ("all-ack-urb", 4, "saturate"): saturated("all-ack-urb", 5_000)}
    raw = {("raw-beb", 4): saturated("raw-beb", 80_000),
           ("raw-relay", 4): saturated("raw-relay", 10_000),
           ("zmq-pubsub", 4): saturated("zmq-pubsub", 100_000, lost=0.5)}
    rows = broadcast.ratio_rows(found, raw, duration=5)
    assert [r.measurement for r in rows] == [
        "beb / raw-beb sustained, 4 nodes, broadcasts/s",
        "all-ack-urb / raw-relay sustained, 4 nodes, broadcasts/s",
        "beb / zmq-pubsub goodput, 4 nodes, broadcasts/s"]
    assert rows[0].figure == "20,000 / 80,000 (25.0%)"
    assert "--layers beb,raw-beb --nodes 4 --modes saturate" in rows[0].command
    assert "beb / raw-beb sustained, 4 nodes, broadcasts/s: 20,000 / 80,000" in (
        capsys.readouterr().out)
    assert broadcast.ratio_rows(found, {}, duration=5) == []

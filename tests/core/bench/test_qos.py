"""Failure-detector QoS (``netweave bench fd --qos``): the measures, the table, the plot."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from netweave.bench import qos
from netweave.cli import main

MIX = qos.QosMix(duration=100.0, warmup=10.0)


def line(t, node, ev, **fields):
    return {"t": t, "node": node, "ev": ev, **fields}


def test_mistakes_are_counted_and_timed_after_the_warm_up_only():
    trace = [
        line(2.0, "n1", "suspect", layer="fd", peer="n2"),   # before the warm-up, ended
        line(3.0, "n1", "restore", layer="fd", peer="n2"),
        line(5.0, "n2", "suspect", layer="fd", peer="n1"),   # under way when judging starts
        line(14.0, "n2", "restore", layer="fd", peer="n1"),
        line(40.0, "n1", "suspect", layer="fd", peer="n2"),  # 5 s mistake
        line(45.0, "n1", "restore", layer="fd", peer="n2"),
        line(50.0, "n3", "suspect", layer="other", peer="n2"),  # another layer: ignored
    ]
    run = qos._judge(trace, ["n1", "n2", "n3"], MIX, messages=600)
    assert run.observed == 6 * 90.0
    assert run.mistakes == 2
    assert run.wrong == pytest.approx(4.0 + 5.0)
    assert run.detections == () and run.undetected == 0
    assert run.messages == 600 and run.node_seconds == 300.0


def test_detection_time_is_from_the_crash_to_the_lasting_suspicion():
    trace = [
        line(60.0, "n3", "crash"),
        line(62.0, "n1", "suspect", layer="fd", peer="n3"),
        line(63.0, "n1", "restore", layer="fd", peer="n3"),  # taken back: not the last
        line(64.5, "n1", "suspect", layer="fd", peer="n3"),
        line(55.0, "n2", "suspect", layer="fd", peer="n3"),  # already suspected: T_D 0
        line(70.0, "n4", "crash", reason="fenced", by="n1"),
    ]
    trace.sort(key=lambda r: r["t"])
    run = qos._judge(trace, ["n1", "n2", "n3", "n4"], MIX, messages=0)
    assert sorted(run.detections) == [0.0, 4.5]
    assert run.undetected == 0 and run.fenced == 1
    # n2's suspicion of n3 from 55 s to the crash at 60 s was a mistake
    assert run.mistakes == 1 and run.wrong == pytest.approx(5.0)
    # pairs end with either process: n3 at 60 s, n4 at 70 s
    assert run.observed == pytest.approx(2 * 90 + 6 * 50 + 4 * 60)


def test_an_observer_that_never_suspects_the_crashed_process_is_counted():
    trace = [line(60.0, "n2", "crash"), line(61.0, "n1", "suspect", layer="fd", peer="n2"),
             line(62.0, "n1", "restore", layer="fd", peer="n2")]
    run = qos._judge(trace, ["n1", "n2", "n3"], MIX, messages=0)
    assert run.detections == () and run.undetected == 2


def test_every_detector_and_setting_faces_the_same_faults():
    network, faults = qos._draw(MIX, 3)
    again = qos._draw(MIX, 3)
    assert (network.loss, faults) == (again[0].loss, again[1])
    assert sum(f.kind == "crash" for f in faults) == 1
    assert {f.kind for f in faults} <= {"crash", "pause", "cut"}
    for f in faults:
        assert f.at > 0 and f.at + f.length < MIX.duration


def test_measure_gives_one_result_per_detector_and_setting():
    results = qos.measure(seeds=2, mix=MIX, jobs=1, only=["eventually-perfect-fd", "swim-fd"])
    assert [(r.detector, r.setting) for r in results] == [
        (d, s) for d in ("eventually-perfect-fd", "swim-fd") for s in qos.SETTINGS[d]]
    for r in results:
        assert r.seeds == 2 and len(r.detections) + r.undetected == 2 * 3
        assert 0.0 < r.p_a <= 1.0 and r.cost > 0
        assert r.td_median is not None and 0.0 <= r.td_median < 30.0
        if r.mistakes:
            assert r.t_mr is not None and r.t_m is not None and r.t_m < r.t_mr
    # faster settings detect sooner
    by = {(r.detector, r.setting): r for r in results}
    fast, slow = by[("swim-fd", "fast")], by[("swim-fd", "default")]
    assert fast.td_median is not None and slow.td_median is not None
    assert fast.td_median < slow.td_median
    again = qos.measure(seeds=2, mix=MIX, jobs=1, only=["swim-fd"])
    assert [(r.mistakes, r.detections) for r in again] == \
        [(r.mistakes, r.detections) for r in results if r.detector == "swim-fd"]


def result(detector, setting, td, pa):
    observed = 1000.0
    return qos.QosResult(detector, setting, {}, 1, (td, td * 2), 0, observed,
                         0 if pa == 1.0 else 3, (1.0 - pa) * observed, 0, 100, 10.0)


def test_the_plot_is_an_svg_with_a_point_per_detector_and_setting():
    results = [result("a-fd", "default", 2.0, 0.99), result("a-fd", "fast", 1.0, 0.9),
               result("b-fd", "default", 3.0, 1.0), result("b-fd", "x<y", 4.0, 0.999)]
    svg = qos.render_plot(results, title="QoS & more")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    circles = root.findall(f"{ns}circle")
    points = [c for c in circles if c.find(f"{ns}title") is not None]
    assert len(points) == 4
    titles = [c.find(f"{ns}title").text for c in points]
    assert titles[0].startswith("a-fd default: T_D p50 2.00 s")
    assert any("x<y" in t for t in titles)
    xs = {t.split(":")[0]: float(c.get("cx")) for t, c in zip(titles, points, strict=True)}
    # more nines further right; no mistake at all on the right edge
    assert xs["a-fd fast"] < xs["a-fd default"] < xs["b-fd x<y"] < xs["b-fd default"]
    texts = "".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "QoS & more" in texts and "1 (no mistake)" in texts and "0.99" in texts
    assert "a-fd" in texts and "b-fd" in texts  # the legend
    assert "<script" not in svg and "href" not in svg


def test_table_has_every_measure():
    text = qos.render_table([result("a-fd", "default", 2.0, 0.99)])
    head, row = text.splitlines()
    for name in ("T_D p50 s", "T_D p99 s", "T_MR s", "T_M s", "P_A", "msgs/node/s"):
        assert name in head
    assert row.split()[:4] == ["a-fd", "default", "2.00", "4.00"]
    md = qos.render_table([result("a-fd", "default", 2.0, 1.0)], markdown=True)
    assert md.splitlines()[2].startswith("| `a-fd` | default | 2.00 | 4.00 |")


def test_bench_fd_qos_prints_the_table_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "img" / "qos.svg"
    assert main(["bench", "fd", "--qos", "--qos-seeds", "1", "--jobs", "1",
                 "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    for name in qos.detectors():
        assert f"\n{name} " in out
    assert "T_MR s" in out and f"# plot: {plot}" in out
    assert "| QoS (faulty), swim-fd lifeguard: T_D p50 s / P_A |" in out
    ET.fromstring(plot.read_text(encoding="utf-8"))


def test_plot_and_qos_options_are_checked(capsys):
    assert main(["bench", "fd", "--plot", "x.svg"]) == 2
    assert main(["bench", "link", "--qos"]) == 2
    assert main(["bench", "fd", "--qos", "--qos-seeds", "0"]) == 2
    out = capsys.readouterr().out
    assert "--plot without --qos" in out and "without the fd part" in out
    assert "--qos-seeds below 1" in out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_real_processes_give_every_measure_of_a_detector(capsys):
    # One SIGKILL and one SIGSTOP trial (T_D, seen by both survivors), then a busy run in
    # which nobody fails: its mistakes, T_MR, T_M and P_A, in a table of their own.
    from netweave.bench import fd

    rows = fd.run_qos(seeds=1, jobs=1, trials=1, only=["eventually-perfect-fd"],
                      busy_duration=4.0)
    out = capsys.readouterr().out
    assert "# on real processes:" in out
    table = out.split("# on real processes:")[1].splitlines()
    row = next(line for line in table if line.startswith("eventually-perfect-fd "))
    cells = row.split()
    assert cells[1:4] == ["real,", "2", "busy"]
    assert cells[6] == "0/4"  # undetected out of 4 detections: 2 survivors x 2 faults
    assert cells[-1] == "-"  # messages are not counted on real processes
    assert 0.0 <= float(cells[-2]) <= 1.0  # P_A
    real = [r for r in rows if r.measurement.startswith("QoS on real processes")]
    assert len(real) == 1 and "eventually-perfect-fd" in real[0].measurement

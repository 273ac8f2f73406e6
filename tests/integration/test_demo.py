"""``netweave demo`` end to end: real processes, a SIGKILL, the checker's verdict."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from netweave import Catalog
from netweave.cli import demo as demo_cli
from netweave.cli import main as cli
from netweave.cli._launch import LocalCluster
from netweave.trace import read_trace


def view_data(page: Path) -> dict[str, Any]:
    """The data a view page embeds."""
    text = page.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert found is not None, page
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def demo(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from netweave.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "demo", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env=None if env is None else {**os.environ, **env})


def table(out: str) -> dict[str, list[str]]:
    """The per-node summary rows: node -> [node, state, broadcast, delivered, suspected...]."""
    return {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith("n") and ("correct" in line or "crashed" in line)}


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_demo_crashes_a_node_and_every_property_holds(tmp_path: Path) -> None:
    # A relative --run-dir is relative to the caller's directory, and only there.
    run = demo("--messages", "8", "--run-dir", "traces", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "SIGKILL n4 after 4 of its 8 broadcasts" in out
    assert "verdict: OK" in out and "uniform agreement" in out
    rows = table(out)
    assert rows["n4"][1] == "crashed" and rows["n4"][2] == "4"
    for node in ("n1", "n2", "n3"):
        assert rows[node][1:4] == ["correct", "8", rows["n1"][3]]
        assert "n4" in rows[node][4]  # every survivor detected the crash
    run_dir = tmp_path / "traces"
    assert (run_dir / "faults.jsonl").read_text().count('"crash"') == 1
    assert sorted(p.name for p in run_dir.glob("n*.jsonl")) == [
        "n1.jsonl", "n2.jsonl", "n3.jsonl", "n4.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["traces"]
    # The view of the run is kept beside its traces, with the messages as arrows.
    assert "view of the run: traces/view.html (open it in a browser)" in out
    data = view_data(run_dir / "view.html")
    assert data["nodes"] == ["n1", "n2", "n3", "n4"]
    assert data["lines"] == read_trace(run_dir)
    assert any(s >= 0 and r >= 0 for s, r, _, _ in data["arrows"])
    assert data["check"]["ok"] is True


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_demo_without_crash_and_bad_arguments(tmp_path: Path) -> None:
    run = demo("--nodes", "3", "--layer", "rb", "--messages", "4", "--no-crash", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verdict: OK" in run.stdout and "crashed" not in run.stdout
    # The run's directory is gone; its view is in the current directory.
    assert "view of the run: netweave-demo.html (open it in a browser)" in run.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["netweave-demo.html"]
    assert view_data(tmp_path / "netweave-demo.html")["nodes"] == ["n1", "n2", "n3"]
    bad = demo("--crash", "n9", cwd=tmp_path)
    assert bad.returncode == 2 and "not one of" in bad.stderr


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_demo_secure_gives_each_node_its_own_key_and_signs_origins(tmp_path: Path) -> None:
    pytest.importorskip("cryptography", reason="--secure needs the 'secure' extra")
    run = demo("--secure", "--nodes", "3", "--messages", "6", "--run-dir", "run",
               "--no-view", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "a key per node, origins signed" in run.stdout and "verdict: OK" in run.stdout
    run_dir = tmp_path / "run"
    assert sorted(p.name for p in (run_dir / "keys").iterdir()) == [
        "keyring.toml", "n1.key", "n2.key", "n3.key"]
    assert not (run_dir / "cluster.secret").exists()
    from netweave.config import ClusterConfig

    config = ClusterConfig.from_toml(run_dir / "cluster.toml")
    assert config.signed_origins and config.security["profile"] == "secure"
    assert "secret" not in config.security and "secret_file" not in config.security
    assert set(config.public_keys() or {}) == {"n1", "n2", "n3"}
    rows = table(run.stdout)
    assert rows["n3"][1] == "crashed" and rows["n1"][1:3] == ["correct", "6"]


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_the_view_goes_where_asked_or_nowhere(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    run = demo("--nodes", "2", "--messages", "2", "--no-crash", "--view", "pages/run.html",
               cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "view of the run: pages/run.html" in run.stdout
    assert view_data(tmp_path / "pages" / "run.html")["nodes"] == ["n1", "n2"]
    run = demo("--nodes", "2", "--messages", "2", "--no-crash", "--no-view", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "view of the run" not in run.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pages"]


BAD = [
    (["--layer", "bogus"], "not a broadcast layer or plugin"),
    (["--layer", "perfect-fd"], "failure detector"),
    (["--layer", "eventually-perfect-fd"], "failure detector"),
    (["--interval", "-1"], "--interval"),
    (["--interval", "nan"], "--interval"),
    (["--nodes", "1"], "--nodes"),
    (["--nodes", "two"], "--nodes"),
    (["--messages", "0"], "--messages"),
    (["--crash", "n9"], "not one of n1, n2, n3, n4"),
    (["--run-dir", "a-file"], "not a directory"),
    (["--view", "tmp"], "is a directory"),
    (["--view", "nowhere/run.html"], "no directory nowhere"),
    (["--view", "x.html", "--no-view"], "not allowed with argument"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_option_is_one_line_and_exit_2_at_once(tmp_path: Path, args: list[str],
                                                     needle: str) -> None:
    (tmp_path / "a-file").write_text("not a directory\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    began = time.monotonic()
    run = demo(*args, cwd=tmp_path, env={"TMPDIR": str(scratch)}, timeout=20)
    took = time.monotonic() - began
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in run.stderr, lines
    assert lines[0].startswith("netweave demo: error: ")
    assert took < 2.0, f"{took:.1f}s"
    assert list(scratch.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "a-file", "tmp"]


def test_layer_names_map_to_the_layer_they_run() -> None:
    urb = demo_cli.choose_layer("majority-ack-urb")
    assert (urb.selector, urb.layer, urb.plugin, urb.agreement) == (
        "majority-ack-urb", "urb", "majority-ack-urb", True)
    rb = demo_cli.choose_layer("rb")
    assert (rb.layer, rb.plugin) == ("rb", Catalog.discover().resolve("rb").name)
    assert demo_cli.choose_layer("eager-rb").layer == "rb"
    assert demo_cli.choose_layer("beb").agreement is False


def broadcast_names() -> list[str]:
    plugins = demo_cli.broadcast_plugins(Catalog.discover())
    return sorted(set(plugins) | set(plugins.values()))


@pytest.mark.slow
@pytest.mark.timeout(45)
@pytest.mark.parametrize("name", broadcast_names())
def test_every_broadcast_plugin_and_layer_runs_and_counts(name: str, tmp_path: Path) -> None:
    run = demo("--layer", name, "--messages", "4", "--interval", "0.01", "--no-view",
               cwd=tmp_path, timeout=40)
    assert run.returncode == 0, run.stdout + run.stderr
    layer = demo_cli.choose_layer(name).layer
    assert f"perfect-fd + {layer} (" in run.stdout and "verdict: OK" in run.stdout
    rows = table(run.stdout)
    assert rows["n4"][1:3] == ["crashed", "2"]
    for node in ("n1", "n2", "n3"):
        assert rows[node][1:3] == ["correct", "4"]
        # every survivor's 4 and at most n4's 2: counted on the layer that ran
        assert 12 <= int(rows[node][3]) <= 14, rows


def in_process_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, float]:
    """Run the demo in this process (to patch it), with its temporary directory in
    ``tmp_path / "tmp"`` and ``tmp_path / "cwd"`` its current directory; returns the exit
    code, standard output and seconds taken."""
    (tmp_path / "tmp").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.chdir(tmp_path / "cwd")
    began = time.monotonic()
    code = cli(["demo", *args])
    return code, capsys.readouterr().out, time.monotonic() - began


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_verdict_gives_the_true_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    wait_until = LocalCluster.wait_until

    def never_agreed(self: LocalCluster, predicate, timeout, interval=0.05):  # type: ignore[no-untyped-def]
        held = wait_until(self, predicate, timeout, interval)
        return held and timeout != demo_cli._AGREE_WITHIN

    # The survivors do agree (every property holds), but the demo is told they did not.
    monkeypatch.setattr(LocalCluster, "wait_until", never_agreed)
    code, out, _ = in_process_demo(monkeypatch, tmp_path, capsys, "--nodes", "3",
                                   "--messages", "3", "--no-crash")
    assert code == 1
    verdict = out.splitlines()[-1]
    assert "3 of 3" not in verdict and "did NOT hold" not in verdict, out
    assert verdict.startswith("verdict: FAILED: the survivors did not deliver the same "
                              "messages within 30s"), out
    assert list((tmp_path / "tmp").iterdir()) == []  # a failed run leaves no directory
    # but its view, in the current directory
    assert "view of the run: netweave-demo.html" in out
    assert view_data(tmp_path / "cwd" / "netweave-demo.html")["check"]["ok"] is True


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_node_that_exits_during_the_run_fails_it_at_once(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    kill = LocalCluster.kill

    def kill_one_more(self: LocalCluster, node_id: str) -> None:
        kill(self, node_id)
        os.kill(self.nodes["n1"].pid, signal.SIGKILL)  # not asked for by the demo

    monkeypatch.setattr(LocalCluster, "kill", kill_one_more)
    code, out, took = in_process_demo(monkeypatch, tmp_path, capsys, "--messages", "6")
    assert code == 1
    assert "node n1 exited during the run (exit code -9)" in out.splitlines()[-1], out
    assert took < 15, f"{took:.1f}s"
    assert list((tmp_path / "tmp").iterdir()) == []

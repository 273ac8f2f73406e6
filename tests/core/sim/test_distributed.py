"""Conformance sweeps on a real Dask cluster: a scheduler and two workers, each its own
process on loopback. The results are those of a local run of the same seeds, even when a
worker is killed midway; without ``--cluster`` nothing of Dask is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dask_cluster import DaskCluster, require_distributed
from netweave.cli import main
from netweave.cli._launch import free_ports
from netweave.errors import ConfigurationError
from netweave.testing import check_conformance, run_campaign
from netweave.testing.campaign import TIMING
from netweave.testing.pytest_plugin import Conformance
from netweave_broadcast.beb import BestEffortBroadcast

pytest_plugins = ["pytester"]

SEEDS = range(500)


class BebClaimingRb(BestEffortBroadcast):
    """A planted bug, not installed anywhere: best-effort broadcast claiming reliability
    (the workers get it with its code)."""

    name = "cluster-mutant-beb-as-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"
    default = False
    implicit = False


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    require_distributed()
    with DaskCluster(tmp_path_factory.mktemp("dask"), workers=2) as cluster:
        yield cluster


def test_a_local_run_imports_nothing_of_dask() -> None:
    code = ("import sys\n"
            "from netweave.testing import check_conformance\n"
            "assert check_conformance('beb', range(5), jobs=2).ok\n"
            "from netweave.cli import main\n"
            "assert main(['conform', 'beb', '--seeds', '5', '--jobs', '1']) == 0\n"
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def test_without_the_extra_the_error_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(ConfigurationError, match=r"pip install 'netweave\[cluster\]'"):
        check_conformance("beb", range(5), cluster="tcp://127.0.0.1:1")
    assert main(["conform", "beb", "--seeds", "5", "--cluster", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "netweave conform: error: --cluster needs dask.distributed" in err


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    require_distributed()
    from netweave.sim import _distributed

    monkeypatch.setattr(_distributed, "CONNECT_TIMEOUT", 1.0)
    address = f"tcp://127.0.0.1:{free_ports(1)[0]}"  # nothing listens there
    assert main(["conform", "beb", "--seeds", "5", "--cluster", address]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}" in err
    assert "dask scheduler" in err


def test_a_worker_killed_midway_loses_no_seed_and_counts_none_twice(
        dask_cluster: DaskCluster) -> None:
    # 500 seeds of a campaign (random mix, rechecks, shrinking) here, then on the cluster,
    # where one of the two workers is killed by its PID after 150 seeds.
    settings: dict[str, Any] = {"seeds": len(SEEDS), "shrink_limit": 2, "max_runs": 80}
    local = run_campaign(BebClaimingRb, jobs=1, **settings)
    killed: list[int] = []
    workers: list[int] = []

    def progress(done: int) -> None:
        if done == 150 and not killed:
            killed.append(dask_cluster.kill_worker(0))

    remote = run_campaign(BebClaimingRb, cluster=dask_cluster.address, progress=progress,
                          on_workers=workers.append, **settings)
    assert killed, "the worker was not killed"
    assert dask_cluster.workers[0].poll() is not None
    assert "Remove worker" in dask_cluster.log("scheduler")
    assert workers[0] == 2 and remote.workers == 2
    assert remote.where == f"cluster {dask_cluster.address}"
    assert remote.seeds == local.seeds == len(SEEDS)
    a, b = local.summary(), remote.summary()
    for key in TIMING:
        a.pop(key), b.pop(key)
    assert b == a
    assert a["failures"] > 10 and a["failing_seeds"][0]["shrunk"] is not None
    assert [f.failure for f in remote.failures] == [f.failure for f in local.failures]


def test_a_planted_bug_is_found_at_the_same_first_seed(dask_cluster: DaskCluster) -> None:
    local = check_conformance(BebClaimingRb, SEEDS)
    remote = check_conformance(BebClaimingRb, SEEDS, cluster=dask_cluster.address)
    assert local.failure is not None
    assert remote.failure == local.failure
    assert remote.seeds == local.seeds == local.failure.seed + 1
    # The pytest plugin's fixture, given --netweave-cluster, runs there too.
    fixture = Conformance(SEEDS, cluster=dask_cluster.address)
    assert fixture.assert_violates(BebClaimingRb) == local.failure


def test_the_pytest_option_names_the_scheduler(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_address(conformance):
            assert conformance.cluster == "tcp://10.0.0.1:8786"
    """)
    pytester.runpytest("-p", "no:cacheprovider", "--netweave-cluster",
                       "tcp://10.0.0.1:8786").assert_outcomes(passed=1)


def test_the_command_gives_the_same_verdict_on_the_cluster(
        dask_cluster: DaskCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "plugins"))
    mutant = "test_mutations:BebClaimingRb"
    common = ["conform", mutant, "--seeds", "300", "--keep-going", "--no-view"]
    assert main([*common, "--jobs", "1"]) == 1
    alone = capsys.readouterr().out
    assert main([*common, "--cluster", dask_cluster.address]) == 1
    spread = capsys.readouterr().out
    assert spread == alone
    assert "seeds failed; the first:" in spread
    assert main(["conform", "eager-rb", "--seeds", "100", "--cluster",
                 dask_cluster.address]) == 0
    out = capsys.readouterr().out
    assert "holds on seeds 0-99 (default mix)" in out and "cluster workers" in out
    # netweave campaign: the same summary, here and there.
    summaries = []
    for where in (["--jobs", "1"], ["--cluster", dask_cluster.address]):
        out_dir = tmp_path / where[0].strip("-")
        assert main(["campaign", mutant, "--seeds", "200", "--shrink-limit", "1",
                     "--max-runs", "50", "--out", str(out_dir), *where]) == 1
        summary = json.loads((out_dir / "summary.json").read_text())
        assert (out_dir / summary["failing_seeds"][0]["scenario_file"]).exists()
        summaries.append({k: v for k, v in summary.items() if k not in TIMING})
    assert summaries[0] == summaries[1]
    assert f"of the cluster at {dask_cluster.address}" in capsys.readouterr().out

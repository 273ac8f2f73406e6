"""The contrib distributions as users get them: wheels installed into fresh environments.

- netweave, netweave-clocks and netweave-causal are built as wheels and installed with
  ``pip --no-index`` from those wheels alone; ``netweave plugins --json`` lists the
  contrib plugins with their distributions; ``netweave sim --layer causal`` then
  ``netweave check`` pass; once netweave-clocks is uninstalled, a node asking for causal
  broadcast is refused before it starts, naming ``vector-clock`` and ``netweave-clocks``.
- Each contrib distribution (clocks, causal, the template) passes its own tests with
  only netweave and its declared dependencies installed.
- ``netweave new-plugin``, run from the installed wheel, writes a plugin that installs
  and passes its tests.

Slow (fresh virtual environments); third-party packages come from the package index once
per session (see :mod:`fresh_venv`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fresh_venv import CONTRIB, BaseEnv, FreshEnv, test_alone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CAUSAL_SIM = ["sim", "--layer", "causal", "--nodes", "5", "--crash", "2", "--loss", "0.1",
              "--reorder", "0.2", "--seed", "1", "--messages", "30"]


@pytest.fixture
def base(base_env: BaseEnv) -> BaseEnv:
    return base_env


def test_installed_contrib_plugins_are_found_checked_and_required(
        base: BaseEnv, wheelhouse: Path, tmp_path: Path):
    env = FreshEnv(tmp_path / "venv", base, wheelhouse)
    env.install("netweave-causal")  # brings netweave and netweave-clocks, its dependencies
    assert {d for d in env.distributions() if d.startswith("netweave")} == {
        "netweave", "netweave-clocks", "netweave-causal"}

    listed = {p["name"]: p for p in json.loads(env.run("netweave", "plugins", "--json").stdout)}
    assert listed["lamport-clock"]["distribution"] == "netweave-clocks"
    assert listed["vector-clock"]["distribution"] == "netweave-clocks"
    assert listed["waiting-crb"]["distribution"] == "netweave-causal"
    assert listed["waiting-crb"]["requires"] == ["reliable-broadcast", "vector-clock"]
    assert listed["beb"]["distribution"] == "netweave"

    trace = tmp_path / "trace"
    env.run("netweave", *CAUSAL_SIM, "--trace-dir", trace)
    lines = [json.loads(line) for f in trace.glob("*.jsonl") for line in f.open()]
    assert any(r["ev"] == "deliver" and r["layer"] == "causal" for r in lines)
    assert all("vc" in r for r in lines)
    checked = env.run("netweave", "check", trace, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(env.run("netweave", "check", "--json", trace).stdout)
    causal = {r["property"]: r["holds"] for r in report["results"] if r["layer"] == "causal"}
    assert causal == {"unique ids": True, "no duplication": True, "no creation": True,
                      "validity": True, "agreement": True, "causal delivery": True}

    env.pip("uninstall", "-y", "netweave-clocks")
    refused = env.run("netweave", *CAUSAL_SIM, "--trace-dir", tmp_path / "t2", check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "'vector-clock'" in refused.stderr and "pip install netweave-clocks" in refused.stderr
    assert not (tmp_path / "t2").exists()
    from_python = env.run(env.python, "-c", (
        "from netweave import Node, MissingRequirementError\n"
        "try:\n"
        "    Node('n1', peers=['n2'], fill='defaults').use('causal').build()\n"
        "except MissingRequirementError as e:\n"
        "    print(e.plugin, e.abstraction, e)\n"), check=False)
    assert from_python.stdout.startswith("waiting-crb vector-clock "), from_python
    assert "pip install netweave-clocks" in from_python.stdout
    still = {p["name"] for p in json.loads(env.run("netweave", "plugins", "--json").stdout)}
    assert "waiting-crb" in still and "vector-clock" not in still


@pytest.mark.parametrize("dist, args", [
    ("clocks", ()),
    ("causal", ("-m", "not slow")),
    ("_template", ("--netweave-seeds", "300")),
])
def test_each_contrib_distribution_passes_its_tests_alone(
        base: BaseEnv, wheelhouse: Path, tmp_path: Path, dist: str, args: tuple[str, ...]):
    done = test_alone(CONTRIB / dist, tmp_path, base, *args, wheelhouse=wheelhouse)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_a_scaffolded_plugin_installs_and_passes_its_tests(
        base: BaseEnv, wheelhouse: Path, tmp_path: Path):
    env = FreshEnv(tmp_path / "venv", base, wheelhouse)
    env.install("netweave")
    where = env.python_eval("from netweave.cli.new_plugin import template_dir; "
                            "print(template_dir())")
    assert "site-packages" in where  # the template ships in the wheel
    created = env.run("netweave", "new-plugin", "gossip-demo", tmp_path / "gossip")
    assert "netweave-gossip-demo" in created.stdout
    env.pip("install", "--quiet", "--no-index", "--no-build-isolation",
            "--find-links", wheelhouse, tmp_path / "gossip")
    listed = {p["name"]: p for p in json.loads(env.run("netweave", "plugins", "--json").stdout)}
    assert listed["gossip-demo"]["distribution"] == "netweave-gossip-demo"
    assert listed["gossip-demo"]["provides"] == ["gossip-demo-broadcast"]
    (tmp_path / "run").mkdir()
    done = env.pytest(tmp_path / "gossip" / "tests", tmp_path / "run", "--netweave-seeds", "300")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "5 passed" in done.stdout
    trace = tmp_path / "trace"
    env.run("netweave", "sim", "--use", "gossip-demo", "--seed", "3", "--trace-dir", trace)
    assert env.run("netweave", "check", trace, check=False).returncode == 0

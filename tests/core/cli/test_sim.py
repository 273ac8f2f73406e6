"""``netweave sim`` and ``netweave plugins`` through the command-line entry point."""

from __future__ import annotations

import json
import socket

import pytest
from fakes import FakeRB
from netweave import register_plugin
from netweave.cli import main


def sim(tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["sim", "--nodes", "5", "--messages", "15", "--trace-dir", str(out), *extra])
    return code, out


def read(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.jsonl"))}


def test_same_arguments_write_identical_traces(tmp_path):
    args = ("--layer", "beb", "--seed", "3", "--crash", "2", "--loss", "0.1", "--partition")
    code_a, a = sim(tmp_path, "a", *args)
    code_b, b = sim(tmp_path, "b", *args)
    assert code_a == code_b == 0
    assert read(a) == read(b) and len(read(a)) == 5
    _, c = sim(tmp_path, "c", "--layer", "beb", "--seed", "4", "--crash", "2", "--loss", "0.1",
               "--partition")
    assert read(a) != read(c)


def test_use_with_missing_requirement_fails_fast_without_sockets(tmp_path, capsys,
                                                                  monkeypatch):
    import netweave._registry

    monkeypatch.setattr(netweave._registry, "_REGISTERED", [])
    register_plugin(FakeRB)

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", no_socket)
    code, out = sim(tmp_path, "x", "--use", "fake-rb", "--use", "beb", "--seed", "1")
    err = capsys.readouterr().err
    assert code == 2
    assert "'fake-rb' requires 'failure-detector'" in err
    assert "perfect-fd" in err
    assert not out.exists()


def test_unknown_layer_suggests_a_name(tmp_path, capsys):
    code, _ = sim(tmp_path, "x", "--layer", "bebb", "--seed", "1")
    assert code == 2 and "did you mean 'beb'" in capsys.readouterr().err


def test_scenario_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[cluster]\nnodes = 3\nlayer = "beb"\n[workload]\nmessages = 4\n'
                    '[[faults]]\nat = 1.0\nkind = "crash"\nnode = "n2"\n')
    out = tmp_path / "t"
    assert main(["sim", str(path), "--seed", "2", "--trace-dir", str(out)]) == 0
    lines = [json.loads(x) for x in (out / "n2.jsonl").read_text().splitlines()]
    assert {"t": 1.0, "node": "n2", "ev": "crash"} in lines


def test_sim_needs_a_layer_or_plugins(tmp_path, capsys):
    assert main(["sim", "--trace-dir", str(tmp_path)]) == 2
    assert "--layer" in capsys.readouterr().err


def test_plugins_json_lists_standard_plugins(capsys):
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    for name in ("beb", "perfect-fd"):
        assert listed[name]["distribution"] == "netweave"
        assert {"name", "provides", "requires", "distribution", "version"} <= set(listed[name])
    assert listed["perfect-fd"]["provides"] == ["failure-detector", "perfect-failure-detector"]


def test_plugins_table(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["PLUGIN", "LAYER", "PROVIDES"]
    assert "perfect-fd" in out


@pytest.mark.parametrize("argv", [["--version"], ["sim", "--help"]])
def test_help_and_version_exit_zero(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0


def test_the_readme_shows_the_real_fail_fast_message(tmp_path, capsys):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    block = readme.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    command, shown = block[0].removeprefix("$ netweave ").split(), block[1]
    command[command.index("--trace-dir") + 1] = str(tmp_path / "t")
    assert main(command) == 2
    assert capsys.readouterr().err.strip() == shown


def test_a_missing_requirement_is_told_as_the_command_takes_it(tmp_path, capsys):
    # Flags take --use NAME; a scenario file takes the name in its use list.
    assert main(["sim", "--use", "lazy-rb", "--use", "beb", "--nodes", "3",
                 "--trace-dir", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("; add one with --use perfect-fd") and ".use(" not in err
    scenario = tmp_path / "s.toml"
    scenario.write_text('[cluster]\nnodes = 3\nuse = ["lazy-rb", "beb"]\n')
    assert main(["sim", str(scenario), "--trace-dir", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith('; add "perfect-fd" to use = [...] under [cluster] in the scenario '
                        "file"), err


def _loss_lines(out):
    lines = []
    for path in sorted(out.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["ev"] == "fault" and record.get("kind") == "loss":
                lines.append(record)
    return lines


def test_loss_ends_with_the_broadcasts_unless_the_quiet_period_is_asked_to_be_lossy(tmp_path):
    code, out = sim(tmp_path, "a", "--layer", "rb", "--seed", "5", "--loss", "0.3")
    assert code == 0
    ends = _loss_lines(out)
    assert ends and all(r["probability"] == 0.0 and r["t"] == 5.0 for r in ends)
    code, out = sim(tmp_path, "b", "--layer", "rb", "--seed", "5", "--loss", "0.3",
                    "--lossy-quiet")
    assert code in (0, 1) and _loss_lines(out) == []

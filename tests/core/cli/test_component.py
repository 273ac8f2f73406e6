"""``module:Class`` arguments find modules in the current directory, as ``python -m``
does, in ``netweave conform``, ``netweave sim --plugin`` and the rerun command that
``--shrink`` prints."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from netweave.cli import main
from netweave.cli._component import load_component

MUTANT = '''
from netweave_broadcast.beb import BestEffortBroadcast


class BebClaimingRb(BestEffortBroadcast):
    """Best-effort broadcast that claims to be reliable: nobody relays a crashed sender."""

    name = "cwd-mutant-beb-as-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"
    default = False
    implicit = False
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
            ) -> Iterator[str]:
    """A current directory holding a module (unique per test) with a component class, and
    a ``sys.path`` without it, as under the ``netweave`` console script."""
    module = f"cwd_mutant_{request.node.name.replace('[', '_').rstrip(']')}"
    (tmp_path / f"{module}.py").write_text(MUTANT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    monkeypatch.delitem(sys.modules, module, raising=False)
    yield f"{module}:BebClaimingRb"
    sys.modules.pop(module, None)


def test_load_component_finds_a_module_in_the_current_directory(workdir: str) -> None:
    found = load_component(workdir)
    assert isinstance(found, type) and found.name == "cwd-mutant-beb-as-rb"
    assert sys.path[0] == os.getcwd()


def test_conform_shrink_and_the_rerun_command_find_it(
        workdir: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", workdir, "--seeds", "300", "--jobs", "1", "--use", "perfect-fd",
                 "--shrink", "small.toml"]) == 1
    out = capsys.readouterr().out
    assert "'agreement' violated" in out and f"--plugin {workdir}" in out
    rerun = next(line for line in out.splitlines() if "run it: " in line)
    argv = shlex.split(rerun.split("run it: ", 1)[1].split(" --trace-dir")[0])
    assert argv[:2] == ["netweave", "sim"] and Path("small.toml").exists()
    assert main([*argv[1:], "--trace-dir", "t"]) == 0
    assert main(["check", "t"]) == 1  # the same violation, from the rerun
    assert "agreement" in capsys.readouterr().out

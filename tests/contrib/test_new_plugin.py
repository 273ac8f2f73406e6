"""``netweave new-plugin``: names, renaming, the files written, and what they do.

The full round trip (the command run from an installed wheel, the new distribution
pip-installed and its tests passing) is in ``test_distributions.py``; here the written
files are imported from a temporary folder and run in the simulator.
"""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import netweave
import pytest
from netweave import Catalog, Node
from netweave.check import History, SpecCatalog
from netweave.cli._main import run as cli
from netweave.cli.new_plugin import PluginNames, scaffold, template_dir, template_files
from netweave.errors import ConfigurationError
from netweave.sim import SimCluster
from netweave.testing import assert_conforms

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, snake, camel", [
    ("gossip", "gossip", "Gossip"),
    ("my-clock", "my_clock", "MyClock"),
    ("netweave-rb2", "rb2", "Rb2"),
    ("my-template", "my_template", "MyTemplate"),
])
def test_names(name: str, snake: str, camel: str):
    names = PluginNames.from_name(name)
    assert (names.snake, names.camel) == (snake, camel)
    assert names.package == f"netweave_{snake}"
    assert names.distribution == f"netweave-{names.kebab}"


@pytest.mark.parametrize("bad", ["", "Gossip", "my_clock", "my--clock", "-x", "2pc", "x-",
                                 "template", "class", "a b"])
def test_invalid_names(bad: str):
    with pytest.raises(ConfigurationError, match="invalid plugin name"):
        PluginNames.from_name(bad)


def test_renaming_is_one_pass():
    names = PluginNames.from_name("my-template")
    text = 'netweave_template netweave-template TemplateX "template.data" template'
    assert names.render(text) == (
        'netweave_my_template netweave-my-template MyTemplateX "my-template.data" my-template')
    assert names.render_path(Path("netweave_template/test_template.py")) == Path(
        "netweave_my_template/test_my_template.py")


def test_the_template_is_the_tested_one_in_contrib():
    # In a source checkout (editable install) the command reads contrib/_template itself;
    # an installed wheel carries a copy, which must hold the same files, byte for byte.
    found, tested = template_dir(), ROOT / "contrib" / "_template"
    if Path(netweave.__file__).resolve().is_relative_to(ROOT / "core"):  # editable
        assert found == tested
    files = sorted(template_files(found))
    assert files == sorted(template_files(tested))
    for rel in files:
        assert (found / rel).read_bytes() == (tested / rel).read_bytes(), rel
    assert {"pyproject.toml", "README.md", "netweave_template/component.py",
            "netweave_template/spec.py", "tests/test_component.py"} <= {
        p.as_posix() for p in files}


def test_caches_and_build_output_are_not_copied(tmp_path: Path):
    src = tmp_path / "src"
    for rel in ("pyproject.toml", "pkg/a.py", "pkg/__pycache__/a.cpython-311.pyc",
                ".pytest_cache/v", "build/lib/x.py", "x.egg-info/PKG-INFO", "pkg/b.pyc"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x")
    assert [p.as_posix() for p in template_files(src)] == ["pkg/a.py", "pyproject.toml"]


@pytest.fixture
def written(tmp_path: Path) -> Iterator[tuple[Path, list[Path]]]:
    dest = tmp_path / "netweave-my-clock"
    files = scaffold(PluginNames.from_name("my-clock"), dest)
    sys.path.insert(0, str(dest))
    try:
        yield dest, files
    finally:
        sys.path.remove(str(dest))
        for mod in [m for m in sys.modules if m.startswith("netweave_my_clock")]:
            del sys.modules[mod]


def test_every_name_is_renamed(written: tuple[Path, list[Path]]):
    dest, files = written
    assert {p.relative_to(dest).as_posix() for p in files} >= {
        "pyproject.toml", "netweave_my_clock/component.py", "netweave_my_clock/spec.py",
        "tests/test_component.py"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "template" not in text.lower(), f"{path} still says template"
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))
    meta = tomllib.loads((dest / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "netweave-my-clock"
    assert meta["project"]["entry-points"]["netweave"] == {
        "my-clock": "netweave_my_clock.component:MyClockBroadcast"}
    assert meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "netweave_my_clock"]


def test_the_written_plugin_works(written: tuple[Path, list[Path]]):
    component = importlib.import_module("netweave_my_clock.component")
    cls = component.MyClockBroadcast
    assert (cls.name, cls.layer, cls.provides) == ("my-clock", "my-clock",
                                                   ("my-clock-broadcast",))
    assert component.MyClockData.__struct_config__.tag == "my-clock.data"
    catalog = Catalog.discover(extra=[cls])
    cluster = SimCluster(3, lambda n: n.use("my-clock"), catalog=catalog, encode=True)
    cluster.start()
    cluster.broadcast("n2", "my-clock", "hi")
    cluster.run(1.0)
    assert sum(r["ev"] == "deliver" for r in cluster.trace) == 3
    specs = SpecCatalog.discover(catalog).for_plugin(cls)
    assert [s.__name__ for s in specs] == ["MyClockBroadcastSpec"]
    assert specs[0]().holds(History.from_records(cluster.trace))
    assert assert_conforms(cls, seeds=range(20), catalog=catalog).ok
    node = Node("n1", peers=["n2"], catalog=catalog).use("my-clock", warn_on_drop=False)
    assert node.build().component("my-clock").options.warn_on_drop is False


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    dest = tmp_path / "out"
    assert cli(["new-plugin", "gossip", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "created netweave-gossip" in out and "pip install -e" in out
    assert (dest / "netweave_gossip" / "component.py").is_file()
    # refuses a non-empty folder, a bad name, and the name of an installed plugin
    assert cli(["new-plugin", "gossip", str(dest)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli(["new-plugin", "Gossip", str(tmp_path / "x")]) == 2
    assert "invalid plugin name" in capsys.readouterr().err
    assert cli(["new-plugin", "lazy-rb", str(tmp_path / "y")]) == 2
    assert "already installed" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_default_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert cli(["new-plugin", "netweave-gossip"]) == 0
    assert (tmp_path / "netweave-gossip" / "pyproject.toml").is_file()

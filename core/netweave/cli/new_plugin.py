"""``netweave new-plugin``: create a plugin distribution from netweave's template.

The template is the smallest complete plugin: one component (a best-effort broadcast),
its specification, its tests with ``netweave.testing``, a ``pyproject.toml`` declaring
the ``netweave`` entry point. It lives in the repository as ``contrib/_template`` (where
CI installs and tests it) and in the netweave wheel beside this module. Every name in it
is derived from the word ``template``, so one substitution renames the distribution,
the import package, the plugin, its layer, its abstraction, its message tags and its
classes, and the result installs as it is.
"""

from __future__ import annotations

import argparse
import keyword
import re
from collections.abc import Iterator
from pathlib import Path

import attrs

from .._registry import Catalog
from ..errors import ConfigurationError, PluginError

NAME = "new-plugin"
HELP = "Create a ready-to-install plugin distribution (component, spec, tests) from a template."

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_WORDS = re.compile(r"netweave_template|netweave-template|Template|template")
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "build", "dist",
         ".venv"}


@attrs.frozen
class PluginNames:
    """Every name of a new plugin, derived from the one the user chose."""

    kebab: str
    """The plugin, layer and message-tag name: ``my-clock``."""

    @classmethod
    def from_name(cls, name: str) -> PluginNames:
        """Validate ``name`` (a leading ``netweave-`` is dropped)."""
        name = name.removeprefix("netweave-")
        if not _NAME.match(name):
            raise ConfigurationError(
                f"invalid plugin name {name!r}: use lowercase letters, digits and single "
                f"dashes, starting with a letter (e.g. 'gossip' or 'my-clock')")
        if name == "template" or keyword.iskeyword(name.replace("-", "_")):
            raise ConfigurationError(f"invalid plugin name {name!r}: choose another word")
        return cls(name)

    @property
    def snake(self) -> str:
        """``my_clock``."""
        return self.kebab.replace("-", "_")

    @property
    def camel(self) -> str:
        """``MyClock``, for class names."""
        return "".join(part.capitalize() for part in self.kebab.split("-"))

    @property
    def distribution(self) -> str:
        """``netweave-my-clock``."""
        return f"netweave-{self.kebab}"

    @property
    def package(self) -> str:
        """``netweave_my_clock``."""
        return f"netweave_{self.snake}"

    def render(self, text: str) -> str:
        """``text`` with every template name replaced (one pass: no name is renamed twice)."""
        table = {"netweave_template": self.package, "netweave-template": self.distribution,
                 "Template": self.camel, "template": self.kebab}
        return _WORDS.sub(lambda m: table[m.group()], text)

    def render_path(self, path: Path) -> Path:
        """A template file's path, renamed (file names take the ``snake`` form)."""
        table = {"netweave_template": self.package, "netweave-template": self.distribution,
                 "Template": self.camel, "template": self.snake}
        return Path(*(_WORDS.sub(lambda m: table[m.group()], part) for part in path.parts))


def template_dir() -> Path:
    """Where the template is: in the wheel beside this module, else in the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_template", here.parents[2] / "contrib" / "_template"):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    raise ConfigurationError("the plugin template is missing from this netweave installation")


def template_files(root: Path) -> Iterator[Path]:
    """The template's files, relative to ``root``, without caches and build output."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not (set(rel.parts) & _SKIP) and path.suffix != ".pyc" \
                and not any(p.endswith(".egg-info") for p in rel.parts):
            yield rel


def scaffold(names: PluginNames, dest: Path, *, source: Path | None = None) -> list[Path]:
    """Write the renamed template into ``dest`` (absent or empty); returns the files."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigurationError(f"{dest} already exists and is not an empty directory")
    source = source or template_dir()
    written = []
    for rel in template_files(source):
        target = dest / names.render_path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = (source / rel).read_bytes()
        try:
            target.write_text(names.render(data.decode("utf-8")), encoding="utf-8")
        except UnicodeDecodeError:
            target.write_bytes(data)
        written.append(target)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the plugin name users will select, e.g. 'gossip' or "
                        "'my-clock' (lowercase letters, digits, dashes)")
    parser.add_argument("directory", nargs="?", type=Path,
                        help="where to create the distribution (default: ./netweave-NAME); "
                        "it must not exist or be empty")


def run(args: argparse.Namespace) -> int:
    names = PluginNames.from_name(args.name)
    try:
        installed = Catalog.discover().plugins.get(names.kebab)
    except PluginError:  # a broken installed plugin must not prevent scaffolding
        installed = None
    if installed is not None:
        raise ConfigurationError(f"a plugin named {names.kebab!r} is already installed (from "
                                 f"{installed.distribution}); choose another name")
    dest: Path = args.directory or Path(names.distribution)
    files = scaffold(names, dest)
    print(f"created {names.distribution} in {dest} ({len(files)} files):")
    for path in files:
        print(f"  {path}")
    print(f"plugin {names.kebab!r}: layer {names.kebab!r}, abstraction "
          f"'{names.kebab}-broadcast', import package {names.package}")
    print("next steps:")
    print(f"  pip install -e '{dest}[test]'")
    print(f"  pytest {dest / 'tests'}")
    print(f"  netweave sim --use {names.kebab} --seed 1 --trace-dir run && netweave check run")
    return 0

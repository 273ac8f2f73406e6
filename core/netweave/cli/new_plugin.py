"""``netweave new-plugin``: create a plugin distribution from netweave's template.

The template is the smallest complete plugin: one component (a best-effort broadcast),
its specification, its tests with ``netweave.testing``, a ``pyproject.toml`` declaring
the ``netweave`` entry point. It lives in the repository as ``contrib/_template`` (where
CI installs and tests it) and in the netweave wheel beside this module. Every name in it
is derived from the word ``template``, so one substitution renames the distribution,
the import package, the plugin, its layer, its abstraction, its message tags and its
classes, and the result installs as it is.

``--exercise NAME`` writes an exercise of the *Build it yourself* track instead: a small
plugin project whose component is a skeleton of a textbook algorithm (lazy reliable
broadcast, all-ack uniform reliable broadcast, FIFO reliable broadcast), with the book's
pseudocode in its docstring and the key lines left as ``TODO``. It imports and runs, and
``netweave conform`` finds the property it does not yet keep, as ``netweave explore`` does
within the exercise's small scope (:attr:`Exercise.scope`). The exercises live beside
this module, in ``_exercises``: ``_common`` holds the files every exercise has, each
``EXERCISE/project`` the skeleton and its README, each ``EXERCISE/solution`` the reference
solution, which ``--solution`` writes instead of the skeleton. Their Python files end in
``.py-tpl`` (written as ``.py``), so that no tool takes them for modules of netweave.
"""

from __future__ import annotations

import argparse
import keyword
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

from .._registry import Catalog
from ..errors import ConfigurationError, PluginError

NAME = "new-plugin"
HELP = ("Create a ready-to-install plugin distribution (component, spec, tests) from a "
        "template, or an exercise to complete (--exercise).")

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_WORDS = re.compile(r"netweave_template|netweave-template|Template|template")
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "build", "dist",
         ".venv"}
_STORED = "-tpl"
"""Suffix of a stored file written without it (``component.py-tpl`` -> ``component.py``)."""
_SECTION = re.compile(r"^[ \t]*# -+8<-+ \[(?:start|end):[a-z][-_0-9a-z]*\][ \t]*\n", re.M)
"""A line marking a section the documentation includes (``# --8<-- [start:NAME]``)."""


@attrs.frozen
class Exercise:
    """One exercise of the *Build it yourself* track."""

    name: str
    """What ``--exercise`` takes: ``lazy-rb``."""
    title: str
    """The algorithm, and where the book has it."""
    abstraction: str
    """What the component provides, whose specification judges it."""
    layer: str
    """The layer its trace lines are on."""
    property: str
    """The property the skeleton breaks, which the exercise is about."""
    scope: dict[str, int]
    """The ``netweave explore`` scope (beyond its defaults: 3 nodes, 1 crash) in which the
    skeleton fails and the solution is exhausted clean."""

    def explore_args(self) -> str:
        """The scope as ``netweave explore`` options: ``--messages 1``."""
        return " ".join(f"--{key} {value}" for key, value in self.scope.items())


EXERCISES: dict[str, Exercise] = {e.name: e for e in (
    Exercise("lazy-rb", "lazy reliable broadcast (CGR Algorithm 3.2)", "reliable-broadcast",
             "rb", "agreement", {"messages": 1}),
    # Two losses: with one, a correct process gets the crashed sender's copy and relays it.
    Exercise("uniform-rb", "all-ack uniform reliable broadcast (CGR Algorithm 3.4)",
             "uniform-reliable-broadcast", "urb", "uniform agreement",
             {"messages": 1, "losses": 2}),
    # Two messages of one sender, no crash needed (with one, the solution takes ~20 s).
    Exercise("fifo-rb", "FIFO reliable broadcast (CGR Algorithm 3.12)",
             "fifo-reliable-broadcast", "fifo", "fifo delivery",
             {"messages": 2, "crashes": 0}),
)}
"""The exercises, by name."""


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


def exercises_dir() -> Path:
    """Where the exercises are: beside this module, in the wheel as in the source tree."""
    return Path(__file__).resolve().parent / "_exercises"


def exercise_sources(name: str, *, solution: bool = False) -> list[Path]:
    """The folders an exercise is written from, in order: a file of a later one replaces
    the file of the same path in an earlier one."""
    if name not in EXERCISES:
        raise ConfigurationError(f"no exercise named {name!r} (there are: "
                                 f"{', '.join(EXERCISES)})")
    root = exercises_dir()
    sources = [root / "_common", root / name / "project"]
    if solution:
        sources.append(root / name / "solution")
    missing = [s for s in sources if not s.is_dir()]
    if missing:
        raise ConfigurationError(f"exercise {name!r} is missing from this netweave "
                                 f"installation ({missing[0]})")
    return sources


def template_files(root: Path) -> Iterator[Path]:
    """The template's files, relative to ``root``, without caches and build output."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not (set(rel.parts) & _SKIP) and path.suffix != ".pyc" \
                and not any(p.endswith(".egg-info") for p in rel.parts):
            yield rel


def scaffold(names: PluginNames, dest: Path, *,
             source: Path | Sequence[Path] | None = None) -> list[Path]:
    """Write the renamed template into ``dest`` (absent or empty); returns the files.

    ``source``: the template's folder (default: :func:`template_dir`), or several, whose
    files are written together, a later folder's file replacing an earlier one's of the
    same path. A file stored as ``NAME-tpl`` is written as ``NAME``, and without the lines
    that mark the sections the documentation shows of it."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigurationError(f"{dest} already exists and is not an empty directory")
    sources = [source] if isinstance(source, Path) else list(source or [template_dir()])
    chosen: dict[Path, Path] = {}
    for root in sources:
        for rel in template_files(root):
            chosen[rel.with_name(rel.name.removesuffix(_STORED))] = root / rel
    written = []
    for rel, path in sorted(chosen.items()):
        target = dest / names.render_path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
            if path.name.endswith(_STORED):
                text = _SECTION.sub("", text)
            target.write_text(names.render(text), encoding="utf-8")
        except UnicodeDecodeError:
            target.write_bytes(data)
        written.append(target)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?",
                        help="the plugin name users will select, e.g. 'gossip' or "
                        "'my-clock' (lowercase letters, digits, dashes); with --exercise "
                        "E it may be left out: my-E (E-solution with --solution)")
    parser.add_argument("directory", nargs="?", type=Path,
                        help="where to create the distribution (default: ./netweave-NAME); "
                        "it must not exist or be empty")
    parser.add_argument("--exercise", choices=list(EXERCISES), metavar="EXERCISE",
                        help="write an exercise instead of the template: a skeleton of a "
                        "textbook algorithm to complete, which netweave conform fails until "
                        f"it is done; one of {', '.join(EXERCISES)}")
    parser.add_argument("--solution", action="store_true",
                        help="with --exercise: write the exercise's reference solution "
                        "instead of its skeleton")


def _name(args: argparse.Namespace) -> str:
    if args.solution and not args.exercise:
        raise ConfigurationError("--solution goes with --exercise")
    if args.name is not None:
        return str(args.name)
    if not args.exercise:
        raise ConfigurationError("give the plugin's NAME (or --exercise EXERCISE)")
    return f"{args.exercise}-solution" if args.solution else f"my-{args.exercise}"


def run(args: argparse.Namespace) -> int:
    names = PluginNames.from_name(_name(args))
    try:
        installed = Catalog.discover().plugins.get(names.kebab)
    except PluginError:  # a broken installed plugin must not prevent scaffolding
        installed = None
    if installed is not None:
        raise ConfigurationError(f"a plugin named {names.kebab!r} is already installed (from "
                                 f"{installed.distribution}); choose another name")
    dest: Path = args.directory or Path(names.distribution)
    if args.exercise:
        return _write_exercise(EXERCISES[args.exercise], names, dest, solution=args.solution)
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


def _write_exercise(exercise: Exercise, names: PluginNames, dest: Path, *,
                    solution: bool) -> int:
    files = scaffold(names, dest, source=exercise_sources(exercise.name, solution=solution))
    print(f"created {names.distribution} in {dest} ({len(files)} files):")
    for path in files:
        print(f"  {path}")
    component = dest / names.package / "component.py"
    what = "the reference solution of" if solution else "exercise"
    print(f"{what} {exercise.name!r}: {exercise.title}, plugin {names.kebab!r} on layer "
          f"{exercise.layer!r}, judged as {exercise.abstraction}")
    if not solution:
        print(f"the lines to write are marked TODO in {component}")
    ref = f"{names.package}.component:{names.camel}"
    print("next steps:")
    print(f"  cd {dest}")
    explore = f"netweave explore {ref} {exercise.explore_args()}"
    if solution:
        print(f"  netweave conform {ref}")
        print(f"  {explore}")
    else:
        print(f"  netweave conform {ref}                      "
              f"# {exercise.property!r} fails until it is done")
        print(f"  netweave conform {ref} --shrink small.toml  # a small failing run, "
              f"and its view small.html")
        print(f"  {explore}  # every run of a small scope, the shortest that fails")
    return 0

"""The layers hold themselves: a test reads every import of the project's modules and fails
on an arrow the architecture forbids (docs/architecture.md draws them).

    tools:     cli bench check timeline view shiviz causality testing config
    runtimes:  runtime/ transport/ sim/
    plugins:   netweave_fd netweave_broadcast contrib/*
    kernel:    events message errors bus plugin interfaces context hooks registry
               link trace node incarnations

Imports under ``if TYPE_CHECKING:`` do not count: they never run. The package itself
(``netweave/__init__.py``) is the front door, not the kernel: it re-exports the kernel's
API and installs the asyncio runtime behind ``await node.start()``, imported on first
use.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core" / "netweave"

KERNEL = {"netweave.events", "netweave.message", "netweave.errors",
          "netweave.bus", "netweave.plugin", "netweave.interfaces", "netweave.context",
          "netweave._hooks", "netweave.hookspecs", "netweave._registry", "netweave.link",
          "netweave._link_types", "netweave.trace", "netweave.node", "netweave._runtime",
          "netweave.incarnations", "netweave.origins"}
IO = ("asyncio", "socket", "ssl", "selectors", "threading", "subprocess")
RUNTIMES = ("netweave.runtime", "netweave.transport", "netweave.sim")
TOOLS = ("netweave.cli", "netweave.bench", "netweave.check", "netweave.timeline",
         "netweave.view", "netweave.shiviz", "netweave.causality", "netweave.testing",
         "netweave.config", "netweave.explore")
PLUGINS = ("netweave_fd", "netweave_broadcast", "netweave_clocks", "netweave_causal")

RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("kernel", (*IO, *RUNTIMES, *TOOLS, *PLUGINS), "the kernel imports no I/O, runtime, "
     "transport, simulator, tool or plugin: runtimes attach to a node from outside"),
    ("netweave.transport", ("netweave.node",), "the transport does not import the node"),
    ("netweave.check", ("netweave.node", "netweave.sim"),
     "the checker reads traces: neither the node nor the simulator"),
    ("plugins", ("netweave.runtime", "netweave.transport", "netweave.sim",
                 "netweave.explore"),
     "plugins use the kernel's API only"),
    ("netweave", PLUGINS, "the netweave package (kernel, runtimes, tools) finds plugins "
     "through the catalog (entry points), never by import: plugins install separately"),
    ("netweave.explore", (*IO, *RUNTIMES, "netweave_fd", "netweave_broadcast"),
     "the explorer steps nodes itself: no I/O, runtime or simulator, and no plugin "
     "(it models the detector)"),
]


_TYPING_ONLY = ("TYPE_CHECKING", "typing.TYPE_CHECKING")
"""Guards whose body never runs (``if not TYPE_CHECKING:`` is not one of them)."""


def _module(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(source: str, module: str, package: bool) -> Iterator[tuple[str, str]]:
    """``(package, name)`` for each thing ``source`` (module ``module``) imports at run
    time: ``import a.b`` gives ``("", "a.b")``, ``from a import b`` gives ``("a", "a.b")``
    (``a.b`` a module, or a name ``a`` defines); relative imports made absolute."""
    tree = ast.parse(source)
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in _TYPING_ONLY:
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    here = module if package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (("", alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            yield from ((name, f"{name}.{alias.name}") for alias in node.names)


def imports(source: str, module: str, package: bool) -> Iterator[str]:
    """Absolute names ``source`` (module ``module``) imports at run time: each module or
    name, and the package a ``from`` import takes it from."""
    for package_name, name in imported(source, module, package):
        if package_name:
            yield package_name
        yield name


def _layer_of(module: str) -> str:
    if module in KERNEL:
        return "kernel"
    if module.split(".")[0] in PLUGINS:
        return "plugins"
    return module


def _sources() -> list[tuple[str, Path, bool]]:
    found = [( _module(p, CORE.parent), p, p.name == "__init__.py")
             for p in sorted(CORE.rglob("*.py"))]
    for base in (ROOT / "plugins", ROOT / "contrib" / "clocks", ROOT / "contrib" / "causal"):
        for p in sorted(base.rglob("*.py")):
            if "tests" in p.parts:
                continue
            found.append((_module(p, base), p, p.name == "__init__.py"))
    return found


def forbidden(module: str, names: list[str]) -> list[str]:
    """The imports of ``module`` that a rule forbids, each with the rule's reason."""
    bad = []
    layer = _layer_of(module)
    for scope, banned, why in RULES:
        if not (layer == scope or module == scope or module.startswith(scope + ".")):
            continue
        for name in names:
            if any(name == b or name.startswith(b + ".") for b in banned):
                bad.append(f"{module} imports {name}: {why}")
    return bad


def test_a_planted_forbidden_import_is_caught() -> None:
    planted = "import asyncio\nfrom .runtime.asyncio import start_node\n"
    names = list(imports(planted, "netweave.node", package=False))
    assert forbidden("netweave.node", names) == [
        "netweave.node imports asyncio: " + RULES[0][2],
        "netweave.node imports netweave.runtime.asyncio: " + RULES[0][2],
        "netweave.node imports netweave.runtime.asyncio.start_node: " + RULES[0][2]]
    typing_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncio\n"
    assert forbidden("netweave.node", list(imports(typing_only, "netweave.node", False))) == []
    assert forbidden("netweave.transport.tcp", ["netweave.node"])
    assert forbidden("netweave.check._report", ["netweave.sim.scenario"])
    assert forbidden("netweave_broadcast.beb", ["netweave.transport.tcp"])
    assert forbidden("netweave.cli.node", ["asyncio", "netweave.node"]) == []
    assert forbidden("netweave.bench.micro", ["netweave_broadcast.beb"])


@pytest.mark.parametrize("module,path,package", _sources(),
                         ids=[module for module, _, _ in _sources()])
def test_no_forbidden_arrow(module: str, path: Path, package: bool) -> None:
    names = list(imports(path.read_text(encoding="utf-8"), module, package))
    assert forbidden(module, names) == []


def import_graph() -> dict[str, set[str]]:
    """Each project module's imports of other project modules, those made on first use
    inside a function included (they run too). ``from pkg import x`` is an arrow to the
    module ``pkg.x`` if there is one, else to ``pkg`` (a name its ``__init__`` defines),
    even from inside ``pkg``: such an import needs ``pkg``'s ``__init__`` to have run."""
    sources = _sources()
    known = {module for module, _, _ in sources}

    def target(name: str) -> str | None:
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            if (candidate := ".".join(parts[:end])) in known:
                return candidate
        return None

    graph: dict[str, set[str]] = {}
    for module, path, package in sources:
        source = path.read_text(encoding="utf-8")
        graph[module] = {t for _, name in imported(source, module, package)
                         if (t := target(name)) is not None and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_a_planted_import_cycle_is_caught() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # What the graph is made of: a name taken from the package itself, an import that
    # runs unless type checking, and one on first use inside a function.
    source = ("from typing import TYPE_CHECKING\nif not TYPE_CHECKING:\n    import x.y\n"
              "if TYPE_CHECKING:\n    import z\nfrom . import name\n"
              "def f():\n    from .sub import g\n")
    assert sorted(imported(source, "pkg.a", package=False)) == [
        ("", "x.y"), ("pkg", "pkg.name"), ("pkg.sub", "pkg.sub.g"),
        ("typing", "typing.TYPE_CHECKING")]


def test_no_import_cycle_among_the_projects_modules() -> None:
    assert cycles(import_graph()) == []


def private_calls(source: str) -> list[str]:
    """Reaches into another object's private parts: ``conn._close()``, ``conn._x = 1``,
    ``loop.call_soon(owner._flush)``, ``getattr(owner, "_flush")``; not ``self``'s."""
    def private(name: object) -> bool:
        return isinstance(name, str) and name.startswith("_") and not name.startswith("__")

    found = []
    for node in ast.walk(ast.parse(source)):
        attribute = (isinstance(node, ast.Attribute) and private(node.attr)
                     and ast.unparse(node.value) not in ("self", "cls", "super()"))
        by_name = (isinstance(node, ast.Call) and ast.unparse(node.func) in (
            "getattr", "setattr") and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and private(node.args[1].value))
        if attribute or by_name:
            line = getattr(node, "lineno", 0)
            found.append((line, f"line {line}: {ast.unparse(node)}"))
    return [text for _, text in sorted(found)]


def test_a_planted_private_call_is_caught() -> None:
    assert private_calls("self.transport._flush(ch)\nself._own()\n") == [
        "line 1: self.transport._flush"]
    planted = ("self.owner._conns.pop(k)\nloop.call_soon(self.owner._flush)\n"
               "getattr(self.owner, '_flush')()\nself.owner._closed = True\n")
    assert [f.split(":")[0] for f in private_calls(planted)] == [
        "line 1", "line 2", "line 3", "line 4"]


@pytest.mark.parametrize("path", sorted((CORE / "transport").glob("*.py")),
                         ids=lambda p: p.name)
def test_no_private_call_across_objects_in_the_transport(path: Path) -> None:
    # A connection reports to its transport through a declared interface
    # (ConnectionOwner), not by calling its private methods.
    assert private_calls(path.read_text(encoding="utf-8")) == []


def test_importing_netweave_and_building_a_node_loads_no_io_runtime_or_transport() -> None:
    # socket and selectors are not checked: the entry-point discovery of importlib.metadata
    # loads them (email.utils imports socket), not netweave.
    code = (
        "import sys\n"
        "import netweave\n"
        "node = netweave.Node('n1', peers=['n2', 'n3']).use('perfect-fd').use('urb')\n"
        "node.build()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('asyncio', 'ssl')\n"
        "    or m.startswith(('netweave.runtime', 'netweave.transport',\n"
        "    'netweave.sim')))\n"
        "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout

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


def _module(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, package: bool) -> Iterator[str]:
    """Absolute names ``source`` (module ``module``) imports at run time."""
    tree = ast.parse(source)
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    here = module if package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


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

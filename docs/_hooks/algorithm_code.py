"""MkDocs hook: an algorithm's pseudocode beside the plugin's code, read from the source.

A page writes ``<!-- netweave-algorithm: NAME -->`` where plugin ``NAME``'s algorithm
belongs. At build time the marker becomes two columns (stacked on narrow screens, see
``docs/stylesheets/extra.css``):

- on the left, the book's pseudocode, as the plugin's module docstring gives it (its
  first indented block, under the docstring's first line, which names the algorithm);
- on the right, the methods of the plugin's class that carry out those events
  (``ALGORITHMS`` below: the handlers, and the helpers they call for the book's
  lines), cut out of the source file with :mod:`ast`, decorators and comments
  included, with the file and lines they come from (a module function the class takes
  in as a static method, ``leq = staticmethod(leq)``, as the module defines it); the
  class's other methods (restarts, memory, metrics) are named under them, not shown.

Neither column is pasted into a page, so neither can drift from the code. A marker naming
no algorithm, a plugin not installed, a method that is gone or a docstring without
pseudocode is a warning, and ``mkdocs build --strict`` fails on it; so is an algorithm no
page shows. ``tests/docs/test_algorithm_code.py`` checks that the page of every plugin
netweave and its contrib distributions ship shows its code, and that what is shown is the
source.
"""

from __future__ import annotations

import ast
import html
import inspect
import logging
import re
import textwrap
from pathlib import Path
from typing import Any

import attrs

log = logging.getLogger("mkdocs.hooks.algorithm_code")

MARKER = re.compile(r"<!--\s*netweave-algorithm:\s*([\w\-]+)\s*-->")
ROOT = Path(__file__).resolve().parents[2]

ALGORITHMS: dict[str, tuple[str, ...]] = {
    "perfect-fd": ("start", "on_tick", "_tick", "on_heartbeat"),
    "eventually-perfect-fd": ("start", "on_tick", "_tick", "on_request", "on_reply",
                              "_restore"),
    "phi-accrual-fd": ("on_tick", "_tick", "on_request", "on_heartbeat", "phi",
                       "suspect_after", "_arm", "on_check", "_restore"),
    "swim-fd": ("_tick", "_next_target", "_ping", "on_probe_timeout", "_finish_probe",
                "on_suspicion_end", "on_ping", "on_ack", "on_ping_req", "on_indirect_ack",
                "_alive"),
    "beb": ("broadcast", "on_data"),
    "lazy-rb": ("broadcast", "on_data", "on_crash", "_relay_all", "_relay"),
    "eager-rb": ("broadcast", "on_data"),
    "all-ack-urb": ("broadcast", "on_data", "on_crash", "can_deliver", "_try_all",
                    "_try_deliver"),
    "majority-ack-urb": ("can_deliver", "on_crash"),
    "fifo-rb": ("broadcast", "on_data", "_deliver_in_order"),
    "waiting-crb": ("broadcast", "on_data", "ready", "_deliver_ready"),
    "lamport-clock": ("netweave_link_outgoing", "netweave_link_incoming", "_stamp_trace_line",
                      "tick"),
    "vector-clock": ("netweave_link_outgoing", "netweave_link_incoming", "_stamp_trace_line",
                     "tick", "time", "leq", "happened_before"),
}
"""Per plugin, the methods shown beside its pseudocode, in the order shown."""


@attrs.frozen
class Method:
    """One method as it stands in the source file."""

    name: str
    first: int
    """Its first line (its first decorator's), 1-based."""
    last: int
    source: str
    """Lines ``first`` to ``last`` of the file, the class's indentation removed."""


@attrs.frozen
class Algorithm:
    """What one marker shows."""

    plugin: str
    title: str
    """The docstring's first line: the algorithm and where the book has it."""
    pseudocode: str
    cls: str
    """The class's qualified name."""
    path: str
    """The source file, relative to the repository when it is in it."""
    methods: tuple[Method, ...]
    others: tuple[str, ...]
    """The class's other methods, not shown."""
    base: str = ""
    """The plugin class it inherits its other handlers from, if any."""

    @property
    def code(self) -> str:
        return "\n\n".join(m.source for m in self.methods)


def pseudocode(docstring: str) -> str:
    """The first indented block of a docstring, dedented ('' if it has none)."""
    lines = docstring.splitlines()
    block: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("    ") and line.strip():
            if block or i == 0 or not lines[i - 1].strip():
                block.append(line)
        elif not line.strip():
            if block:
                block.append(line)
        elif block:
            break
    return textwrap.dedent("\n".join(block)).strip("\n")


def _catalog() -> dict[str, Any]:
    from netweave import Catalog

    return dict(Catalog.discover(autoload=True).plugins)


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def _defined(module: ast.Module,
             node: ast.ClassDef) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The methods a class body defines, by name: its functions, and the module's functions
    it takes in as static or class methods (``leq = staticmethod(leq)``)."""
    functions = {f.name: f for f in module.body
                 if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((item.name, item))
        elif (isinstance(item, ast.Assign) and len(item.targets) == 1
              and isinstance(item.targets[0], ast.Name) and isinstance(item.value, ast.Call)
              and isinstance(item.value.func, ast.Name)
              and item.value.func.id in ("staticmethod", "classmethod")
              and len(item.value.args) == 1 and isinstance(item.value.args[0], ast.Name)
              and item.value.args[0].id in functions):
            found.append((item.targets[0].id, functions[item.value.args[0].id]))
    return found


def methods(cls: type, names: tuple[str, ...]) -> tuple[tuple[Method, ...], tuple[str, ...]]:
    """Methods ``names`` of ``cls`` as its source file has them, and the other methods the
    class defines. Each of ``names`` must be defined in the class itself (a module function
    the class takes in as a static method is shown as the module defines it)."""
    path = Path(inspect.getsourcefile(cls) or "")
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines), filename=str(path))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
                and n.name == cls.__name__)
    found: dict[str, Method] = {}
    others: list[str] = []
    for name, fn in _defined(tree, node):
        if name not in names:
            if name != "netweave_specs":
                others.append(name)
            continue
        first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
        last = fn.end_lineno or fn.lineno
        found[name] = Method(name, first, last,
                             textwrap.dedent("\n".join(lines[first - 1:last])))
    missing = [n for n in names if n not in found]
    if missing:
        raise LookupError(f"{cls.__qualname__} defines no method {', '.join(missing)}")
    return tuple(found[n] for n in names), tuple(others)


def algorithm(plugin: str, plugins: dict[str, Any] | None = None) -> Algorithm:
    """What the marker of ``plugin`` shows; :class:`LookupError` if it cannot be shown."""
    if plugin not in ALGORITHMS:
        raise LookupError(f"no algorithm named {plugin!r} (known: "
                          f"{', '.join(sorted(ALGORITHMS))})")
    info = (plugins if plugins is not None else _catalog()).get(plugin)
    if info is None:
        raise LookupError(f"plugin {plugin!r} is not installed")
    cls = info.cls
    module = inspect.getmodule(cls)
    doc = inspect.getdoc(module) or ""
    code = pseudocode(doc)
    if not code:
        raise LookupError(f"the docstring of {cls.__module__} has no pseudocode (an "
                          f"indented block)")
    shown, others = methods(cls, ALGORITHMS[plugin])
    path = _relative(Path(inspect.getsourcefile(cls) or ""))
    base = next((b.__qualname__ for b in cls.__mro__[1:]
                 if "name" in vars(b) and b.__module__.split(".")[0] != "netweave"), "")
    return Algorithm(plugin, doc.splitlines()[0].rstrip("."), code, cls.__qualname__, path,
                     shown, others, base)


def _lines(found: Algorithm) -> str:
    spans = [(m.first, m.last) for m in sorted(found.methods, key=lambda m: m.first)]
    merged: list[list[int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 2:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return ", ".join(f"{a}-{b}" for a, b in merged)


def render(found: Algorithm) -> str:
    """The Markdown (with HTML) that replaces the marker."""
    others = ""
    if found.others:
        names = ", ".join(f"`{n}`" for n in found.others)
        others = f"\n\nNot shown, also in `{found.cls}`: {names}."
    if found.base:
        others += f" The rest is inherited from `{found.base}`."
    return "\n".join([
        f'<div class="nw-algorithm" data-plugin="{html.escape(found.plugin)}" markdown="1">',
        '<div class="nw-pseudocode" markdown="1">',
        "",
        f"**The algorithm**: {found.title}.",
        "",
        "```text",
        found.pseudocode,
        "```",
        "",
        "</div>",
        '<div class="nw-code" markdown="1">',
        "",
        f"**The plugin's code**: `{found.cls}` in `{found.path}`, lines {_lines(found)}.",
        "",
        "```python",
        found.code,
        "```",
        f"{others}",
        "",
        "</div>",
        "</div>",
        "",
    ])


def expand(markdown: str, src_uri: str,
           plugins: dict[str, Any] | None = None) -> tuple[str, list[str], list[str]]:
    """Replace the markers of one page; return it, the algorithms shown and the problems."""
    shown: list[str] = []
    problems: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        try:
            found = algorithm(name, plugins)
        except LookupError as exc:
            problems.append(f"{src_uri}: netweave-algorithm {name}: {exc}")
            return f"`{name}`"
        shown.append(name)
        return render(found)

    return MARKER.sub(sub, markdown), shown, problems


_STATE: dict[str, Any] = {"shown": set(), "plugins": None}


def on_pre_build(config: Any) -> None:
    """MkDocs event: discover the plugins once per build."""
    _STATE["shown"] = set()
    _STATE["plugins"] = _catalog()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: replace the algorithm markers of a page."""
    if "netweave-algorithm:" not in markdown:
        return markdown
    out, shown, problems = expand(markdown, page.file.src_uri, _STATE["plugins"])
    _STATE["shown"].update(shown)
    for problem in problems:
        log.warning(problem)
    return out


def on_env(env: Any, config: Any, files: Any) -> Any:
    """MkDocs event (every page read): an algorithm no page shows is a warning."""
    unused = sorted(set(ALGORITHMS) - _STATE["shown"])
    if unused:
        log.warning(f"netweave-algorithm: no page shows {', '.join(unused)} (add "
                    f"'<!-- netweave-algorithm: NAME -->' beside its description)")
    return env

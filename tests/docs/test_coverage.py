"""The documentation cannot drift from the code: what exists must be documented.

Each test lists something from the code itself (the hooks of ``hookspecs.py``, the
commands and options of the CLI parser, the keys the configuration readers accept, the
installed plugins, the trace events the code writes) and fails, naming the page to edit,
when one of them is missing from the docs. A test that cannot find its source in the code
fails too, rather than passing on an empty list.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import netweave.config
import netweave.sim.scenario
import pytest
from netweave import Catalog, LinkOptions, hookspecs
from netweave.cli._main import build_parser
from netweave.sim import Latency, NetworkModel
from netweave.transport.options import TransportOptions

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def page(rel: str) -> str:
    return (DOCS / rel).read_text(encoding="utf-8")


def load_hook(name: str) -> ModuleType:
    """Import one of the site's build hooks (``docs/_hooks/NAME.py``)."""
    path = DOCS / "_hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_docs_hook_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mentioned(key: str, text: str) -> bool:
    """Whether ``key`` appears as code, or as a TOML table header (``[key]``, ``[[key]]``)."""
    return any(form in text for form in (f"`{key}`", f"`[{key}]`", f"`[[{key}]]`",
                                         f"`[{key}."))


def config_page() -> str:
    """The configuration reference as built: generated option tables expanded."""
    text, problems = load_hook("option_tables").expand(page("reference/configuration.md"),
                                                       "reference/configuration.md")
    assert problems == []
    return text


# -- hooks ------------------------------------------------------------------------------


def hook_names() -> list[str]:
    names = [name for name, fn in vars(hookspecs).items()
             if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")]
    assert names, "found no hookspec in netweave.hookspecs"
    return names


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_in_the_hook_reference(hook: str) -> None:
    text = page("guide/hooks.md")
    assert re.search(rf"^\| `{hook}` \|", text, flags=re.M), (
        f"hook {hook} is missing from the overview table of docs/guide/hooks.md "
        "(say when it is called and how to implement it)")
    members = text[text.index("::: netweave.hookspecs"):]
    assert f"- {hook}\n" in members, (
        f"hook {hook} is not rendered: add it to the members of '::: netweave.hookspecs' "
        "in docs/guide/hooks.md")


# -- command line -----------------------------------------------------------------------


def cli_commands() -> dict[str, Any]:
    commands = load_hook("cli_reference").commands(build_parser())
    assert len(commands) > 1, "the parser has no sub-command"
    return commands


@pytest.mark.parametrize("command", sorted(cli_commands()))
def test_every_command_has_a_section(command: str) -> None:
    text = page("reference/cli.md")
    title = f"netweave {command}".strip()
    assert re.search(rf"^## {re.escape(title)}$", text, flags=re.M), (
        f"'{title}' has no '## {title}' section in docs/reference/cli.md")
    assert re.search(rf"<!--\s*netweave-cli:\s*{re.escape(command)}\s*-->", text), (
        f"the section of '{title}' lacks its '<!-- netweave-cli: {command} -->' marker")


def test_every_option_is_in_the_generated_reference() -> None:
    hook = load_hook("cli_reference")
    expanded, problems = hook.expand(page("reference/cli.md"), build_parser())
    assert problems == []
    for name, parser in cli_commands().items():
        for action in hook.options(parser):
            for flag in action.option_strings or [action.metavar or action.dest]:
                shown = flag.upper() if not action.option_strings else flag
                assert f"`{shown}" in expanded, f"netweave {name}: {flag} is not documented"


def test_the_cli_hook_reports_a_command_without_section() -> None:
    hook = load_hook("cli_reference")
    _, problems = hook.expand("## netweave\n\n<!-- netweave-cli: -->\n", build_parser())
    assert problems and all("has no section" in p for p in problems)
    _, problems = hook.expand(page("reference/cli.md") + "\n<!-- netweave-cli: nope -->\n",
                              build_parser())
    assert any("unknown command" in p for p in problems)


def test_the_build_runs_the_site_hooks() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for hook in ("cli_reference", "plugin_tables", "option_tables", "optional_pages",
                 "run_diagrams"):
        assert f"docs/_hooks/{hook}.py" in config, f"mkdocs.yml does not run {hook}"


# -- configuration files ----------------------------------------------------------------


def fields(cls: type, *, without: tuple[str, ...] = ()) -> set[str]:
    """The fields a file may set (``init=False`` ones are the class's own bookkeeping)."""
    return {f.name for f in attrs.fields(cls) if f.init} - set(without)


def cluster_keys() -> set[str]:
    keys = set(netweave.config._TOP) | set(netweave.config._SECURITY)
    keys |= fields(LinkOptions) | fields(TransportOptions, without=("security",))
    return keys


def scenario_keys() -> set[str]:
    """Every key ``scenario.py`` reads: ``d["k"]``, ``d.get("k")``, ``d.pop("k")``,
    ``"k" in d``, the set of known sections, plus the network model's fields."""
    tree = ast.parse(Path(netweave.sim.scenario.__file__).read_text(encoding="utf-8"))
    found: set[str] = set()

    def const(node: ast.AST) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
            else None

    def key_read(node: ast.AST) -> str | None:
        if isinstance(node, ast.Subscript):
            return const(node.slice)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "pop") and node.args):
            return const(node.args[0])
        if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
            return const(node.left)
        return None

    for node in ast.walk(tree):
        if (k := key_read(node)) is not None:
            found.add(k)
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Set)
              and any(isinstance(t, ast.Name) and t.id == "known" for t in node.targets)):
            found.update(k for e in node.value.elts if (k := const(e)))
    assert {"cluster", "faults", "at", "kind"} <= found, f"key extraction broke: {found}"
    # "blocked" is the partition state the simulator keeps, not something to configure.
    return found | fields(NetworkModel, without=("blocked",)) | fields(Latency)


@pytest.mark.parametrize("key", sorted(cluster_keys()))
def test_every_cluster_file_key_is_documented(key: str) -> None:
    text = config_page()
    section = text[text.index("## Cluster files"):text.index("## Scenario files")]
    assert mentioned(key, section), (
        f"cluster file key {key!r} is missing from 'Cluster files' in "
        "docs/reference/configuration.md")


@pytest.mark.parametrize("key", sorted(scenario_keys()))
def test_every_scenario_key_is_documented(key: str) -> None:
    text = config_page()
    section = text[text.index("## Scenario files"):]
    assert mentioned(key, section), (
        f"scenario key {key!r} is missing from 'Scenario files' in "
        "docs/reference/configuration.md")


@pytest.mark.parametrize("kind", netweave.sim.scenario.FAULT_KINDS)
def test_every_fault_kind_is_documented(kind: str) -> None:
    assert mentioned(kind, page("reference/configuration.md"))


@pytest.mark.parametrize("cls", [LinkOptions, TransportOptions, NetworkModel, Latency],
                         ids=lambda c: c.__name__)
def test_documented_defaults_are_the_real_ones(cls: type) -> None:
    text = config_page()
    for f in attrs.fields(cls):
        if isinstance(f.default, attrs.Factory) or f.default is attrs.NOTHING:  # type: ignore[arg-type]
            continue
        for match in re.finditer(rf"^\| `{f.name}` \| `([^`]*)` \|", text, flags=re.M):
            documented = ast.literal_eval(match.group(1))
            assert documented == f.default, (
                f"docs/reference/configuration.md says {f.name} defaults to "
                f"{match.group(1)}; {cls.__name__} says {f.default!r}")


# -- plugins ----------------------------------------------------------------------------


def installed_plugins() -> list[str]:
    # The copy-me template is installed only to test it; it documents itself in its README.
    names = sorted(name for name, info in Catalog.discover(autoload=True).plugins.items()
                   if info.distribution != "netweave-template")
    assert {"beb", "perfect-fd"} <= set(names)
    return names


@pytest.mark.parametrize("plugin", installed_plugins())
def test_every_installed_plugin_has_its_table(plugin: str) -> None:
    pattern = re.compile(rf"<!--\s*netweave-plugin:\s*{re.escape(plugin)}\s*-->")
    pages = [p for p in DOCS.rglob("*.md") if pattern.search(p.read_text(encoding="utf-8"))]
    assert pages, (f"plugin {plugin!r} is documented nowhere: add "
                   f"'<!-- netweave-plugin: {plugin} -->' to its abstraction's page")


# -- trace format -----------------------------------------------------------------------


def traced_events() -> set[str]:
    """Event kinds the code writes: ``tracer.emit("ev", ...)``, ``ctx.trace("ev", ...)``
    and ``tracer.write({..., "ev": "ev", ...})``."""
    found: set[str] = set()
    sources = [*(ROOT / "core").rglob("*.py"), *(ROOT / "plugins").rglob("*.py"),
               *(ROOT / "contrib").rglob("*.py")]
    for path in sources:
        if "tests" in path.parts or "_template" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.args):
                continue
            first = node.args[0]
            if (node.func.attr in ("emit", "trace") and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                found.add(first.value)
            elif node.func.attr == "write" and isinstance(first, ast.Dict):
                pairs = zip(first.keys, first.values, strict=True)
                found.update(value.value for key, value in pairs
                             if isinstance(key, ast.Constant) and key.value == "ev"
                             and isinstance(value, ast.Constant) and isinstance(value.value, str))
    assert {"start", "broadcast", "deliver", "suspect"} <= found, found
    return found


@pytest.mark.parametrize("ev", sorted(traced_events()))
def test_every_traced_event_is_in_the_trace_format(ev: str) -> None:
    assert re.search(rf"^\| `{ev}` \|", page("reference/trace.md"), flags=re.M), (
        f"the code writes trace lines with ev={ev!r}; document it in docs/reference/trace.md")


def test_the_trace_reference_has_the_contract() -> None:
    contract = (ROOT.parent / "shared" / "design" / "TRACE.md")
    text = page("reference/trace.md")
    kinds = ["start", "stop", "crash", "broadcast", "deliver", "send", "recv", "suspect",
             "restore", "fault"]
    if contract.exists():
        kinds = re.findall(r"^\| `(\w+)` \|", contract.read_text(encoding="utf-8"), flags=re.M)
        kinds = [k for k in kinds if k not in ("t", "node", "ev")]
    assert kinds
    for kind in kinds:
        assert re.search(rf"^\| `{kind}` \|", text, flags=re.M), kind


# -- commands shown in the pages --------------------------------------------------------


def shown_commands() -> list[tuple[str, str]]:
    """Every ``netweave ...`` command line in the pages' bash blocks, with its page."""
    found: list[tuple[str, str]] = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"^```(?:bash|sh)\n(.*?)^```", text, flags=re.M | re.S):
            for line in block.replace("\\\n", " ").splitlines():
                for part in line.split("&&"):
                    part = part.split("#", 1)[0].strip()
                    if part.startswith("netweave "):
                        found.append((str(path.relative_to(DOCS)), part))
    assert len(found) > 10, found
    return found


@pytest.mark.parametrize(("where", "command"), shown_commands())
def test_every_command_shown_in_the_docs_parses(where: str, command: str) -> None:
    import contextlib
    import io
    import shlex

    argv = shlex.split(command)[1:]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"{where}: `{command}` is not a valid command line: "
                             f"{err.getvalue().strip()}") from exc

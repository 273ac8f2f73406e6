"""The abstraction pages show each algorithm's pseudocode beside the plugin's own code.

Both columns are read from the source when the site is built
(``docs/_hooks/algorithm_code.py``, marker ``<!-- netweave-algorithm: NAME -->``): the
pseudocode from the plugin module's docstring, the code from the plugin class's
methods. Here the code the hook cuts out is checked against :func:`inspect.getsource`,
and the built pages against the source files.
"""

from __future__ import annotations

import html
import inspect
import re
import textwrap
import tomllib
from pathlib import Path

import pytest
from netweave import Catalog

from .conftest import ROOT, BuiltSite
from .test_coverage import load_hook

hook = load_hook("algorithm_code")
PLUGINS = Catalog.discover(autoload=True).plugins
SHIPPED = {"netweave", *(tomllib.loads(path.read_text(encoding="utf-8"))["project"]["name"]
                         for path in (ROOT / "contrib").glob("*/pyproject.toml")
                         if path.parent.name != "_template")}
"""netweave and its contrib distributions (netweave-causal, netweave-clocks); not the
copy-me template."""
STANDARD = sorted(name for name, info in PLUGINS.items() if info.distribution in SHIPPED)
"""The plugins they ship (netweave_broadcast, netweave_fd, netweave_causal, netweave_clocks)."""
DOCS = ROOT / "docs"


def test_every_standard_plugin_has_its_algorithm_shown() -> None:
    assert {"netweave-causal", "netweave-clocks"} <= SHIPPED
    assert len(STANDARD) >= 13
    assert {"lazy-rb", "perfect-fd", "waiting-crb", "lamport-clock", "vector-clock"} <= set(
        STANDARD)
    assert set(STANDARD) <= set(hook.ALGORITHMS)


@pytest.mark.parametrize("plugin", sorted(hook.ALGORITHMS))
def test_the_code_shown_is_the_source(plugin: str) -> None:
    found = hook.algorithm(plugin)
    cls = PLUGINS[plugin].cls
    assert found.cls == cls.__qualname__
    source_file = inspect.getsourcefile(cls)
    assert source_file is not None
    assert (ROOT / found.path).resolve() == Path(source_file).resolve()
    lines = (ROOT / found.path).read_text(encoding="utf-8").splitlines()
    for method in found.methods:
        # What inspect finds (decorators included) is what the hook cut out, and the
        # lines the page names hold it.
        function = vars(cls)[method.name]
        function = function.fget if isinstance(function, property) else function
        function = getattr(function, "__func__", function)
        assert method.source == textwrap.dedent(inspect.getsource(function)).rstrip("\n")
        assert textwrap.dedent("\n".join(lines[method.first - 1:method.last])) == method.source
    assert found.code == "\n\n".join(m.source for m in found.methods)
    # Every other method the class defines is named under the code, none twice.
    defined = [n for n, f in vars(cls).items() if n != "netweave_specs" and (
        inspect.isfunction(f) or isinstance(f, property | staticmethod | classmethod))]
    named = [*(m.name for m in found.methods), *found.others]
    assert sorted(named) == sorted(defined) and len(set(named)) == len(named)


@pytest.mark.parametrize("plugin", sorted(hook.ALGORITHMS))
def test_the_pseudocode_is_the_docstring_s(plugin: str) -> None:
    found = hook.algorithm(plugin)
    doc = inspect.getdoc(inspect.getmodule(PLUGINS[plugin].cls)) or ""
    assert found.pseudocode and found.pseudocode.splitlines()[0] in doc
    assert doc.startswith(found.title)
    assert all(line.strip() in doc for line in found.pseudocode.splitlines())


def test_the_pseudocode_is_the_first_indented_block() -> None:
    doc = "Title.\n\n    upon a:  b\n        c\n\n    upon d\n\nProse.\n\n    later block\n"
    assert hook.pseudocode(doc) == "upon a:  b\n    c\n\nupon d"
    assert hook.pseudocode("Title.\n\nNo code here.\n") == ""


def test_a_marker_becomes_two_columns_and_bad_markers_are_named() -> None:
    out, shown, problems = hook.expand("a\n<!-- netweave-algorithm: beb -->\nb", "p.md")
    assert shown == ["beb"] and problems == []
    assert '<div class="nw-algorithm" data-plugin="beb" markdown="1">' in out
    assert out.index('class="nw-pseudocode"') < out.index('class="nw-code"')
    assert "```text\nupon <beb, Broadcast | m>:" in out and "```python\ndef broadcast(" in out
    _, shown, problems = hook.expand("<!-- netweave-algorithm: paxos -->", "p.md")
    assert shown == [] and "paxos" in problems[0]
    with pytest.raises(LookupError, match="defines no method gone"):
        hook.methods(PLUGINS["beb"].cls, ("broadcast", "gone"))


def test_every_algorithm_is_shown_once_on_an_abstraction_page() -> None:
    where: dict[str, list[str]] = {}
    for path in DOCS.rglob("*.md"):
        for name in hook.MARKER.findall(path.read_text(encoding="utf-8")):
            where.setdefault(name, []).append(path.relative_to(DOCS).as_posix())
    assert set(where) == set(hook.ALGORITHMS)
    for name, pages in where.items():
        assert len(pages) == 1 and pages[0].startswith("abstractions/"), (name, pages)
        # On the page of the plugin's facts.
        text = (DOCS / pages[0]).read_text(encoding="utf-8")
        assert f"<!-- netweave-plugin: {name} -->" in text


def _text(fragment: str) -> str:
    """What a reader sees of a piece of HTML: the tags gone, the entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _blocks(page: str) -> dict[str, tuple[str, str]]:
    """Per plugin shown on a built page: the text of its pseudocode and code columns."""
    found = {}
    for match in re.finditer(r'<div class="nw-algorithm" data-plugin="([\w-]+)">(.*?)'
                             r'<div class="nw-code">(.*?)</div>\s*</div>', page, re.S):
        found[match.group(1)] = (_text(match.group(2)), _text(match.group(3)))
    return found


def test_each_built_page_shows_the_code_of_its_plugins(built_site: BuiltSite) -> None:
    assert built_site.returncode == 0, built_site.output[-4000:]
    seen: set[str] = set()
    for page in sorted((built_site.directory / "abstractions").glob("*.html")):
        blocks = _blocks(page.read_text(encoding="utf-8"))
        for plugin, (pseudo, code) in blocks.items():
            found = hook.algorithm(plugin)
            assert found.pseudocode in pseudo, (page.name, plugin)
            # Every line of every method shown, as the source file has it.
            source = (ROOT / found.path).read_text(encoding="utf-8").splitlines()
            for method in found.methods:
                want = textwrap.dedent("\n".join(source[method.first - 1:method.last]))
                assert want in code, (page.name, plugin, method.name)
            assert f"lines {hook._lines(found)}" in code and found.path in code
            seen.add(plugin)
    assert set(STANDARD) <= seen and {"waiting-crb", "lamport-clock", "vector-clock"} <= seen
    assert seen == set(hook.ALGORITHMS)

"""The site builds in strict mode (every warning is an error), and holds what it should."""

from __future__ import annotations

import json
import re

from netweave.cli._main import build_parser

from .conftest import ROOT, BuiltSite


def test_mkdocs_build_strict_succeeds(built_site: BuiltSite) -> None:
    assert built_site.returncode == 0, built_site.output[-4000:]
    assert "WARNING" not in built_site.output, built_site.output[-4000:]
    assert (built_site.directory / "index.html").is_file()


def nav_pages() -> list[str]:
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(config["nav"])
    assert len(found) > 30, found
    return found


def test_every_page_of_the_nav_is_built(built_site: BuiltSite) -> None:
    for md in nav_pages():
        html = built_site.directory / md.replace(".md", ".html")
        assert html.is_file(), f"{md} was not built ({html})"


def test_the_cli_reference_lists_every_option(built_site: BuiltSite) -> None:
    html = (built_site.directory / "reference" / "cli.html").read_text("utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():  # type: ignore[attr-defined]
        assert f'id="netweave-{name}"' in html, name
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"<code>{flag}" in html, f"netweave {name} {flag}"


def test_the_api_reference_documents_the_public_names(built_site: BuiltSite) -> None:
    import netweave

    html = (built_site.directory / "reference" / "api" / "netweave.html") \
        .read_text("utf-8")
    for name in netweave.__all__:
        assert re.search(rf'id="netweave\.{re.escape(name)}"', html), name


def test_the_search_index_has_every_page(built_site: BuiltSite) -> None:
    index = json.loads((built_site.directory / "search" / "search_index.json")
                       .read_text("utf-8"))
    text = " ".join(doc.get("text", "") + " " + doc.get("title", "") for doc in index["docs"])
    assert "uniform reliable broadcast" in text.lower()


def test_the_site_works_from_disk(built_site: BuiltSite) -> None:
    # Opened as file://, pages must link to .html files, not to directories.
    home = (built_site.directory / "index.html").read_text("utf-8")
    assert 'href="getting-started.html"' in home
    assert 'href="tutorials/index.html"' in home


def test_the_site_loads_nothing_from_other_hosts(built_site: BuiltSite) -> None:
    # No web fonts, no CDN scripts: the site must render offline and leak nothing.
    for page in built_site.directory.rglob("*.html"):
        html = page.read_text("utf-8")
        for url in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html):
            raise AssertionError(f"{page.relative_to(built_site.directory)} loads {url}")


def test_wide_code_blocks_scroll_with_a_visible_scrollbar(built_site: BuiltSite) -> None:
    # The theme draws a code block's scrollbar transparent until hovered, so the columns
    # of a wide timeline beyond the content column looked cut off; the site's own
    # stylesheet draws it, and widens the content column on wide screens.
    page = (built_site.directory / "guide" / "conformance.html").read_text("utf-8")
    assert 'href="../stylesheets/extra.css"' in page
    css = (built_site.directory / "stylesheets" / "extra.css").read_text("utf-8")
    bare = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules = {k.strip(): v for k, v in re.findall(r"([^{}]+)\{([^{}]*)\}", bare)}
    code = rules[".md-typeset pre > code"]
    assert "overflow-x: auto" in code and "scrollbar-width: auto" in code
    color = re.search(r"scrollbar-color:\s*([^;]+);", code)
    assert color is not None and "#0000" not in color.group(1)
    assert "transparent" not in color.group(1)
    grid = re.search(r"\.md-grid\s*\{\s*max-width:\s*(\d+)rem", css)
    assert grid is not None and int(grid.group(1)) > 61  # the theme's own width

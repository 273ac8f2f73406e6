"""The built site works in a real browser: it renders, its navigation works, search finds.

Headless Chromium (Debian's ``chromium`` package) opens the site served on 127.0.0.1 and
is driven over the DevTools protocol like a person would use it: look at the home page,
click a navigation link, type into the search box. Skipped only when no Chromium is
installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._browser import Browser, find_chromium, serve
from .conftest import BuiltSite

CHROMIUM = find_chromium()
# The page's title, without the permalink sign the theme appends to headings.
H1 = "document.querySelector('article h1')?.firstChild?.textContent?.trim()"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    pytest.mark.skipif(CHROMIUM is None,
                       reason="chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def site_url(built_site: BuiltSite) -> Iterator[str]:
    assert built_site.returncode == 0, built_site.output[-4000:]
    with serve(built_site.directory) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with Browser(CHROMIUM, timeout=30.0) as b:
        yield b


def test_home_page_renders(browser: Browser, site_url: str, tmp_path: Path) -> None:
    browser.open(site_url)
    assert browser.evaluate("document.title").startswith("netweave")
    heading = browser.wait_for(H1)
    assert "netweave" in heading
    # The theme's stylesheet applied (the header bar has a background colour), the first
    # example is highlighted code, and the navigation tabs are visible.
    header_bg = browser.evaluate(
        "getComputedStyle(document.querySelector('header.md-header')).backgroundColor")
    assert header_bg not in ("", "rgba(0, 0, 0, 0)", "transparent"), header_bg
    assert browser.evaluate("document.querySelectorAll('article .highlight code').length") >= 1
    tabs = browser.evaluate(
        "[...document.querySelectorAll('.md-tabs__link')].map(a => a.textContent.trim())")
    for tab in ("Getting started", "Concepts", "Abstractions", "Reference"):
        assert tab in tabs, tabs
    shot = os.environ.get("NETWEAVE_DOCS_SCREENSHOT")
    browser.screenshot(Path(shot) if shot else tmp_path / "home.png")


def test_navigation_works(browser: Browser, site_url: str) -> None:
    browser.open(site_url)
    browser.click(".md-tabs__link[href$='getting-started.html']")
    browser.wait_for("location.pathname.endsWith('/getting-started.html') && "
                     "document.readyState === 'complete'")
    assert browser.wait_for(H1) == "Getting started"
    # Then through the side navigation of a section to one of its pages.
    browser.click(".md-tabs__link[href$='abstractions/index.html']")
    browser.wait_for("location.pathname.endsWith('/abstractions/index.html')")
    browser.click(".md-nav__link[href$='uniform-reliable-broadcast.html']")
    browser.wait_for("location.pathname.endsWith('/uniform-reliable-broadcast.html')")
    assert browser.wait_for(H1) == "Uniform reliable broadcast"


def test_search_finds_uniform_reliable_broadcast(browser: Browser, site_url: str) -> None:
    browser.open(site_url)
    browser.click(".md-search__input")
    browser.wait_for("document.activeElement === document.querySelector('.md-search__input')")
    browser.type("uniform reliable broadcast")
    titles = browser.wait_for(
        "(() => { const items = [...document.querySelectorAll('.md-search-result__item')];"
        " return items.length ? items.map(i => i.textContent) : null; })()")
    assert any("Uniform reliable broadcast" in t for t in titles), json.dumps(titles)[:2000]
    first = browser.evaluate(
        "document.querySelector('.md-search-result__item a')?.getAttribute('href')")
    assert first is not None and "uniform-reliable-broadcast" in first, first


def test_a_wide_timeline_scrolls_instead_of_being_cut(browser: Browser, site_url: str) -> None:
    # The conformance page's timeline is wider than the content column at this window
    # size: its block scrolls sideways, with a scrollbar drawn, to its last column (n5).
    browser.open(site_url + "guide/conformance.html")
    found = browser.wait_for(
        "(() => { const c = [...document.querySelectorAll('article pre > code')]"
        ".find(e => e.textContent.includes('partition n4|n1')); if (!c) return null;"
        " const s = getComputedStyle(c);"
        " return {overflow: s.overflowX, color: s.scrollbarColor ?? null,"
        " scroll: c.scrollWidth, client: c.clientWidth}; })()")
    assert found["overflow"] in ("auto", "scroll"), found
    if found["color"] is not None:  # a Chromium that knows scrollbar-color
        assert found["color"] not in ("", "auto"), found
        assert not found["color"].startswith("rgba(0, 0, 0, 0)"), found
    if found["scroll"] > found["client"]:  # wider than the column here: it must scroll
        moved = browser.evaluate(
            "(() => { const c = [...document.querySelectorAll('article pre > code')]"
            ".find(e => e.textContent.includes('partition n4|n1'));"
            " c.scrollLeft = c.scrollWidth; return c.scrollLeft; })()")
        assert moved > 0, found

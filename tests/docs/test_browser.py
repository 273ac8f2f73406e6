"""The built site works in a real browser: it renders, its navigation works, search finds.

Headless Chromium (Debian's ``chromium`` package), driven by Playwright, opens the site
served on 127.0.0.1 and is used like a person would use it: look at the home page, click
a navigation link, type into the search box. Skipped only when Chromium or Playwright is
not installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser import VIEWPORT, chromium, needs_browser, serve

from .conftest import BuiltSite

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# The page's title, without the permalink sign the theme appends to headings.
H1 = "document.querySelector('article h1')?.firstChild?.textContent?.trim()"

pytestmark = [*needs_browser, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def site_url(built_site: BuiltSite) -> Iterator[str]:
    assert built_site.returncode == 0, built_site.output[-4000:]
    with serve(built_site.directory) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser, site_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_home_page_renders(page: Page, site_url: str, tmp_path: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(site_url)
    assert page.title().startswith("netweave")
    page.wait_for_function(H1)
    assert "netweave" in page.evaluate(H1)
    # The theme's stylesheet applied (the header bar has a background colour), the first
    # example is highlighted code, and the navigation tabs are visible.
    header_bg = page.evaluate(
        "getComputedStyle(document.querySelector('header.md-header')).backgroundColor")
    assert header_bg not in ("", "rgba(0, 0, 0, 0)", "transparent"), header_bg
    assert page.locator("article .highlight code").count() >= 1
    tabs = [t.strip() for t in page.locator(".md-tabs__link").all_text_contents()]
    for tab in ("Getting started", "Concepts", "Abstractions", "Reference"):
        assert tab in tabs, tabs
    shot = os.environ.get("NETWEAVE_DOCS_SCREENSHOT")
    page.screenshot(path=Path(shot) if shot else tmp_path / "home.png")
    # Everything the page loaded came from the site itself (no fonts, no CDN).
    page.wait_for_load_state("networkidle")
    assert requested and all(url.startswith(site_url) for url in requested), requested


def test_navigation_works(page: Page, site_url: str) -> None:
    page.goto(site_url)
    page.locator(".md-tabs__link[href$='getting-started.html']").click()
    page.wait_for_url("**/getting-started.html")
    page.wait_for_function(H1)
    assert page.evaluate(H1) == "Getting started"
    # Then through the side navigation of a section to one of its pages.
    page.locator(".md-tabs__link[href$='abstractions/index.html']").click()
    page.wait_for_url("**/abstractions/index.html")
    page.locator(".md-nav__link[href$='uniform-reliable-broadcast.html']").first.click()
    page.wait_for_url("**/uniform-reliable-broadcast.html")
    page.wait_for_function(H1)
    assert page.evaluate(H1) == "Uniform reliable broadcast"


def test_search_finds_uniform_reliable_broadcast(page: Page, site_url: str) -> None:
    page.goto(site_url)
    page.locator(".md-search__input").click()
    page.wait_for_function(
        "document.activeElement === document.querySelector('.md-search__input')")
    page.keyboard.insert_text("uniform reliable broadcast")
    results = page.locator(".md-search-result__item")
    results.first.wait_for()
    titles = results.all_text_contents()
    assert any("Uniform reliable broadcast" in t for t in titles), json.dumps(titles)[:2000]
    first = page.locator(".md-search-result__item a").first.get_attribute("href")
    assert first is not None and "uniform-reliable-broadcast" in first, first


def test_a_wide_timeline_scrolls_instead_of_being_cut(page: Page, site_url: str) -> None:
    # The conformance page's timeline is wider than the content column at this window
    # size: its block scrolls sideways, with a scrollbar drawn, to its last column (n5).
    page.goto(site_url + "guide/conformance.html")
    block = page.locator("article pre > code", has_text="partition n1,n3|n")
    block.wait_for()
    found = block.evaluate(
        "c => { const s = getComputedStyle(c);"
        " return {overflow: s.overflowX, color: s.scrollbarColor ?? null,"
        " scroll: c.scrollWidth, client: c.clientWidth}; }")
    assert found["overflow"] in ("auto", "scroll"), found
    if found["color"] is not None:  # a Chromium that knows scrollbar-color
        assert found["color"] not in ("", "auto"), found
        assert not found["color"].startswith("rgba(0, 0, 0, 0)"), found
    if found["scroll"] > found["client"]:  # wider than the column here: it must scroll
        moved = block.evaluate("c => { c.scrollLeft = c.scrollWidth; return c.scrollLeft; }")
        assert moved > 0, found


def test_a_picture_of_a_run_and_its_embedded_view_work(page: Page, site_url: str) -> None:
    # The picture (an SVG the build drew from a simulated run) is loaded and drawn, and
    # the run's view page, embedded below it, runs its script inside the site's page.
    page.goto(site_url + "tutorials/view-a-run.html")
    picture = page.locator("figure.nw-run img").first
    picture.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('figure.nw-run img');"
        " return i && i.complete && i.naturalWidth > 100 && i.naturalHeight > 100; }")
    view = page.frame_locator("iframe.nw-view")
    events = view.locator("#events g.e")
    events.first.wait_for(state="attached")
    assert events.count() > 50
    view.locator("#events g.e.k-broadcast .s").first.click()
    assert "focus" in (view.locator("#chart").get_attribute("class") or "")
    assert view.locator("#events g.e.future").count() > 0

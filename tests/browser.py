"""A headless Chromium driven by Playwright, for the tests that look at pages in a browser.

Playwright (``pip install playwright``, in the ``test`` extra) drives the system's
Chromium (Debian's ``chromium`` package), found on the ``PATH``: no browser is downloaded
and ``playwright install`` is never needed. Every host name but the loopback address
resolves to nothing, so a page that tries to reach the Internet fails visibly instead of
leaking traffic. The tests that use it are marked ``browser`` and skip, saying what is
missing, when Chromium or Playwright is not installed.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)

VIEWPORT = {"width": 1280, "height": 900}


def find_chromium() -> str | None:
    """Path of a Chromium binary, or ``None`` when none is installed."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if find_chromium() is None:
        return ("chromium is not installed (apt-get install chromium; the browser tests "
                "drive the system's chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("playwright is not installed (pip install playwright, or the test extra; "
                "no `playwright install` needed: the system's chromium is used)")
    return None


needs_browser = [pytest.mark.browser,
                 pytest.mark.skipif(missing() is not None, reason=str(missing()))]
"""The marks of a test (or ``pytestmark`` of a module) that drives Chromium."""


@contextlib.contextmanager
def chromium(*, timeout: float = 30.0) -> Iterator[Browser]:
    """A headless Chromium (the system's), stopped at the end."""
    from playwright.sync_api import sync_playwright

    binary = find_chromium()
    assert binary is not None, missing()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, headless=True,
                                             args=list(ARGS), timeout=timeout * 1000)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port); yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()

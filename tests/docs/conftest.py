"""Fixtures of the documentation tests: the site, built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class BuiltSite:
    """The result of one ``mkdocs build --strict``."""

    def __init__(self, directory: Path, returncode: int, output: str, seconds: float) -> None:
        self.directory = directory
        self.returncode = returncode
        self.output = output
        self.seconds = seconds


def mkdocs_command() -> list[str] | None:
    """How to run mkdocs from this interpreter, or ``None`` if it is not installed."""
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "mkdocs"]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltSite]:
    command = mkdocs_command()
    if command is None:
        pytest.fail("mkdocs is not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    began = time.monotonic()
    done = subprocess.run([*command, "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    site = BuiltSite(out, done.returncode, done.stdout + done.stderr,
                     time.monotonic() - began)
    yield site
    shutil.rmtree(out, ignore_errors=True)

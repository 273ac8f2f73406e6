"""Shared fixtures of the netweave-clocks tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from netweave import Catalog

# The helper module beside the tests (hb_oracle) is importable whichever pytest
# configuration collects this folder (this distribution's, or the repository's).
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The installed plugins: netweave's standard ones and this distribution's clocks."""
    found = Catalog.discover()
    missing = {"lamport-clock", "vector-clock", "beb"} - set(found.plugins)
    assert not missing, f"install netweave and netweave-clocks first; missing {missing}"
    return found

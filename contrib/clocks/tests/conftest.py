"""Shared fixtures of the netweave-clocks tests."""

from __future__ import annotations

import pytest
from netweave import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The installed plugins: netweave's standard ones and this distribution's clocks."""
    found = Catalog.discover()
    missing = {"lamport-clock", "vector-clock", "beb"} - set(found.plugins)
    assert not missing, f"install netweave and netweave-clocks first; missing {missing}"
    return found

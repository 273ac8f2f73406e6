"""The public API: every name in ``__all__`` exists, exactly once, and nothing private leaks."""

from __future__ import annotations

import importlib

import netweave
import pytest

MODULES = ["netweave", "netweave.sim", "netweave.errors", "netweave.events", "netweave.bus",
           "netweave.plugin", "netweave.message", "netweave.link", "netweave.trace"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_once(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "a name is exported twice"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.{attr} is in __all__ but missing"
        assert not attr.startswith("_")


def test_top_level_exports_the_core_vocabulary():
    for attr in ("Node", "Component", "Message", "Deliver", "Crashed", "upon", "upon_message",
                 "upon_deliver", "hookimpl", "register_plugin", "PluginError"):
        assert attr in netweave.__all__


def test_py_typed_is_shipped():
    from pathlib import Path

    for pkg in ("netweave", "netweave_fd", "netweave_broadcast"):
        mod = importlib.import_module(pkg)
        assert (Path(mod.__file__).parent / "py.typed").exists()

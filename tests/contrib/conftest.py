"""Fixtures of the contrib tests; makes this folder's helper modules importable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from fresh_venv import CONTRIB, ROOT, BaseEnv, build_wheels  # noqa: E402


@pytest.fixture(scope="session")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> BaseEnv:
    """Third-party packages for fresh environments, installed once per session."""
    return BaseEnv(tmp_path_factory.mktemp("base") / "venv")


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of netweave and of every contrib distribution, built once per session."""
    dest = tmp_path_factory.mktemp("wheels")
    build_wheels([ROOT, *(CONTRIB / d for d in ("clocks", "causal", "_template"))], dest)
    return dest

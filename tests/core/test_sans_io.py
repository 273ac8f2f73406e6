"""Components are sans-I/O: no module under plugins/ or contrib/ imports an I/O module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"asyncio", "socket", "time", "random", "threading", "selectors", "ssl",
             "subprocess", "multiprocessing", "netweave.runtime", "netweave.transport"}


def component_modules() -> list[Path]:
    found = []
    for base in (ROOT / "plugins", ROOT / "contrib"):
        for path in base.rglob("*.py"):
            parts = set(path.relative_to(base).parts)
            if parts & {"tests", "docs", "build", "dist"} or path.name in {"conftest.py",
                                                                         "noxfile.py"}:
                continue
            found.append(path)
    return sorted(found)


def forbidden_imports(source: str) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              {"import_module", "__import__"} and node.args
              and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]
        for name in names:
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                bad.append(name)
    return bad


def test_the_check_catches_forbidden_imports():
    assert forbidden_imports("import asyncio") == ["asyncio"]
    assert forbidden_imports("from time import monotonic") == ["time"]
    assert forbidden_imports("import os, random as r") == ["random"]
    assert forbidden_imports("importlib.import_module('socket')") == ["socket"]
    assert forbidden_imports("from .time import x\nimport attrs") == []


def test_there_are_component_modules_to_check():
    assert len(component_modules()) >= 3


@pytest.mark.parametrize("path", component_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_component_module_is_sans_io(path: Path):
    assert forbidden_imports(path.read_text(encoding="utf-8")) == [], (
        f"{path.relative_to(ROOT)} imports an I/O module; components act through ctx only")

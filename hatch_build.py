"""Wheel build hook: with ``NETWEAVE_COMPILE=1``, compile the simulator's hot path with mypyc.

The default wheel (and every editable install) is pure Python. A compiled wheel holds the
same ``.py`` files plus a native extension for each module named in ``compile`` under
``[tool.hatch.build.targets.wheel.hooks.custom]``; Python imports the extension in
preference to the source. It needs a C compiler, mypy, setuptools and netweave's own
dependencies (mypy reads their types) where it is built, so it is built without build
isolation, with ``NETWEAVE_COMPILE=1 python -m hatchling build -t wheel`` in such an
environment; ``python3 dev.py compiled`` does all of it. (``pip install`` would compile
twice: once to prepare the metadata, once for the wheel.)

The modules compile in a scratch copy of the package, never beside the sources: an
extension next to its ``.py`` would shadow every later edit of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUILD_INFO = "_build_info.json"
GROUP = "netweave"
"""mypyc's shared library is ``netweave__mypyc``, a stable name beside the package."""

SETUP = """\
from setuptools import setup
from mypyc.build import mypycify

setup(name="netweave-compiled",
      ext_modules=mypycify({files!r}, opt_level="3", group_name="{group}"))
"""


ON, OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class CompileHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds mypyc extensions to a standard wheel when ``NETWEAVE_COMPILE`` is set."""

    _scratch: Path | None = None

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        flag = os.environ.get("NETWEAVE_COMPILE", "").strip().lower()
        if flag not in ON + OFF:
            raise RuntimeError(f"NETWEAVE_COMPILE={flag!r}: use 1 to compile, 0 not to")
        if version != "standard" or flag in OFF:
            return
        modules = self.config.get("compile", [])
        if not modules:
            raise RuntimeError("NETWEAVE_COMPILE is set but no module is listed to compile")
        self._scratch = Path(tempfile.mkdtemp(prefix="netweave-mypyc-"))
        try:
            self._compile(self._scratch, [f"netweave/{m}" for m in modules], build_data)
        except BaseException:
            self._clean()
            raise
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def _compile(self, scratch: Path, files: list[str], build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        shutil.copytree(root / "core" / "netweave", scratch / "netweave",
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
        missing = [f for f in files if not (scratch / f).is_file()]
        if missing:
            raise RuntimeError(f"cannot compile {missing}: no such module in core/netweave")
        (scratch / "setup.py").write_text(SETUP.format(files=files, group=GROUP), encoding="utf-8")
        # Optional imports (uvloop) may be absent where this builds: they type as Any.
        (scratch / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n",
                                          encoding="utf-8")
        self.app.display_info(f"compiling {len(files)} modules with mypyc")
        done = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"],
                              cwd=scratch, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mypyc failed (exit {done.returncode}):\n"
                               f"{done.stdout[-4000:]}{done.stderr[-4000:]}")
        # One extension per module beside its source, and the group's shared library at
        # the top (setuptools' own build/ directory holds copies of them: not those).
        built = [p for p in [*scratch.glob(f"{GROUP}__mypyc*"), *(scratch / "netweave").rglob("*")]
                 if p.suffix in (".so", ".pyd")]
        if len(built) != len(files) + 1:
            raise RuntimeError(f"mypyc built {len(built)} extensions for {len(files)} modules: "
                               f"{sorted(p.name for p in built)}")
        for ext in sorted(built):
            build_data["force_include"][str(ext)] = ext.relative_to(scratch).as_posix()
        # What was compiled, from which commit: benchmark headers print it.
        info = scratch / "netweave" / BUILD_INFO
        commit, dirty = _commit(root)
        info.write_text(json.dumps({"compiled": files, "commit": commit, "dirty": dirty}),
                        encoding="utf-8")
        build_data["force_include"][str(info)] = f"netweave/{BUILD_INFO}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        self._clean()

    def _clean(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _commit(root: Path) -> tuple[str | None, bool]:
    """The checkout's short commit, and whether its code has uncommitted changes."""
    if not (root / ".git").exists():
        return None, False
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "core", "plugins", "hatch_build.py"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, False
    return commit or None, bool(dirty)

"""Wheels and fresh virtual environments: each distribution tested as users install it.

Theory of operation. :func:`build_wheels` builds the wheels of netweave and of the
contrib distributions into one folder (a *wheelhouse*). A :class:`BaseEnv` is a virtual
environment holding only third-party packages: netweave's runtime dependencies, the test
tools and the build backend, installed once from the package index. Each
:class:`FreshEnv` is a new, empty virtual environment that sees the base environment's
packages through a ``.pth`` file and installs the distributions under test from the
wheelhouse alone (``--no-index``), so it holds exactly netweave and what the
distribution declares, and nothing is imported from the source tree.

As a script, it runs each given contrib distribution's tests that way::

    python tests/contrib/fresh_venv.py contrib/clocks contrib/causal contrib/_template
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib"
TIMEOUT = 600


def _run(cmd: Sequence[str | Path], *, cwd: Path | None = None, check: bool = True,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return done


def project(path: Path) -> dict[str, object]:
    """The ``[project]`` table of a ``pyproject.toml``."""
    data = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8"))
    table: dict[str, object] = data["project"]
    return table


def build_wheels(projects: Sequence[Path], dest: Path) -> dict[str, Path]:
    """Build one wheel per project (no dependencies) into ``dest``; name -> wheel."""
    dest.mkdir(parents=True, exist_ok=True)
    isolation: list[str] = []
    try:  # with the backend at hand, building needs no index
        import hatchling  # noqa: F401
        isolation = ["--no-build-isolation"]
    except ImportError:
        pass
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", dest,
          *projects])
    wheels = {}
    for p in projects:
        name = str(project(p)["name"]).replace("-", "_")
        found = sorted(dest.glob(f"{name}-*.whl"))
        assert found, f"no wheel for {name} in {dest}"
        wheels[str(project(p)["name"])] = found[-1]
    return wheels


def third_party_requirements() -> list[str]:
    """netweave's runtime dependencies, the test tools and the build backend."""
    reqs = [str(r) for r in project(ROOT)["dependencies"]]  # type: ignore[attr-defined]
    extras = project(ROOT)["optional-dependencies"]
    reqs += [str(r) for r in extras["test"]]  # type: ignore[index]
    # hatchling builds the plugins; editables is what it needs for `pip install -e`.
    reqs += ["hatchling>=1.21", "editables>=0.3"]
    return reqs


_SCRUBBED = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS",
             "NETWEAVE_DISABLE_PLUGIN_AUTOLOAD"}


def _env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


class BaseEnv:
    """A virtual environment with the third-party packages every fresh one shares."""

    def __init__(self, path: Path) -> None:
        self.path = path
        python = _python(path)
        if not python.exists():
            _run([_base_python(), "-m", "venv", path])
            _run([python, "-m", "pip", "install", "--quiet", *third_party_requirements()])
        self.site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                               "['purelib'])"]).stdout.strip())


class FreshEnv:
    """An empty virtual environment on top of a :class:`BaseEnv`; install from a wheelhouse."""

    def __init__(self, path: Path, base: BaseEnv, wheelhouse: Path) -> None:
        self.path = path
        self.base = base
        self.wheelhouse = wheelhouse
        # No pip of its own: the base environment's pip works on it (pip --python).
        _run([_base_python(), "-m", "venv", "--without-pip", path])
        site = Path(self.python_eval("import sysconfig; print(sysconfig.get_paths()"
                                     "['purelib'])"))
        (site / "_netweave_test_base.pth").write_text(f"{base.site}\n", encoding="utf-8")
        self.env = _env(self.python.parent)

    @property
    def python(self) -> Path:
        return _python(self.path)

    def python_eval(self, code: str) -> str:
        return _run([self.python, "-c", code]).stdout.strip()

    def run(self, *cmd: str | Path, cwd: Path | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command with this environment first on ``PATH``."""
        return _run(cmd, cwd=cwd, env=self.env, check=check)

    def pip(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(_python(self.base.path), "-m", "pip", "--python", self.python, *args,
                        check=check)

    def install(self, *requirements: str | Path) -> None:
        """Install from the wheelhouse only; dependencies come from it or the base env."""
        self.pip("install", "--quiet", "--no-index", "--find-links", self.wheelhouse,
                 *requirements)

    def distributions(self) -> set[str]:
        """The distributions installed in this environment itself (not the base)."""
        out = self.python_eval(
            "import importlib.metadata as m, sysconfig, pathlib;"
            "site = pathlib.Path(sysconfig.get_paths()['purelib']);"
            "print('\\n'.join(d.metadata['Name'] for d in m.distributions(path=[str(site)])))")
        return {line.strip().lower() for line in out.splitlines() if line.strip()}

    def pytest(self, tests: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a copy of ``tests`` (with its project's pytest settings) from ``workdir``,
        so that the code under test is the installed one, never the source tree."""
        shutil.copytree(tests, workdir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(tests.parent / "pyproject.toml", workdir / "pyproject.toml")
        return self.run(self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                        *args, cwd=workdir, check=False)


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _base_python() -> str:
    return getattr(sys, "_base_executable", sys.executable)


def local_requirements(path: Path) -> list[Path]:
    """The contrib distributions ``path`` declares as dependencies, recursively, and itself."""
    by_name = {str(project(p)["name"]): p for p in CONTRIB.iterdir()
               if (p / "pyproject.toml").is_file()}
    found: list[Path] = []

    def visit(p: Path) -> None:
        for req in project(p).get("dependencies", []):  # type: ignore[attr-defined]
            name = re.match(r"[A-Za-z0-9._-]+", str(req)).group()  # type: ignore[union-attr]
            if name in by_name and by_name[name] not in found:
                visit(by_name[name])
        if p not in found:
            found.append(p)

    visit(path)
    return found


def test_alone(dist: Path, workdir: Path, base: BaseEnv, *pytest_args: str,
               wheelhouse: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Install ``dist`` with only netweave and its declared dependencies, run its tests.

    :param wheelhouse: wheels built already; default: build what ``dist`` needs.
    """
    expected = {str(project(p)["name"]).lower() for p in [ROOT, *local_requirements(dist)]}
    if wheelhouse is None:
        wheelhouse = workdir / "wheels"
        build_wheels([ROOT, *local_requirements(dist)], wheelhouse)
    env = FreshEnv(workdir / "venv", base, wheelhouse)
    env.install(str(project(dist)["name"]))
    installed = {d for d in env.distributions() if d.startswith("netweave")}
    assert installed == expected, f"installed {installed}, expected {expected}"
    (workdir / "run").mkdir()
    return env.pytest(dist / "tests", workdir / "run", *pytest_args)


test_alone.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


def main(argv: Sequence[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory(prefix="netweave-alone-") as tmp:
        base = BaseEnv(Path(tmp) / "base")
        failed = 0
        for arg in argv:
            dist = Path(arg).resolve()
            done = test_alone(dist, Path(tmp) / dist.name, base)
            print(f"== {dist.relative_to(ROOT)}: exit {done.returncode}")
            print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
            failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

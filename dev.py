#!/usr/bin/env python3
"""Set up and run netweave from a fresh clone, with nothing but Python 3.11+ and pip.

    python3 dev.py demo      # install what is needed, run the 4-node demo
    python3 dev.py test      # install what is needed, run the whole test suite
    python3 dev.py lint      # ruff + mypy (strict on core/ and plugins/)
    python3 dev.py docs      # build the documentation site, warnings are errors
    python3 dev.py bench     # run the benchmark scripts
    python3 dev.py compiled  # build netweave with mypyc into ./.venv-compiled, run the
                             # simulator benchmark there (``compiled test ...``: pytest,
                             # without tests/docs, which need .venv)

Everything goes into ./.venv; a second run reuses it and only reinstalls when
pyproject.toml files changed. Extra arguments are passed on (``dev.py test -k sim``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
CONTRIB = ["contrib/clocks", "contrib/causal"]
STAMP = VENV / ".netweave-installed"
COMPILED = ROOT / ".venv-compiled"


def say(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def run(*cmd: str | Path, check: bool = True, env: dict[str, str] | None = None,
        label: str | None = None) -> int:
    say(label or " ".join(str(c) for c in cmd))
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT,
                           env=None if env is None else {**os.environ, **env})
    if check and code != 0:
        sys.exit(code)
    return code


def fingerprint() -> str:
    h = hashlib.sha256()
    for path in [ROOT / "pyproject.toml", *(ROOT / c / "pyproject.toml" for c in CONTRIB)]:
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


def check_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may run on any python3
        sys.exit(f"netweave needs Python 3.11 or newer, this is {sys.version.split()[0]}")


def ensure_env() -> None:
    check_python()
    if not PY.exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == fingerprint():
        return
    run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    editable = ["-e", ".[test,lint,docs,metrics,cluster,baselines]"]
    for c in CONTRIB:
        if (ROOT / c / "pyproject.toml").exists():
            editable += ["-e", c]
    run(PY, "-m", "pip", "install", "-q", *editable)
    STAMP.write_text(fingerprint())


def cmd_demo(args: list[str]) -> int:
    return run(BIN / "netweave", "demo", *args, check=False)


def cmd_test(args: list[str]) -> int:
    code = run(PY, "-m", "pytest", *args, check=False)
    if code == 5:
        say("pytest collected no test: that is a failure here")
        return 1
    return code


def cmd_lint(args: list[str]) -> int:
    run(BIN / "ruff", "check", ".")
    run(BIN / "mypy")
    return 0


def cmd_docs(args: list[str]) -> int:
    return run(BIN / "mkdocs", "build", "--strict", *args, check=False)


def cmd_bench(args: list[str]) -> int:
    return run(PY, "benchmarks/run_all.py", *args, check=False)


def sources_fingerprint() -> str:
    """Every file a build of netweave and the contrib distributions reads."""
    h = hashlib.sha256(fingerprint().encode())
    skip = {"__pycache__", "build", "dist", ".pytest_cache"}
    for top in ("core", "plugins", "contrib", "hatch_build.py", "README.md"):
        base = ROOT / top
        paths = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in paths:
            rel = path.relative_to(ROOT)
            if path.is_file() and not skip & set(rel.parts) and path.suffix != ".pyc" \
                    and not any(p.endswith(".egg-info") for p in rel.parts):
                h.update(str(rel).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


CHECK_COMPILED = """
import importlib, sys
from netweave.bench._report import compiled_build
info = compiled_build() or sys.exit("netweave here is not a compiled build")
for path in info["compiled"]:
    mod = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    if not mod.__file__.endswith((".so", ".pyd")):
        sys.exit(f"{mod.__name__} is not compiled here: {mod.__file__}")
print(f"[dev] compiled: {len(info['compiled'])} modules, from commit {info['commit']}"
      + (" + uncommitted changes" if info.get("dirty") else ""))
"""


def cmd_compiled(args: list[str]) -> int:
    """A second environment with the simulator's hot path compiled by mypyc (see
    hatch_build.py): the benchmark by default, ``test ...`` for pytest against it."""
    py = COMPILED / BIN.name / "python"
    stamp = COMPILED / ".netweave-installed"
    if not py.exists():
        say(f"creating {COMPILED}")
        venv.EnvBuilder(with_pip=True).create(COMPILED)
    sources = sources_fingerprint()
    if not (stamp.exists() and stamp.read_text() == sources):
        # The hook needs mypy, setuptools and netweave's dependencies (mypy reads their
        # types) in the environment that builds: no isolation, hatchling called directly.
        run(py, "-m", "pip", "install", "-q", "--upgrade", "pip", "setuptools", "hatchling",
            "mypy>=1.10")
        contrib = [arg for c in CONTRIB for arg in ("-e", c)]  # pure Python, as in .venv
        run(py, "-m", "pip", "install", "-q", ".[test]", *contrib,
            env={"NETWEAVE_COMPILE": "0"})  # its dependencies; the compiled wheel follows
        dist = COMPILED / "dist"
        for old in dist.glob("*.whl"):
            old.unlink()
        run(py, "-m", "hatchling", "build", "-t", "wheel", "-d", dist,
            env={"NETWEAVE_COMPILE": "1"})
        run(py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps",
            *dist.glob("netweave-*.whl"))
        stamp.write_text(sources)
    run(py, "-c", CHECK_COMPILED, label="checking that the listed modules are compiled")
    if args[:1] == ["test"]:
        # The documentation's tests need the docs tools and read sources: they run in .venv.
        code = run(py, "-m", "pytest", "--ignore=tests/docs", *args[1:], check=False)
        return 1 if code == 5 else code
    return run(py, "benchmarks/bench_sim.py", *args, check=False)


COMMANDS = {"demo": cmd_demo, "test": cmd_test, "lint": cmd_lint, "docs": cmd_docs,
            "bench": cmd_bench, "compiled": cmd_compiled}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    if sys.argv[1] == "compiled":
        check_python()
    else:
        ensure_env()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

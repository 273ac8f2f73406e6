"""The "Write a plugin" guide, executed: from an empty folder to an installed, tested plugin.

The page (``docs/guide/write-a-plugin.md``) shows files included from the repository:
the component is ``contrib/clocks/netweave_clocks/lamport.py``, the rest lives in
``docs/examples/netweave-lamport/``. The slow test assembles them in an empty folder as
the page says, then runs the page's commands, in order, in a fresh environment where
only netweave is installed (from its wheel). The fast tests check that the page shows
exactly those files and commands.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fresh_venv import ROOT, BaseEnv, FreshEnv

PAGE = ROOT / "docs" / "guide" / "write-a-plugin.md"
EXAMPLE = ROOT / "docs" / "examples" / "netweave-lamport"
COMPONENT = ROOT / "contrib" / "clocks" / "netweave_clocks" / "lamport.py"
FILES = {  # where each file of the distribution comes from
    "pyproject.toml": EXAMPLE / "pyproject.toml",
    "netweave_lamport/__init__.py": EXAMPLE / "netweave_lamport" / "__init__.py",
    "netweave_lamport/lamport.py": COMPONENT,
    "try_it.py": EXAMPLE / "try_it.py",
    "tests/test_lamport.py": EXAMPLE / "tests" / "test_lamport.py",
}
STEPS = [
    "mkdir netweave-lamport && cd netweave-lamport",
    "mkdir netweave_lamport tests",
    "python try_it.py",
    "pip install -e '.[test]'",
    "pytest",
    "netweave plugins",
    "netweave sim --use beb --use lamport-clock --seed 1 --trace-dir run",
    "netweave check run",
]


def page_commands() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def page_includes() -> list[str]:
    return re.findall(r'--8<--\s+"([^"]+)"', PAGE.read_text(encoding="utf-8"))


def test_the_page_shows_the_commands_the_test_runs():
    assert page_commands() == STEPS


def test_the_page_shows_the_files_the_test_assembles():
    shown = {ROOT / rel for rel in page_includes()}
    assert set(FILES.values()) | {EXAMPLE / "try_it.out"} == shown


def test_no_page_installs_netweave_from_an_index():
    # netweave is not published: a page says how to install it from a clone or a wheel.
    published = re.compile(r"pip install (-U |--upgrade )?netweave(?![-\w/.])")
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        found = published.search(page.read_text(encoding="utf-8"))
        assert found is None, f"{page.relative_to(ROOT)}: {found and found.group()}"
    text = PAGE.read_text(encoding="utf-8")
    assert "pip install /path/to/netweave" in text and "pip wheel --no-deps" in text


def test_the_component_is_the_one_netweave_clocks_ships():
    from netweave_clocks import LamportClock

    assert LamportClock.__module__ == "netweave_clocks.lamport"
    assert Path(__import__("netweave_clocks.lamport").lamport.__file__).resolve() == COMPONENT


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_guide_from_an_empty_folder(base_env: BaseEnv, wheelhouse: Path, tmp_path: Path):
    env = FreshEnv(tmp_path / "venv", base_env, wheelhouse)
    env.install("netweave")  # the guide's prerequisite: netweave from a wheel of the clone
    here = tmp_path / "netweave-lamport"  # mkdir netweave-lamport && cd netweave-lamport
    here.mkdir()
    for rel, source in FILES.items():  # mkdir netweave_lamport tests; save each file
        (here / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, here / rel)

    first = env.run(env.python, "try_it.py", cwd=here)
    assert first.stdout == (EXAMPLE / "try_it.out").read_text(encoding="utf-8")

    # pip install -e '.[test]' (offline: netweave from its wheel, the rest from the base)
    env.pip("install", "--quiet", "--no-index", "--no-build-isolation", "--find-links",
            wheelhouse, "-e", f"{here}[test]")
    tests = env.run(env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=here,
                    check=False)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout

    listed = env.run("netweave", "plugins", cwd=here).stdout
    row = next(line for line in listed.splitlines() if line.startswith("lamport-clock"))
    assert "logical-clock" in row and "netweave-lamport 0.1.0" in row
    env.run("netweave", "sim", "--use", "beb", "--use", "lamport-clock", "--seed", "1",
            "--trace-dir", "run", cwd=here)
    lines = [json.loads(line) for f in (here / "run").glob("*.jsonl") for line in f.open()]
    assert lines and all(isinstance(r["lamport"], int) for r in lines)
    checked = env.run("netweave", "check", "run", cwd=here, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

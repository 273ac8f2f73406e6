"""``netweave demo`` end to end: real processes, a SIGKILL, the checker's verdict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from netweave.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "demo", *args],
        capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(90)
def test_demo_crashes_a_node_and_every_property_holds(tmp_path: Path) -> None:
    run = demo("--messages", "8", "--run-dir", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "SIGKILL n4 after 4 of its 8 broadcasts" in out
    assert "verdict: OK" in out and "uniform agreement" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith("n") and ("correct" in line or "crashed" in line)}
    assert rows["n4"][1] == "crashed" and rows["n4"][2] == "4"
    for node in ("n1", "n2", "n3"):
        assert rows[node][1:4] == ["correct", "8", rows["n1"][3]]
        assert "n4" in rows[node][4]  # every survivor detected the crash
    assert (tmp_path / "faults.jsonl").read_text().count('"crash"') == 1
    assert sorted(p.name for p in tmp_path.glob("n*.jsonl")) == [
        "n1.jsonl", "n2.jsonl", "n3.jsonl", "n4.jsonl"]


@pytest.mark.timeout(90)
def test_demo_without_crash_and_bad_arguments() -> None:
    run = demo("--nodes", "3", "--layer", "rb", "--messages", "4", "--no-crash")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verdict: OK" in run.stdout and "crashed" not in run.stdout
    bad = demo("--crash", "n9")
    assert bad.returncode == 2 and "not one of" in bad.stderr

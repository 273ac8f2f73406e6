"""The README's example program runs and does what the text around it says."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_first_program_runs_and_survivors_agree():
    source = README.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    hello = [line for line in lines if "'hello'" in line]
    after = [line for line in lines if "'after the crash'" in line]
    assert len(hello) == 4, lines  # all four delivered before n1 crashed
    assert sorted(line.split()[0] for line in after) == ["n2", "n3", "n4"]

"""The images of the documentation are what the programs beside them draw.

``docs/images/lost-message.svg`` is written by ``docs/examples/conformance.py`` when it is
given a path. After an intended change, regenerate it with
``NETWEAVE_DOCS_UPDATE=1 pytest tests/docs/test_images.py`` and look at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "docs" / "images" / "lost-message.svg"


def test_the_lost_message_diagram_is_what_the_conformance_example_draws(tmp_path: Path):
    drawn = tmp_path / "lost-message.svg"
    env = {**os.environ, "PYTHONHASHSEED": "0", "NETWEAVE_STRICT": "1"}
    done = subprocess.run([sys.executable, "docs/examples/conformance.py", str(drawn)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if os.environ.get("NETWEAVE_DOCS_UPDATE"):
        IMAGE.write_text(drawn.read_text(encoding="utf-8"), encoding="utf-8")
    assert drawn.read_text(encoding="utf-8") == IMAGE.read_text(encoding="utf-8"), (
        f"{IMAGE.name} is stale; run NETWEAVE_DOCS_UPDATE=1 pytest {__file__}")
    assert IMAGE.name in (ROOT / "docs" / "guide" / "conformance.md").read_text()

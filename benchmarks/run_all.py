"""Run every benchmark and print the figures, then the goals beside them.

    python benchmarks/run_all.py [--quick] [PART ...] [options of netweave bench]

``python3 dev.py bench`` runs this. Same as ``netweave bench``; the results table (with
the exact command of each row) is also written to ``benchmarks/last-results.md`` unless
``--results FILE`` says otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

from netweave.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(a == "--results" or a.startswith("--results=") for a in argv):
        argv += ["--results", str(Path(__file__).resolve().parent / "last-results.md")]
    sys.exit(main(["bench", *argv]))

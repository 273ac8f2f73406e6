"""Run every benchmark and print the figures, then the goals beside them.

    python benchmarks/run_all.py [--quick] [PART ...] [options of netweave bench]

``python3 dev.py bench`` runs this. Same as ``netweave bench``: ``--results FILE``
also writes the final table (markdown, with the exact command of each row) to FILE.
The figures measured on the project's machine are in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import sys

from netweave.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))

"""Failure detection: SIGKILL and SIGSTOP to suspicion, false suspicions on busy cores.

    python benchmarks/bench_fd.py [options of netweave bench]

Same as ``netweave bench fd``; see ``netweave bench --help`` for the options.
"""

from __future__ import annotations

import sys

from netweave.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "fd", *sys.argv[1:]]))

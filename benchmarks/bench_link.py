"""Single link: the raw asyncio baseline and the full netweave stack, in the same run.

    python benchmarks/bench_link.py [options of netweave bench]

Same as ``netweave bench link``; see ``netweave bench --help`` for the options.
"""

from __future__ import annotations

import sys

from netweave.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "link", *sys.argv[1:]]))

"""Helpers shared by the benchmark scripts: a header with the machine and Python."""

from __future__ import annotations

import os
import platform
import sys


def header(title: str, **params: object) -> None:
    """Print what was measured, where, and with which parameters."""
    cpu = platform.processor() or platform.machine()
    print(f"# {title}")
    print(f"# python {sys.version.split()[0]} ({platform.python_implementation()}), "
          f"{os.cpu_count()} cpus, {cpu}, {platform.system()} {platform.release()}")
    if params:
        print("# " + ", ".join(f"{k}={v}" for k, v in params.items()))

"""``netweave plugins``: list the installed plugins."""

from __future__ import annotations

import argparse
import json

from .._registry import Catalog

NAME = "plugins"
HELP = "List installed plugins: what they provide and require, their options."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def run(args: argparse.Namespace) -> int:
    catalog = Catalog.discover()
    infos = [catalog.plugins[name] for name in sorted(catalog.plugins)]
    if args.json:
        print(json.dumps([i.as_dict() for i in infos], indent=2, default=str))
        return 0
    rows = [("PLUGIN", "LAYER", "PROVIDES", "REQUIRES", "DISTRIBUTION", "OPTIONS")]
    for i in infos:
        opts = ", ".join(f"{o['name']}={o['default']}" for o in i.options())
        flag = " (default)" if i.cls.default else ""
        rows.append((i.name + flag, i.cls.layer or "-", ", ".join(i.provides) or "-",
                     ", ".join(i.requires) or "-", f"{i.distribution} {i.version}", opts or "-"))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1])
    return 0

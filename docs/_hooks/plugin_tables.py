"""MkDocs hook: each plugin's declarations and options, read from the installed plugin.

A page writes ``<!-- netweave-plugin: NAME -->`` where the facts of plugin ``NAME``
belong. At build time the marker becomes a table of what the plugin declares (provides,
requires, layer, default, implicit, distribution) and of its options with their defaults
and documentation, taken from the plugin class found through the ``netweave`` entry
points, so the documented defaults are the real ones. A marker naming no installed plugin
is a warning, and ``mkdocs build --strict`` fails on it; ``tests/docs`` checks that every
installed plugin has a marker somewhere.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger("mkdocs.hooks.plugin_tables")

MARKER = re.compile(r"<!--\s*netweave-plugin:\s*([\w\-]+)\s*-->")


def catalog() -> Any:
    """The installed plugins, as ``netweave plugins`` sees them."""
    from netweave import Catalog

    return Catalog.discover(autoload=True)


def _code(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values) if values else "nothing"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(info: Any) -> str:
    """The Markdown table of one plugin (a :class:`netweave.PluginInfo`)."""
    cls = info.cls
    lines = [
        f"| Plugin `{info.name}` | |",
        "|---|---|",
        f"| provides | {_code(info.provides)} |",
        f"| requires | {_code(info.requires)} |",
        f"| layer name | {f'`{cls.layer}`' if cls.layer else 'none'} |",
        f"| default provider | {'yes' if cls.default else 'no'} |",
        f"| added implicitly | {'yes' if cls.implicit else 'no'} |",
        f"| distribution | `{info.distribution}` |",
        f"| class | `{cls.__module__}.{cls.__qualname__}` |",
        "",
    ]
    options = info.options()
    if options:
        lines += ["| Option | Default | Meaning |", "|---|---|---|"]
        for opt in options:
            lines.append(f"| `{opt['name']}` | `{opt['default']!r}` | {_cell(opt['doc'])} |")
    else:
        lines.append("It has no options.")
    lines.append("")
    return "\n".join(lines)


def expand(markdown: str, where: str, plugins: dict[str, Any]) -> tuple[str, list[str]]:
    """Replace the markers of one page; return it and the problems found."""
    problems: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        info = plugins.get(name)
        if info is None:
            problems.append(f"{where}: no installed plugin named {name!r} "
                            f"(installed: {', '.join(sorted(plugins))})")
            return f"`{name}`"
        return render(info)

    return MARKER.sub(sub, markdown), problems


_CACHE: dict[str, Any] = {}


def on_pre_build(config: Any) -> None:
    """MkDocs event: discover the plugins once per build."""
    _CACHE["plugins"] = catalog().plugins


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: expand the plugin markers of a page."""
    if "netweave-plugin:" not in markdown:
        return markdown
    plugins = _CACHE.get("plugins") or catalog().plugins
    out, problems = expand(markdown, page.file.src_uri, plugins)
    for problem in problems:
        log.warning(problem)
    return out

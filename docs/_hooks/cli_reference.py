"""MkDocs hook: the option tables of the CLI reference, generated from the real parser.

``docs/reference/cli.md`` has one hand-written section per command, each holding a marker
``<!-- netweave-cli: COMMAND -->``. At build time the marker becomes the command's usage
line and a table of its arguments, read from :func:`netweave.cli._main.build_parser`, so
an option can never be documented with a wrong name or default. A command of the parser
without a marker (a new command nobody wrote a section for) or a marker naming no command
is a warning, and ``mkdocs build --strict`` fails on it.
"""

from __future__ import annotations

import argparse
import logging
import re
from typing import Any

log = logging.getLogger("mkdocs.hooks.cli_reference")

PAGE = "reference/cli.md"
MARKER = re.compile(r"<!--\s*netweave-cli:\s*([\w\- ]*?)\s*-->")
WIDTH = 72


def _parser() -> argparse.ArgumentParser:
    from netweave.cli._main import build_parser

    return build_parser()


def commands(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.ArgumentParser]:
    """Every command as ``"sub sub2"`` -> its parser; ``""`` is ``netweave`` itself."""
    root = parser or _parser()
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(prefix: str, p: argparse.ArgumentParser) -> None:
        found[prefix] = p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(f"{prefix} {name}".strip(), child)

    walk("", root)
    return found


def options(p: argparse.ArgumentParser) -> list[argparse.Action]:
    """The documented arguments of one parser (help and sub-command lists left out)."""
    return [a for a in p._actions
            if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
            and a.help != argparse.SUPPRESS]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    value = action.default
    if value is None or value is False or value == argparse.SUPPRESS or value == []:
        return ""
    if isinstance(action, argparse._StoreTrueAction):
        return ""
    return f"`{value}`"


def _name(action: argparse.Action) -> str:
    if not action.option_strings:
        shown = action.metavar or action.dest
        return f"`{shown.upper() if isinstance(shown, str) else shown}`"
    takes_value = action.nargs != 0
    metavar = ""
    if takes_value:
        metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return ", ".join(f"`{o} {metavar}`" if metavar else f"`{o}`" for o in action.option_strings)


def render(name: str, p: argparse.ArgumentParser) -> str:
    """The usage line and argument table of one command, as Markdown."""
    p.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=WIDTH)
    usage = p.format_usage().strip().removeprefix("usage: ")
    formatter = argparse.HelpFormatter(p.prog, width=WIDTH)
    lines = ["```text", usage, "```", ""]
    rows = options(p)
    if rows:
        lines += ["| Argument | Default | Meaning |", "|---|---|---|"]
        for action in rows:
            meaning = formatter._expand_help(action) if action.help else ""
            if action.choices and not isinstance(action.choices, dict):
                meaning += " (one of: " + ", ".join(f"`{c}`" for c in action.choices) + ")"
            if isinstance(action, argparse._AppendAction):
                meaning += " Repeatable."
            lines.append(f"| {_cell(_name(action))} | {_cell(_default(action))} "
                         f"| {_cell(meaning)} |")
        lines.append("")
    return "\n".join(lines)


def expand(markdown: str, parser: argparse.ArgumentParser | None = None) -> tuple[str, list[str]]:
    """Replace every marker; return the new page and the problems found."""
    cmds = commands(parser)
    seen: set[str] = set()
    problems: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = " ".join(match.group(1).split())
        if name not in cmds:
            problems.append(f"{PAGE}: marker for unknown command {('netweave ' + name).strip()!r}")
            return ""
        seen.add(name)
        return render(name, cmds[name])

    out = MARKER.sub(sub, markdown)
    for name in cmds:
        if name not in seen:
            problems.append(f"{PAGE}: command {('netweave ' + name).strip()!r} has no section "
                            f"(add '<!-- netweave-cli: {name} -->' under its heading)")
    return out, problems


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: expand the markers of the CLI reference page."""
    if page.file.src_uri != PAGE:
        return markdown
    out, problems = expand(markdown)
    for problem in problems:
        log.warning(problem)
    return out

"""Griffe extension: render the Sphinx roles of netweave's docstrings as API links.

The code's docstrings use reStructuredText roles (``:class:`~netweave.bus.Bus```), which
read well in an editor and in ``help()``. The site renders Markdown, so each role becomes
an optional cross-reference: a link when the target is documented on the site, plain code
otherwise (never a broken link, never a strict-mode warning).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`<>]+)`")
# ``double backticks`` are reStructuredText inline literals; Markdown wants single ones.
_LITERAL = re.compile(r"``([^`]+)``")
# ":raises A, B: text" is fine for Sphinx; griffe's parser wants one type per directive.
_RAISES = re.compile(r"^(\s*):raises\s+([\w.]+)((?:\s*,\s*[\w.]+)+):", re.M)


def _raises(match: re.Match[str]) -> str:
    others = [t.strip() for t in match.group(3).split(",") if t.strip()]
    also = ", ".join(f"`{t}`" for t in others)
    return f"{match.group(1)}:raises {match.group(2)}: (or {also})"


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2).strip()
    shown = target.rsplit(".", 1)[-1] if short else target
    if not target.startswith("netweave"):
        return f"`{shown}`"
    return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'


def _doctests(text: str) -> str:
    """Fence ``>>>`` examples as code (Markdown would read them as nested quotes)."""
    out: list[str] = []
    block: list[str] = []
    for line in [*text.split("\n"), ""]:
        if line.lstrip().startswith(">>>") or (block and line.strip()):
            block.append(re.sub(r"\s*#\s*doctest:.*$", "", line.strip()))
            continue
        if block:
            out += ["```pycon", *block, "```"]
            block = []
        out.append(line)
    return "\n".join(out[:-1])


def _literal_blocks(text: str) -> str:
    """reST's "Text::" introduces an indented code block; Markdown only needs "Text:"."""
    text = re.sub(r"(?m)^[ \t]*::[ \t]*$", "", text)
    return re.sub(r"(?m)(\S)::[ \t]*$", r"\1:", text)


def convert(text: str) -> str:
    """Rewrite the roles and literals of one docstring (exposed for tests)."""
    text = _LITERAL.sub(r"`\1`", _ROLE.sub(_role, _RAISES.sub(_raises, text)))
    text = _literal_blocks(_doctests(text))
    # reST needs "``word``\\ s" to glue a suffix to a literal; Markdown does not.
    return text.replace("`\\ ", "`")


class SphinxRoles(griffe.Extension):
    """Convert roles in every docstring griffe loads."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)

"""MkDocs hook: tables of an attrs options class, read from the class itself.

A page writes ``<!-- netweave-fields: module.Class -->`` (optionally followed by
``without=a,b``) where a table of the class's fields belongs: one row per field with its
default (from :func:`attrs.fields`) and its documentation (the string literal under the
field in the source, read with :mod:`ast`). Used for the ``[links]`` and ``[transport]``
tables of the configuration reference, so a new option or a changed default shows up on
the site by itself. An unknown class is a warning, so ``mkdocs build --strict`` fails.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import re
import textwrap
from typing import Any

import attrs

log = logging.getLogger("mkdocs.hooks.option_tables")

MARKER = re.compile(r"<!--\s*netweave-fields:\s*([\w.]+)(?:\s+without=([\w,]+))?\s*-->")


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each annotated field of ``cls`` in its source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, following in zip(body, [*body[1:], None], strict=True):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _default(field: Any) -> str:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return ""
    return f"`{default!r}`"


def _doc(text: str) -> str:
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    return text.replace("|", "\\|")


def render(cls: type, without: tuple[str, ...] = ()) -> str:
    """The Markdown table of one attrs class."""
    docs = field_docs(cls)
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for f in attrs.fields(cls):
        if f.name in without:
            continue
        lines.append(f"| `{f.name}` | {_default(f)} | {_doc(docs.get(f.name, ''))} |")
    return "\n".join(lines) + "\n"


def resolve(path: str) -> type:
    """Import ``module.Class``."""
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    if not attrs.has(cls):
        raise TypeError(f"{path} is not an attrs class")
    return cls  # type: ignore[no-any-return]


def expand(markdown: str, where: str) -> tuple[str, list[str]]:
    """Replace the markers of one page; return it and the problems found."""
    problems: list[str] = []

    def sub(match: re.Match[str]) -> str:
        try:
            cls = resolve(match.group(1))
        except (ImportError, AttributeError, TypeError, ValueError) as exc:
            problems.append(f"{where}: cannot document {match.group(1)}: {exc}")
            return ""
        without = tuple(w for w in (match.group(2) or "").split(",") if w)
        return render(cls, without)

    return MARKER.sub(sub, markdown), problems


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: expand the field-table markers of a page."""
    if "netweave-fields:" not in markdown:
        return markdown
    out, problems = expand(markdown, page.file.src_uri)
    for problem in problems:
        log.warning(problem)
    return out

"""The site's build hooks turn the code's docstrings and facts into correct Markdown."""

from __future__ import annotations

from .test_coverage import load_hook


def test_sphinx_roles_become_optional_api_links() -> None:
    convert = load_hook("sphinx_roles").convert
    out = convert("Uses :class:`~netweave.bus.Bus` and :func:`netweave.revive`.")
    assert '<autoref identifier="netweave.bus.Bus" optional><code>Bus</code></autoref>' in out
    assert '<autoref identifier="netweave.revive" optional><code>netweave.revive</code>' in out
    assert convert("see :mod:`asyncio`") == "see `asyncio`"
    assert convert("a ``literal``\\ s here") == "a `literal`s here"


def test_multiple_raised_types_keep_one_directive() -> None:
    out = load_hook("sphinx_roles").convert(":raises OSError, ValueError: if unreadable")
    assert out == ":raises OSError: (or `ValueError`) if unreadable"


def test_doctests_are_fenced_and_literal_blocks_kept() -> None:
    out = load_hook("sphinx_roles").convert(
        "Example:\n\n>>> f(1)  # doctest: +SKIP\n2\n\nA file::\n\n    [cluster]\n")
    assert "```pycon\n>>> f(1)\n2\n```" in out
    assert "A file:\n\n    [cluster]" in out


def test_option_tables_show_real_defaults_and_field_docs() -> None:
    hook = load_hook("option_tables")
    table = hook.render(hook.resolve("netweave.link.LinkOptions"))
    assert "| `rto` | `0.2` | First retransmission timeout, seconds. |" in table
    out, problems = hook.expand("<!-- netweave-fields: netweave.link.Nope -->", "p.md")
    assert out == "" and problems


def test_plugin_tables_name_unknown_plugins() -> None:
    hook = load_hook("plugin_tables")
    plugins = hook.catalog().plugins
    out, problems = hook.expand("<!-- netweave-plugin: perfect-fd -->", "p.md", plugins)
    assert problems == [] and "| `timeout` | `2.0` |" in out
    _, problems = hook.expand("<!-- netweave-plugin: no-such-plugin -->", "p.md", plugins)
    assert problems and "no-such-plugin" in problems[0]

"""The TOML writer: what it writes, tomllib reads back as the same value; what it cannot
write is refused with a message saying why."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from netweave import _toml
from netweave.config import ClusterConfig
from netweave.errors import ConfigurationError
from netweave.explore import Choice, Scope
from netweave.explore._file import Counterexample

CONTROL = "".join(map(chr, range(0x20))) + "\x7f"
"""Every character TOML wants escaped in a string, but for the quote and the backslash."""


def read_back(value: Any, *, spaced: bool = False) -> Any:
    return tomllib.loads(f"v = {_toml.value(value, spaced=spaced)}")["v"]


@pytest.mark.parametrize("value", [
    CONTROL,
    'a "quoted" word, a \\ backslash, two \\\\, a \'single\' quote, """ and \'\'\'',
    "é ☃ 😀, a line separator \u2028, NEL \x85, a BOM \ufeff, \U0010ffff",
    "",
    [],
    [[1, [2, []]], ["a", "b"], [True, 1.5, "mixed"]],
    (1, ("two", 3)),
    {},
    {"a": 1, "b c": {"d.e": [1, {"": "empty key"}], "é": True}, "-": "", CONTROL: CONTROL},
    2**63 - 1,
    -(2**63),
    0,
    True,
    False,
    0.1,
    1e-07,
    1e300,
    5e-324,
    math.inf,
    -math.inf,
])
@pytest.mark.parametrize("spaced", [False, True])
def test_values_read_back_equal(value: Any, spaced: bool) -> None:
    def listed(v: Any) -> Any:  # tuples come back as lists
        if isinstance(v, list | tuple):
            return [listed(x) for x in v]
        if isinstance(v, dict):
            return {k: listed(x) for k, x in v.items()}
        return v

    back = read_back(value, spaced=spaced)
    assert back == listed(value)
    assert type(back) is type(listed(value))
    assert "\n" not in _toml.value(value, spaced=spaced)


def test_nan_and_negative_zero_read_back() -> None:
    assert math.isnan(read_back(math.nan))
    zero = read_back(-0.0)
    assert zero == 0.0 and math.copysign(1.0, zero) == -1.0


def test_the_two_looks_of_inline_tables() -> None:
    table = {"a": 1, "b": {"c": 2}, "e": {}}
    assert _toml.value(table) == "{a = 1, b = {c = 2}, e = {}}"
    assert _toml.value(table, spaced=True) == "{ a = 1, b = { c = 2 }, e = {} }"
    assert _toml.value({}, spaced=True) == "{}"


@pytest.mark.parametrize(("key", "written"), [
    ("plain", "plain"),
    ("perfect-fd", "perfect-fd"),
    ("with_9-digits", "with_9-digits"),
    ("-", "-"),
    ("", '""'),
    ("a b", '"a b"'),
    ("a.b", '"a.b"'),
    ("é", '"é"'),
    ("²", '"²"'),  # a digit to str.isalnum, not to TOML
    ("new\nline", '"new\\nline"'),
    ('"', '"\\""'),
    ("\\", '"\\\\"'),
    ("\x7f", '"\\u007f"'),
])
def test_keys_are_bare_when_they_can_be(key: str, written: str) -> None:
    assert _toml.key(key) == written
    assert tomllib.loads(f"{_toml.key(key)} = 1") == {key: 1}


def test_pairs_are_the_lines_of_a_table_in_order() -> None:
    table = {"z": 1, "a b": [1, 2], "m": {"x": "y"}}
    lines = _toml.pairs(table)
    assert lines == ['z = 1', '"a b" = [1, 2]', 'm = {x = "y"}']
    assert tomllib.loads("\n".join(lines)) == table


@pytest.mark.parametrize("text", [CONTROL, "a \udc80 lone surrogate", "tab\tkept", "é ☃"])
def test_a_comment_is_one_line_whatever_it_says(text: str) -> None:
    line = _toml.comment(text)
    assert line.startswith("# ") and "\n" not in line and "\r" not in line
    assert tomllib.loads(f"{line}\nx = 1  {line}\n") == {"x": 1}


def test_comment_escapes() -> None:
    assert _toml.comment("") == "#"
    assert _toml.comment("a\tb\nc\x7f\udc80") == "# a\tb\\x0ac\\x7f\\xdc80"


@pytest.mark.parametrize(("value", "message"), [
    (None, "None: TOML has no type for NoneType values"),
    ([1, None], "None: TOML has no type for NoneType values"),
    (2**63, r"9223372036854775808: TOML holds integers of 64 bits \(-2\*\*63 to 2\*\*63 - 1\)"),
    (-(2**63) - 1, "-9223372036854775809: TOML holds integers of 64 bits"),
    ("a \ud800 b", r"'a \\ud800 b': a lone surrogate cannot be written in TOML"),
    (object(), "TOML has no type for object values"),
    (b"bytes", "b'bytes': TOML has no type for bytes values"),
    ({1: "x"}, "1: a TOML key is a string, not int"),
    ({"\udc80": 1}, "lone surrogate"),
])
def test_what_toml_cannot_hold_is_refused_saying_why(value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _toml.value(value)


def test_a_cluster_file_with_newlines_in_its_strings_reads_back_equal(tmp_path: Path) -> None:
    cfg = ClusterConfig.from_dict({
        "cluster": "lab\nsecond line",
        "members": {"n1": "127.0.0.1:7001", "n2": "127.0.0.1:7002"},
        "plugins": {"perfect-fd": {"timeout": 1.0, "note": "one\ntwo\r\x01\x7f \"q\" \\"},
                    "beb": {}}})
    path = tmp_path / "cluster.toml"
    path.write_text(cfg.to_toml(), encoding="utf-8")
    again = ClusterConfig.from_toml(path)
    assert (again.name, again.members, again.plugins, again.links, again.fill) == (
        cfg.name, cfg.members, cfg.plugins, cfg.links, cfg.fill)


def test_a_cluster_file_keeps_its_look_and_names_what_it_cannot_write() -> None:
    cfg = ClusterConfig.from_dict({
        "members": {"n1": "127.0.0.1:7001"},
        "plugins": {"perfect-fd": {"period": 0.5, "timeout": 2.0}, "urb": {}}})
    text = cfg.to_toml()
    assert "\nperfect-fd = { period = 0.5, timeout = 2.0 }\nurb = {}\n" in text
    bad = ClusterConfig("lab", {"n1": "127.0.0.1:7001"}, (("beb", {"x": None}),))
    with pytest.raises(ConfigurationError, match="cannot write a cluster file: None: TOML"):
        bad.to_toml()


def test_a_counterexample_title_with_a_newline_stays_a_comment() -> None:
    cx = Counterexample("lazy-rb", Scope(nodes=2, messages=1), (Choice("crash", "n1"),),
                        title="first line\nsecond line")
    text = cx.to_toml()
    assert text.startswith("# netweave explore: first line\\x0asecond line\n")
    assert Counterexample.from_toml(tomllib.loads(text)).choices == cx.choices

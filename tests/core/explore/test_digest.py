"""Canonical texts of component states, and the table that finds them again."""

from __future__ import annotations

import copyreg
from typing import Any

import attrs
import msgspec
import pytest
from netweave.explore._digest import Renaming, Texts, canonical


class Plain:
    def __init__(self, a: int, b: set[str]) -> None:
        self.a = a
        self.b = b


class ForgetsACache:
    """Pickles only ``a``: its ``cache`` would be lost in a pickled fingerprint."""

    def __init__(self, a: int, cache: int) -> None:
        self.a = a
        self.cache = cache

    def __getstate__(self) -> dict[str, Any]:
        return {"a": self.a}


@attrs.define
class Window:
    upto: int = 0
    above: set[int] = attrs.field(factory=set)


def test_the_table_gives_what_canonical_writes() -> None:
    texts = Texts()
    values: list[Any] = [
        {"x": [1, 2.5, None, True], "y": frozenset({"n1/1/1", "n2/1/1"})},
        Plain(3, {"n2", "n1"}), Window(2, {5, 4}), ("n3", b"\x01"), Plain(3, {"n1"})]
    for _ in range(2):  # the second time from the table
        for value in values:
            assert texts.canonical(value, {}, None, None) == canonical(value, {})
    assert len(texts.known) == len(values)


def test_a_renaming_has_texts_of_its_own() -> None:
    texts = Texts()
    rename = Renaming({"n1": "n2", "n2": "n1"})
    value = {"delivered": {"n1/1/1"}}
    assert texts.canonical(value, {}, None, None) == "{'delivered':{'n1/1/1'}}"
    assert texts.canonical(value, {}, rename, ("n2", "n1")) == "{'delivered':{'n2/1/1'}}"
    assert texts.canonical(value, {}, None, None) == "{'delivered':{'n1/1/1'}}"


def test_a_class_with_a_pickling_of_its_own_is_written_each_time() -> None:
    # Same pickled form, different state: the table must not take one for the other.
    texts = Texts()
    one, other = ForgetsACache(1, cache=10), ForgetsACache(1, cache=20)
    assert texts.canonical(one, {}, None, None) != texts.canonical(other, {}, None, None)
    assert texts.canonical(other, {}, None, None) == canonical(other, {})
    assert not texts.known


def test_shared_objects_are_written_by_their_names() -> None:
    texts, marker = Texts(), object()
    shared = {id(marker): "component:beb"}
    assert texts.canonical({"lower": marker}, shared, None, None) == "{'lower':<component:beb>}"


@attrs.define
class LossyAttrs:
    """An attrs class that pickles less than its fields."""

    mid: str
    acks: set[str]

    def __reduce__(self) -> tuple[Any, ...]:
        return LossyAttrs, (self.mid, set())


@attrs.define
class AttrsError(Exception):
    """Pickled as an exception is: its constructor's arguments only."""

    n: int


class LossyStruct(msgspec.Struct):
    a: int
    b: int = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return LossyStruct, (self.a,)


class Registered:
    def __init__(self, x: int) -> None:
        self.x = x


copyreg.pickle(Registered, lambda o: (Registered, (0,)))


def changed_error() -> AttrsError:
    error = AttrsError(1)
    error.n = 2  # the constructor's argument no longer says it
    return error


@pytest.mark.parametrize("first, second", [
    (LossyAttrs("n1/1", set()), LossyAttrs("n1/1", {"n2"})),
    (AttrsError(1), changed_error()),
    (LossyStruct(1, 5), LossyStruct(1, 7)),
    (Registered(1), Registered(2)),
], ids=["attrs-reduce", "attrs-exception", "struct-reduce", "copyreg"])
def test_classes_that_pickle_less_than_their_state_are_never_taken_for_another(
        first: Any, second: Any) -> None:
    texts = Texts()
    assert texts.canonical([first], {}, None, None) == canonical([first], {})
    assert texts.canonical([second], {}, None, None) == canonical([second], {})
    assert canonical([first], {}) != canonical([second], {})

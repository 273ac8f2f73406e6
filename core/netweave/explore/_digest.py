"""The canonical text of a component's state, and its hash.

Two states are the same when their canonical texts are equal: containers are written
with their items sorted (a set or a dict has no order of its own), messages and attrs
values as their type and fields, any other object as its class and attributes. A
reference to another component, a context or the node is written as its name, never
followed. With a renaming (symmetry), node ids are renamed *before* sorting, wherever
they appear: as a whole string or as the origin part of a message id (``n1/1/2``).

What has no canonical form (a function that is not a bound method of a component, a
generator, a file) raises :class:`Undigestable` naming where it was found: a component
that keeps one defines ``explore_state()`` returning what identifies its state instead.
"""

from __future__ import annotations

import copyreg
import enum
import hashlib
import io
import pickle
import re
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Mapping
from types import BuiltinMethodType, FunctionType, MethodType
from typing import Any

import attrs
import msgspec

__all__ = ["Renaming", "Texts", "Undigestable", "canonical", "digest_text", "rename_ids"]

_ID = re.compile(r"^([^/]+)(/.*)?$")


class Undigestable(TypeError):
    """A state holds something without a canonical form."""


class Renaming(dict[str, str]):
    """A renaming of node ids that remembers the text it gave each string (a world tries
    the same few renamings on the same strings again and again)."""

    def __init__(self, pairs: Mapping[str, str]) -> None:
        super().__init__(pairs)
        self.texts: dict[str, str] = {}
        """Canonical text (quoted) of each string renamed."""
        self.names: dict[str, str] = {}
        """Each text :meth:`apply` renamed."""

    def apply(self, text: str) -> str:
        """:func:`rename_ids` of ``text``, computed once."""
        renamed = self.names.get(text)
        if renamed is None:
            renamed = self.names[text] = rename_ids(text, self)
        return renamed


def digest_text(text: str) -> str:
    """A short stable hash of a canonical text."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def rename_ids(text: str, rename: Mapping[str, str]) -> str:
    """``text`` with node ids renamed where they stand alone or start a message id."""
    match = _ID.match(text)
    if match is None:
        return text
    head = match.group(1)
    if head in rename:
        return rename[head] + (match.group(2) or "")
    if "," in text:  # a joined list of ids (deliveries)
        return ",".join(rename_ids(part, rename) for part in text.split(","))
    if ":" in text:  # layer:id
        layer, _, rest = text.partition(":")
        return f"{layer}:{rename_ids(rest, rename)}"
    if "#" in text:  # node#incarnation
        node, _, inc = text.partition("#")
        return f"{rename.get(node, node)}#{inc}"
    return text


def canonical(obj: Any, shared: Mapping[int, str], rename: Mapping[str, str] | None = None,
              where: str = "state") -> str:
    """The canonical text of ``obj`` (see the module documentation)."""
    return _canonical(obj, shared, rename, where,
                      rename.texts if isinstance(rename, Renaming) else None)


_Where = str | tuple[Any, Any]
"""Where a value was found: a name, or (where its container was, its key), joined into
text only for an error message."""


def _where(where: _Where) -> str:
    keys: list[str] = []
    while isinstance(where, tuple):
        where, key = where
        keys.append(str(key))
    return ".".join([where, *reversed(keys)])


def _canonical(obj: Any, shared: Mapping[int, str], rename: Mapping[str, str] | None,
               where: _Where, strings: dict[str, str] | None) -> str:
    # The exact built-in types first, in the order a component's state holds them most:
    # none of them can be a shared object (a node, a component, a context, options).
    kind = type(obj)
    if kind is str:
        if strings is None:
            return repr(rename_ids(obj, rename) if rename else obj)
        text = strings.get(obj)
        if text is None:
            text = strings[obj] = repr(rename_ids(obj, rename) if rename else obj)
        return text
    if kind is int or kind is float or kind is bool or obj is None:
        return repr(obj)
    if kind is dict:
        return "{" + ",".join(sorted(
            _canonical(k, shared, rename, where, strings) + ":" + _canonical(
                v, shared, rename, (where, k) if type(k) is str else where, strings)
            for k, v in obj.items())) + "}"
    if kind is set or kind is frozenset:
        return "{" + ",".join(sorted(
            _canonical(x, shared, rename, where, strings) for x in obj)) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join(_canonical(x, shared, rename, where, strings) for x in obj) + "]"
    name = shared.get(id(obj))
    if name is not None:
        return f"<{name}>"
    if isinstance(obj, bool | int | float):
        return repr(obj)
    if isinstance(obj, str):
        return repr(rename_ids(obj, rename) if rename else obj)
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, type):
        return f"<class {obj.__module__}.{obj.__qualname__}>"
    if isinstance(obj, enum.Enum):
        return f"{type(obj).__name__}.{obj.name}"
    if isinstance(obj, list | tuple | deque):
        return "[" + ",".join(_canonical(x, shared, rename, where, strings) for x in obj) + "]"
    if isinstance(obj, set | frozenset):
        return "{" + ",".join(sorted(
            _canonical(x, shared, rename, where, strings) for x in obj)) + "}"
    if isinstance(obj, dict):
        return _canonical(dict(obj), shared, rename, where, strings)
    if isinstance(obj, MethodType):
        owner = shared.get(id(obj.__self__))
        if owner is not None:
            return f"<{owner}.{obj.__func__.__name__}>"
        raise Undigestable(f"{_where(where)} holds the bound method {obj.__qualname__}")
    if isinstance(obj, FunctionType | BuiltinMethodType) or (callable(obj) and not hasattr(
            obj, "__struct_fields__") and not attrs.has(type(obj))):
        raise Undigestable(f"{_where(where)} holds the callable {obj!r}; give the component "
                           "an explore_state() method returning what identifies its state")
    fields = getattr(obj, "__struct_fields__", None)
    if fields is not None:
        items = [(f, getattr(obj, f)) for f in fields]
    elif attrs.has(type(obj)):
        items = [(a.name, getattr(obj, a.name)) for a in attrs.fields(type(obj))]
    else:
        slots = [s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ())]
        values = dict(getattr(obj, "__dict__", {}))
        values.update((s, getattr(obj, s)) for s in slots if hasattr(obj, s))
        if not values and type(obj).__module__ == "builtins":
            raise Undigestable(f"{_where(where)} holds {type(obj).__name__} {obj!r}")
        items = sorted(values.items())
    body = ",".join(f"{k}={_canonical(v, shared, rename, (where, k), strings)}"
                    for k, v in items)
    return f"{type(obj).__name__}({body})"


_STRUCT_REDUCE = msgspec.Struct.__reduce__

_PLAIN: frozenset[type] = frozenset({
    str, int, float, bool, type(None), bytes, tuple, list, dict, set, frozenset, type, deque,
    defaultdict, Counter, OrderedDict})
"""Types whose pickled form holds all that their canonical text says."""


class _NotPlain(Exception):
    pass


def _plain_class(kind: type) -> bool:
    """Whether pickle writes everything a canonical text reads of a ``kind`` instance:
    msgspec structs and enums do, attrs classes pickled the attrs way (their fields) do,
    and so does a class that leaves pickling to ``object`` (its ``__dict__`` and slots),
    unless the class or a base pickles in a way of its own (``__reduce__``,
    ``__reduce_ex__``, ``__getnewargs__``, ``copyreg``), which may leave out what the
    canonical text reads (an exception pickles only its constructor's arguments)."""
    if issubclass(kind, type):
        return True  # a class, written by its module and name both ways
    if any(base in copyreg.dispatch_table for base in kind.__mro__):
        return False
    if hasattr(kind, "__getnewargs_ex__") or hasattr(kind, "__getnewargs__"):
        return False
    reduce: object = kind.__reduce__
    reduce_ex: object = kind.__reduce_ex__
    if hasattr(kind, "__struct_fields__"):
        return reduce is _STRUCT_REDUCE and reduce_ex is object.__reduce_ex__
    if issubclass(kind, enum.Enum):
        return reduce_ex is enum.Enum.__reduce_ex__ and reduce is object.__reduce__
    if reduce is not object.__reduce__ or reduce_ex is not object.__reduce_ex__:
        return False
    getstate = getattr(getattr(kind, "__getstate__", None), "__qualname__", "")
    if getstate == "object.__getstate__":
        return True
    # attrs's own pickling of a slotted class writes every field, which is what the
    # canonical text of an attrs instance reads.
    return attrs.has(kind) and getstate.endswith(
        "_make_getstate_setstate.<locals>.slots_getstate")


def shared_object(key: object) -> Any:  # pragma: no cover - never called
    """What a pickle writes in place of a shared object (a node, a component, a context,
    options): a fingerprint by its name, never unpickled; a snapshot by its id, which its
    unpickler answers with the object itself."""
    raise AssertionError(key)


class _Fingerprinter(pickle.Pickler):
    """Pickles for comparison only. Python is called for objects of other classes than
    the built-in ones (those pickle handles in C before asking)."""

    def __init__(self, buffer: io.BytesIO) -> None:
        super().__init__(buffer, pickle.HIGHEST_PROTOCOL)
        self.shared: Mapping[int, str] = {}
        self.plain: set[type] = set(_PLAIN)

    def reducer_override(self, obj: Any) -> Any:
        name = self.shared.get(id(obj))
        if name is not None:
            return shared_object, (name,)  # as the canonical text names it
        kind = type(obj)
        if kind not in self.plain:
            if not _plain_class(kind):
                raise _NotPlain(kind.__qualname__)
            self.plain.add(kind)
        return NotImplemented


class Texts:
    """Canonical texts of the values met so far, found again by their pickled form.

    Two values that pickle to the same bytes (shared objects written by the name their
    canonical text gives them) have the same canonical text: pickling, in C, costs a
    fraction of writing the text, and the same component states come back again and
    again in a search. A value with something pickle does not write in full (a class
    with a pickling of its own) or cannot write gets its text written each time.
    """

    def __init__(self, limit: int = 1 << 18) -> None:
        self.limit = limit
        self.known: dict[tuple[Any, bytes], str] = {}
        self._buffer = io.BytesIO()
        self._pickler = _Fingerprinter(self._buffer)

    def canonical(self, obj: Any, shared: Mapping[int, str], rename: Mapping[str, str] | None,
                  key: Any, where: str = "state") -> str:
        """:func:`canonical` of ``obj``; ``key`` names ``rename`` among the renamings."""
        buffer, pickler = self._buffer, self._pickler
        buffer.seek(0)
        buffer.truncate()
        pickler.clear_memo()
        pickler.shared = shared
        try:
            pickler.dump(obj)
        except (_NotPlain, pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return canonical(obj, shared, rename, where)
        found = (key, buffer.getvalue())
        text = self.known.get(found)
        if text is None:
            text = canonical(obj, shared, rename, where)
            if len(self.known) >= self.limit:
                self.known.clear()
            self.known[found] = text
        return text

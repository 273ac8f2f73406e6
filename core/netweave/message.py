"""Wire messages: what components send to each other.

A component's messages subclass :class:`Message`, a frozen ``msgspec.Struct`` encoded as
a msgpack map tagged with its class's ``tag`` (default: the class name). Every subclass is
recorded in a process-wide table so a node can turn a decoded map back into the right
class (:func:`revive`), whichever plugin defined it. Two classes with the same tag are an
error at import time, naming both.

Payloads that one layer carries for another (for example reliable broadcast carrying a
causal broadcast's message) are typed ``Any``; a receiver revives them with
:func:`revive`, which leaves application values untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

__all__ = ["TAG_FIELD", "Message", "message_types", "revive"]

TAG_FIELD = "__nw__"
"""The map key that carries a message's tag on the wire. Reserved in application maps."""

_TYPES: dict[str, type[Message]] = {}


if TYPE_CHECKING:
    # Type checkers treat subclasses of a frozen dataclass-like base as errors unless
    # each repeats ``frozen=True``; at run time every message is frozen all the same.
    class Message(msgspec.Struct, tag_field=TAG_FIELD, tag=True):
        """Base class of every component message (a frozen, tagged msgspec struct)."""

        __netweave_message__: ClassVar[bool]

else:

    class Message(msgspec.Struct, frozen=True, tag_field=TAG_FIELD, tag=True):
        """Base class of every component message (a frozen, tagged msgspec struct)."""

        __netweave_message__: ClassVar[bool] = True


def _scan() -> None:
    stack = list(Message.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        known = _TYPES.get(tag)
        if known is not None and known is not cls:
            if known.__module__ == cls.__module__ and known.__qualname__ == cls.__qualname__:
                continue  # the same module imported twice (reloads in notebooks)
            raise TypeError(
                f"message tag {tag!r} of {cls.__module__}.{cls.__qualname__} is already used "
                f"by {known.__module__}.{known.__qualname__}; give one of them tag=..."
            )
        _TYPES[tag] = cls


def message_types() -> dict[str, type[Message]]:
    """All message classes defined so far, by tag."""
    _scan()
    return dict(_TYPES)


def revive(value: Any) -> Any:
    """Turn a decoded tagged map back into its :class:`Message` class; other values pass."""
    if type(value) is dict:
        tag = value.get(TAG_FIELD)
        if tag is not None:
            if type(tag) is not str:
                raise msgspec.ValidationError(f"a message type must be a string, not {tag!r}")
            cls = _TYPES.get(tag)
            if cls is None:
                _scan()
                cls = _TYPES.get(tag)
            if cls is None:
                raise msgspec.ValidationError(f"unknown message type {tag!r}")
            return msgspec.convert(value, cls)
    return value

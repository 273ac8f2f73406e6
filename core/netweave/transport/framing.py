"""Length-prefixed msgpack frames, without I/O.

Theory of operation. A frame is a 4-byte big-endian body length followed by a msgpack
body. :class:`FrameEncoder` appends frames to a ``bytearray`` (the transport writes the
whole buffer at once, so many frames leave in one system call when the node is busy).
:class:`FrameDecoder` is fed whatever bytes arrived and returns the complete bodies; it
checks the announced length against ``max_frame`` as soon as the 4 header bytes are in,
before buffering any of the body, so a peer cannot make the node allocate a huge buffer.

:class:`MessageCodec` turns bodies into messages of a closed set of types (a tagged
union decoded by msgspec): anything else is a :class:`~netweave.errors.RemoteProtocolError`
naming the reason, never a crash. Payloads nested as ``Any`` stay plain maps here; the
perfect links revive them with :func:`netweave.message.revive`. Nothing here unpickles.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, Generic, TypeVar, Union

import msgspec

from ..errors import RemoteProtocolError
from ..message import TAG_FIELD, Message

__all__ = [
    "DEFAULT_MAX_FRAME",
    "HEADER",
    "FrameDecoder",
    "FrameEncoder",
    "FrameError",
    "MessageCodec",
]

HEADER = 4
"""Bytes of the length prefix."""
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
"""Largest body accepted by default (16 MiB)."""

M = TypeVar("M", bound=Message)
_unpack_from = struct.Struct(">I").unpack_from
pack_length_into = struct.Struct(">I").pack_into
"""Write a frame's length prefix at an offset of a buffer (the transport's hot path)."""


class FrameError(RemoteProtocolError):
    """The peer sent bytes that are not a valid frame; ``reason`` is a short counter key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class FrameEncoder:
    """Appends length-prefixed msgpack frames to a buffer."""

    __slots__ = ("_encode_into",)

    def __init__(self) -> None:
        self._encode_into = msgspec.msgpack.Encoder().encode_into

    def append(self, buf: bytearray, message: Any) -> int:
        """Encode ``message`` as one frame at the end of ``buf``; returns the body size."""
        start = len(buf)
        self._encode_into(message, buf, start + HEADER)
        size = len(buf) - start - HEADER
        pack_length_into(buf, start, size)
        return size

    def frame(self, message: Any) -> bytes:
        """One frame as bytes (handshakes and tests)."""
        buf = bytearray()
        self.append(buf, message)
        return bytes(buf)


class FrameDecoder:
    """Splits a byte stream into frame bodies, refusing oversized frames early."""

    __slots__ = ("_buf", "_need", "frames", "max_frame")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._need = -1  # body length of the frame in progress, -1 while reading a header
        self.frames = 0
        """Complete frames decoded so far (the transport watches it to spot a trickle)."""

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held right now (its header included)."""
        return len(self._buf) + (HEADER if self._need >= 0 else 0)

    def feed(self, data: bytes | bytearray | memoryview, most: int = 0) -> list[memoryview]:
        """Add ``data``; return the bodies of the frames it completed, in order.

        The bodies are views into the bytes received (decode them before the next call).
        ``most``: return at most that many (0: all); the rest waits for the next call, and
        is checked against ``max_frame`` as it is then (a handshake reads its frames one
        by one, under its own limit, and what follows it under the connection's).

        :raises FrameError: ``frame-too-large`` when a header announces more than
            ``max_frame`` bytes, ``empty-frame`` for a zero length.
        """
        need = self._need
        if self._buf:
            self._buf += data
            if need >= 0 and len(self._buf) < need:
                return []  # a large frame still arriving: no copy per read
            data = bytes(self._buf)
        view = memoryview(data)
        end = len(view)
        out: list[memoryview] = []
        append = out.append
        pos = 0
        if need >= 0:  # the body of a frame whose header came earlier
            if end < need:
                self._buf = bytearray(data)
                return out
            append(view[:need])
            pos = need
            need = -1
        max_frame = self.max_frame
        unpack = _unpack_from
        while end - pos >= HEADER:
            if most and len(out) >= most:
                break
            size = unpack(data, pos)[0]
            if not 0 < size <= max_frame:
                self._buf = bytearray()
                self._need = -1
                if size:
                    raise FrameError("frame-too-large",
                                     f"frame of {size} bytes > max {max_frame}")
                raise FrameError("empty-frame", "frame of 0 bytes")
            start = pos + HEADER
            stop = start + size
            if stop > end:
                need = size
                pos = start
                break
            append(view[start:stop])
            pos = stop
        self._need = need
        self._buf = bytearray(view[pos:]) if pos < end else bytearray()
        self.frames += len(out)
        return out


class MessageCodec(Generic[M]):
    """Decodes frame bodies into one of a closed set of message classes."""

    def __init__(self, types: Iterable[type[M]]) -> None:
        self.types = tuple(types)
        union: Any = Union[self.types] if len(self.types) > 1 else self.types[0]  # noqa: UP007
        self._decode = msgspec.msgpack.Decoder(union).decode
        self._tags = {t.__struct_config__.tag for t in self.types}

    def decode(self, body: bytes | memoryview) -> M:
        """Decode one body.

        :raises FrameError: ``unknown-type`` for a well-formed map with another tag,
            ``malformed`` for anything else msgspec refuses.
        """
        try:
            return self._decode(body)  # type: ignore[no-any-return]
        except msgspec.ValidationError as exc:
            text = str(exc)
            if text.startswith("Invalid value") and text.endswith(f"`$.{TAG_FIELD}`"):
                raise FrameError("unknown-type", text) from None
            raise FrameError("malformed", text) from None
        except msgspec.DecodeError as exc:
            raise FrameError("malformed", str(exc)) from None
        except RecursionError:
            raise FrameError("malformed", "nested too deeply") from None

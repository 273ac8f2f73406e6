"""Transports: length-prefixed msgpack frames and an authenticated handshake (sans-I/O),
and the asyncio TCP transport that carries the perfect links between real processes."""

from __future__ import annotations

from .framing import DEFAULT_MAX_FRAME, FrameDecoder, FrameEncoder, FrameError, MessageCodec
from .handshake import PROTOCOL_VERSION, Handshake, HandshakeError, Hello, Ping, Proof, Refuse
from .options import Security, TransportOptions

__all__ = [
    "DEFAULT_MAX_FRAME",
    "PROTOCOL_VERSION",
    "FrameDecoder",
    "FrameEncoder",
    "FrameError",
    "Handshake",
    "HandshakeError",
    "Hello",
    "MessageCodec",
    "Ping",
    "Proof",
    "Refuse",
    "Security",
    "TransportOptions",
]

"""Frames and the message codec: round trips, early refusal of huge frames, garbage."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netweave.link import LinkAck, LinkData, LinkHello
from netweave.message import Message
from netweave.transport import FrameDecoder, FrameEncoder, FrameError, MessageCodec, Ping
from netweave.transport._connection import _HANDSHAKE_CODEC, _LINK_CODEC

enc = FrameEncoder()
CODEC: MessageCodec[Message] = MessageCodec([LinkData, LinkAck, LinkHello, Ping])


class Stranger(Message, tag="test.stranger"):
    x: int


def test_round_trip_many_frames_in_one_buffer() -> None:
    msgs = [LinkData(1, 2, i, {"k": [i, "v"]}) for i in range(1, 50)] + [LinkAck(1, 2, 7, (9,))]
    buf = bytearray()
    for m in msgs:
        enc.append(buf, m)
    dec = FrameDecoder()
    bodies = dec.feed(buf)
    assert [CODEC.decode(b) for b in bodies] == msgs
    assert dec.frames == len(msgs) and dec.buffered == 0


def test_byte_by_byte_feeding_yields_the_same_frames() -> None:
    msgs = [LinkHello(3, 0), LinkData(3, 4, 1, "x" * 300), Ping()]
    data = b"".join(enc.frame(m) for m in msgs)
    dec = FrameDecoder()
    out = []
    for i in range(len(data)):
        out.extend(dec.feed(data[i:i + 1]))
    assert [CODEC.decode(b) for b in out] == msgs


def test_oversized_length_is_refused_from_the_header_alone() -> None:
    dec = FrameDecoder(max_frame=1000)
    with pytest.raises(FrameError) as err:
        dec.feed((1001).to_bytes(4, "big"))  # no body byte sent yet
    assert err.value.reason == "frame-too-large"
    assert dec.buffered == 0


def test_frame_at_the_limit_is_accepted() -> None:
    body = msgspec.msgpack.encode(LinkData(1, 1, 1, "y" * 100))
    dec = FrameDecoder(max_frame=len(body))
    assert dec.feed(len(body).to_bytes(4, "big") + body) == [body]


def test_frames_taken_one_at_a_time_are_checked_against_the_limit_of_their_turn() -> None:
    # The handshake reads its frames one by one under a small limit, then raises the limit:
    # a large frame that came in the same chunk is judged under the new one.
    small, large = LinkHello(1, 0), LinkData(1, 2, 1, "z" * 5000)
    data = enc.frame(small) + enc.frame(large) + enc.frame(small)
    dec = FrameDecoder(max_frame=4096)
    first = dec.feed(data, 1)
    assert [CODEC.decode(b) for b in first] == [small]
    dec.max_frame = 65536
    assert [CODEC.decode(b) for b in dec.feed(b"")] == [large, small]
    again = FrameDecoder(max_frame=4096)
    again.feed(data, 1)
    with pytest.raises(FrameError) as err:  # the limit left as it was
        again.feed(b"")
    assert err.value.reason == "frame-too-large"


def test_empty_frame_is_refused() -> None:
    with pytest.raises(FrameError) as err:
        FrameDecoder().feed(b"\0\0\0\0")
    assert err.value.reason == "empty-frame"


def test_unknown_type_and_malformed_bodies_have_distinct_reasons() -> None:
    with pytest.raises(FrameError) as err:
        CODEC.decode(msgspec.msgpack.encode(Stranger(1)))
    assert err.value.reason == "unknown-type"
    for body in (b"\xc1", msgspec.msgpack.encode([1, 2]), msgspec.msgpack.encode({"inc": 1}),
                 msgspec.msgpack.encode({"__nw__": "link.hello", "inc": "one", "dst": 0})):
        with pytest.raises(FrameError) as err:
            CODEC.decode(body)
        assert err.value.reason == "malformed"


def test_handshake_messages_are_not_link_messages_and_vice_versa() -> None:
    from netweave.transport import Hello

    hello = msgspec.msgpack.encode(Hello("c", "n1", 1, 1, b"x" * 32))
    with pytest.raises(FrameError):
        _LINK_CODEC.decode(hello)
    with pytest.raises(FrameError):
        _HANDSHAKE_CODEC.decode(msgspec.msgpack.encode(LinkHello(1, 0)))


def test_deeply_nested_payload_is_malformed_not_a_crash() -> None:
    head = msgspec.msgpack.encode({"__nw__": "link.data", "inc": 1, "dst": 1, "seq": 1})
    body = bytes([head[0] + 1]) + head[1:] + b"\xa4body" + b"\x91" * 100_000 + b"\x01"
    with pytest.raises(FrameError) as err:
        CODEC.decode(body)
    assert err.value.reason == "malformed"


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(1, 64))
def test_random_bytes_never_escape_as_anything_but_frame_errors(data: bytes, chunk: int) -> None:
    dec = FrameDecoder(max_frame=256)
    try:
        for i in range(0, len(data), chunk):
            for body in dec.feed(data[i:i + chunk]):
                for codec in (CODEC, _HANDSHAKE_CODEC):
                    try:
                        codec.decode(body)
                    except FrameError as exc:
                        assert exc.reason in {"unknown-type", "malformed"}
    except FrameError as exc:
        assert exc.reason in {"frame-too-large", "empty-frame"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 2**31),
                          st.integers(1, 2**40), st.text(max_size=40)), min_size=1, max_size=20),
       st.lists(st.integers(1, 50), min_size=1, max_size=30))
def test_valid_streams_split_anywhere_decode_identically(
        fields: list[tuple[int, int, int, str]], cuts: list[int]) -> None:
    msgs = [LinkData(a, b, s, t) for a, b, s, t in fields]
    data = b"".join(enc.frame(m) for m in msgs)
    dec = FrameDecoder()
    out: list[bytes] = []
    pos = 0
    for c in cuts * (len(data) // sum(cuts) + 1):
        out.extend(dec.feed(data[pos:pos + c]))
        pos += c
        if pos >= len(data):
            break
    assert [CODEC.decode(b) for b in out] == msgs


def test_a_large_frame_in_many_reads_and_the_partial_frame_size() -> None:
    big = LinkData(1, 1, 1, "z" * 200_000)
    data = enc.frame(big)
    dec = FrameDecoder()
    assert dec.feed(data[:4]) == [] and dec.buffered == 4  # a header alone is a partial frame
    out = []
    for i in range(4, len(data), 4096):
        out.extend(dec.feed(data[i:i + 4096]))
    assert [CODEC.decode(b) for b in out] == [big] and dec.buffered == 0

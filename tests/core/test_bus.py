"""The bus: typed, FIFO, run-to-completion, deterministic."""

from __future__ import annotations

import attrs
import pytest
from netweave import Bus, HandlerError


@attrs.frozen
class A:
    n: int


@attrs.frozen
class B:
    n: int


def test_dispatch_by_type_in_subscription_order():
    bus, seen = Bus(), []
    bus.subscribe(A, lambda e: seen.append(("first", e.n)))
    bus.subscribe(A, lambda e: seen.append(("second", e.n)))
    bus.subscribe(B, lambda e: seen.append(("b", e.n)))
    bus.publish(A(1))
    bus.publish(B(2))
    assert seen == [("first", 1), ("second", 1), ("b", 2)]


def test_events_published_in_a_handler_are_queued_not_reentrant():
    bus, seen = Bus(), []

    def on_a(e: A) -> None:
        seen.append(f"a{e.n} begin")
        bus.publish(B(e.n))
        seen.append(f"a{e.n} end")

    bus.subscribe(A, on_a)
    bus.subscribe(A, lambda e: seen.append(f"a{e.n} second"))
    bus.subscribe(B, lambda e: seen.append(f"b{e.n}"))
    bus.publish(A(1))
    assert seen == ["a1 begin", "a1 end", "a1 second", "b1"]


def test_messages_and_explicit_keys():
    bus, seen = Bus(), []
    bus.subscribe(("msg", A), lambda sender, m: seen.append((sender, m.n)))
    bus.subscribe(("deliver", A), lambda mid, origin, m: seen.append((mid, origin)))
    bus.publish_message("n2", A(5))
    bus.publish_to(("deliver", A), ("n1/1/1", "n1", A(0)))
    bus.publish(A(9))  # plain event key: nobody listens
    assert seen == [("n2", 5), ("n1/1/1", "n1")]


def test_call_soon_runs_after_queued_events():
    bus, seen = Bus(), []

    def on_a(e: A) -> None:
        bus.call_soon(seen.append, "call")
        bus.publish(B(1))

    bus.subscribe(A, on_a)
    bus.subscribe(B, lambda e: seen.append("b"))
    bus.publish(A(0))
    assert seen == ["call", "b"]


def test_unsubscribe():
    bus, seen = Bus(), []
    handler = seen.append
    bus.subscribe(A, handler)
    bus.unsubscribe(A, handler)
    bus.unsubscribe(B, handler)
    bus.publish(A(1))
    assert seen == [] and not bus.has_subscribers(A)


def test_failing_handler_without_error_hook_raises_and_clears_queue():
    bus = Bus()

    def boom(e: A) -> None:
        bus.publish(B(1))
        raise ValueError("bad")

    bus.subscribe(A, boom)
    with pytest.raises(HandlerError, match="boom"):
        bus.publish(A(1))
    seen = []
    bus.subscribe(B, seen.append)
    bus.publish(B(2))
    assert seen == [B(2)]


def test_error_hook_keeps_other_handlers_running():
    errors, seen = [], []
    bus = Bus(on_error=lambda exc, key, args: errors.append(type(exc)))
    bus.subscribe(A, lambda e: 1 / 0)
    bus.subscribe(A, lambda e: seen.append(e.n))
    bus.publish(A(1))
    bus.publish(A(2))
    assert errors == [ZeroDivisionError, ZeroDivisionError]
    assert seen == [1, 2]


@pytest.mark.parametrize("fan_out", [1, 3])
def test_a_long_drain_keeps_fifo_order_and_survives_a_failing_handler(fan_out):
    # Thousands of events queued from handlers (a chain, or a burst three wide), one of
    # them failing: every event is dispatched once, in the order it was published.
    errors, seen = [], []
    bus = Bus(on_error=lambda exc, key, args: errors.append(args[0].n))
    counter = iter(range(1, 10**6))

    def on_a(event):
        seen.append(event.n)
        if len(seen) < 3000:
            for _ in range(fan_out):
                bus.publish(A(next(counter)))
        if event.n == 1500:
            raise ValueError("bad event")

    bus.subscribe(A, on_a)
    bus.publish(A(0))
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert seen[:5] == [0, 1, 2, 3, 4] and len(seen) >= 3000 - 1
    assert errors == [1500]
    bus.publish(A(-1))  # the queue is empty and the bus idle again
    assert seen[-1] == -1

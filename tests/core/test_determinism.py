"""Determinism checks: a failing seed, and a sampled fraction of the passing ones, run
twice; two runs that write different traces are a failure of their own.

The planted component below reads randomness the seed does not fix: a module-level
``random.Random()`` created without a seed. It delivers and relays like eager reliable
broadcast, so it satisfies every property; only running a seed twice shows that its
runs cannot be replayed.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import attrs
import pytest
from netweave import Catalog, upon
from netweave.cli import main
from netweave.testing import (
    DETERMINISM,
    SAME_TRACE,
    check_conformance,
    rechecked,
    trace_digest,
)
from netweave_broadcast.beb import BestEffortBroadcast
from netweave_broadcast.eager_rb import EagerRbData, EagerReliableBroadcast

_UNSEEDED = random.Random()  # no seed: what a plugin must never draw from


@attrs.frozen
class _Relay:
    message_id: str
    msg: EagerRbData


class UnseededJitterRb(EagerReliableBroadcast):
    """Eager reliable broadcast that waits a moment, drawn from an unseeded source,
    before each send."""

    name = "planted-unseeded-jitter-rb"
    default = False

    def _beb(self, message_id: str, msg: EagerRbData) -> None:
        self.ctx.set_timer(_UNSEEDED.uniform(0.0, 0.005), _Relay(message_id, msg))

    @upon(_Relay)
    def on_relay(self, ev: _Relay) -> None:
        super()._beb(ev.message_id, ev.msg)


class BebClaimingRb(BestEffortBroadcast):
    name = "determinism-mutant-beb-as-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"
    default = False
    implicit = False


def test_the_planted_component_passes_every_property_once() -> None:
    assert check_conformance(UnseededJitterRb, range(30)).ok


def test_rechecking_catches_the_unseeded_randomness() -> None:
    catalog = Catalog.discover(extra=[UnseededJitterRb])
    result = check_conformance(UnseededJitterRb.name, range(100), catalog=catalog,
                               recheck=0.25)
    failure = result.failure
    assert failure is not None
    # The first seed of the sample: rechecking is drawn from the seed, not from chance.
    assert failure.seed == next(s for s in range(100) if rechecked(s, 0.25))
    assert (failure.spec, failure.property) == (DETERMINISM, SAME_TRACE)
    assert failure.plugin == UnseededJitterRb.name and failure.layer == "rb"
    first, second = failure.digests
    assert first != second and len(first) == len(second) == 16
    text = str(failure)
    assert f"digests: {first} (first run), {second} (second run)" in text
    assert f"digests {first} and {second}" in failure.violation.message
    assert failure.violation.lines, "the lines where the two runs part"


def test_a_deterministic_plugin_passes_its_rechecks() -> None:
    result = check_conformance("eager-rb", range(40), recheck=1.0)
    assert result.ok and result.rechecked == 40
    sampled = check_conformance("eager-rb", range(200), recheck=0.1)
    assert sampled.rechecked == sum(rechecked(s, 0.1) for s in range(200))
    assert 5 < sampled.rechecked < 40


def test_every_failing_seed_is_run_twice() -> None:
    result = check_conformance(BebClaimingRb, range(150), keep_going=True)
    assert result.failures and result.rechecked == len(result.failures)
    assert all(f.spec != DETERMINISM for f in result.failures)


def test_the_digest_is_of_the_trace_lines() -> None:
    from netweave.testing import replay

    a = replay("eager-rb", 3).trace
    assert trace_digest(a) == trace_digest(replay("eager-rb", 3).trace)
    assert trace_digest(a) != trace_digest(a[:-1])


def test_the_command_reports_both_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    ref = f"{Path(__file__).stem}:UnseededJitterRb"
    assert main(["conform", ref, "--seeds", "40", "--jobs", "1", "--no-view"]) == 0
    capsys.readouterr()
    assert main(["conform", ref, "--seeds", "40", "--jobs", "1", "--no-view",
                 "--recheck", "1", "--shrink", "small.toml"]) == 1
    out = capsys.readouterr().out
    assert f"{DETERMINISM} {SAME_TRACE!r} violated" in out
    assert "  digests: " in out and "(second run)" in out
    assert "--recheck 1" in out and "not shrunk" in out
    assert not (tmp_path / "small.toml").exists()
    with pytest.raises(SystemExit) as usage:
        main(["conform", ref, "--recheck", "2"])
    assert usage.value.code == 2
    assert "a fraction from 0 to 1" in capsys.readouterr().err
    sys.modules.pop(Path(__file__).stem, None)

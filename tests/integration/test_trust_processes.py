"""Attacks by a cluster member, with every node its own ``netweave node`` process on
loopback TCP: what the cluster secret, per-node keys and signed origins each stop.

Forgery of relayed messages (eager-rb, and all-ack-urb over perfect-fd). n1, n2, n3 are
``netweave node`` processes; n4 is ``tests/trust_actor.py``, a member built from the same
cluster file with only its own credentials, plus a component that relays messages
through best-effort broadcast. Once n3 has really broadcast ``real-0``, n4 relays three
messages naming n3 as their origin with n3's next three numbers: one unsigned, one signed
with n4's own key, one carrying the signature n3 made for ``real-0`` (taken from the copy
every member relays). Then n3 broadcasts ``real-1..3`` and n1, n2 a message each.
Without signed origins, the documented limit: every node delivers the forgeries as n3's
and drops n3's real ones as duplicates, and the checker names it: *no creation* (each
forgery, at each of the four processes) and *validity* (n3's three real broadcasts),
nothing else. With signed origins, nobody delivers a forgery; each good node drops the
three, counts them by reason (``unsigned``, twice ``bad-signature``) in the ``stats`` line
and logs each at WARNING; n3's real messages are delivered everywhere, once; the traces,
n4's included, pass the checker.

Impersonation, over lazy-rb and perfect-fd. The detector is there on purpose: a real n3
locked out of its peers for longer than the detector's timeout would be declared crashed
(or declare them crashed), and the process declared so is fenced and starts a new
incarnation. The checker allows such a fence, so the tests also require that nobody was
fenced and that what was broadcast during the attack reached all three.
n1, n2, n3 run; the impostor is another ``netweave node --id n3`` process, started from a
second cluster file identical but for n3's address (a free port): it holds what a member
holds and claims n3 with a fresh, higher incarnation for a few seconds while everyone
broadcasts, then stops. With the shared secret only, it is let in. Each time a second live
connection claims n3, the peer logs "two connections claim to be n3" and closes both
(counted). The real n3 is never locked out: what anyone broadcasts during and after the
attack reaches all three, nobody is fenced, and the traces pass the checker. With a
keyring, the impostor's own keyring gives n3 n4's public key and its private key is n4's
(it holds only n4's credentials): every handshake is refused with ``bad-signature``
(logged, counted in ``stats``), it never gets a connection, and the real n3's connections
are never closed or replaced.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netweave import Catalog
from netweave.check import Report, check_trace
from netweave.cli import main as netweave
from netweave.cli._launch import LocalCluster, NodeProcess, free_ports
from netweave.config import ClusterConfig
from netweave.trace import read_trace

pytestmark = pytest.mark.slow

needs_keys = pytest.mark.skipif(importlib.util.find_spec("cryptography") is None,
                                reason="per-node keys need the 'secure' extra")

IDS = ["n1", "n2", "n3", "n4"]
GOOD = ["n1", "n2", "n3"]
FD = {"period": 0.25, "timeout": 1.5, "start_grace": 5.0}
STACKS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "eager-rb": ("rb", {"eager-rb": {}}),
    "all-ack-urb": ("urb", {"perfect-fd": dict(FD), "all-ack-urb": {}}),
    "lazy-rb": ("rb", {"perfect-fd": dict(FD), "lazy-rb": {}}),
}
"""The stack of each layer tested, and the short name it broadcasts and delivers on."""
ACTOR = Path(__file__).parents[1] / "trust_actor.py"
ATTACK = 3.0
"""Seconds the impostor runs."""


def installed(plugin: str) -> bool:
    return plugin in Catalog.discover().plugins


def cluster_data(members: dict[str, str], plugin: str,
                 security: dict[str, Any]) -> dict[str, Any]:
    return {"cluster": "trust", "members": members, "plugins": STACKS[plugin][1],
            "fill": "defaults", "links": {"rto": 0.05, "max_rto": 0.5},
            "security": security}


def security(base: Path, *, keys: bool, signed: bool = False) -> dict[str, Any]:
    """The cluster secret, and with ``keys`` per-node keys written by ``netweave keys``."""
    (base / "secret").write_text("integration-secret-0123456789\n")
    out: dict[str, Any] = {"secret_file": "secret"}
    if keys:
        assert netweave(["keys", "--out", str(base / "keys"), *IDS]) == 0
        out |= {"keyring": "keys/keyring.toml", "private_key": "keys/{id}.key"}
    if signed:
        out["signed_origins"] = True
    return out


def addresses() -> dict[str, str]:
    return {i: f"127.0.0.1:{p}" for i, p in zip(IDS, free_ports(len(IDS)), strict=True)}


def lines(proc: NodeProcess, needle: str) -> list[str]:
    return [line for line in proc.log() if needle in line]


def said(proc: NodeProcess, prefix: str) -> list[str]:
    return [line for line in proc.log() if line.startswith(prefix)]


def stats_line(proc: NodeProcess) -> dict[str, Any]:
    """The last ``stats`` line the process printed (at exit, or asked for)."""
    found = said(proc, "stats ")
    assert found, proc.log()
    result: dict[str, Any] = json.loads(found[-1].removeprefix("stats "))
    return result


def ask_stats(cluster: LocalCluster, node_id: str) -> dict[str, Any]:
    """Ask a running node for its counters (the ``stats`` command) and wait for them."""
    proc = cluster.nodes[node_id]
    before = len(said(proc, "stats "))
    assert proc.send("stats")
    assert cluster.wait_until(lambda: len(said(proc, "stats ")) > before, 10), proc.log()
    return stats_line(proc)


def incarnation(proc: NodeProcess) -> int:
    """The incarnation a process announced in its ``ready`` line."""
    ready = next(x for x in proc.log() if x.startswith("ready "))
    return int(ready.split(" incarnation ")[1].split()[0])


def payloads(proc: NodeProcess, layer: str) -> list[str]:
    return [d["payload"] for d in proc.delivered(layer)]


def once_each(proc: NodeProcess, layer: str) -> None:
    """The process delivered no message twice (per incarnation: a fenced process that
    starts a new one in the same OS process delivers afresh)."""
    seen: dict[int, list[str]] = {}
    for d in proc.delivered(layer):
        seen.setdefault(d["incarnation"], []).append(d["id"])
    for inc, ids in seen.items():
        assert len(ids) == len(set(ids)), (proc.node_id, inc, ids)


def stop_cleanly(cluster: LocalCluster) -> None:
    codes = cluster.stop()
    assert all(code == 0 for code in codes.values()), codes
    for proc in cluster.history:
        assert not lines(proc, "Traceback"), proc.log()


def judged(run_dir: Path) -> Report:
    report = check_trace(run_dir, examples=100)
    assert not report.unchecked, report.unchecked
    return report


# -- forgery --------------------------------------------------------------------------


@contextlib.contextmanager
def forger(cluster: LocalCluster, plugin: str) -> Iterator[NodeProcess]:
    """n4 as ``tests/trust_actor.py``; ended by closing its standard input, killed (by
    PID) if it outlives the test."""
    run = cluster.run_dir
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = NodeProcess("n4", [sys.executable, str(ACTOR), "--config",
                              str(cluster.config_path), "--id", "n4", "--layer", plugin,
                              "--victim", "n3", "--trace-dir", str(run), "--state-dir",
                              str(run / "state")], env)
    try:
        deadline = time.monotonic() + 20
        while not proc.ready.wait(0.05) and proc.alive and time.monotonic() < deadline:
            pass
        assert proc.ready.is_set(), proc.last_words()
        yield proc
    finally:
        if proc.alive:
            proc.signal(signal.SIGKILL)
        proc.wait(5)


def end(proc: NodeProcess) -> int | None:
    """Close the process's standard input (the forger's cue to leave) and wait."""
    assert proc.proc.stdin is not None
    proc.proc.stdin.close()
    return proc.wait(10)


def forge(tmp_path: Path, plugin: str, signed: bool) -> dict[str, Any]:
    """Run the forgery scenario; returns what each process delivered and printed."""
    layer = STACKS[plugin][0]
    config = ClusterConfig.from_dict(cluster_data(
        addresses(), plugin, security(tmp_path, keys=signed, signed=signed)), base=tmp_path)
    run = tmp_path / "run"
    with LocalCluster(run, config) as cluster:
        cluster.start(GOOD)
        n3 = cluster.nodes["n3"]
        with forger(cluster, plugin) as n4:
            assert cluster.wait_until(lambda: bool(said(n4, "connected ")), 20), n4.log()
            assert n3.broadcast(layer, "real-0")
            assert cluster.wait_until(lambda: bool(said(n4, "forged ")), 20), n4.log()
            # Until each good node has refused the three (signed) or taken them as n3's.
            # These waits assert nothing: the tests judge what was delivered and logged.
            if signed:
                cluster.wait_until(lambda: all(len(lines(cluster.nodes[i], "claiming origin"))
                                               >= 3 for i in GOOD), 10)
            else:
                cluster.wait_until(lambda: all({"forged-1", "forged-2", "forged-3"} <= set(
                    payloads(cluster.nodes[i], layer)) for i in GOOD), 10)
            for k in (1, 2, 3):
                assert n3.broadcast(layer, f"real-{k}")
            for i in ("n1", "n2"):
                assert cluster.nodes[i].broadcast(layer, f"{i}-after")
            expected = {"n1-after", "n2-after"} | (
                {"real-1", "real-2", "real-3"} if signed else set())
            cluster.wait_until(lambda: all(expected <= set(payloads(cluster.nodes[i], layer))
                                           for i in GOOD), 15)
            if not signed:
                time.sleep(1.0)  # n3's real ones had the time to arrive, as n1's and n2's did
            assert end(n4) == 0, n4.last_words()
        stop_cleanly(cluster)
        return {"delivered": {i: cluster.nodes[i].delivered(layer) for i in GOOD},
                "forged": said(n4, "forged ")[0].split()[1:],
                "n3": incarnation(n3), "layer": layer,
                "logs": {i: cluster.nodes[i].log() for i in GOOD},
                "stats": {i: stats_line(cluster.nodes[i]) for i in GOOD},
                "report": judged(run),
                "broadcast": [r["id"] for r in read_trace(run / "n3.jsonl")
                              if r["ev"] == "broadcast" and r.get("layer") == layer]}


@pytest.fixture(params=["eager-rb", "all-ack-urb"])
def plugin(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if not installed(name):
        pytest.skip(f"the {name!r} plugin is not installed")
    return name


@pytest.mark.timeout(60)
def test_without_signed_origins_a_member_speaks_for_another(tmp_path: Path,
                                                           plugin: str) -> None:
    got = forge(tmp_path, plugin, signed=False)
    forged = [f"n3/{got['n3']}/{900 + k}" for k in (1, 2, 3)]
    assert got["forged"] == [f"{i}:unsigned" for i in forged]  # no key to sign with
    for node in GOOD:
        delivered = {(d["id"], d["origin"], d["payload"]) for d in got["delivered"][node]}
        # the documented limit: the forgeries are n3's, and n3's real ones duplicates
        assert {(i, "n3", f"forged-{k}") for i, k in zip(forged, (1, 2, 3), strict=True)} \
            <= delivered, (node, delivered)
        assert {p for _, _, p in delivered if p.startswith("real-")} == {"real-0"}, delivered
        assert {"n1-after", "n2-after"} <= {p for _, _, p in delivered}
        assert not [x for x in got["logs"][node] if "claiming origin" in x]  # nothing checks
        assert "origins" not in got["stats"][node]
    report: Report = got["report"]
    violated = {(r.layer, r.name): r for r in report.violated}
    layer = got["layer"]
    assert set(violated) == {(layer, "no creation"), (layer, "validity")}, report.format()
    # no creation: each forgery, at each of the four processes (n4 delivers them too)
    created = [v.message for v in violated[layer, "no creation"].examples]
    assert len(created) == violated[layer, "no creation"].violations == 12, created
    for node in IDS:
        for i in forged:
            assert sum(1 for m in created if m.startswith(f"{node}#") and
                       f" delivered {i} from n3, which no process broadcast" in m) == 1, (
                node, i, created)
    # validity: n3 is correct and its real-1..3 were never delivered, not even by itself
    real = got["broadcast"][1:]
    assert len(real) == 3
    lost = [v.message for v in violated[layer, "validity"].examples]
    assert sorted(lost) == sorted(f"correct n3#{got['n3']} broadcast {i} and never "
                                  "delivered it" for i in real), lost


@needs_keys
@pytest.mark.timeout(60)
def test_with_signed_origins_no_forgery_is_delivered_and_n3_is_heard(tmp_path: Path,
                                                                    plugin: str) -> None:
    got = forge(tmp_path, plugin, signed=True)
    forged = [f"n3/{got['n3']}/{900 + k}" for k in (1, 2, 3)]
    assert got["forged"] == [f"{forged[0]}:unsigned", f"{forged[1]}:signed",
                             f"{forged[2]}:signed"]
    data = "EagerRbData" if plugin == "eager-rb" else "UrbData"
    for node in GOOD:
        delivered = got["delivered"][node]
        assert not [d for d in delivered if d["payload"].startswith("forged-")], delivered
        real = sorted((d["origin"], d["payload"]) for d in delivered
                      if d["payload"].startswith("real-"))
        assert real == [("n3", f"real-{k}") for k in range(4)], (node, delivered)
        ids = [d["id"] for d in delivered]
        assert len(ids) == len(set(ids)), (node, ids)  # each once
        assert {"n1-after", "n2-after"} <= {d["payload"] for d in delivered}
        # each forgery dropped, logged and counted by its reason
        for i, reason in zip(forged, ("unsigned", "bad-signature", "bad-signature"),
                             strict=True):
            pattern = (rf"WARNING netweave\.origins: {node}: dropped {data} '{re.escape(i)}' "
                       rf"claiming origin n3: {reason} \(\d+ so far\)$")
            assert sum(1 for x in got["logs"][node] if re.search(pattern, x)) == 1, (
                node, i, got["logs"][node])
        assert got["stats"][node]["origins"]["dropped"] == {"unsigned": 1,
                                                            "bad-signature": 2}, node
    report: Report = got["report"]
    assert report.ok, report.format()
    assert report.processes == 4  # n4's trace is judged too


# -- impersonation --------------------------------------------------------------------


def impostor_config(tmp_path: Path, members: dict[str, str], sec: dict[str, Any],
                    keys: bool) -> ClusterConfig:
    """The cluster file of a second ``--id n3``: the same but for n3's address, and with
    a keyring, its own keyring where n3's key is n4's, and n4's private key."""
    members = dict(members, n3=f"127.0.0.1:{free_ports(1)[0]}")
    if keys:
        ring = tomllib.loads((tmp_path / "keys" / "keyring.toml").read_text())["keys"]
        ring["n3"] = ring["n4"]
        (tmp_path / "impostor-keys").mkdir()
        (tmp_path / "impostor-keys" / "keyring.toml").write_text(
            "[keys]\n" + "".join(f'{i} = "{key}"\n' for i, key in ring.items()))
        sec = dict(sec, keyring="impostor-keys/keyring.toml", private_key="keys/n4.key")
    return ClusterConfig.from_dict(cluster_data(members, "lazy-rb", sec), base=tmp_path)


def impersonate(tmp_path: Path, keys: bool) -> dict[str, Any]:
    """Run the impersonation scenario; returns what the processes printed."""
    members = addresses()
    sec = security(tmp_path, keys=keys)
    config = ClusterConfig.from_dict(cluster_data(members, "lazy-rb", sec), base=tmp_path)
    fake = impostor_config(tmp_path, members, sec, keys)
    run = tmp_path / "run"
    with LocalCluster(run, config) as cluster, \
            LocalCluster(tmp_path / "impostor", fake) as impostor:
        cluster.start(GOOD)
        nodes = [cluster.nodes[i] for i in GOOD]
        sent = {f"{i}-before" for i in GOOD}
        for i in GOOD:
            assert cluster.nodes[i].broadcast("rb", f"{i}-before")
        assert cluster.wait_until(lambda: all(sent <= set(payloads(p, "rb"))
                                              for p in nodes), 15)
        before = {i: ask_stats(cluster, i) for i in GOOD}
        impostor.start(["n3"])
        began = time.monotonic()
        k = 0
        while time.monotonic() - began < ATTACK:
            for i in GOOD:
                assert cluster.nodes[i].broadcast("rb", f"{i}-during-{k}")
            k += 1
            time.sleep(0.2)
        during = {i: ask_stats(cluster, i) for i in GOOD}
        assert impostor.stop() == {"n3": 0}
        after = {f"{i}-after" for i in GOOD}
        for i in GOOD:
            assert cluster.nodes[i].broadcast("rb", f"{i}-after")
        assert cluster.wait_until(lambda: all(after <= set(payloads(p, "rb"))
                                              for p in nodes), 15), {
            i: payloads(cluster.nodes[i], "rb") for i in GOOD}
        for proc in nodes:
            once_each(proc, "rb")
        stop_cleanly(cluster)
        # n3 kept talking with its peers while the impostor ran: what each good node
        # broadcast then reached the other two (a locked-out n3 would miss n1's and n2's,
        # and be declared crashed or declare them crashed)
        attack = {f"{i}-during-{j}" for i in GOOD for j in range(k)}
        for proc in nodes:
            assert attack <= set(payloads(proc, "rb")), (proc.node_id, sorted(
                attack - set(payloads(proc, "rb"))))
            assert stats_line(proc)["fenced"] == 0, proc.log()
        fake_n3 = impostor.nodes["n3"]
        return {"real": incarnation(cluster.nodes["n3"]), "claimed": incarnation(fake_n3),
                "before": before, "during": during,
                "logs": {i: cluster.nodes[i].log() for i in GOOD},
                "impostor": stats_line(fake_n3), "impostor_log": fake_n3.log(),
                "report": judged(run)}


@pytest.fixture
def lazy_rb() -> None:
    if not installed("lazy-rb"):
        pytest.skip("the 'lazy-rb' plugin is not installed")


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("lazy_rb")
def test_shared_secret_an_impostor_process_never_locks_the_real_n3_out(
        tmp_path: Path) -> None:
    got = impersonate(tmp_path, keys=False)
    assert got["claimed"] > got["real"]  # a fresh process claiming n3, newer than it
    assert got["impostor"]["transport"]["established"] >= 1  # the secret let it in
    for node in ("n1", "n2"):
        warned = [x for x in got["logs"][node]
                  if re.search(rf"WARNING netweave\.transport: {node}: two connections "
                               r"claim to be n3: ", x)]
        assert warned, got["logs"][node]
        assert any(f"incarnation {got['claimed']} at" in x for x in warned), warned
        new = got["during"][node]["transport"]
        old = got["before"][node]["transport"]
        assert new["conflicts"] - old["conflicts"] >= 1
        # both connections of each conflict closed and counted
        closed = new["closed"].get("identity-conflict", 0) - old["closed"].get(
            "identity-conflict", 0)
        assert closed == 2 * (new["conflicts"] - old["conflicts"]), (old, new)
    report: Report = got["report"]
    assert report.ok, report.format()


@needs_keys
@pytest.mark.timeout(60)
@pytest.mark.usefixtures("lazy_rb")
def test_keyring_an_impostor_process_is_refused_at_the_handshake(tmp_path: Path) -> None:
    got = impersonate(tmp_path, keys=True)
    assert got["claimed"] > got["real"]
    fake = got["impostor"]["transport"]
    assert fake["established"] == 0, fake  # never one connection
    assert set(fake["closed"]) == {"refused-by-peer"}, fake
    assert any("refused-by-peer: bad-signature" in x for x in got["impostor_log"])
    refused = 0
    for node in GOOD:
        old, new = (got[when][node]["transport"] for when in ("before", "during"))
        # n3's connections were never closed, replaced or doubted
        assert new["established"] == old["established"], (node, old, new)
        assert new["conflicts"] == old["conflicts"] == 0
        changed = {r: n - old["closed"].get(r, 0) for r, n in new["closed"].items()
                   if n != old["closed"].get(r, 0)}
        refused += changed.pop("bad-signature", 0)
        assert not changed, (node, changed)
        assert not [x for x in got["logs"][node] if "two connections claim" in x]
        assert got["during"][node]["fenced"] == 0
    for node in ("n1", "n2"):
        assert [x for x in got["logs"][node] if re.search(
            rf"WARNING netweave\.transport: {node}: closed connection .*: bad-signature "
            r"\(bad-signature: the proof is not signed by n3's key\)", x)], got["logs"][node]
    assert refused >= 2
    report: Report = got["report"]
    assert report.ok, report.format()

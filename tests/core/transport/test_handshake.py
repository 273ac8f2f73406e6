"""The sans-I/O handshake: pairs of in-memory peers, accepted and refused."""

from __future__ import annotations

from typing import Any

import pytest
from netweave.message import Message
from netweave.transport import Handshake, HandshakeError, Hello, Proof, Refuse
from netweave.transport.handshake import PROTOCOL_VERSION, proof_mac

MEMBERS = frozenset({"n1", "n2", "n3"})
SECRET = b"s" * 32


def pair(**over: Any) -> tuple[Handshake, Handshake]:
    dial_kw = {k[2:]: v for k, v in over.items() if k.startswith("d_")}
    acc_kw = {k[2:]: v for k, v in over.items() if k.startswith("a_")}
    d = Handshake(**{"cluster": "c", "node": "n1", "incarnation": 5, "role": "dial",
                     "members": MEMBERS, "expected": "n2", **dial_kw})
    a = Handshake(**{"cluster": "c", "node": "n2", "incarnation": 7, "role": "accept",
                     "members": MEMBERS, **acc_kw})
    return d, a


def run(d: Handshake, a: Handshake) -> None:
    """Exchange messages until both are quiet (raises what a side raises)."""
    to_a: list[Message] = d.initiate()
    to_d: list[Message] = []
    for _ in range(10):
        if not to_a and not to_d:
            return
        for m in to_a:
            to_d.extend(a.receive(m))
        to_a = []
        for m in to_d:
            to_a.extend(d.receive(m))
        to_d = []


def test_open_cluster_binds_ids_and_incarnations() -> None:
    d, a = pair()
    run(d, a)
    assert d.done and a.done
    assert (d.peer, d.peer_incarnation) == ("n2", 7)
    assert (a.peer, a.peer_incarnation) == ("n1", 5)


def test_shared_secret_challenge_response_succeeds() -> None:
    d, a = pair(d_secret=SECRET, a_secret=SECRET)
    run(d, a)
    assert d.done and a.done


def test_wrong_secret_is_refused_by_the_acceptor() -> None:
    d, a = pair(d_secret=b"x" * 32, a_secret=SECRET)
    with pytest.raises(HandshakeError) as err:
        run(d, a)
    assert err.value.reason == "bad-proof"
    assert not a.done


def test_dialer_proves_first_so_a_stranger_learns_no_mac() -> None:
    _d, a = pair(a_secret=SECRET)
    hello = Hello("c", "n1", PROTOCOL_VERSION, 5, b"n" * 32, "n2")
    replies = a.receive(hello)
    assert [type(m) for m in replies] == [Hello]  # no Proof before the dialer's


def test_a_reflected_proof_is_refused() -> None:
    # An attacker replays the acceptor's own proof back: the prover id is part of the MAC.
    _d, a = pair(a_secret=SECRET)
    nonce = b"n" * 32
    reply = a.receive(Hello("c", "n1", PROTOCOL_VERSION, 5, nonce, "n2"))[0]
    assert isinstance(reply, Hello)
    own = proof_mac(SECRET, prover="n2", verifier="n1", cluster="c", incarnation=7,
                    prover_nonce=reply.nonce, verifier_nonce=nonce)
    with pytest.raises(HandshakeError) as err:
        a.receive(Proof(own))
    assert err.value.reason == "bad-proof"


@pytest.mark.parametrize(("hello", "reason"), [
    (Hello("other", "n1", PROTOCOL_VERSION, 5, b"n" * 32), "wrong-cluster"),
    (Hello("c", "n1", PROTOCOL_VERSION + 1, 5, b"n" * 32), "wrong-version"),
    (Hello("c", "n9", PROTOCOL_VERSION, 5, b"n" * 32), "unknown-node"),
    (Hello("c", "n2", PROTOCOL_VERSION, 5, b"n" * 32), "self-connection"),
    (Hello("c", "n1", PROTOCOL_VERSION, 0, b"n" * 32), "bad-incarnation"),
    (Hello("c", "n1", PROTOCOL_VERSION, 5, b"short"), "bad-nonce"),
    (Hello("c", "n1", PROTOCOL_VERSION, 5, b"n" * 32, "n3"), "wrong-destination"),
])
def test_acceptor_refuses_bad_hellos(hello: Hello, reason: str) -> None:
    _, a = pair()
    with pytest.raises(HandshakeError) as err:
        a.receive(hello)
    assert err.value.reason == reason


def test_dialer_refuses_an_answer_from_another_node() -> None:
    d, _ = pair()
    d.initiate()
    with pytest.raises(HandshakeError) as err:
        d.receive(Hello("c", "n3", PROTOCOL_VERSION, 9, b"n" * 32))
    assert err.value.reason == "unexpected-node"


def test_certificate_must_name_the_claimed_node() -> None:
    _, a = pair(a_certified=frozenset({"n3"}))
    with pytest.raises(HandshakeError) as err:
        a.receive(Hello("c", "n1", PROTOCOL_VERSION, 5, b"n" * 32))
    assert err.value.reason == "certificate-mismatch"
    _, a = pair(a_certified=frozenset({"n1"}))
    assert a.receive(Hello("c", "n1", PROTOCOL_VERSION, 5, b"n" * 32))
    assert a.done


def test_messages_out_of_order_are_refused() -> None:
    _, a = pair(a_secret=SECRET)
    with pytest.raises(HandshakeError) as err:
        a.receive(Proof(b"x" * 32))
    assert err.value.reason == "unexpected-message"
    d, a = pair()
    run(d, a)
    with pytest.raises(HandshakeError):
        a.receive(Hello("c", "n1", PROTOCOL_VERSION, 5, b"n" * 32))


def test_refuse_carries_the_peers_reason() -> None:
    d, _ = pair()
    d.initiate()
    with pytest.raises(HandshakeError) as err:
        d.receive(Refuse("bad-proof"))
    assert err.value.reason == "refused-by-peer" and "bad-proof" in str(err.value)


# -- per-node keys ---------------------------------------------------------------------


def keyrings() -> dict[str, Any]:
    keyring = pytest.importorskip("netweave.keyring")
    pytest.importorskip("cryptography", reason="the keyring needs the 'secure' extra")
    return keyring.seeded_keyrings(sorted(MEMBERS), 3)  # type: ignore[no-any-return]


def test_keyring_proofs_tie_each_side_to_its_node_id() -> None:
    rings = keyrings()
    d, a = pair(d_keyring=rings["n1"], a_keyring=rings["n2"])
    run(d, a)
    assert d.done and a.done and (a.peer, d.peer) == ("n1", "n2")
    # with the shared secret too, both proofs are checked
    d, a = pair(d_keyring=rings["n1"], a_keyring=rings["n2"], d_secret=SECRET, a_secret=SECRET)
    run(d, a)
    assert d.done and a.done


def test_a_member_cannot_claim_another_members_id_with_its_own_key() -> None:
    rings = keyrings()
    # n3 holds a valid key, and the secret, and claims to be n1: its signature is n3's.
    d = Handshake("c", "n1", 5, "dial", MEMBERS, expected="n2", keyring=rings["n3"],
                  secret=SECRET)
    _, a = pair(a_keyring=rings["n2"], a_secret=SECRET)
    with pytest.raises(HandshakeError) as err:
        run(d, a)
    assert err.value.reason == "bad-signature" and not a.done


def test_a_proof_without_signature_is_refused() -> None:
    rings = keyrings()
    _, a = pair(a_keyring=rings["n2"])
    nonce = b"n" * 32
    a.receive(Hello("c", "n1", PROTOCOL_VERSION, 5, nonce, "n2"))
    with pytest.raises(HandshakeError) as err:
        a.receive(Proof(b""))
    assert err.value.reason == "bad-signature"


def test_the_acceptor_signs_only_after_the_dialers_proof() -> None:
    rings = keyrings()
    _, a = pair(a_keyring=rings["n2"])
    replies = a.receive(Hello("c", "n1", PROTOCOL_VERSION, 5, b"n" * 32, "n2"))
    assert [type(m) for m in replies] == [Hello]


def test_a_node_without_a_key_is_refused() -> None:
    rings = keyrings()
    small = type(rings["n2"])({k: v for k, v in rings["n2"].public.items() if k != "n3"})
    _, a = pair(a_keyring=small)
    with pytest.raises(HandshakeError) as err:
        a.receive(Hello("c", "n3", PROTOCOL_VERSION, 5, b"n" * 32))
    assert err.value.reason == "no-key"


def test_an_incarnation_beyond_the_bound_is_refused() -> None:
    # Where identities are not proven, the transport bounds a claimed incarnation (the
    # clock plus incarnation_ahead): a false claim cannot lie far in the future.
    _, a = pair(a_max_incarnation=1_000)
    with pytest.raises(HandshakeError) as err:
        a.receive(Hello("c", "n1", PROTOCOL_VERSION, 1_001, b"n" * 32))
    assert err.value.reason == "bad-incarnation"
    _, a = pair(a_max_incarnation=1_000)
    assert a.receive(Hello("c", "n1", PROTOCOL_VERSION, 1_000, b"n" * 32))

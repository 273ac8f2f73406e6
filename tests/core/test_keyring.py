"""Per-node keys: key formats, keyrings, `netweave keys`, and the cluster file's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="the keyring needs the 'secure' extra")

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from netweave.cli import main as cli
from netweave.config import ClusterConfig
from netweave.errors import ConfigurationError
from netweave.keyring import (
    Keyring,
    format_key,
    generate_private_key,
    parse_public_key,
    public_key_of,
    read_private_key,
    seeded_keyrings,
    write_keys,
)

MEMBERS = ["n1", "n2", "n3"]


def test_sign_and_verify_bind_the_node_and_the_data() -> None:
    rings = seeded_keyrings(MEMBERS, 7)
    sig = rings["n1"].sign(b"hello")
    checker = rings["n2"]
    assert checker.verify("n1", b"hello", sig)
    assert not checker.verify("n2", b"hello", sig)  # another node's key
    assert not checker.verify("n1", b"hellO", sig)  # other data
    assert not checker.verify("n1", b"hello", sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not checker.verify("n9", b"hello", sig)  # nobody's key
    assert not checker.verify("n1", b"hello", b"")
    # the same seed gives the same keys; another seed other keys
    assert seeded_keyrings(MEMBERS, 7)["n3"].public == rings["n3"].public
    assert seeded_keyrings(MEMBERS, 8)["n3"].public != rings["n3"].public


def test_a_private_key_must_match_its_public_key() -> None:
    rings = seeded_keyrings(MEMBERS, 1)
    with pytest.raises(ConfigurationError, match="does not match"):
        Keyring(rings["n1"].public, node="n1", private=generate_private_key())
    with pytest.raises(ConfigurationError, match="no public key for 'n9'"):
        Keyring(rings["n1"].public, node="n9", private=generate_private_key())
    with pytest.raises(ConfigurationError, match="cannot sign"):
        Keyring(rings["n1"].public).sign(b"x")


def test_key_formats_netweave_and_pem(tmp_path: Path) -> None:
    private = generate_private_key()
    public = public_key_of(private)
    assert parse_public_key(format_key(public)) == public
    (tmp_path / "own.key").write_text(format_key(private) + "\n")
    assert read_private_key(tmp_path / "own.key") == private
    # what openssl genpkey -algorithm ed25519 / openssl pkey -pubout write
    key = Ed25519PrivateKey.from_private_bytes(private)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (tmp_path / "own.pem").write_bytes(pem)
    assert read_private_key(tmp_path / "own.pem") == private
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert parse_public_key(pub_pem.decode()) == public
    for bad, why in [("ed25519:@@@", "base64"), ("ed25519:AAAA", "32 bytes"),
                     ("rsa:AAAA", "written")]:
        with pytest.raises(ConfigurationError, match=why):
            parse_public_key(bad, "n1")


def test_write_keys_keeps_existing_private_keys(tmp_path: Path) -> None:
    keyring = write_keys(tmp_path, ["n1", "n2"])
    first = read_private_key(tmp_path / "n1.key")
    assert (tmp_path / "n1.key").stat().st_mode & 0o077 == 0
    write_keys(tmp_path, ["n1", "n2", "n3"])
    assert read_private_key(tmp_path / "n1.key") == first
    text = keyring.read_text()
    assert text.count("ed25519:") == 3 and f'n1 = "{format_key(public_key_of(first))}"' in text


def cluster_file(tmp_path: Path, security: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text('cluster = "c"\n[members]\nn1 = "127.0.0.1:7001"\nn2 = "127.0.0.1:7002"\n'
                    f'[plugins]\nbeb = {{}}\n[security]\n{security}\n')
    return path


def test_the_cluster_file_names_the_keyring_and_each_nodes_key(tmp_path: Path) -> None:
    assert cli(["keys", "--out", str(tmp_path / "keys"), "n1", "n2"]) == 0
    cfg = ClusterConfig.from_toml(cluster_file(
        tmp_path, 'keyring = "keys/keyring.toml"\nprivate_key = "keys/{id}.key"'))
    security = cfg.transport_options("n2").security
    assert security.keyring is not None and security.keyring.node == "n2"
    assert security.proven and security.describe() == "keyring"
    assert not cfg.signed_origins and cfg.node("n1").origins is None
    # the same keys inline, and the secure profile: origins sign with the node's key
    public = cfg.public_keys()
    assert public is not None
    inline = ", ".join(f'{m} = "{format_key(k)}"' for m, k in public.items())
    cfg = ClusterConfig.from_toml(cluster_file(
        tmp_path, f'keys = {{ {inline} }}\nprivate_key = "keys/{{id}}.key"\n'
                  'profile = "secure"'))
    assert cfg.signed_origins
    node = cfg.node("n1")
    assert node.origins is not None and node.origins.node_id == "n1"
    (tmp_path / "again.toml").write_text(cfg.to_toml())
    again = ClusterConfig.from_toml(tmp_path / "again.toml")
    assert again.public_keys() == public and again.signed_origins


def test_a_node_reads_only_its_own_private_key(tmp_path: Path) -> None:
    # Each machine holds its own key: the others' files need not exist.
    write_keys(tmp_path / "keys", ["n1", "n2"])
    (tmp_path / "keys" / "n2.key").unlink()
    cfg = ClusterConfig.from_toml(cluster_file(
        tmp_path, 'keyring = "keys/keyring.toml"\nprivate_key = "keys/{id}.key"'))
    assert cfg.transport_options("n1").security.keyring is not None
    with pytest.raises(ConfigurationError, match=r"n2\.key"):
        cfg.transport_options("n2")


@pytest.mark.parametrize(("security", "message"), [
    ('keyring = "keys/keyring.toml"', "need both"),
    ('private_key = "keys/{id}.key"', "need both"),
    ('keyring = "keys/keyring.toml"\nkeys = {}\nprivate_key = "k"', "not both"),
    ('keyring = "nowhere.toml"\nprivate_key = "keys/{id}.key"', "keyring file not found"),
    ('keys = { n1 = "ed25519:AAAA" }\nprivate_key = "keys/{id}.key"', "no public key for n2"),
    ('profile = "secure"', "needs per-node identities"),
    ('signed_origins = true\nsecret = "0123456789abcdef"', "signed_origins needs"),
    ('profile = "paranoid"', "profile must be one of"),
    ('keyring = "keys/keyring.toml"\nprivate_key = "keys/{id}.key"\nprofile = "secure"\n'
     'signed_origins = false', "secure profile signs origins"),
])
def test_key_mistakes_are_configuration_errors(tmp_path: Path, security: str,
                                              message: str) -> None:
    write_keys(tmp_path / "keys", ["n1", "n2"])
    with pytest.raises(ConfigurationError, match=message):
        ClusterConfig.from_toml(cluster_file(tmp_path, security))


def test_netweave_keys_takes_the_members_of_a_cluster_file(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    path = cluster_file(tmp_path, "")
    assert cli(["keys", "--config", str(path), "--out", str(tmp_path / "k")]) == 0
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == [
        "keyring.toml", "n1.key", "n2.key"]
    assert 'private_key = "' in capsys.readouterr().out
    assert cli(["keys", "--out", str(tmp_path / "k")]) == 2

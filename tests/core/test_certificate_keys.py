"""Signed origins with the keys of mutual TLS: each member's certificate gives its public
key, each node signs with its TLS key, and a certificate that does not prove its member is
refused when the node is built (the forgery replayed over TCP under these keys is in
test_signed_origins)."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from netweave.config import ClusterConfig
from netweave.errors import ConfigurationError
from tls_files import make_ca, make_cert

pytest.importorskip("cryptography", reason="signed origins need the 'secure' extra")

from netweave.certificates import CertificateKeys

IDS = ["n1", "n2", "n3"]
TLS = 'ca = "tls/ca.pem"\ncert = "tls/{id}.pem"\nkey = "tls/{id}.key"\n'


def cluster(tmp_path: Path, security: str, key: tuple[str, ...] | None = None) -> Path:
    tls = tmp_path / "tls"
    if not (tls / "ca.pem").exists():
        make_ca(tls)
        for node_id in IDS:
            make_cert(tls, node_id, **({"key": key} if key else {}))
    path = tmp_path / "cluster.toml"
    members = "".join(f'{i} = "127.0.0.1:{7001 + k}"\n' for k, i in enumerate(IDS))
    path.write_text(f'cluster = "c"\n[members]\n{members}[plugins]\neager-rb = {{}}\n'
                    f"[security]\n{security}\n")
    return path


def keys(tmp_path: Path, node_id: str, **extra: object) -> CertificateKeys:
    tls = tmp_path / "tls"
    return CertificateKeys(node_id, ca=tls / "ca.pem", key=tls / f"{node_id}.key",
                           certificates={m: tls / f"{m}.pem" for m in IDS},
                           **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [None, ("ed25519",), ("rsa:2048",)],
                         ids=["ecdsa-p256", "ed25519", "rsa"])
def test_each_node_signs_with_its_tls_key_and_checks_the_others(
        tmp_path: Path, kind: tuple[str, ...] | None) -> None:
    cfg = ClusterConfig.from_toml(cluster(tmp_path, TLS + "signed_origins = true", kind))
    assert cfg.signed_origins
    n1, n2 = cfg.origin_keys("n1"), cfg.origin_keys("n2")
    assert isinstance(n1, CertificateKeys) and isinstance(n2, CertificateKeys)
    assert n1.members == frozenset(IDS)
    sig = n1.sign(b"data")
    assert n2.verify("n1", b"data", sig) and n1.verify("n1", b"data", sig)
    assert not n2.verify("n2", b"data", sig)  # n1's signature is not n2's
    assert not n2.verify("n1", b"other data", sig)
    assert not n2.verify("n1", b"data", sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not n2.verify("n1", b"data", b"")
    assert not n2.verify("n4", b"data", sig) and "n4" not in n2
    node = cfg.node("n3")
    assert node.origins is not None and isinstance(node.origins.keys, CertificateKeys)


def test_the_secure_profile_takes_mutual_tls_as_per_node_identities(tmp_path: Path) -> None:
    cfg = ClusterConfig.from_toml(cluster(tmp_path, TLS + 'profile = "secure"'))
    assert cfg.signed_origins and isinstance(cfg.origin_keys("n1"), CertificateKeys)
    # without signed origins nothing is read beyond the node's own files
    plain = ClusterConfig.from_toml(cluster(tmp_path, TLS))
    assert plain.origin_keys("n1") is None and plain.node("n1").origins is None


def test_a_single_certificate_file_cannot_name_every_member(tmp_path: Path) -> None:
    security = 'ca = "tls/ca.pem"\ncert = "tls/n1.pem"\nkey = "tls/n1.key"\n'
    with pytest.raises(ConfigurationError, match=r"\[security\].*through \{id\}"):
        ClusterConfig.from_toml(cluster(tmp_path, security + "signed_origins = true"))
    with pytest.raises(ConfigurationError, match=r"needs per-node keys.*or mutual TLS"):
        ClusterConfig.from_toml(cluster(tmp_path, 'ca = "tls/ca.pem"\nsigned_origins = true'))


def test_a_certificate_that_does_not_prove_its_member_is_refused(tmp_path: Path) -> None:
    path = cluster(tmp_path, TLS + "signed_origins = true")
    tls = tmp_path / "tls"
    cfg = ClusterConfig.from_toml(path)
    # issued by another CA
    make_ca(tls, "other")
    saved = (tls / "n2.pem").read_bytes(), (tls / "n2.key").read_bytes()
    make_cert(tls, "n2", ca="other")
    with pytest.raises(ConfigurationError,
                       match=r"signed_origins: certificate of 'n2' .*not issued by the cluster"):
        cfg.origin_keys("n1")
    # the right CA, but naming another node
    shutil.copy(tls / "n3.pem", tls / "n2.pem")
    with pytest.raises(ConfigurationError, match=r"certificate of 'n2' .*names n3, not 'n2'"):
        cfg.origin_keys("n1")
    (tls / "n2.pem").write_bytes(saved[0])
    (tls / "n2.key").write_bytes(saved[1])
    assert isinstance(cfg.origin_keys("n1"), CertificateKeys)
    # this node's key is not the key of its certificate
    with pytest.raises(ConfigurationError, match="not the key of 'n1'"):
        CertificateKeys("n1", ca=tls / "ca.pem", key=tls / "n2.key",
                        certificates={m: tls / f"{m}.pem" for m in IDS})
    # a missing certificate, and a file that is no certificate
    (tls / "n3.pem").rename(tls / "n3.moved")
    with pytest.raises(ConfigurationError, match=r"certificate of 'n3'.*No such file"):
        cfg.origin_keys("n1")
    (tls / "n3.pem").write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"certificate of 'n3' .*not PEM"):
        cfg.origin_keys("n1")


def test_a_certificate_out_of_its_validity_is_refused(tmp_path: Path) -> None:
    cluster(tmp_path, TLS)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    with pytest.raises(ConfigurationError, match=r"certificate of 'n1' .*valid from .*not now"):
        keys(tmp_path, "n2", now=later)
    assert keys(tmp_path, "n2").members == frozenset(IDS)

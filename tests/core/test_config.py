"""Cluster files: parsing, validation errors that name the problem, per-node options."""

from __future__ import annotations

from pathlib import Path

import pytest
from netweave.config import ClusterConfig
from netweave.errors import ConfigurationError

GOOD = """
cluster = "lab"

[members]
n1 = "127.0.0.1:7001"
n2 = "127.0.0.1:7002"

[plugins]
perfect-fd = { period = 0.2, timeout = 1.0 }
beb = {}

[links]
rto = 0.1

[transport]
max_frame = 65536
handshake_timeout = 2.5

[security]
secret_file = "secret.txt"
"""


def write(tmp_path: Path, text: str, name: str = "cluster.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_full_file_parses(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("0123456789abcdef-secret\n")
    cfg = ClusterConfig.from_toml(write(tmp_path, GOOD))
    assert cfg.name == "lab"
    assert cfg.members == {"n1": "127.0.0.1:7001", "n2": "127.0.0.1:7002"}
    assert cfg.plugins == (("perfect-fd", {"period": 0.2, "timeout": 1.0}), ("beb", {}))
    assert cfg.links.rto == 0.1
    opts = cfg.transport_options("n2")
    assert opts.max_frame == 65536 and opts.handshake_timeout == 2.5
    assert opts.security.secret == b"0123456789abcdef-secret"
    node = cfg.node("n1").build()
    assert node.cluster == "lab" and node.peers == ("n2",)
    assert sorted(c.name for c in node.components) == ["beb", "perfect-fd"]


def test_round_trip_through_to_toml(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("0123456789abcdef-secret\n")
    cfg = ClusterConfig.from_toml(write(tmp_path, GOOD))
    again = ClusterConfig.from_toml(write(tmp_path, cfg.to_toml(), "again.toml"))
    assert (again.name, again.members, again.plugins, again.links, again.transport) == (
        cfg.name, cfg.members, cfg.plugins, cfg.links, cfg.transport)
    assert again.transport_options("n1").security.secret == b"0123456789abcdef-secret"


def test_to_toml_paths_hold_from_the_written_file(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A configuration built against a relative base, written into that directory, must
    # still name the same secret file when read back (not base/base/secret.txt).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "secret.txt").write_text("0123456789abcdef-secret\n")
    cfg = ClusterConfig.from_dict({"members": {"n1": "127.0.0.1:7001"}, "plugins": {"beb": {}},
                                   "security": {"secret_file": "secret.txt"}}, base="run")
    again = ClusterConfig.from_toml(write(tmp_path / "run", cfg.to_toml()))
    assert again.transport_options("n1").security.secret == b"0123456789abcdef-secret"


@pytest.mark.parametrize(("text", "needle"), [
    ("[members]\n", "at least one node"),
    ('[members]\nn1 = "nowhere"\n[plugins]\nbeb = {}\n', "not host:port"),
    ('[members]\nn1 = "127.0.0.1:1"\n', "at least one plugin"),
    ('[members]\nn1 = "127.0.0.1:1"\n[plugins]\nbeb = 3\n', "table of options"),
    ('colour = 1\n[members]\nn1 = "127.0.0.1:1"\n[plugins]\nbeb = {}\n', "unknown key"),
    ('[members]\nn1 = "127.0.0.1:1"\n[plugins]\nbeb = {}\n[transport]\nmax_frme = 1\n',
     "max_frme"),
    ('[members]\nn1 = "127.0.0.1:1"\n[plugins]\nbeb = {}\n[transport]\nmax_frame = 0\n',
     "max_frame"),
    ('[members]\nn1 = "127.0.0.1:1"\n[plugins]\nbeb = {}\n[security]\nsecret = "short"\n',
     "16 bytes"),
    ('[members]\nn1 = "127.0.0.1:1"\n[plugins]\nbeb = {}\n[security]\nca = "ca.pem"\n',
     "ca, cert and key"),
    ('[members]\nn1 = "127.0.0.1:1"\n[plugins]\nbeb = {}\n[security]\npassword = "x"\n',
     "password"),
    ("[members\n", "not valid TOML"),
])
def test_mistakes_are_configuration_errors_naming_the_problem(
        tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        ClusterConfig.from_toml(write(tmp_path, text))


def test_unknown_member_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        ClusterConfig.from_toml(tmp_path / "nope.toml")
    cfg = ClusterConfig.from_dict({"members": {"n1": "127.0.0.1:1"}, "plugins": {"beb": {}}})
    with pytest.raises(ConfigurationError, match="not a member"):
        cfg.node("n7")


def test_certificate_paths_are_per_node_and_relative_to_the_file(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    tls.mkdir()
    for name in ("ca.pem", "n1.pem", "n1.key", "n2.pem", "n2.key"):
        (tls / name).write_text("x")
    cfg = ClusterConfig.from_toml(write(tmp_path, (
        '[members]\nn1 = "127.0.0.1:1"\nn2 = "127.0.0.1:2"\n[plugins]\nbeb = {}\n'
        '[security]\nca = "tls/ca.pem"\ncert = "tls/{id}.pem"\nkey = "tls/{id}.key"\n')))
    sec = cfg.transport_options("n2").security
    assert sec.tls and sec.cert == tls / "n2.pem" and sec.key == tls / "n2.key"
    assert sec.describe() == "mtls"


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:", ":7000", "h:²", "h:7a", "h:-1"])
def test_an_address_that_is_not_host_port_is_a_configuration_error(text: str) -> None:
    from netweave.transport.tcp import parse_address

    with pytest.raises(ConfigurationError, match="is not host:port"):
        parse_address(text)
    assert parse_address("[::1]:7001") == ("::1", 7001)

"""``netweave keys``: per-node keys for a cluster, without a certificate authority.

Writes ``DIR/<id>.key`` (an Ed25519 private key, mode 600) for every member and
``DIR/keyring.toml`` (every member's public key). Give each node its own ``.key`` and
every node the keyring; the cluster file names both::

    [security]
    keyring = "keys/keyring.toml"
    private_key = "keys/{id}.key"

A member whose key already exists keeps it, so adding a member re-keys nobody.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from ..errors import ConfigurationError
from ..keyring import write_keys

NAME = "keys"
HELP = "Write an Ed25519 key pair per member and the keyring of their public keys."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID",
                        help="the members (or give --config)")
    parser.add_argument("--config", type=Path, metavar="CLUSTER.toml",
                        help="take the members from this cluster file")
    parser.add_argument("--out", type=Path, default=Path("keys"), metavar="DIR",
                        help="where to write <id>.key and keyring.toml (default: keys)")


def run(args: argparse.Namespace) -> int:
    ids = list(args.ids)
    if args.config is not None:
        try:
            data = tomllib.loads(args.config.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read {args.config}: {exc}") from None
        members = data.get("members")
        if not isinstance(members, dict) or not members:
            raise ConfigurationError(f"{args.config}: no [members] table")
        ids += [m for m in members if m not in ids]
    if not ids:
        raise ConfigurationError("name the members (netweave keys n1 n2 n3) or give --config")
    for node_id in ids:
        if not node_id or "/" in node_id:
            raise ConfigurationError(f"invalid node id {node_id!r}: non-empty, without '/'")
    keyring = write_keys(args.out, ids)
    print(f"wrote {', '.join(str(args.out / f'{i}.key') for i in ids)} and {keyring}")
    print("in the cluster file (paths relative to it):")
    print("[security]")
    print(f'keyring = "{keyring.as_posix()}"')
    print(f'private_key = "{(args.out / "{id}.key").as_posix()}"')
    return 0


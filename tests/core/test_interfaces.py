"""Typed abstractions: ``ctx.component(PORT)`` has the abstraction's interface type, and a
provider without the abstraction's requests is refused when the node is built."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api
from netweave import Catalog, Component, ConfigurationError, Node
from netweave.interfaces import BEST_EFFORT_BROADCAST, PORTS, RELIABLE_BROADCAST

ROOT = Path(__file__).resolve().parents[2]

LAYER = '''
from typing import Any

from netweave import Component
from netweave.interfaces import BEST_EFFORT_BROADCAST, RELIABLE_BROADCAST


class MyLayer(Component):
    name = "my-layer"
    requires = (BEST_EFFORT_BROADCAST,)

    def broadcast(self, message_id: str, payload: Any) -> None:
        beb = self.ctx.component(BEST_EFFORT_BROADCAST)
        beb.broadcast(message_id, payload)
        {extra}
'''


def mypy(tmp_path: Path, extra: str) -> tuple[str, int]:
    path = tmp_path / "my_layer.py"
    path.write_text(textwrap.dedent(LAYER).replace("{extra}", extra))
    out, err, code = mypy_api.run(["--strict", "--no-incremental", "--cache-dir",
                                   str(tmp_path / ".mypy"), str(path)])
    return out + err, code


def test_mypy_accepts_a_layer_that_uses_its_lower_abstraction_as_typed(tmp_path: Path) -> None:
    out, code = mypy(tmp_path, "self.ctx.component(RELIABLE_BROADCAST).forward(payload)")
    assert code == 0, out


def test_mypy_flags_a_request_the_lower_abstraction_does_not_have(tmp_path: Path) -> None:
    out, code = mypy(tmp_path, "beb.forward(payload)")
    assert code == 1
    assert '"Broadcast" has no attribute "forward"' in out, out


def test_a_port_is_its_abstraction_name() -> None:
    assert BEST_EFFORT_BROADCAST == "best-effort-broadcast"
    assert PORTS["reliable-broadcast"] is RELIABLE_BROADCAST
    assert RELIABLE_BROADCAST.requests == ("broadcast",)  # forward() is optional


class NoBroadcast(Component):
    """Says it is a reliable broadcast, but only inherits Component.broadcast."""

    name = "no-broadcast-rb"
    provides = (RELIABLE_BROADCAST,)
    requires = (BEST_EFFORT_BROADCAST,)
    layer = "rb"

    def forward(self, msg: Any) -> None:
        pass


def test_a_provider_without_the_abstractions_requests_is_refused_at_build() -> None:
    node = Node("n1", peers=["n2"], catalog=Catalog.discover(extra=[NoBroadcast]))
    node.use("no-broadcast-rb").use("beb")
    with pytest.raises(ConfigurationError, match=r"'no-broadcast-rb' provides "
                       r"'reliable-broadcast' but has no broadcast\(\)"):
        node.build()


def test_the_standard_plugins_provide_what_their_ports_require() -> None:
    for info in Catalog.discover().plugins.values():
        for name in info.provides:
            port = PORTS.get(name)
            if port is not None:
                for request in port.requests:
                    assert getattr(info.cls, request) is not getattr(Component, request,
                                                                     None), (info.name, request)

"""Tests of the template plugin, with netweave's test kit (``netweave.testing``).

The ``sim_cluster`` and ``conformance`` fixtures come from netweave's pytest plugin,
installed with netweave. ``pytest --netweave-seeds N`` changes how many seeds the
conformance test runs (default 1000).
"""

from __future__ import annotations

from typing import Any

from netweave import Catalog, Node
from netweave.check import History
from netweave_template import TemplateBroadcast, TemplateBroadcastSpec, TemplateData


def test_installed_through_its_entry_point():
    info = Catalog.discover().plugins["template"]
    assert info.cls is TemplateBroadcast and info.distribution == "netweave-template"


def test_options_are_validated():
    node = Node("n1", peers=["n2"]).use("template", warn_on_drop=False).build()
    assert node.component("template").options.warn_on_drop is False


def test_every_node_delivers_a_broadcast(sim_cluster):
    cluster = sim_cluster("template", nodes=3, seed=1)
    mid = cluster.broadcast("n1", "template", "hello")
    cluster.run(duration=1.0)
    delivered = sorted(r["node"] for r in cluster.trace
                       if r["ev"] == "deliver" and r["id"] == mid)
    assert delivered == ["n1", "n2", "n3"]
    assert TemplateBroadcastSpec().holds(History.from_records(cluster.trace))


def test_conforms_to_its_specification(conformance):
    result = conformance.assert_conforms("template")
    assert result.ok and result.specs == ("TemplateBroadcastSpec",)


class ForgetfulBroadcast(TemplateBroadcast):
    """A broken variant: never sends to the last member. The tests must catch it."""

    name = "forgetful-template"

    def broadcast(self, message_id: str, payload: Any) -> None:
        for q in self.ctx.members[:-1]:
            self.ctx.send(q, TemplateData(message_id, payload))


def test_a_broken_variant_is_caught(conformance):
    failure = conformance.assert_violates(ForgetfulBroadcast, seeds=range(100))
    assert failure.property == "validity"

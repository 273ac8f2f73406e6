"""Spec discovery: the specs installed and registered plugins declare through the
``netweave_specs`` hook, and those they claim."""

from __future__ import annotations

import pytest
from netweave import Catalog, Component, PluginError, hookimpl
from netweave.check import Spec, SpecCatalog
from netweave_broadcast.spec import BestEffortBroadcastSpec, ReliableBroadcastSpec
from netweave_fd.spec import EventuallyPerfectFailureDetectorSpec, PerfectFailureDetectorSpec
from trace_lines import Counting as _Counting

# -- discovery through the netweave_specs hook ----------------------------------------------


class _ClaimsRB(Component):
    name = "test-claims-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type[Spec]]:
        return [_Counting]

    @hookimpl
    def netweave_node_built(self, node: object) -> None:
        raise AssertionError("instance hooks must not be called without a node")


class _BadSpecs(Component):
    name = "test-bad-specs"

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[object]:
        return [object]


def test_specs_are_discovered_from_the_static_hooks_of_installed_plugins() -> None:
    specs = SpecCatalog.discover()
    assert specs.for_plugin("beb") == (BestEffortBroadcastSpec,)
    assert specs.for_plugin("perfect-fd") == (PerfectFailureDetectorSpec,)
    assert specs.for_plugin("eventually-perfect-fd") == (EventuallyPerfectFailureDetectorSpec,)
    assert specs.for_layer("fd") == (PerfectFailureDetectorSpec,)  # the default provider
    assert specs.for_plugin("no-such-plugin") == ()


def test_a_registered_plugin_brings_its_specs_and_claims_those_of_what_it_provides() -> None:
    catalog = Catalog.discover(extra=[_ClaimsRB])
    specs = SpecCatalog.discover(catalog, specs=[ReliableBroadcastSpec])
    assert specs.for_plugin("test-claims-rb") == (_Counting, ReliableBroadcastSpec)
    assert specs.for_plugin(_ClaimsRB) == (_Counting, ReliableBroadcastSpec)
    assert _Counting in specs.all()


def test_a_plugin_returning_something_else_than_specs_is_named() -> None:
    with pytest.raises(PluginError, match="test-bad-specs"):
        SpecCatalog.discover(Catalog.discover(extra=[_BadSpecs]))


class _SpecOnly:
    """A plugin object that brings a spec without a component (as a module could)."""

    @hookimpl
    def netweave_specs(self) -> list[type[Spec]]:
        return [_Counting]


def test_specs_from_plain_plugin_objects() -> None:
    specs = SpecCatalog.discover(Catalog(), plugins=[_SpecOnly()])
    assert specs.all() == (_Counting,) and specs.for_layer("t") == (_Counting,)

"""The registry orders plugins by their declarations and fails fast on every mistake."""

from __future__ import annotations

import pytest
from fakes import CycleA, CycleB, FakeBeb, FakeFD, FakeRB, NeedsClock, OtherFD
from netweave import (
    AmbiguousProviderError,
    Catalog,
    DependencyCycleError,
    InvalidOptionError,
    MissingRequirementError,
    Node,
    PluginError,
    UnknownPluginError,
)
from netweave._registry import Selection, plan


def catalog(*classes):
    return Catalog.discover(autoload=False, extra=classes)


def names(planned):
    return [info.name for info, _ in planned]


def test_order_follows_requirements_whatever_the_user_order():
    cat = catalog(FakeFD, FakeBeb, FakeRB)
    for order in (["fake-rb", "fake-fd", "fake-beb"], ["fake-beb", "fake-rb", "fake-fd"]):
        result = names(plan(cat, [Selection(n) for n in order]))
        assert result.index("fake-rb") > result.index("fake-fd")
        assert result.index("fake-rb") > result.index("fake-beb")


def test_order_is_deterministic():
    cat = catalog(FakeFD, FakeBeb, FakeRB)
    first = names(plan(cat, [Selection("fake-rb"), Selection("fake-fd")]))
    for _ in range(5):
        assert names(plan(cat, [Selection("fake-fd"), Selection("fake-rb")])) == first


def test_missing_failure_detector_names_plugin_abstraction_and_providers():
    cat = catalog(FakeFD, OtherFD, FakeBeb, FakeRB)
    with pytest.raises(MissingRequirementError) as info:
        plan(cat, [Selection("fake-rb")])
    msg = str(info.value)
    assert "'fake-rb' requires 'failure-detector'" in msg
    assert "fake-fd" in msg and "other-fd" in msg
    assert info.value.candidates == ("fake-fd", "other-fd")
    # The suggestion fits where the message is shown: Python by default, else as told.
    assert msg.endswith("; add one with .use('fake-fd')")
    assert info.value.suggestion == "fake-fd"
    assert info.value.phrased("add one with --use {name}") == (
        msg.removesuffix(".use('fake-fd')") + "--use fake-fd")


def test_implicit_plugins_fill_requirements_but_detectors_do_not():
    cat = catalog(FakeFD, FakeBeb, FakeRB)
    assert "fake-beb" in names(plan(cat, [Selection("fake-rb"), Selection("fake-fd")]))
    with pytest.raises(MissingRequirementError):
        plan(cat, [Selection("fake-rb"), Selection("fake-fd")], fill="none")
    assert set(names(plan(cat, [Selection("fake-rb")], fill="defaults"))) == {
        "fake-rb", "fake-fd", "fake-beb"}


def test_missing_requirement_with_nothing_installed_suggests_distribution():
    with pytest.raises(MissingRequirementError, match="pip install netweave-clocks") as info:
        plan(catalog(NeedsClock), [Selection("needs-clock")])
    assert info.value.suggestion is None
    assert info.value.phrased("add one with --use {name}") == str(info.value)


def test_cycle_is_reported_with_its_members():
    with pytest.raises(DependencyCycleError, match="cycle-a") as info:
        plan(catalog(CycleA, CycleB), [Selection("cycle-a"), Selection("cycle-b")])
    assert "cycle-b" in str(info.value)


def test_two_providers_of_one_abstraction_are_refused():
    cat = catalog(FakeFD, OtherFD)
    with pytest.raises(AmbiguousProviderError, match="both provide 'failure-detector'"):
        plan(cat, [Selection("fake-fd"), Selection("other-fd")])


def test_abstraction_with_several_providers_and_no_default_is_ambiguous():
    with pytest.raises(AmbiguousProviderError, match="several plugins"):
        catalog(FakeFD, OtherFD).resolve("failure-detector")


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownPluginError, match="did you mean 'fake-fd'"):
        catalog(FakeFD).resolve("fake-dd")


def test_layer_and_abstraction_names_resolve():
    cat = catalog(FakeFD, FakeBeb, FakeRB)
    assert cat.resolve("rb").name == "fake-rb"
    assert cat.resolve("reliable-broadcast").name == "fake-rb"
    assert cat.resolve(FakeFD).name == "fake-fd"


def test_invalid_option_value_and_unknown_option():
    cat = catalog(FakeFD)
    with pytest.raises(InvalidOptionError, match="timeout must be > 0"):
        plan(cat, [Selection("fake-fd", {"timeout": -1})])
    with pytest.raises(InvalidOptionError, match="did you mean 'timeout'"):
        plan(cat, [Selection("fake-fd", {"timeot": 2})])


def test_same_plugin_twice_is_refused():
    with pytest.raises(PluginError, match="selected twice"):
        plan(catalog(FakeFD), [Selection("fake-fd"), Selection("fd")])


def test_duplicate_plugin_names_name_both_classes():
    class Impostor(FakeFD):
        pass

    cat = catalog(FakeFD)
    with pytest.raises(PluginError, match="two plugins are named 'fake-fd'"):
        cat.add(Impostor, distribution="evil")


def test_node_build_fails_before_any_io(monkeypatch):
    import socket

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", no_socket)
    node = Node("n1", peers=["n2"], catalog=catalog(FakeFD, FakeBeb, FakeRB)).use("fake-rb")
    with pytest.raises(MissingRequirementError):
        node.build()


def test_standard_plugins_load_through_entry_points():
    cat = Catalog.discover()
    assert cat.plugins["beb"].distribution == "netweave"
    assert cat.plugins["perfect-fd"].distribution == "netweave"


def test_autoload_can_be_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("NETWEAVE_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "beb" not in Catalog.discover().plugins
    assert "fake-fd" in Catalog.discover(extra=[FakeFD]).plugins


def test_plugin_info_as_dict_lists_options():
    info = catalog(FakeFD).plugins["fake-fd"].as_dict()
    assert info["provides"] == ["failure-detector"]
    assert info["options"] == [{"name": "timeout", "default": 1.0, "doc": "seconds"}]


def test_a_cached_plan_does_not_follow_later_changes_to_the_callers_options():
    cat = catalog(FakeFD)
    options = {"timeout": 3.0}
    (_, first), = plan(cat, [Selection("fake-fd", options)])
    options["timeout"] = 9.0  # the caller reuses its dict; the plan of the old key holds
    (_, again), = plan(cat, [Selection("fake-fd", {"timeout": 3.0})])
    assert first.timeout == again.timeout == 3.0
    (_, other), = plan(cat, [Selection("fake-fd", {"timeout": 9.0})])
    assert other.timeout == 9.0


def test_the_plan_and_catalog_caches_stay_bounded():
    from netweave import _registry
    from netweave.plugin import Component

    cat = catalog(FakeFD)
    for i in range(3 * _registry._MAX_PLANS):  # a sweep over ever new option values
        (_, options), = plan(cat, [Selection("fake-fd", {"timeout": 1.0 + i})])
        assert options.timeout == 1.0 + i
    assert len(cat._plans) == _registry._MAX_PLANS
    (_, first), = plan(cat, [Selection("fake-fd", {"timeout": 1.0})])  # evicted: resolved again
    assert first.timeout == 1.0

    classes = [type(f"Probe{i}", (Component,), {"name": f"probe-{i}"})
               for i in range(2 * _registry._MAX_CATALOGS)]
    for klass in classes:
        assert klass.name in Catalog.discover(autoload=False, extra=[klass]).plugins
    assert len(_registry._DISCOVERED) <= _registry._MAX_CATALOGS

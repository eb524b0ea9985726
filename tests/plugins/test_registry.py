"""The plug-in registry: gongmu's built-ins are entry points like any plug-in's; a name is
looked up without importing anything else; what cannot be used says why and which
package is at fault."""

from __future__ import annotations

import tomllib

import pytest

from tests.helpers import REPO
from tests.plugins.registered import registered
from toolkit import plugins
from toolkit.corpus import sources
from toolkit.plugins import Metric, PluginError, Reader, UnknownPlugin

NOT_A_METRIC = object()


def unnamed_metric(output, reference, item=None):
    return 1.0


WRONG_NAME = Metric("something_else", unnamed_metric)


def test_every_builtin_is_an_entry_point_of_gongmu_itself():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = declared["project"]["entry-points"]
    assert set(entry_points) == set(plugins.GROUPS)
    for group, names in entry_points.items():
        assert set(names) <= set(plugins.names(group)), f"reinstall: {group} is stale"
        for name in names:
            assert plugins.load(group, name).name == name
            assert plugins.plugins_used({group: [name]})[0]["package"] == "gongmu"


def test_builtin_readers_declare_the_globs_and_profiles_recipes_default_to():
    readers = {name: plugins.load(plugins.READERS, name) for name in plugins.names(plugins.READERS)}
    assert {n: r.profile for n, r in readers.items() if r.profile == "legal"}.keys() == {
        "statutes", "rulings", "ordinances"}
    assert readers["jsonl"].options is sources.JsonlOptions
    assert all(isinstance(r, Reader) and r.glob for r in readers.values())


def test_an_unknown_name_suggests_the_nearest_installed_one():
    with pytest.raises(UnknownPlugin, match=r"unknown metric 'chrff'\. Did you mean 'chrf'\?"):
        plugins.load(plugins.METRICS, "chrff")


def test_an_entry_point_must_point_at_a_declaration_of_its_group_with_its_name(tmp_path):
    with registered(tmp_path, {plugins.METRICS: {
            "not_a_metric": f"{__name__}:NOT_A_METRIC",
            "misnamed": f"{__name__}:WRONG_NAME"}}, package="gongmu-sloppy", version="0.2"):
        with pytest.raises(PluginError, match=r"'not_a_metric' from package gongmu-sloppy 0\.2 "
                           r".* is a object, not a toolkit\.plugins\.Metric"):
            plugins.load(plugins.METRICS, "not_a_metric")
        with pytest.raises(PluginError, match=r"declares the name 'something_else'"):
            plugins.load(plugins.METRICS, "misnamed")
        rows = {r["name"]: r for r in plugins.installed()}
        assert rows["misnamed"]["status"].startswith("broken: ")
        assert rows["chrf"]["status"] == "ok"


def test_two_packages_registering_one_name_are_refused_naming_both(tmp_path):
    with registered(tmp_path / "a", {plugins.METRICS: {"chrf": f"{__name__}:WRONG_NAME"}},
                    package="gongmu-rival", version="1.0"):
        with pytest.raises(PluginError, match=r"Two installed packages register the metric "
                           r"'chrf' in gongmu\.metrics: .*Uninstall one of them") as err:
            plugins.load(plugins.METRICS, "chrf")
        assert "package gongmu-rival 1.0" in str(err.value)
        assert "package gongmu 0.1.0" in str(err.value)


def test_a_function_stands_for_a_family_or_builder_without_options(tmp_path):
    with registered(tmp_path, {plugins.FAMILIES: {"echo": f"{__name__}:unnamed_metric"}}):
        family = plugins.load(plugins.FAMILIES, "echo")
        assert family.name == "echo" and family.options is None and family.build is unnamed_metric
        with pytest.raises(ValueError, match="the instruction family 'echo' takes no options"):
            plugins.validate_options(plugins.FAMILIES, "echo", {"x": 1})

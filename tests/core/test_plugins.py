"""Loading plugins: entry points, registration, conflicts, and failures that stay contained."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import pytest

from jobsite import DriverContext, hookimpl
from jobsite.errors import JobsiteError, PluginError
from jobsite.plugins import describe, load_plugins

if TYPE_CHECKING:
    from pathlib import Path


def install_fake_distribution(
    site: Path, dist: str, version: str, module: str, source: str, entry: str | None = None
) -> None:
    """Install a distribution the way pip leaves one: a module and its ``.dist-info`` with
    an ``entry_points.txt``; ``importlib.metadata`` finds it through ``sys.path``."""
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[jobsite]\n{entry or module} = {module}\n")


GOOD = """
    from jobsite import hookimpl

    class Cloud:
        def __init__(self, context):
            self.context = context

    @hookimpl
    def jobsite_register_cpis(register):
        register("good-cloud", Cloud)
"""

BROKEN_IMPORT = """
    import a_dependency_that_is_not_installed  # noqa
"""

BROKEN_REGISTER = """
    def jobsite_register_cpis(register):
        register("half", object)
        raise ValueError("config file missing")
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    install_fake_distribution(site, "jobsite-good", "1.0", "good_plugin", GOOD)
    install_fake_distribution(site, "jobsite-broken", "0.3", "broken_plugin", BROKEN_IMPORT)
    install_fake_distribution(site, "jobsite-half", "2.1", "half_plugin", BROKEN_REGISTER)
    monkeypatch.syspath_prepend(str(site))
    return site


def test_installed_plugins_load_through_entry_points(site: Path) -> None:
    plugins = load_plugins()
    names = {i.name for i in plugins.infos}
    assert {"good_plugin", "mock"} <= names
    good = next(i for i in plugins.infos if i.name == "good_plugin")
    assert (good.distribution, good.version) == ("jobsite-good", "1.0")
    assert good.hooks == ("jobsite_register_cpis",)
    assert plugins.offered_by("good_plugin") == {"cpi": ["good-cloud"]}
    cloud = plugins.registry("cpi").create(DriverContext(name="good-cloud", options={"a": 1}))
    assert cloud.context.options == {"a": 1}


def test_a_plugin_that_fails_to_import_is_reported_and_others_load(site: Path) -> None:
    plugins = load_plugins()
    failure = next(f for f in plugins.failures if f.name == "broken_plugin")
    assert (failure.distribution, failure.version) == ("jobsite-broken", "0.3")
    assert "a_dependency_that_is_not_installed" in failure.error
    assert "JOBSITE_DISABLE_PLUGINS=broken_plugin" in str(failure)
    assert "good-cloud" in plugins.registry("cpi")


def test_a_plugin_whose_registration_raises_registers_nothing(site: Path) -> None:
    plugins = load_plugins()
    failure = next(f for f in plugins.failures if f.name == "half_plugin")
    assert "ValueError: config file missing" in failure.error
    assert "half" not in plugins.registry("cpi")
    assert not plugins.pm.has_plugin("half_plugin")


def test_disabled_plugins_are_not_imported(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBSITE_DISABLE_PLUGINS", "broken_plugin, half_plugin")
    plugins = load_plugins()
    assert plugins.failures == ()
    assert "broken_plugin" not in sys.modules


def test_duplicate_names_are_a_conflict_naming_both() -> None:
    class A:
        @hookimpl
        def jobsite_register_strategies(self, register: Any) -> None:
            register("fast", lambda ctx: "a")
            register("only-a", lambda ctx: "a")

    class B:
        @hookimpl
        def jobsite_register_strategies(self, register: Any) -> None:
            register("fast", lambda ctx: "b")

    plugins = load_plugins(entrypoints=False, plugins=[("a", A()), ("b", B())])
    registry = plugins.registry("strategy")
    with pytest.raises(PluginError, match="registered by both 'a' and 'b'"):
        registry.get("fast")
    assert registry.names() == ["only-a"]
    assert registry.create(DriverContext(name="only-a")) == "a"


def test_unknown_name_lists_the_known_ones() -> None:
    plugins = load_plugins(entrypoints=False)
    with pytest.raises(
        PluginError, match=r"cpi 'aws' is not registered by any plugin \(known: none\)"
    ):
        plugins.registry("cpi").get("aws")


def test_a_factory_that_raises_fails_only_when_selected_and_names_the_plugin() -> None:
    class Flaky:
        @hookimpl
        def jobsite_register_cpis(self, register: Any) -> None:
            def factory(ctx: DriverContext) -> object:
                raise OSError("no credentials")

            register("flaky", factory)

    plugins = load_plugins(entrypoints=False, plugins=[("flaky-plugin", Flaky())])
    assert plugins.failures == ()
    with pytest.raises(
        PluginError,
        match="cpi 'flaky' from plugin 'flaky-plugin' failed to start: OSError: no credentials",
    ):
        plugins.registry("cpi").create(DriverContext(name="flaky"))


def test_jobsite_errors_from_a_factory_pass_through_unchanged() -> None:
    class Strict:
        @hookimpl
        def jobsite_register_cpis(self, register: Any) -> None:
            def factory(ctx: DriverContext) -> object:
                raise JobsiteError("option 'region' is required")

            register("strict", factory)

    plugins = load_plugins(entrypoints=False, plugins=[("strict", Strict())])
    with pytest.raises(JobsiteError, match=r"^option 'region' is required$"):
        plugins.registry("cpi").create(DriverContext(name="strict"))


def test_a_misspelled_hook_is_refused_with_the_known_hooks() -> None:
    class Typo:
        @hookimpl
        def jobsite_register_cpi(self, register: Any) -> None:
            pass

    plugins = load_plugins(entrypoints=False, plugins=[("typo", Typo())])
    (failure,) = plugins.failures
    assert "unknown hook jobsite_register_cpi" in failure.error
    assert "jobsite_register_cpis" in failure.error


def test_unmarked_jobsite_functions_are_hooks_like_pytest() -> None:
    class Plain:
        def jobsite_register_agents(self, register: Any) -> None:
            register("plain", lambda ctx: ctx.name)

        def helper(self) -> None:
            pass

    plugins = load_plugins(entrypoints=False, plugins=[("plain", Plain())])
    assert plugins.registry("agent").create(DriverContext(name="plain")) == "plain"


def test_two_managers_are_independent() -> None:
    class One:
        def jobsite_register_cpis(self, register: Any) -> None:
            register("one", lambda ctx: 1)

    first = load_plugins(entrypoints=False, plugins=[("one", One())])
    second = load_plugins(entrypoints=False)
    assert "one" in first.registry("cpi")
    assert "one" not in second.registry("cpi")


def test_builtins_come_first_and_are_marked() -> None:
    class Core:
        def jobsite_register_strategies(self, register: Any) -> None:
            register("builtin", lambda ctx: 0)

    plugins = load_plugins(entrypoints=False, builtins=[("core", Core())])
    assert plugins.infos[0].builtin
    data = list(describe(plugins))
    assert data[0]["registers"] == {"strategy": ["builtin"]}


def test_cli_lists_installed_plugins_and_reports_the_broken_one(site: Path) -> None:
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "jobsite", "plugins"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "good_plugin: jobsite-good 1.0" in result.stdout
    assert "cpi: good-cloud" in result.stdout
    assert "mock: jobsite-mock" in result.stdout
    assert (
        "FAILED plugin broken_plugin (jobsite-broken 0.3) failed to load: ModuleNotFoundError"
        in result.stderr
    )
    assert "Traceback" not in result.stderr

    as_json = subprocess.run(
        [sys.executable, "-m", "jobsite", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rows = {row["name"]: row for row in json.loads(as_json.stdout)}
    assert rows["good_plugin"]["registers"] == {"cpi": ["good-cloud"]}
    assert "error" in rows["broken_plugin"]

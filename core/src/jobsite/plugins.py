"""Finding, loading and registering plugins; looking up what they offer by name.

There is no global plugin manager and nothing is loaded at import time: :func:`load_plugins`
builds a fresh :class:`Plugins` each time it is called, so an application can run two
directors with different plugins in one process, and tests need no reset tricks.

Loading is forgiving per plugin and strict about conflicts:

- a plugin that fails to import, fails pluggy's validation, or raises in a registration hook
  is recorded as a :class:`PluginFailure` (with its distribution, version, error and how to
  disable it), unregistered, and the others load normally;
- two plugins registering the same name under one kind is a conflict: the name is unusable
  (selecting it raises an error naming both) until one of them is disabled. Nothing is ever
  silently overridden;
- a factory is only called when a config selects its name, so a broken driver fails only then.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

import attrs
import pluggy

from jobsite import hookspecs
from jobsite._hookcall import HookRunner
from jobsite.driver import DriverContext
from jobsite.errors import JobsiteError, PluginError

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "PluginFailure",
    "PluginInfo",
    "Plugins",
    "Registration",
    "Registry",
    "load_plugins",
]

ENTRY_POINT_GROUP = "jobsite"
DISABLE_ENV = "JOBSITE_DISABLE_PLUGINS"

#: Kinds of things plugins register, with the registration hook that offers each.
KINDS: Mapping[str, str] = {
    "cpi": "jobsite_register_cpis",
    "blobstore": "jobsite_register_blobstores",
    "agent": "jobsite_register_agents",
    "strategy": "jobsite_register_strategies",
    "store": "jobsite_register_stores",
    "template_renderer": "jobsite_register_template_renderers",
}

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class PluginInfo:
    """A loaded plugin: where it came from and what it implements."""

    name: str
    """The entry-point name (or the name given to :func:`load_plugins`)."""
    distribution: str | None
    version: str | None
    module: str
    hooks: tuple[str, ...]
    builtin: bool = False


@attrs.frozen(kw_only=True)
class PluginFailure:
    """A plugin that could not be loaded or registered, and how to get rid of it."""

    name: str
    distribution: str | None
    version: str | None
    error: str

    @property
    def label(self) -> str:
        if self.distribution:
            return f"{self.name} ({self.distribution} {self.version})"
        return self.name

    def __str__(self) -> str:
        return (
            f"plugin {self.label} failed to load: {self.error} "
            f"(disable it with {DISABLE_ENV}={self.name})"
        )


@attrs.frozen(kw_only=True)
class Registration:
    """One name offered by one plugin."""

    kind: str
    name: str
    factory: Callable[[DriverContext], Any]
    plugin: str


@attrs.frozen
class Registry(Generic[T]):
    """The names registered for one kind (``cpi``, ``strategy``, ...), with conflicts kept."""

    kind: str
    entries: Mapping[str, Registration]
    conflicts: Mapping[str, tuple[Registration, ...]]

    def names(self) -> list[str]:
        """Usable names, sorted (conflicting names are not usable)."""
        return sorted(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def get(self, name: str) -> Registration:
        """The registration for ``name``, or a :class:`PluginError` that says what exists."""
        if name in self.conflicts:
            owners = " and ".join(repr(r.plugin) for r in self.conflicts[name])
            raise PluginError(
                f"{self.kind} {name!r} is registered by both {owners}; disable one with "
                f"{DISABLE_ENV}"
            )
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise PluginError(
                f"{self.kind} {name!r} is not registered by any plugin (known: {known})"
            ) from None

    def create(self, context: DriverContext) -> T:
        """Build the thing registered under ``context.name``.

        A factory that raises is reported with the plugin that registered it; jobsite's own
        errors (a bad option, say) pass through unchanged, as the factory worded them.
        """
        reg = self.get(context.name)
        try:
            product: T = reg.factory(context)
        except JobsiteError:
            raise
        except Exception as exc:  # a third party's bug: name it, don't crash the CLI
            raise PluginError(
                f"{self.kind} {context.name!r} from plugin {reg.plugin!r} failed to start: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return product


@attrs.frozen(kw_only=True)
class Plugins:
    """One director's plugins: the pluggy manager, what loaded, what failed, what is offered."""

    pm: pluggy.PluginManager
    infos: tuple[PluginInfo, ...]
    failures: tuple[PluginFailure, ...]
    registrations: tuple[Registration, ...]
    hooks: HookRunner

    def registry(self, kind: str) -> Registry[Any]:
        """Every name offered for ``kind``; duplicates become conflicts."""
        if kind not in KINDS:
            raise PluginError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
        entries: dict[str, Registration] = {}
        conflicts: dict[str, list[Registration]] = {}
        for reg in self.registrations:
            if reg.kind != kind:
                continue
            if reg.name in conflicts:
                conflicts[reg.name].append(reg)
            elif reg.name in entries:
                conflicts[reg.name] = [entries.pop(reg.name), reg]
            else:
                entries[reg.name] = reg
        return Registry(kind, entries, {k: tuple(v) for k, v in conflicts.items()})

    def offered_by(self, plugin: str) -> dict[str, list[str]]:
        """What one plugin registers, by kind: ``{"cpi": ["mock"], ...}``."""
        out: dict[str, list[str]] = {}
        for reg in self.registrations:
            if reg.plugin == plugin:
                out.setdefault(reg.kind, []).append(reg.name)
        return out


class _PluginManager(pluggy.PluginManager):
    """Accepts unmarked ``jobsite_*`` functions as hook implementations, as pytest does for
    ``pytest_*``: a plugin module then reads as a plain list of the moments it cares about."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("jobsite_"):
            method = getattr(plugin, name, None)
            if callable(method) and not isinstance(method, type):
                return pluggy.HookimplOpts(
                    wrapper=False,
                    hookwrapper=False,
                    optionalhook=False,
                    tryfirst=False,
                    trylast=False,
                    specname=None,
                )
        return opts


def _disabled_from_env() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def _hook_names(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    callers = pm.get_hookcallers(plugin) or []
    return tuple(sorted(c.name for c in callers))


def _distribution(ep: EntryPoint) -> tuple[str | None, str | None]:
    dist = ep.dist
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _entry_points() -> Iterator[EntryPoint]:
    seen: set[str] = set()
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(ep.name)
        yield ep


def _collect_registrations(
    pm: pluggy.PluginManager, name: str, plugin: object
) -> list[Registration]:
    """Call one plugin's registration hooks; raise if any of them fails."""
    found: list[Registration] = []
    for kind, hook in KINDS.items():
        caller: pluggy.HookCaller = getattr(pm.hook, hook)
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue

            def register(
                reg_name: str,
                factory: Callable[[DriverContext], Any],
                kind: str = kind,
                hook: str = hook,
            ) -> None:
                if not isinstance(reg_name, str) or not reg_name:
                    raise PluginError(f"{hook}: register() needs a non-empty name")
                if not callable(factory):
                    raise PluginError(f"{hook}: the factory for {reg_name!r} is not callable")
                found.append(Registration(kind=kind, name=reg_name, factory=factory, plugin=name))

            args = {"register": register}
            impl.function(**{a: args[a] for a in impl.argnames})
    return found


def load_plugins(
    *,
    entrypoints: bool = True,
    plugins: Sequence[tuple[str, object]] = (),
    builtins: Sequence[tuple[str, object]] | None = None,
    disabled: Collection[str] | None = None,
) -> Plugins:
    """Build a fresh plugin manager and load plugins into it.

    :param entrypoints: load every installed plugin of the entry-point group ``jobsite``.
    :param plugins: extra ``(name, plugin)`` pairs, registered after entry points (for
        applications embedding jobsite, and for tests).
    :param builtins: ``(name, plugin)`` pairs registered first, marked built-in; by default
        jobsite's own (:data:`jobsite._builtins.BUILTINS`: the ``sqlite`` and ``postgres``
        stores). Pass ``()`` for none.
    :param disabled: names not to load; defaults to ``JOBSITE_DISABLE_PLUGINS`` (comma
        separated).
    """
    skip = _disabled_from_env() if disabled is None else set(disabled)
    pm = _PluginManager("jobsite")
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    failures: list[PluginFailure] = []
    registrations: list[Registration] = []

    def add(
        name: str,
        load: Callable[[], object],
        dist: tuple[str | None, str | None],
        builtin: bool,
    ) -> None:
        if name in skip:
            return
        plugin: object | None = None
        try:
            plugin = load()
            if pm.has_plugin(name):
                raise PluginError(f"another plugin is already registered as {name!r}")
            pm.register(plugin, name=name)
            _check_unknown_hooks(pm, plugin)
            found = _collect_registrations(pm, name, plugin)
        except Exception as exc:  # any failure of a third party's code is reported, not raised
            if plugin is not None and pm.is_registered(plugin):
                pm.unregister(plugin)
            failures.append(
                PluginFailure(
                    name=name,
                    distribution=dist[0],
                    version=dist[1],
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
            return
        registrations.extend(found)
        infos.append(
            PluginInfo(
                name=name,
                distribution=dist[0],
                version=dist[1],
                module=getattr(plugin, "__name__", type(plugin).__module__),
                hooks=_hook_names(pm, plugin),
                builtin=builtin,
            )
        )

    if builtins is None:
        from jobsite._builtins import builtin_plugins

        builtins = builtin_plugins()
    for name, plugin in builtins:
        add(name, _constant(plugin), (None, None), True)
    if entrypoints:
        for ep in _entry_points():
            add(ep.name, ep.load, _distribution(ep), False)
    for name, plugin in plugins:
        add(name, _constant(plugin), (None, None), False)

    return Plugins(
        pm=pm,
        infos=tuple(infos),
        failures=tuple(failures),
        registrations=tuple(registrations),
        hooks=HookRunner(pm),
    )


def _constant(plugin: object) -> Callable[[], object]:
    """A loader for a plugin object given directly (not through an entry point)."""
    return lambda: plugin


def _check_unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> None:
    """A ``jobsite_*`` function that matches no hookspec is a typo that would silently never
    run: refuse the plugin and say which hooks exist."""
    unknown = [
        caller.name
        for caller in pm.get_hookcallers(plugin) or []
        if not caller.has_spec() and caller.name.startswith("jobsite_")
    ]
    if unknown:
        known = sorted(n for n in dir(hookspecs) if n.startswith("jobsite_"))
        raise PluginError(
            f"unknown hook {', '.join(sorted(unknown))} (known hooks: {', '.join(known)})"
        )


def describe(plugins: Plugins) -> Iterable[dict[str, Any]]:
    """Plugins as plain data, for ``jobsite plugins --json`` and for tests."""
    for info in plugins.infos:
        yield {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "module": info.module,
            "builtin": info.builtin,
            "hooks": list(info.hooks),
            "registers": plugins.offered_by(info.name),
        }
    for failure in plugins.failures:
        yield {
            "name": failure.name,
            "distribution": failure.distribution,
            "version": failure.version,
            "error": failure.error,
        }

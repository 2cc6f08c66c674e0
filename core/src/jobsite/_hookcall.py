"""Calling hooks whose implementations may be ``async def``.

pluggy is synchronous: calling a hook returns whatever each implementation returned, so an
``async def`` implementation yields an un-awaited coroutine, ``firstresult`` stops at the first
coroutine (never None), and a coroutine created before a later implementation raises is never
awaited. So core does not call async-capable hooks through pluggy's ``__call__``: it walks the
implementations itself, in pluggy's order, awaiting each awaitable result before calling the
next, and combines results in the mode the hook documents (collect, first, notify).

Only public pluggy API is used: ``HookCaller.get_hookimpls()`` and each ``HookImpl``'s
``function``, ``argnames``, ``plugin_name`` and wrapper flags.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO, cast

from jobsite.errors import PluginError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import pluggy

__all__ = ["HookRunner"]

TRACE_ENV = "JOBSITE_TRACE_PLUGINS"


def _trace_stream() -> TextIO | None:
    value = os.environ.get(TRACE_ENV, "")
    return sys.stderr if value not in ("", "0", "false", "no") else None


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class HookRunner:
    """Calls one plugin manager's hooks, awaiting async implementations under anyio.

    The runner holds no state of its own beyond the manager, so it is cheap and one per
    director is enough.
    """

    def __init__(self, pm: pluggy.PluginManager, *, trace: TextIO | None = None) -> None:
        self._pm = pm
        self._trace = trace if trace is not None else _trace_stream()

    def _caller(self, name: str) -> pluggy.HookCaller:
        caller = getattr(self._pm.hook, name, None)
        if caller is None:
            raise PluginError(f"no hook named {name!r} is declared")
        return cast("pluggy.HookCaller", caller)

    def _impls(self, name: str) -> Iterator[pluggy.HookImpl]:
        """Implementations in the order pluggy would call them (tryfirst first, LIFO)."""
        for impl in reversed(self._caller(name).get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                raise PluginError(
                    f"plugin {impl.plugin_name!r} implements {name} as a wrapper; phase hooks "
                    "cannot be wrapped (return an async context manager from "
                    "jobsite_assemble_remodel instead)"
                )
            yield impl

    def _args(self, impl: pluggy.HookImpl, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {arg: kwargs[arg] for arg in impl.argnames}
        except KeyError as exc:
            raise PluginError(
                f"plugin {impl.plugin_name!r} asks for argument {exc.args[0]!r}, which "
                f"{impl.function.__name__} does not receive"
            ) from None

    async def _call_one(self, name: str, impl: pluggy.HookImpl, kwargs: Mapping[str, Any]) -> Any:
        result = impl.function(**self._args(impl, kwargs))
        if inspect.isawaitable(result):
            result = await result
        if self._trace is not None:
            print(
                f"[jobsite] {name} <- {impl.plugin_name}: {_short(result)}",
                file=self._trace,
                flush=True,
            )
        return result

    def _trace_call(self, name: str, kwargs: Mapping[str, Any]) -> None:
        if self._trace is not None:
            args = ", ".join(f"{k}={_short(v, 80)}" for k, v in kwargs.items())
            print(f"[jobsite] {name}({args})", file=self._trace, flush=True)

    async def collect(self, name: str, **kwargs: Any) -> list[Any]:
        """Call every implementation; return the non-None results in call order."""
        self._trace_call(name, kwargs)
        results = []
        for impl in self._impls(name):
            result = await self._call_one(name, impl, kwargs)
            if result is not None:
                results.append(result)
        return results

    async def first(self, name: str, **kwargs: Any) -> Any:
        """Call implementations until one returns non-None; return it (or None)."""
        self._trace_call(name, kwargs)
        for impl in self._impls(name):
            result = await self._call_one(name, impl, kwargs)
            if result is not None:
                return result
        return None

    async def first_named(self, name: str, **kwargs: Any) -> tuple[str, Any] | None:
        """Like :meth:`first`, also naming the plugin whose result won."""
        self._trace_call(name, kwargs)
        for impl in self._impls(name):
            result = await self._call_one(name, impl, kwargs)
            if result is not None:
                return impl.plugin_name, result
        return None

    def implemented(self, name: str) -> bool:
        """Whether any plugin implements hook ``name`` (so a per-item call can be skipped)."""
        return bool(self._caller(name).get_hookimpls())

    async def notify(self, name: str, **kwargs: Any) -> None:
        """Call every implementation for its side effect; results are ignored."""
        self._trace_call(name, kwargs)
        for impl in self._impls(name):
            await self._call_one(name, impl, kwargs)

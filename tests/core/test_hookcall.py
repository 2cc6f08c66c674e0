"""The async hook dispatcher: pluggy's order, awaited results, the three modes."""

from __future__ import annotations

import io

import anyio
import anyio.lowlevel
import pytest

from jobsite import hookimpl
from jobsite.errors import PluginError
from jobsite.plugins import load_plugins

pytestmark = pytest.mark.anyio


class SyncEvents:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl
    def jobsite_event(self, event: object) -> None:
        self.log.append(f"sync:{event}")


class AsyncEvents:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl
    async def jobsite_event(self, event: object) -> None:
        await anyio.lowlevel.checkpoint()
        self.log.append(f"async:{event}")


class Veto:
    def __init__(self, answer: str | None, *, delay: bool = False) -> None:
        self.answer = answer
        self.delay = delay
        self.called = 0

    @hookimpl
    async def jobsite_foreman_veto(self, remodel: object) -> str | None:
        self.called += 1
        if self.delay:
            await anyio.sleep(0.001)
        return self.answer


class FirstVeto(Veto):
    @hookimpl(tryfirst=True)
    async def jobsite_foreman_veto(self, remodel: object) -> str | None:
        return await super().jobsite_foreman_veto(remodel)


class Materials:
    def __init__(self, items: list[str] | None, *, is_async: bool) -> None:
        self.items = items
        self.is_async = is_async

    @hookimpl
    def jobsite_architect_materials(self, inputs: object) -> object:
        if self.is_async:

            async def later() -> list[str] | None:
                await anyio.lowlevel.checkpoint()
                return self.items

            return later()
        return self.items


async def test_notify_awaits_async_and_calls_sync_in_pluggy_order() -> None:
    log: list[str] = []
    plugins = load_plugins(
        entrypoints=False, plugins=[("a", SyncEvents(log)), ("b", AsyncEvents(log))]
    )
    await plugins.hooks.notify("jobsite_event", event="e1")
    # pluggy calls the last registered first
    assert log == ["async:e1", "sync:e1"]


async def test_first_skips_none_and_stops_at_first_answer() -> None:
    nobody, later_no, winner, never = Veto(None), Veto(None), Veto("no", delay=True), Veto("x")
    plugins = load_plugins(
        entrypoints=False,
        plugins=[("never", never), ("winner", winner), ("nobody", nobody), ("first", later_no)],
    )
    # call order (LIFO): first, nobody, winner, never
    assert await plugins.hooks.first("jobsite_foreman_veto", remodel="r") == "no"
    assert (later_no.called, nobody.called, winner.called, never.called) == (1, 1, 1, 0)


async def test_tryfirst_runs_before_later_registrations() -> None:
    plugins = load_plugins(
        entrypoints=False, plugins=[("early", FirstVeto("early")), ("late", Veto("late"))]
    )
    assert await plugins.hooks.first("jobsite_foreman_veto", remodel="r") == "early"


async def test_collect_drops_none_and_keeps_order_of_mixed_sync_async() -> None:
    plugins = load_plugins(
        entrypoints=False,
        plugins=[
            ("one", Materials(["vm"], is_async=False)),
            ("two", Materials(None, is_async=True)),
            ("three", Materials(["disk"], is_async=True)),
        ],
    )
    assert await plugins.hooks.collect("jobsite_architect_materials", inputs=None) == [
        ["disk"],
        ["vm"],
    ]


async def test_an_exception_in_a_later_plugin_leaves_no_unawaited_coroutine() -> None:
    # filterwarnings=error turns a "coroutine was never awaited" warning into a failure.
    class Boom:
        @hookimpl(tryfirst=True)
        def jobsite_architect_materials(self) -> None:
            raise RuntimeError("boom")

    plugins = load_plugins(
        entrypoints=False,
        plugins=[("async", Materials(["vm"], is_async=True)), ("boom", Boom())],
    )
    with pytest.raises(RuntimeError, match="boom"):
        await plugins.hooks.collect("jobsite_architect_materials", inputs=None)


async def test_wrappers_are_refused_for_phase_hooks() -> None:
    class Wrapper:
        @hookimpl(wrapper=True)
        def jobsite_event(self, event: object) -> object:
            return (yield)

    plugins = load_plugins(entrypoints=False, plugins=[("w", Wrapper())])
    with pytest.raises(PluginError, match="wrapper"):
        await plugins.hooks.notify("jobsite_event", event=1)


async def test_trace_prints_calls_and_results() -> None:
    from jobsite._hookcall import HookRunner

    out = io.StringIO()
    plugins = load_plugins(entrypoints=False, plugins=[("v", Veto("nope"))])
    runner = HookRunner(plugins.pm, trace=out)
    await runner.first("jobsite_foreman_veto", remodel="r1")
    text = out.getvalue()
    assert "jobsite_foreman_veto(remodel='r1')" in text
    assert "jobsite_foreman_veto <- v: 'nope'" in text


async def test_cancellation_reaches_an_async_implementation() -> None:
    started = anyio.Event()

    class Slow:
        @hookimpl
        async def jobsite_event(self, event: object) -> None:
            started.set()
            await anyio.sleep(10)

    plugins = load_plugins(entrypoints=False, plugins=[("slow", Slow())])
    with anyio.move_on_after(5) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: plugins.hooks.notify("jobsite_event", event=1))
            await started.wait()
            tg.cancel_scope.cancel()
    assert not scope.cancelled_caught

"""The assembler: carry a plan out, record everything, report as it goes.

:func:`assemble` takes a :class:`~jobsite.planning.Plan` (exactly what ``jobsite plan``
showed) and the drivers, and:

1. refuses before touching anything when the plan cannot be carried out (problems such as
   a missing VM without ``--fix``, an action nobody implements, a stemcell not uploaded);
2. takes the deployment's lock in the store, so two directors (or two terminals) never
   change one deployment at once, and keeps renewing it;
3. opens a task, whose log (every event) the store keeps for ``jobsite task N``;
4. runs the construction plan (:class:`~jobsite.assembler._schedule.Scheduler`), each remodel
   wrapped in the context managers plugins return from ``jobsite_assemble_remodel``;
5. records the deployment's manifest when everything succeeded, ends the task, releases the
   lock, even when cancelled (those last writes are shielded).

It runs inside the caller's event loop (asyncio or trio) and is cancelled by the caller's
cancel scopes; :class:`StopSignal` asks it to stop gently instead (start nothing new, let
what runs finish), which is what the CLI's first Ctrl-C does.
"""

from __future__ import annotations

import inspect
import os
import secrets
import socket
import sys
import time
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from jobsite._gcpause import gc_frozen
from jobsite.assembler._actions import ACTION_NAMES, RetryPolicy, carry_out, malformed
from jobsite.assembler._context import AssemblyContext, DeployRefused, stemcell_problems
from jobsite.assembler._events import (
    DeployFinished,
    DeployStarted,
    Event,
    Failure,
    RemodelFailed,
    RemodelFinished,
    RemodelStarted,
    StageFinished,
    StageStarted,
)
from jobsite.assembler._ledger import Ledger
from jobsite.assembler._schedule import Scheduler
from jobsite.store import Batch, DeploymentRecord, EventRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from jobsite._hookcall import HookRunner
    from jobsite.agent import Agent
    from jobsite.cpi import Cpi
    from jobsite.foreman import Remodel, Stage
    from jobsite.planning import Plan
    from jobsite.store import Store

__all__ = ["DeployResult", "StopSignal", "assemble"]

FLUSH_INTERVAL = 0.05
"""Seconds between commits of the writes nobody waits for (results, task-log events)."""

LOCK_TTL = 60.0
"""Seconds a deployment lock lasts unless renewed (renewed every third of that)."""


class StopSignal:
    """Ask a running deploy to stop gently: start nothing new, let what runs finish, record
    it all. Safe to call from a signal handler's thread via ``anyio.from_thread`` or from any
    task of the deploy's event loop."""

    def __init__(self) -> None:
        self._scheduler: Scheduler | None = None
        self.requested = False

    def request(self) -> None:
        self.requested = True
        if self._scheduler is not None:
            self._scheduler.request_stop()

    def _attach(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        if self.requested:
            scheduler.request_stop()


@attrs.frozen(kw_only=True)
class DeployResult:
    """How a deploy ended."""

    deployment: str
    state: str
    """``done``, ``error`` (some remodel failed), ``stopped`` (asked to stop) or
    ``cancelled`` (its caller cancelled it)."""
    task: int | None
    seconds: float
    done: int
    failed: int
    not_started: int
    failures: tuple[Failure, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "done"


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` (``host:pid:token``) was a process on this host that has died."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


async def _release_if_holder_died(store: Store, lock: str) -> bool:
    """A director killed on this host leaves its lease until it expires; waiting out the
    lease after a crash helps nobody, so a lease whose holder's process is gone from this
    host is released. (Holders on other hosts are trusted until their lease runs out.)"""
    current = await store.get_lock(lock)
    if current is None or not _dead_here(current.holder):
        return False
    return await store.release_lock(lock, current.holder)


async def _renew(store: Store, name: str, holder: str) -> None:
    while True:
        await anyio.sleep(LOCK_TTL / 3)
        await store.renew_lock(name, holder, LOCK_TTL)


async def assemble(
    plan: Plan,
    *,
    store: Store,
    cpi: Cpi,
    agent: Agent,
    hooks: HookRunner | None = None,
    director: str = "jobsite",
    on_event: Callable[[Event], Any] | None = None,
    retry: RetryPolicy | None = None,
    stop: StopSignal | None = None,
    description: str = "",
) -> DeployResult:
    """Carry ``plan`` out; see the module docstring."""
    if plan.problems:
        raise DeployRefused("; ".join(plan.problems))
    unknown = sorted({r.action for r in plan.construction.remodels} - ACTION_NAMES)
    if unknown:
        raise DeployRefused(f"the plan has actions jobsite cannot carry out: {', '.join(unknown)}")
    bad = [m for m in map(malformed, plan.construction.remodels) if m is not None]
    if bad:
        raise DeployRefused("the plan cannot be carried out: " + "; ".join(bad[:3]))
    ledger = Ledger(store)
    seq = 0
    task_id: int | None = None
    event_hook = hooks is not None and hooks.implemented("jobsite_event")

    async def emit(event: Event) -> None:
        nonlocal seq
        if task_id is not None:
            seq += 1
            ledger.note(
                Batch().add_event(EventRecord(task_id=task_id, seq=seq, data=event.to_json()))
            )
        if on_event is not None:
            result = on_event(event)
            if inspect.isawaitable(result):
                await result
        if event_hook:
            assert hooks is not None
            try:
                await hooks.notify("jobsite_event", event=event)
            except Exception as exc:  # an observer must not stop a deploy
                print(f"jobsite: a jobsite_event hook failed: {exc}", file=sys.stderr)

    ctx = AssemblyContext.build(
        plan,
        store=store,
        cpi=cpi,
        agent=agent,
        ledger=ledger,
        retry=retry or RetryPolicy(),
        director=director,
        emit=emit,
        stemcells=await store.list_stemcells(),
    )
    missing = stemcell_problems(ctx)
    if missing:
        raise DeployRefused("; ".join(missing))

    lock = f"deployment:{plan.deployment}"
    holder = _holder()
    lease = await store.acquire_lock(lock, holder, LOCK_TTL)
    if lease is None and await _release_if_holder_died(store, lock):
        lease = await store.acquire_lock(lock, holder, LOCK_TTL)
    if lease is None:
        current = await store.get_lock(lock)
        who = f" by {current.holder} until {current.expires_at:%H:%M:%S}" if current else ""
        raise DeployRefused(f"deployment {plan.deployment!r} is locked{who}: another deploy runs")
    started = time.monotonic()
    scheduler: Scheduler | None = None
    state = "cancelled"
    failures: list[Failure] = []
    try:
        task = await store.create_task(
            "deploy", deployment=plan.deployment, description=description or "deploy"
        )
        task_id = task.id
        ctx.task = task_id
        if plan.floorplan.record is None:
            await ledger.write(
                Batch().put_deployment(
                    DeploymentRecord(
                        name=plan.deployment,
                        manifest=plan.manifest_text,
                        config_ids=plan.config_ids,
                    )
                )
            )
        scheduler = _scheduler(ctx, hooks, failures)
        if stop is not None:
            stop._attach(scheduler)
        await emit(
            DeployStarted(
                deployment=plan.deployment,
                task=task_id,
                strategy=plan.construction.strategy,
                stages=len(plan.construction.stages),
                remodels=len(plan.construction.remodels),
            )
        )
        with gc_frozen():
            async with anyio.create_task_group() as renewals:
                renewals.start_soon(_renew, store, lock, holder)
                renewals.start_soon(ledger.flush_every, FLUSH_INTERVAL)
                outcome = await scheduler.run()
                renewals.cancel_scope.cancel()
        if failures:
            state = "error"
        elif any(o != "done" for o in outcome.values()):
            state = "stopped"
        else:
            state = "done"
    finally:
        with anyio.CancelScope(shield=True):
            outcome_counts = _counts(scheduler)
            result = DeployResult(
                deployment=plan.deployment,
                state=state,
                task=task_id,
                seconds=time.monotonic() - started,
                done=outcome_counts["done"],
                failed=outcome_counts["failed"],
                not_started=outcome_counts["not_started"],
                failures=tuple(failures),
            )
            await _finish(ctx, ledger, result, emit)
            await store.release_lock(lock, holder)
    return result


def _counts(scheduler: Scheduler | None) -> dict[str, int]:
    counts = {"done": 0, "failed": 0, "not_started": 0}
    if scheduler is None:
        return counts
    for rid in scheduler.remodels:
        outcome = scheduler.outcome.get(rid, "not_started")
        key = outcome if outcome in counts else "not_started"
        counts[key] += 1
    return counts


async def _finish(
    ctx: AssemblyContext,
    ledger: Ledger,
    result: DeployResult,
    emit: Callable[[Event], Any],
) -> None:
    plan = ctx.plan
    await emit(
        DeployFinished(
            deployment=plan.deployment,
            task=result.task,
            state=result.state,
            seconds=result.seconds,
            done=result.done,
            failed=result.failed,
            not_started=result.not_started,
            failures=result.failures,
        )
    )
    batch = Batch()
    if result.ok:
        batch.put_deployment(
            DeploymentRecord(
                name=plan.deployment, manifest=plan.manifest_text, config_ids=plan.config_ids
            )
        )
    if result.task is not None:
        summary = (
            f"{result.done} done"
            + (f", {result.failed} failed" if result.failed else "")
            + (f", {result.not_started} not started" if result.not_started else "")
        )
        batch.finish_task(result.task, result.state, summary)
    await ledger.write(batch)
    await ledger.flush()


def _scheduler(
    ctx: AssemblyContext, hooks: HookRunner | None, failures: list[Failure]
) -> Scheduler:
    wrapped = hooks is not None and hooks.implemented("jobsite_assemble_remodel")
    emit = ctx.emit

    async def run(remodel: Remodel, stage: Stage) -> None:
        label = ctx.instance_label(remodel)
        await emit(
            RemodelStarted(
                remodel=remodel.id, action=remodel.action, stage=stage.name, instance=label
            )
        )
        began = time.monotonic()
        try:
            if wrapped:
                assert hooks is not None
                async with AsyncExitStack() as stack:
                    for manager in await hooks.collect(
                        "jobsite_assemble_remodel", remodel=remodel, context=ctx
                    ):
                        await stack.enter_async_context(manager)
                    await carry_out(ctx, remodel)
            else:
                await carry_out(ctx, remodel)
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            failures.append(
                Failure(remodel=remodel.id, action=remodel.action, instance=label, error=message)
            )
            await emit(
                RemodelFailed(
                    remodel=remodel.id,
                    action=remodel.action,
                    stage=stage.name,
                    seconds=time.monotonic() - began,
                    error=message,
                    instance=label,
                )
            )
            raise
        await emit(
            RemodelFinished(
                remodel=remodel.id,
                action=remodel.action,
                stage=stage.name,
                seconds=time.monotonic() - began,
                instance=label,
            )
        )

    stage_began: dict[str, float] = {}

    async def stage_started(stage: Stage) -> None:
        stage_began[stage.name] = time.monotonic()
        await emit(
            StageStarted(
                stage=stage.name,
                stage_kind=stage.kind,
                remodels=len(stage.remodels),
                instance_group=stage.instance_group,
            )
        )

    async def stage_finished(stage: Stage, state: str) -> None:
        outcome = scheduler.outcome
        await emit(
            StageFinished(
                stage=stage.name,
                state=state,
                seconds=time.monotonic() - stage_began.get(stage.name, time.monotonic()),
                done=sum(1 for r in stage.remodels if outcome.get(r) == "done"),
                failed=sum(1 for r in stage.remodels if outcome.get(r) == "failed"),
            )
        )

    scheduler = Scheduler(
        ctx.plan.construction,
        run,
        on_stage_started=stage_started,
        on_stage_finished=stage_finished,
    )
    return scheduler

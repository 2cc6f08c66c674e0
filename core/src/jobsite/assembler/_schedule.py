"""Running a construction plan's DAG: stages, edges, ``max_in_flight``, failures, stopping.

One scheduler task decides; each remodel runs in a task of its own, started only when it
may run, so a plan of a hundred thousand remodels never holds a hundred thousand waiting
tasks. The rules:

- a stage opens when every stage it comes after has finished well;
- a remodel is ready when its stage is open and every remodel with an edge to it is done;
- a stage works on at most ``max_in_flight`` *units* at once (a unit is one instance's
  remodels in that stage, or one remodel without an instance); a unit is admitted when its
  first remodel starts and leaves when its last one in the stage is settled, so an
  instance's whole chain (stop → ... → start) counts once, as a BOSH instance update does;
- a failure stops its stage admitting new units; units already admitted finish what does
  not depend on the failure (an instance half-way through its update is better finished
  than left stopped); remodels that depend on a failed one are not started; stages after a
  failed stage never open, and everything in them is reported as not started;
- :meth:`Scheduler.request_stop` (Ctrl-C) does the same for every stage at once.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from jobsite.foreman import ConstructionPlan, Remodel, Stage

__all__ = ["Outcome", "Scheduler"]

Outcome = str
"""``done``, ``failed``, ``skipped`` (a remodel it depends on failed) or ``not_started``."""


class Scheduler:
    """Runs ``plan`` with ``run(remodel)`` (raises on failure); see the module docstring."""

    def __init__(
        self,
        plan: ConstructionPlan,
        run: Callable[[Remodel, Stage], Awaitable[None]],
        *,
        on_stage_started: Callable[[Stage], Awaitable[None]],
        on_stage_finished: Callable[[Stage, str], Awaitable[None]],
        on_failed: Callable[[Remodel, Stage, BaseException], Awaitable[None]] | None = None,
    ) -> None:
        self._run = run
        self._on_stage_started = on_stage_started
        self._on_stage_finished = on_stage_finished
        self._on_failed = on_failed
        self.remodels = {r.id: r for r in plan.remodels}
        self.stages = {s.name: s for s in plan.stages}
        self.outcome: dict[str, Outcome] = {}
        self._stage_of: dict[str, str] = {}
        self._unit_of: dict[str, str] = {}
        self._unit_left: dict[tuple[str, str], int] = {}
        for stage in plan.stages:
            for rid in stage.remodels:
                self._stage_of[rid] = stage.name
                remodel = self.remodels[rid]
                unit = f"i:{remodel.instance}" if remodel.instance is not None else f"r:{rid}"
                self._unit_of[rid] = unit
                key = (stage.name, unit)
                self._unit_left[key] = self._unit_left.get(key, 0) + 1
        self._preds_left = dict.fromkeys(self.remodels, 0)
        self._succ: dict[str, list[str]] = {}
        for before, after in plan.edges:
            self._preds_left[after] += 1
            self._succ.setdefault(before, []).append(after)
        self._blockers = {s.name: len(s.after) for s in plan.stages}
        self._dependents: dict[str, list[str]] = {}
        for stage in plan.stages:
            for other in stage.after:
                self._dependents.setdefault(other, []).append(stage.name)
        self._left = {s.name: len(s.remodels) for s in plan.stages}
        self._running = dict.fromkeys(self.stages, 0)
        self._state: dict[str, str] = {}
        """Stage → ``open``, ``stopping``, or its final state (``done``, ``failed``,
        ``stopped``, ``skipped``)."""
        self._admitted: dict[str, set[str]] = {s: set() for s in self.stages}
        self._waiting: dict[str, deque[str]] = {s: deque() for s in self.stages}
        self._queued: dict[tuple[str, str], list[str]] = {}
        self._to_start: list[str] = []
        self._stop_requested = False
        self._send: anyio.abc.ObjectSendStream[tuple[str, BaseException | None]] | None = None

    # --- control ---------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Start nothing new; let what runs finish (Ctrl-C)."""
        self._stop_requested = True
        for name, state in self._state.items():
            if state == "open":
                self._state[name] = "stopping"

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    # --- the loop ----------------------------------------------------------------------------

    async def run(self) -> dict[str, Outcome]:
        """Run every stage that may run; return each remodel's outcome."""
        send, receive = anyio.create_memory_object_stream[tuple[str, BaseException | None]](
            math.inf
        )
        self._send = send
        running = 0
        async with send, receive, anyio.create_task_group() as tg:
            for name, blockers in self._blockers.items():
                if blockers == 0:
                    await self._open(name)
            while True:
                while self._to_start:
                    rid = self._to_start.pop()
                    running += 1
                    self._running[self._stage_of[rid]] += 1
                    tg.start_soon(self._one, rid)
                if running == 0:
                    break
                rid, error = await receive.receive()
                running -= 1
                await self._settle(rid, error)
        for rid in self.remodels:
            self.outcome.setdefault(rid, "not_started")
        return self.outcome

    async def _one(self, rid: str) -> None:
        assert self._send is not None
        remodel = self.remodels[rid]
        stage = self.stages[self._stage_of[rid]]
        try:
            await self._run(remodel, stage)
        except Exception as exc:
            await self._send.send((rid, exc))
        else:
            await self._send.send((rid, None))

    async def _open(self, name: str) -> None:
        if self._stop_requested:
            await self._finish(name, "skipped")
            return
        self._state[name] = "open"
        stage = self.stages[name]
        await self._on_stage_started(stage)
        if not stage.remodels:
            await self._finish(name, "done")
            return
        for rid in reversed(stage.remodels):  # reversed: _to_start pops from the end
            if self._preds_left[rid] == 0 and rid not in self.outcome:
                self._ready(rid)
        self._admit(name)

    def _ready(self, rid: str) -> None:
        stage = self._stage_of[rid]
        unit = self._unit_of[rid]
        if unit in self._admitted[stage]:
            self._to_start.append(rid)
            return
        key = (stage, unit)
        if key not in self._queued:
            self._queued[key] = []
            self._waiting[stage].append(unit)
        self._queued[key].append(rid)

    def _admit(self, name: str) -> None:
        if self._state.get(name) != "open":
            return
        limit = self.stages[name].max_in_flight
        admitted, waiting = self._admitted[name], self._waiting[name]
        fresh = []
        while waiting and (limit is None or len(admitted) < max(1, limit)):
            unit = waiting.popleft()
            admitted.add(unit)
            fresh.extend(self._queued.pop((name, unit)))
        self._to_start.extend(reversed(fresh))

    async def _settle(self, rid: str, error: BaseException | None) -> None:
        stage_name = self._stage_of[rid]
        self._running[stage_name] -= 1
        if error is None:
            self.outcome[rid] = "done"
            for after in self._succ.get(rid, ()):
                self._preds_left[after] -= 1
                if (
                    self._preds_left[after] == 0
                    and self.outcome.get(after) is None
                    and self._state.get(self._stage_of[after]) in ("open", "stopping")
                ):
                    self._ready(after)
        else:
            self.outcome[rid] = "failed"
            if self._on_failed is not None:
                await self._on_failed(self.remodels[rid], self.stages[stage_name], error)
            if self._state.get(stage_name) == "open":
                self._state[stage_name] = "stopping"
            await self._skip_after(rid)
        self._done_with(rid)
        touched = {stage_name} | {self._stage_of[r] for r in self._to_start}
        for name in touched:
            self._admit(name)
        for name in list(self._state):
            await self._maybe_finish(name)

    async def _skip_after(self, rid: str) -> None:
        """Every remodel that depends on ``rid`` (transitively) will not run."""
        stack = list(self._succ.get(rid, ()))
        while stack:
            after = stack.pop()
            if after in self.outcome:
                continue
            self.outcome[after] = "skipped"
            self._done_with(after)
            stack.extend(self._succ.get(after, ()))

    def _done_with(self, rid: str) -> None:
        stage = self._stage_of[rid]
        unit = self._unit_of[rid]
        self._left[stage] -= 1
        key = (stage, unit)
        self._unit_left[key] -= 1
        if self._unit_left[key] == 0:
            self._admitted[stage].discard(unit)
            queued = self._queued.pop(key, None)
            if queued is not None:
                self._waiting[stage].remove(unit)

    async def _maybe_finish(self, name: str) -> None:
        state = self._state.get(name)
        if state == "open" and self._left[name] == 0:
            await self._finish(name, "done")
        elif state == "stopping" and self._running[name] == 0 and not self._admitted[name]:
            failed = any(self.outcome.get(r) == "failed" for r in self.stages[name].remodels)
            await self._finish(name, "failed" if failed else "stopped")

    async def _finish(self, name: str, state: str) -> None:
        self._state[name] = state
        if state != "done":
            for rid in self.stages[name].remodels:
                self.outcome.setdefault(rid, "not_started")
        await self._on_stage_finished(self.stages[name], state)
        for dependent in self._dependents.get(name, ()):
            if dependent in self._state:
                continue
            if state == "done":
                self._blockers[dependent] -= 1
                if self._blockers[dependent] == 0:
                    await self._open(dependent)
            else:
                await self._finish(dependent, "skipped")

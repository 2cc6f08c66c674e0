"""The construction plan: remodels with their temporal structure, as a strategy orders them.

A plan is a DAG at two levels, which keeps it small for large deployments:

- **stages** run in an order given by their ``after`` lists (``web: canaries`` before
  ``web: batch 1``); a stage starts when every stage it comes after has finished, so a
  batch barrier costs one entry, not an edge per pair of remodels;
- **edges** order individual remodels, inside a stage (an instance's stop before its apply)
  or across stages (a VM created in ``create VMs`` before its instance's swap).

A remodel is ready when its stage may start and every remodel with an edge to it is done;
``max_in_flight`` of a stage bounds how many *instances* it works on at once. Stages that do
not come after one another may run at the same time (compiling packages while ``hot_swap``
creates VMs).

Strategies are plugins; core checks what they return (:meth:`ConstructionPlan.check`) so a
bad strategy is reported by name instead of deadlocking a deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from jobsite._gcpause import gc_paused
from jobsite.architect import NetworkPlacement
from jobsite.config import UpdateConfig
from jobsite.errors import PluginError
from jobsite.foreman._remodels import Remodel

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


__all__ = ["ConstructionPlan", "GroupUpdate", "Stage", "Strategy", "UpdatePolicy"]


@attrs.frozen(kw_only=True)
class Stage:
    """A set of remodels that run together, after the stages named in ``after``."""

    name: str
    """Unique in the plan, for people: ``web: canaries``, ``web: batch 2 of 3``."""
    remodels: tuple[str, ...] = ()
    """Remodel ids, in the order a display should list them."""
    after: tuple[str, ...] = ()
    """Stages that must finish before this one starts."""
    kind: str = "update"
    """What the stage is for: ``compile``, ``create``, ``delete``, ``canary``, ``update``,
    ``cleanup`` (strategies may use their own words)."""
    instance_group: str | None = None
    max_in_flight: int | None = None
    """How many instances the stage works on at once (None: no bound beyond the plan's)."""
    watch_time: tuple[int, int] | None = None
    """``(min, max)`` milliseconds to watch an instance come up after ``start``."""


@attrs.frozen(kw_only=True)
class ConstructionPlan:
    """Everything a deploy will do, and in which order."""

    strategy: str
    remodels: tuple[Remodel, ...] = ()
    stages: tuple[Stage, ...] = ()
    edges: tuple[tuple[str, str], ...] = ()
    """``(before, after)`` pairs of remodel ids."""

    def remodel(self, remodel_id: str) -> Remodel:
        """The remodel with this id (``KeyError`` if none)."""
        return self._by_id()[remodel_id]

    def _by_id(self) -> Mapping[str, Remodel]:
        return {r.id: r for r in self.remodels}

    def stage_of(self) -> dict[str, str]:
        """Remodel id → the name of the stage it is in."""
        return {rid: stage.name for stage in self.stages for rid in stage.remodels}

    def check(self) -> None:
        """Refuse a malformed plan: unknown ids, a remodel in no stage or in two, cycles.

        Raises :class:`~jobsite.errors.PluginError` naming the strategy, because a plan is
        only ever malformed by the strategy that drew it.
        """

        def bad(message: str) -> PluginError:
            return PluginError(f"strategy {self.strategy!r} drew a malformed plan: {message}")

        ids = {r.id for r in self.remodels}
        if len(ids) != len(self.remodels):
            raise bad("two remodels share an id")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise bad(f"two stages are named {dup!r}")
        placed: dict[str, str] = {}
        for stage in self.stages:
            for rid in stage.remodels:
                if rid not in ids:
                    raise bad(f"stage {stage.name!r} lists unknown remodel {rid!r}")
                if rid in placed:
                    raise bad(f"remodel {rid!r} is in stages {placed[rid]!r} and {stage.name!r}")
                placed[rid] = stage.name
            for other in stage.after:
                if other not in names:
                    raise bad(f"stage {stage.name!r} comes after unknown stage {other!r}")
        missing = ids - placed.keys()
        if missing:
            raise bad(f"remodel {sorted(missing)[0]!r} is in no stage")
        for before, after in self.edges:
            for rid in (before, after):
                if rid not in ids:
                    raise bad(f"an edge names unknown remodel {rid!r}")
        with gc_paused():
            cycle = self._cycle(placed)
        if cycle:
            raise bad("it has a cycle: " + " -> ".join(cycle))

    def _cycle(self, stage_of: Mapping[str, str]) -> list[str] | None:
        """A cycle through stages and remodels, if there is one (Kahn's algorithm).

        Nodes are each stage's start and end and the remodels that have edges: a stage's
        start precedes its remodels, which precede its end, and ``after`` links an earlier
        stage's end to a later one's start. A remodel with no edges only mirrors its stage's
        start → end, so it can be left out: checking a plan of 100,000 remodels then costs
        a few hundred milliseconds at most.
        """
        names = [r.id for r in self.remodels]
        index = {rid: n for n, rid in enumerate(names)}
        first_stage = len(names)
        for stage in self.stages:
            names += (f"stage {stage.name!r} start", f"stage {stage.name!r}")
        start_of = {s.name: first_stage + 2 * k for k, s in enumerate(self.stages)}
        succ: list[list[int]] = [[] for _ in names]
        # start -> r is implied when r has a predecessor in its own stage, and r -> end when
        # it has a successor there: leaving those out keeps reachability (so cycles) intact
        # and shrinks a strategy's per-instance chains to their ends.
        led, leads, linked = set(), set(), set()
        for before, after in self.edges:
            b, a = index[before], index[after]
            succ[b].append(a)
            linked.add(b)
            linked.add(a)
            if stage_of[before] == stage_of[after]:
                led.add(a)
                leads.add(b)
        for stage in self.stages:
            begin = start_of[stage.name]
            succ[begin].append(begin + 1)
            for rid in stage.remodels:
                r = index[rid]
                if r in linked:
                    if r not in led:
                        succ[begin].append(r)
                    if r not in leads:
                        succ[r].append(begin + 1)
            for other in stage.after:
                succ[start_of[other] + 1].append(begin)
        indeg = [0] * len(names)
        for targets in succ:
            for t in targets:
                indeg[t] += 1
        ready = [n for n, d in enumerate(indeg) if d == 0]
        seen = 0
        while ready:
            n = ready.pop()
            seen += 1
            for t in succ[n]:
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
        if seen == len(names):
            return None
        stuck = {n for n, d in enumerate(indeg) if d > 0}
        # every stuck node has a stuck predecessor: walk backwards until a node repeats
        preds: dict[int, list[int]] = {}
        for n in stuck:
            for t in succ[n]:
                if t in stuck:
                    preds.setdefault(t, []).append(n)
        current = min(stuck)
        path: list[int] = []
        while current not in path:
            path.append(current)
            current = preds[current][0]
        cycle = [*path[path.index(current) :], current]
        return [names[n] for n in reversed(cycle)]

    def iter_stages(self) -> Iterator[tuple[Stage, tuple[Remodel, ...]]]:
        """Each stage with its remodels, in the plan's stage order."""
        by_id = self._by_id()
        for stage in self.stages:
            yield stage, tuple(by_id[rid] for rid in stage.remodels)


@attrs.frozen(kw_only=True)
class GroupUpdate:
    """One instance group's update settings, as the manifest resolves them."""

    group: str
    instances: int
    """The group's size in the blueprint (what a ``max_in_flight`` percentage is of)."""
    update: UpdateConfig
    """The group's ``update`` block layered over the deployment's."""
    strategy: str
    """The strategy the group asks for (``update.strategy``, else BOSH's
    ``update.vm_strategy``, else the deployment's)."""


@attrs.frozen(kw_only=True)
class UpdatePolicy:
    """How the deployment's instance groups update: what a strategy plans with."""

    strategy: str
    """The deployment's strategy: the one drawing this plan."""
    groups: tuple[GroupUpdate, ...] = ()
    """Instance groups in manifest order (the order BOSH updates them in)."""
    swap_addresses: Mapping[str, tuple[NetworkPlacement, ...]] = attrs.field(
        factory=dict, hash=False
    )
    """Instance uuid → a second address on each of its manual networks, for strategies that
    create an instance's new VM while the old one still holds its address (see
    :attr:`Strategy.creates_first`). Drawn by the architect from free addresses in the
    instance's AZ; an instance missing here has no spare (static IP, or none free)."""

    def group(self, name: str | None) -> GroupUpdate | None:
        """The named group's settings (None for a group no longer in the manifest)."""
        return next((g for g in self.groups if g.group == name), None)


@runtime_checkable
class Strategy(Protocol):
    """An update strategy: orders remodels into a construction plan.

    Registered through ``jobsite_register_strategies``; the factory receives a
    :class:`jobsite.DriverContext` whose ``options`` are the strategy's settings from the
    director config. ``plan`` must do no I/O and must keep every remodel it is given (it may
    add its own, e.g. a ``swap``, and change a ``create_vm``'s options or addresses).

    Two optional attributes tell the planner more (read with ``getattr``, absent means the
    default):

    - ``handles: frozenset[str]`` (default empty): other strategies whose instance groups
      this one can plan. A deployment may ask for one strategy and a group for another;
      the planner lets one strategy draw the whole plan, the deployment's when it handles
      every group's, else a group's that handles all the others.
    - ``creates_first: bool`` (default False): the strategy creates an instance's new VM
      while the old one still runs, so the architect draws a spare address for each of
      the groups' instances (:attr:`UpdatePolicy.swap_addresses`).
    """

    async def plan(self, remodels: Sequence[Remodel], update: UpdatePolicy) -> ConstructionPlan:
        """Order ``remodels`` (grouped by instance, in deployment order) into stages."""
        ...

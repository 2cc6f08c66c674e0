"""The ``serial`` strategy: BOSH's ``vm_strategy: delete-create``, drawn as a construction plan.

The BOSH director updates a deployment in this order, and so does this plan:

1. instances that are no longer wanted are deleted before anything is updated
   (``InstanceGroupUpdater#delete_unneeded_instances`` runs first);
2. instance groups update in manifest order, each after the one before, except that
   consecutive groups with ``serial: false`` update at the same time
   (``BatchMultiInstanceGroupUpdater`` partitions the groups into runs of equal ``serial``;
   a run of serial groups goes one by one, a run of non-serial groups all at once);
3. within a group, the first ``canaries`` instances update first, then the rest,
   ``max_in_flight`` at a time. BOSH feeds the canaries through the same pool of
   ``max_in_flight`` threads as the rest, so at most ``min(canaries, max_in_flight)``
   canaries run at once.

An instance that needs a new VM is stopped, its VM deleted, a new one created, its disks
attached, its jobs applied and started. Core's diff already emits each instance's remodels
in that order, so this strategy never reorders within an instance: it chains them and puts
whole instances into stages. The stages are the barriers between instances; there are no
edges from one instance to another.

After its canaries, a group's instances are one stage with ``max_in_flight``: a rolling
pool, as the director's thread pool works through them, where the next instance starts as
soon as one is done. (Fixed batches of ``max_in_flight``, each waiting for the slowest of the
one before, were this strategy's first drawing; measured on 1,000 instances at 50 in flight
with 20 ms per cloud call, the pool finishes about 10% sooner, because the assembler's own
work for one instance overlaps the others' cloud calls instead of adding up at each barrier.)
A failure stops the pool admitting instances, as it stops BOSH's.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import attrs

from jobsite.foreman import ConstructionPlan, GroupUpdate, Remodel, Stage, UpdatePolicy

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from jobsite.config import WatchTime

__all__ = [
    "DEFAULT_CANARIES",
    "DEFAULT_MAX_IN_FLIGHT",
    "DELETE_STAGE",
    "SerialStrategy",
    "serial_plan",
]

DELETE_STAGE = "delete unneeded instances"
"""The first stage: instances no longer wanted, leftover VMs, removed groups' remodels."""

DEFAULT_CANARIES = 1
"""Canaries when neither the group nor the deployment says (one, so a bad change is caught
on one instance before it reaches the rest)."""

DEFAULT_MAX_IN_FLIGHT = 1
"""Instances updated at once when neither the group nor the deployment says."""


@attrs.frozen
class _Unit:
    """What a stage holds: one instance's remodels, or one remodel that has no instance."""

    remodels: tuple[Remodel, ...]

    @property
    def group(self) -> str | None:
        return self.remodels[0].instance_group

    def is_unneeded(self, groups: frozenset[str]) -> bool:
        """Whether the unit belongs in :data:`DELETE_STAGE`: the instance is being deleted,
        or the remodel belongs to no instance (a leftover VM), to no group, or to a group no
        longer in the manifest."""
        return any(
            r.action == "delete_instance"
            or r.instance is None
            or r.instance_group is None
            or r.instance_group not in groups
            for r in self.remodels
        )

    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.remodels)

    def edges(self) -> Iterable[tuple[str, str]]:
        """The instance's remodels, each after the one given before it."""
        return ((a.id, b.id) for a, b in itertools.pairwise(self.remodels))


def _units(remodels: Sequence[Remodel]) -> list[_Unit]:
    """``remodels`` gathered by instance, instances in the order they first appear.

    The diff gives each instance's remodels together, but a plugin may add one for an
    instance later in the list; it still belongs to that instance, after the others.
    """
    by_key: dict[tuple[str, str], list[Remodel]] = {}
    for remodel in remodels:
        if remodel.instance is not None:
            key = ("instance", remodel.instance)
        else:
            key = ("remodel", remodel.id)
        by_key.setdefault(key, []).append(remodel)
    return [_Unit(tuple(rs)) for rs in by_key.values()]


def _window(watch: WatchTime | None) -> tuple[int, int] | None:
    return None if watch is None else (watch.minimum, watch.maximum)


def _stage_ids(units: Iterable[_Unit]) -> tuple[str, ...]:
    return tuple(rid for unit in units for rid in unit.ids())


def _group_stages(
    group: GroupUpdate, units: Sequence[_Unit], after: tuple[str, ...]
) -> list[Stage]:
    """One group's canaries, then the rest as a pool of ``max_in_flight``, after them.

    ``max_in_flight`` is resolved against the group's size in the manifest, as BOSH resolves
    a percentage, so ``50%`` of a 4-instance group is 2 even when only 3 instances change.
    """
    if not units:
        return []
    update = group.update
    canaries = min(
        len(units), max(0, DEFAULT_CANARIES if update.canaries is None else update.canaries)
    )
    in_flight = (
        DEFAULT_MAX_IN_FLIGHT
        if update.max_in_flight is None
        else update.max_in_flight.resolve(group.instances)
    )
    stages: list[Stage] = []
    if canaries:
        stages.append(
            Stage(
                name=f"{group.group}: canaries",
                remodels=_stage_ids(units[:canaries]),
                after=after,
                kind="canary",
                instance_group=group.group,
                max_in_flight=min(canaries, in_flight),
                watch_time=_window(update.canary_watch_time),
            )
        )
    rest = units[canaries:]
    if rest:
        stages.append(
            Stage(
                name=f"{group.group}: update",
                remodels=_stage_ids(rest),
                after=(stages[-1].name,) if stages else after,
                kind="update",
                instance_group=group.group,
                max_in_flight=in_flight,
                watch_time=_window(update.update_watch_time),
            )
        )
    return stages


def _runs(groups: Sequence[GroupUpdate]) -> list[list[GroupUpdate]]:
    """Consecutive groups with the same ``serial``, as BOSH partitions them.

    ``serial`` defaults to true. Groups that change nothing still split runs, as they do in
    BOSH: ``a`` (not serial), ``b`` (serial), ``c`` (not serial) never run ``a`` beside ``c``.
    """
    runs: list[list[GroupUpdate]] = []
    for group in groups:
        if runs and _serial(runs[-1][-1]) == _serial(group):
            runs[-1].append(group)
        else:
            runs.append([group])
    return runs


def _serial(group: GroupUpdate) -> bool:
    """Whether the group waits for the one before it (BOSH's default: it does)."""
    return group.update.serial is not False


def serial_plan(
    remodels: Sequence[Remodel], update: UpdatePolicy, strategy: str = "serial"
) -> ConstructionPlan:
    """The plan :meth:`SerialStrategy.plan` returns; pure and synchronous."""
    known = frozenset(g.group for g in update.groups)
    units = _units(remodels)
    unneeded: list[_Unit] = []
    by_group: dict[str, list[_Unit]] = {}
    for unit in units:
        if unit.group is None or unit.is_unneeded(known):
            unneeded.append(unit)
        else:
            by_group.setdefault(unit.group, []).append(unit)

    stages: list[Stage] = []
    if unneeded:
        stages.append(Stage(name=DELETE_STAGE, remodels=_stage_ids(unneeded), kind="delete"))
    # ``barrier``: the stages the next run of groups waits for (all of the previous run's
    # groups, when it ran them side by side).
    barrier: tuple[str, ...] = (DELETE_STAGE,) if unneeded else ()
    for run in _runs(update.groups):
        if _serial(run[0]):
            for group in run:
                drawn = _group_stages(group, by_group.get(group.group, []), barrier)
                if drawn:
                    stages.extend(drawn)
                    barrier = (drawn[-1].name,)
        else:
            ends: list[str] = []
            for group in run:
                drawn = _group_stages(group, by_group.get(group.group, []), barrier)
                if drawn:
                    stages.extend(drawn)
                    ends.append(drawn[-1].name)
            if ends:
                barrier = tuple(ends)

    return ConstructionPlan(
        strategy=strategy,
        remodels=tuple(remodels),
        stages=tuple(stages),
        edges=tuple(edge for unit in units for edge in unit.edges()),
    )


class SerialStrategy:
    """BOSH's ``delete-create`` update, as a :class:`jobsite.foreman.Strategy`.

    It takes no options. Every group is planned serially, including one whose own
    ``update.strategy`` names another strategy: this plugin knows only its own way, and a
    deployment whose strategy is ``serial`` asked for it.
    """

    name = "serial"

    async def plan(self, remodels: Sequence[Remodel], update: UpdatePolicy) -> ConstructionPlan:
        """Order ``remodels`` into a delete stage, then each group's canaries and pool."""
        return serial_plan(remodels, update, self.name)

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

from typing import TYPE_CHECKING

from jobsite.foreman import (
    DEFAULT_CANARIES,
    DEFAULT_MAX_IN_FLIGHT,
    ConstructionPlan,
    Remodel,
    Stage,
    Unit,
    UpdatePolicy,
    draw_groups,
    units,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DEFAULT_CANARIES",
    "DEFAULT_MAX_IN_FLIGHT",
    "DELETE_STAGE",
    "SerialStrategy",
    "serial_plan",
]

DELETE_STAGE = "delete unneeded instances"
"""The first stage: instances no longer wanted, leftover VMs, removed groups' remodels."""


def serial_plan(
    remodels: Sequence[Remodel], update: UpdatePolicy, strategy: str = "serial"
) -> ConstructionPlan:
    """The plan :meth:`SerialStrategy.plan` returns; pure and synchronous."""
    known = frozenset(g.group for g in update.groups)
    drawn = units(remodels)
    unneeded: list[Unit] = []
    by_group: dict[str, list[tuple[str, ...]]] = {}
    for unit in drawn:
        if unit.group is None or unit.is_unneeded(known):
            unneeded.append(unit)
        else:
            by_group.setdefault(unit.group, []).append(unit.ids())

    stages: list[Stage] = []
    if unneeded:
        ids = tuple(rid for unit in unneeded for rid in unit.ids())
        stages.append(Stage(name=DELETE_STAGE, remodels=ids, kind="delete"))
    groups, _ = draw_groups(update.groups, by_group, (DELETE_STAGE,) if unneeded else ())
    stages.extend(groups)
    return ConstructionPlan(
        strategy=strategy,
        remodels=tuple(remodels),
        stages=tuple(stages),
        edges=tuple(edge for unit in drawn for edge in unit.edges()),
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

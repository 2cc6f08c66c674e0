"""The ``hot_swap`` strategy: BOSH's ``vm_strategy: create-swap-delete``, for the whole deploy.

BOSH's create-swap-delete creates an instance's new VM while the old one still runs, then
moves the instance onto it, so the instance is down for a stop, a disk move and a start
instead of for a VM deletion and creation. This strategy does that for every instance of
the deploy at once, so that creating VMs, the slow and failure-prone part, happens before
any running instance is touched:

1. ``create VMs``: every new VM the deploy needs, new instances' included, at most
   ``create_max_in_flight`` at a time. A VM for an instance that still has one is created
   *standby* (recorded, not yet the instance's). If any creation fails the deploy stops
   here, and nothing that runs has changed;
2. ``delete unneeded instances``, as BOSH deletes them before updating;
3. each instance group, in manifest order and with BOSH's ``serial: false`` runs, updates
   its canaries and then a rolling pool of ``max_in_flight``, exactly as the ``serial`` strategy
   draws them; an instance is stopped, its disks detached, *swapped* onto its new VM, its
   disks attached, its jobs applied and started;
4. ``delete old VMs``: the VMs swapped out, once every group is done, so until then a bad
   update can still be reverted onto a VM that was running it.

An instance that cannot have two VMs at once (a static IP or a VIP, no spare address) falls
back to the delete-first order inside its group's stage, as BOSH's create-swap-delete falls back to
delete-create, and says why in a ``swap_fallback`` reason; a group that asks for ``serial``
is planned entirely the ``serial`` way. Either way every later stage still comes after
``create VMs``. Pure and deterministic: the plan depends only on the remodels and policy.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from jobsite.errors import ConfigError
from jobsite.foreman import (
    ConstructionPlan,
    Remodel,
    Stage,
    UpdatePolicy,
    draw_groups,
    units,
)
from jobsite_hot_swap._instances import Drawn, Held, draw_instance

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = [
    "CLEANUP_STAGE",
    "CREATE_STAGE",
    "DEFAULT_CREATE_MAX_IN_FLIGHT",
    "DELETE_STAGE",
    "HotSwapStrategy",
    "hot_swap_plan",
]

CREATE_STAGE = "create VMs"
"""The first stage: every VM the deploy creates up front."""

DELETE_STAGE = "delete unneeded instances"
"""Instances no longer wanted, leftover VMs, removed groups' remodels (as in ``serial``)."""

CLEANUP_STAGE = "delete old VMs"
"""The last stage: the VMs instances were swapped off."""

DEFAULT_CREATE_MAX_IN_FLIGHT = 32
"""VMs created at once in ``create VMs`` unless the ``create_max_in_flight`` option says:
enough to make a large deploy's creation fast, few enough not to trip a cloud's API rate
limits."""


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around drawing the plan.

    A plan of a large deploy builds hundreds of thousands of small frozen values that never
    form cycles, and the collector walking them again and again doubled the time of a
    20,000-instance plan. Reference counting frees everything as usual. The collector is
    restored only if it was on, so a caller that paused it keeps it paused.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def hot_swap_plan(
    remodels: Sequence[Remodel],
    update: UpdatePolicy,
    *,
    create_max_in_flight: int = DEFAULT_CREATE_MAX_IN_FLIGHT,
    strategy: str = "hot_swap",
) -> ConstructionPlan:
    """The plan :meth:`HotSwapStrategy.plan` returns; pure and synchronous."""
    with _gc_paused():
        return _draw(remodels, update, create_max_in_flight, strategy)


def _draw(
    remodels: Sequence[Remodel], update: UpdatePolicy, create_max_in_flight: int, strategy: str
) -> ConstructionPlan:
    groups = {g.group: g for g in update.groups}
    known = frozenset(groups)
    held = Held.of(remodels)
    out: list[Remodel] = []
    first: list[str] = []
    unneeded: list[str] = []
    last: list[str] = []
    pieces: dict[str, list[tuple[str, ...]]] = {}
    edges: list[tuple[str, str]] = []
    for unit in units(remodels):
        group = groups.get(unit.group) if unit.group is not None else None
        if group is None or unit.is_unneeded(known):
            drawn = Drawn.as_given(unit.remodels)
            unneeded.extend(drawn.batch)
        else:
            instance = unit.remodels[0].instance or ""
            drawn = draw_instance(unit, group, update.swap_addresses.get(instance, ()), held)
            if drawn.batch:
                pieces.setdefault(group.group, []).append(drawn.batch)
        out.extend(drawn.remodels)
        first.extend(drawn.first)
        last.extend(drawn.last)
        edges.extend(drawn.edges)

    stages: list[Stage] = []
    barrier: tuple[str, ...] = ()
    if first:
        stages.append(
            Stage(
                name=CREATE_STAGE,
                remodels=tuple(first),
                kind="create",
                max_in_flight=create_max_in_flight,
            )
        )
        barrier = (CREATE_STAGE,)
    if unneeded:
        stages.append(
            Stage(name=DELETE_STAGE, remodels=tuple(unneeded), after=barrier, kind="delete")
        )
        barrier = (DELETE_STAGE,)
    drawn_groups, ends = draw_groups(update.groups, pieces, barrier)
    stages.extend(drawn_groups)
    if last:
        stages.append(
            Stage(
                name=CLEANUP_STAGE,
                remodels=tuple(last),
                after=tuple(ends) or barrier,
                kind="cleanup",
            )
        )
    return ConstructionPlan(
        strategy=strategy, remodels=tuple(out), stages=tuple(stages), edges=tuple(edges)
    )


def _positive_int(options: Mapping[str, Any], name: str, default: int) -> int:
    value = options.get(name, default)
    if type(value) is not int or value < 1:
        raise ConfigError(
            f"strategy hot_swap: option {name}: expected a positive integer, got {value!r}"
        )
    return value


class HotSwapStrategy:
    """BOSH's ``create-swap-delete`` update, as a :class:`jobsite.foreman.Strategy`.

    It plans groups that ask for ``serial`` too (the ``serial`` way, inside its plan), so a
    deployment on ``serial`` with one group asking for ``hot_swap`` is drawn by this
    strategy; and it creates VMs while the old ones run, so the architect draws a spare
    address for each instance of its groups.
    """

    name = "hot_swap"
    handles: ClassVar[frozenset[str]] = frozenset({"serial"})
    creates_first: ClassVar[bool] = True

    def __init__(self, create_max_in_flight: int = DEFAULT_CREATE_MAX_IN_FLIGHT) -> None:
        self.create_max_in_flight = create_max_in_flight

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HotSwapStrategy:
        """The strategy the director config's strategy options ask for.

        ``create_max_in_flight`` (a positive integer, default
        :data:`DEFAULT_CREATE_MAX_IN_FLIGHT`) bounds the VMs created at once; any other
        option is ignored, as it may be meant for another strategy.
        """
        if not isinstance(options, Mapping):
            raise ConfigError(
                f"strategy hot_swap: options: expected a mapping, got {type(options).__name__}"
            )
        return cls(
            create_max_in_flight=_positive_int(
                options, "create_max_in_flight", DEFAULT_CREATE_MAX_IN_FLIGHT
            )
        )

    async def plan(self, remodels: Sequence[Remodel], update: UpdatePolicy) -> ConstructionPlan:
        """Order ``remodels`` into ``create VMs``, the deletions, each group's canaries and
        pools (swapping instances onto their new VMs), then ``delete old VMs``."""
        return hot_swap_plan(
            remodels, update, create_max_in_flight=self.create_max_in_flight, strategy=self.name
        )

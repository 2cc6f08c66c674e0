"""The foreman: blueprint - floorplan - limitations → remodels → (strategy) → construction plan.

Remodels come from plugins through ``jobsite_foreman_remodels`` (core's own diff is the
built-in ``trylast`` implementation), then limitations and vetoes set some aside as
*skipped*, each with its reason, and the chosen strategy orders the rest. Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from jobsite.errors import ConfigError, PluginError
from jobsite.foreman._construction import ConstructionPlan, GroupUpdate, Strategy, UpdatePolicy
from jobsite.foreman._remodels import Reason, Remodel, Skipped

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobsite._hookcall import HookRunner
    from jobsite.architect import Blueprint
    from jobsite.foreman._limitations import Limitations
    from jobsite.inspector import Floorplan

__all__ = ["DEFAULT_STRATEGY", "collect_remodels", "order_remodels", "update_policy"]

DEFAULT_STRATEGY = "serial"


async def collect_remodels(
    blueprint: Blueprint, floorplan: Floorplan, limitations: Limitations, hooks: HookRunner
) -> tuple[list[Remodel], list[Skipped]]:
    """Every plugin's remodels, minus those limitations and vetoes leave out."""
    proposed: list[Remodel] = []
    seen: set[str] = set()
    for result in await hooks.collect(
        "jobsite_foreman_remodels",
        blueprint=blueprint,
        floorplan=floorplan,
        limitations=limitations,
    ):
        for remodel in result:
            if not isinstance(remodel, Remodel):
                raise PluginError(
                    "jobsite_foreman_remodels must return Remodel values, got "
                    f"{type(remodel).__name__}"
                )
            if remodel.id in seen:
                raise PluginError(f"two remodels share the id {remodel.id!r}")
            seen.add(remodel.id)
            proposed.append(remodel)
    kept: list[Remodel] = []
    skipped: list[Skipped] = []
    ignored = limitations.ignored | {i.uuid for i in blueprint.instances if i.ignored}
    vetoing = hooks.implemented("jobsite_foreman_veto")
    for remodel in proposed:
        if remodel.instance is not None and remodel.instance in ignored:
            reason = Reason(
                code="ignored",
                message=f"instance {remodel.instance_name} is ignored (jobsite ignore)",
            )
            skipped.append(Skipped(remodel=remodel, reason=reason))
            continue
        if vetoing:
            veto = await hooks.first_named(
                "jobsite_foreman_veto", remodel=remodel, blueprint=blueprint, floorplan=floorplan
            )
            if veto is not None:
                plugin, why = veto
                reason = Reason(code="vetoed", message=f"vetoed by {plugin}: {why}")
                skipped.append(Skipped(remodel=remodel, reason=reason, by=plugin))
                continue
        kept.append(remodel)
    return kept, skipped


def update_policy(blueprint: Blueprint, default: str = DEFAULT_STRATEGY) -> UpdatePolicy:
    """The strategy and per-group update settings the manifest asks for.

    The deployment's strategy (``update.strategy``, else BOSH's ``update.vm_strategy``, else
    ``default``, the director's) draws the whole plan; a group asking for another is told to
    it through :class:`GroupUpdate` so the strategy can honour it for that group.
    """
    strategy = blueprint.update.strategy_name(default)
    groups = tuple(
        GroupUpdate(
            group=g.name,
            instances=g.instances,
            update=g.update,
            strategy=g.update.strategy_name(strategy),
        )
        for g in blueprint.groups
    )
    return UpdatePolicy(strategy=strategy, groups=groups, swap_addresses=blueprint.swap_addresses)


async def order_remodels(
    strategy: Strategy, name: str, remodels: Sequence[Remodel], policy: UpdatePolicy
) -> ConstructionPlan:
    """Have ``strategy`` order ``remodels``; check it kept every one and drew a sound DAG."""
    try:
        plan: Any = await strategy.plan(remodels, policy)
    except (ConfigError, PluginError):
        raise
    except Exception as exc:
        raise PluginError(f"strategy {name!r} failed to plan: {type(exc).__name__}: {exc}") from exc
    if not isinstance(plan, ConstructionPlan):
        raise PluginError(
            f"strategy {name!r} returned {type(plan).__name__}, not a ConstructionPlan"
        )
    checked: ConstructionPlan = plan
    checked.check()
    given = {r.id for r in remodels}
    dropped = given - {r.id for r in checked.remodels}
    if dropped:
        raise PluginError(
            f"strategy {name!r} dropped remodel {sorted(dropped)[0]!r}; a strategy orders "
            "remodels, it never removes them (veto with jobsite_foreman_veto instead)"
        )
    if checked.strategy != name:
        checked = attrs.evolve(checked, strategy=name)
    return checked

"""Running the planning phases: inspector → architect → foreman (+ strategy) → plan.

The inspector runs first because identities come from the past: the architect keeps each
known instance's uuid, index, AZ and addresses (read from the floorplan), and only then can
the foreman diff the two. Data still flows one way: each phase takes the previous phases'
values and returns a new one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import attrs

from jobsite._gcpause import gc_frozen
from jobsite.architect import ArchitectInputs, draw_blueprint
from jobsite.config import DeploymentConfigs, UpdateConfig
from jobsite.driver import DriverContext
from jobsite.errors import ConfigError
from jobsite.foreman import (
    DEFAULT_STRATEGY,
    Limitations,
    Strategy,
    collect_remodels,
    order_remodels,
    update_policy,
)
from jobsite.inspector import Floorplan, known_instances, survey
from jobsite.planning._plan import Plan

if TYPE_CHECKING:
    from pathlib import Path

    from jobsite.cpi import Cpi
    from jobsite.plugins import Plugins
    from jobsite.store import StemcellRecord, Store

__all__ = ["PlanRequest", "make_plan", "plan_problems"]


@attrs.frozen(kw_only=True)
class PlanRequest:
    """What the operator asks for: the configs, and the flags of ``plan``/``deploy``."""

    configs: DeploymentConfigs
    recreate: bool = False
    """``--recreate``: every VM of the deployment."""
    recreate_instances: frozenset[str] = frozenset()
    """Instance uuids or group names whose VMs to recreate."""
    states: Mapping[str, str] = attrs.field(factory=dict)
    """Instance uuid → the state the operator asks for (``started``, ``stopped``,
    ``detached``), over the state the store records (``jobsite start|stop [--hard]``)."""
    restart: frozenset[str] = frozenset()
    """Instance uuids whose jobs to restart (``jobsite restart``)."""
    fix: bool = False
    skip_drain: bool = False
    ignored: frozenset[str] = frozenset()
    """Instance uuids to leave alone, beyond those the store marks ignored."""
    strategy: str | None = None
    """The director's default strategy (the manifest's ``update`` block overrides it)."""
    strategy_options: Mapping[str, object] = attrs.field(factory=dict)
    id_seed: str | None = None
    """The seed for new identities; a random one when None."""
    manifest_text: str = ""
    """The manifest's text as applied, recorded by a deploy (``jobsite manifest``)."""
    config_ids: tuple[int, ...] = ()
    """The stored config versions ``configs`` came from, recorded by a deploy."""


def plan_problems(floorplan: Floorplan, limitations: Limitations) -> list[str]:
    """What forbids deploying: VMs gone from the cloud, unless ``--fix`` recreates them."""
    if limitations.fix:
        return []
    names = {i.uuid: f"{i.group}/{i.uuid} ({i.group}/{i.index})" for i in floorplan.instances}
    # an inactive VM (half deleted, or made for a swap) that is gone is only a row to forget
    active = {v.id for v in floorplan.vms if v.active}
    return [
        f"instance {names.get(d.instance or '', d.instance)}: {d.message}; plan with --fix to "
        "recreate it"
        for d in floorplan.drift
        if d.kind == "vm_missing" and d.instance is not None and d.vm in active
    ]


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions as BOSH does: dotted parts compared as numbers where they are
    numbers (``1.10`` is newer than ``1.9``), as text otherwise."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in version.replace("-", ".").split(".")
    )


def latest_stemcells(stemcells: Iterable[StemcellRecord]) -> dict[str, str]:
    """Stemcell os and name → the newest version uploaded."""
    out: dict[str, str] = {}
    for record in stemcells:
        for key in {record.os, record.name}:
            if key not in out or version_key(record.version) > version_key(out[key]):
                out[key] = record.version
    return out


def held_addresses(floorplan: Floorplan) -> dict[str, frozenset[str]]:
    """Per network, the addresses the deployment's reservations and VMs hold now."""
    out: dict[str, set[str]] = {}
    for reservation in floorplan.addresses:
        out.setdefault(reservation.network, set()).add(reservation.address)
    for vm in floorplan.vms:
        for network, settings in vm.networks.items():
            ip = settings.get("ip") if isinstance(settings, Mapping) else None
            if isinstance(ip, str) and settings.get("type") == "manual":
                out.setdefault(network, set()).add(ip)
    return {k: frozenset(v) for k, v in out.items()}


def _warnings(floorplan: Floorplan, limitations: Limitations) -> list[str]:
    out = []
    for d in floorplan.drift:
        if d.kind == "vm_unknown" and not limitations.fix:
            out.append(f"{d.message}; plan with --fix to delete it")
        elif d.kind == "vm_unchecked":
            out.append(d.message)
    return out


def _versions(plugins: Plugins) -> dict[str, str]:
    out = {}
    try:
        out["jobsite-core"] = version("jobsite-core")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        out["jobsite-core"] = "unknown"
    for info in plugins.infos:
        if info.distribution and info.version:
            out[info.distribution] = info.version
    return out


class _Strategies:
    """The strategies a deployment asks for, built once each, and the one that draws."""

    def __init__(self, plugins: Plugins, request: PlanRequest, home: Path | None) -> None:
        self._plugins = plugins
        self._options = dict(request.strategy_options)
        self._home = home
        self.default = request.strategy or DEFAULT_STRATEGY
        self._built: dict[str, Strategy] = {}

    def get(self, name: str) -> Strategy:
        if name not in self._built:
            self._built[name] = self._plugins.registry("strategy").create(
                DriverContext(name=name, options=self._options, home=self._home)
            )
        return self._built[name]

    def choose(self, configs: DeploymentConfigs) -> tuple[str, frozenset[str]]:
        """The strategy that draws the plan, and the groups that need spare addresses.

        The deployment's strategy draws when it can plan every group's; otherwise a
        group's strategy that can plan all the others does (``hot_swap`` plans a group
        that asks for ``serial``, not the reverse).
        """
        manifest = configs.manifest
        base = manifest.update or UpdateConfig()
        wanted = base.strategy_name(self.default)
        per_group = {
            g.name: (g.update.over(base) if g.update is not None else base).strategy_name(
                self.default
            )
            for g in manifest.instance_groups
        }
        names = {wanted, *per_group.values()}

        def covers(name: str) -> bool:
            handles = frozenset(getattr(self.get(name), "handles", frozenset()))
            return names - {name} <= handles

        drawer = wanted if covers(wanted) else next((n for n in sorted(names) if covers(n)), None)
        if drawer is None:
            group, other = next((g, n) for g, n in per_group.items() if n != wanted)
            raise ConfigError(
                f"instance_groups[{group}].update: strategy {other!r} cannot be mixed with the "
                f"deployment's {wanted!r}: neither strategy plans the other's groups"
            )
        swap_groups = frozenset(
            g for g, n in per_group.items() if getattr(self.get(n), "creates_first", False)
        )
        return drawer, swap_groups


async def make_plan(
    request: PlanRequest,
    *,
    store: Store,
    cpi: Cpi | None,
    plugins: Plugins,
    director: str = "jobsite",
    home: Path | None = None,
) -> Plan:
    """Survey, draw, diff and order: the plan for ``request``'s deployment.

    ``cpi=None`` plans from the store alone (recorded VMs are assumed to exist).
    """
    configs = request.configs
    deployment = configs.manifest.name
    floorplan = await survey(deployment, store, cpi, director=director, hooks=plugins.hooks)
    stored_ignored = frozenset(i.uuid for i in floorplan.instances if i.ignore)
    states = {i.uuid: i.state for i in floorplan.instances}
    states.update(request.states)
    detached = frozenset(u for u, state in states.items() if state == "detached")
    stopped = frozenset(u for u, state in states.items() if state == "stopped")
    id_seed = request.id_seed if request.id_seed is not None else secrets.token_hex(16)
    strategies = _Strategies(plugins, request, home)
    drawer, swap_groups = strategies.choose(configs)
    inputs = ArchitectInputs(
        configs=configs,
        known=known_instances(floorplan),
        taken_addresses=floorplan.taken_addresses,
        held_addresses=held_addresses(floorplan),
        id_seed=id_seed,
        detached=detached,
        stopped=stopped,
        ignored=stored_ignored | request.ignored,
        recreate=request.recreate_instances,
        restart=request.restart,
        recreate_all=request.recreate,
        swap_groups=swap_groups,
        latest_stemcells=latest_stemcells(await store.list_stemcells()),
    )
    blueprint = draw_blueprint(inputs)
    extra = [
        material
        for result in await plugins.hooks.collect("jobsite_architect_materials", inputs=inputs)
        for material in result
    ]
    if extra:
        blueprint = attrs.evolve(blueprint, extra=tuple(extra))
    limitations = Limitations(
        ignored=stored_ignored | request.ignored,
        skip_drain=request.skip_drain,
        fix=request.fix,
    )
    remodels, skipped = await collect_remodels(blueprint, floorplan, limitations, plugins.hooks)
    policy = attrs.evolve(
        update_policy(blueprint, default=request.strategy or DEFAULT_STRATEGY), strategy=drawer
    )
    with gc_frozen():  # the blueprint, floorplan and remodels are settled: don't rescan them
        construction = await order_remodels(strategies.get(drawer), drawer, remodels, policy)
    return Plan(
        deployment=deployment,
        id_seed=id_seed,
        blueprint=blueprint,
        floorplan=floorplan,
        limitations=limitations,
        construction=construction,
        skipped=tuple(skipped),
        problems=tuple(plan_problems(floorplan, limitations)),
        warnings=tuple(_warnings(floorplan, limitations)),
        versions=_versions(plugins),
        manifest_text=request.manifest_text,
        config_ids=request.config_ids,
    )

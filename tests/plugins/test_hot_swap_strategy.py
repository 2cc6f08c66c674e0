"""The ``hot_swap`` strategy (jobsite-hot-swap): BOSH's create-swap-delete for a whole deploy.

Every VM that can be is created first (``create VMs``), replaced instances' VMs as standbys;
then unneeded instances are deleted; then per group, canaries and a rolling pool of
``max_in_flight`` as ``serial`` draws them, each replaced instance stopped, swapped onto its
new VM and started; the old VMs are deleted last (``delete old VMs``). New VMs take a spare
address where the old VM holds the one they were given; where that cannot be, the instance
falls back to delete-first.

Remodels are built here the way core's diff shapes them, so these tests do not depend on the
diff; the last ones go through ``jobsite.planning.make_plan`` with the installed plugins.
"""

from __future__ import annotations

import ast
import gc
import itertools
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import jobsite_hot_swap
import pytest
import yaml
from jobsite_hot_swap import (
    CLEANUP_STAGE,
    CREATE_STAGE,
    DEFAULT_CREATE_MAX_IN_FLIGHT,
    DELETE_STAGE,
    HotSwapStrategy,
    hot_swap_plan,
)

from jobsite import DriverContext
from jobsite.architect import NetworkPlacement, VmMaterial
from jobsite.config import Document, MaxInFlight, UpdateConfig, WatchTime, load_deployment
from jobsite.errors import ConfigError
from jobsite.foreman import (
    ConstructionPlan,
    GroupUpdate,
    Reason,
    Remodel,
    Stage,
    Strategy,
    UpdatePolicy,
    order_remodels,
    settled_records,
)
from jobsite.planning import Plan, PlanRequest, make_plan
from jobsite.plugins import load_plugins
from jobsite.store import VmRecord, open_store

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# --- building remodels as core's diff shapes them ---------------------------------------------

WHY_VM = Reason(code="stemcell_changed", message="stemcell ubuntu-jammy/1.1 → ubuntu-jammy/1.2")
WHY_NEW = Reason(code="new_instance", message="new instance")


def manual(
    ip: str, network: str = "default", *, static: bool = False, kind: str = "manual"
) -> NetworkPlacement:
    return NetworkPlacement(
        network=network,
        type=kind,  # type: ignore[arg-type]
        ip=ip,
        netmask="255.255.255.0",
        gateway="10.0.0.1",
        static=static,
    )


def dynamic(network: str = "cloud") -> NetworkPlacement:
    return NetworkPlacement(network=network, type="dynamic")


def vm_material(uuid: str, *networks: NetworkPlacement) -> VmMaterial:
    return VmMaterial(
        instance=uuid, stemcell_os="ubuntu-jammy", stemcell_version="1.2", networks=networks
    )


def vm_record(uuid: str, vm: str, held: Mapping[str, str]) -> VmRecord:
    """The old VM's store record, holding ``held`` (network → ip)."""
    return VmRecord(
        id=vm,
        deployment="shop",
        instance_uuid=uuid,
        cid=f"cid-{vm}",
        agent_id=f"agent-{vm}",
        stemcell_os="ubuntu-jammy",
        stemcell_version="1.1",
        networks={n: {"type": "manual", "ip": ip} for n, ip in held.items()},
        state="created",
        active=True,
    )


def step(
    group: str | None,
    uuid: str | None,
    action: str,
    subject: str = "",
    reasons: tuple[Reason, ...] = (WHY_VM,),
    index: int = 0,
    **fields: Any,
) -> Remodel:
    owner = f"{group}/{uuid}" if uuid else "shop"
    return Remodel(
        id=f"{owner}:{action}" + (f":{subject}" if subject else ""),
        action=action,
        deployment="shop",
        instance_group=group,
        instance=uuid,
        index=index if uuid else None,
        reasons=reasons,
        **fields,
    )


def replaced(
    group: str,
    uuid: str,
    ip: str | None = None,
    *,
    networks: tuple[NetworkPlacement, ...] | None = None,
    held: Mapping[str, str] | None = None,
    disks: tuple[str, ...] = ("d",),
    cid: str | None = None,
    record: bool = True,
) -> list[Remodel]:
    """An instance whose VM is replaced, in core's delete-first order.

    The new VM is given ``ip`` on ``default`` (the address the instance keeps), and the old
    one holds ``held`` (by default that same address).
    """
    old, new = f"old-{uuid}", f"new-{uuid}"
    placements = networks if networks is not None else ((manual(ip),) if ip else ())
    holds = held if held is not None else ({"default": ip} if ip else {})
    return [
        step(group, uuid, "stop", old, vm=old, cid=f"cid-{old}", options={"drain": True}),
        *(
            step(group, uuid, "detach_disk", f"{d}@{old}", disk=d, vm=old, cid=f"cid-{d}")
            for d in disks
        ),
        step(
            group,
            uuid,
            "delete_vm",
            old,
            vm=old,
            cid=f"cid-{old}",
            material=vm_record(uuid, old, holds) if record else None,
        ),
        step(
            group,
            uuid,
            "create_vm",
            new,
            vm=new,
            cid=cid,
            material=vm_material(uuid, *placements),
            options={"agent_id": f"agent-{new}"},
        ),
        *(step(group, uuid, "attach_disk", f"{d}@{new}", disk=d, vm=new) for d in disks),
        step(group, uuid, "apply", new, vm=new, material=(), reasons=(WHY_VM,)),
        step(group, uuid, "start", new, vm=new),
    ]


def created(
    group: str, uuid: str, ip: str | None = "10.0.0.50", *, cid: str | None = None
) -> list[Remodel]:
    """A new instance: its VM, a disk, its jobs."""
    new = f"new-{uuid}"
    networks = (manual(ip),) if ip else ()
    return [
        step(
            group,
            uuid,
            "create_vm",
            new,
            reasons=(WHY_NEW,),
            vm=new,
            cid=cid,
            material=vm_material(uuid, *networks),
            options={"agent_id": f"agent-{new}"},
        ),
        step(group, uuid, "create_disk", "d", reasons=(WHY_NEW,), disk=f"d-{uuid}"),
        step(group, uuid, "attach_disk", f"d@{new}", reasons=(WHY_NEW,), disk=f"d-{uuid}", vm=new),
        step(group, uuid, "apply", new, reasons=(WHY_NEW,), vm=new),
        step(group, uuid, "start", new, reasons=(WHY_NEW,), vm=new),
    ]


def jobs_only(group: str, uuid: str) -> list[Remodel]:
    """An instance whose jobs change on the VM it has."""
    why = (Reason(code="properties_changed", message="properties changed: a"),)
    return [
        step(group, uuid, "stop", "vm", reasons=why, vm=f"vm-{uuid}"),
        step(group, uuid, "apply", "vm", reasons=why, vm=f"vm-{uuid}"),
        step(group, uuid, "start", "vm", reasons=why, vm=f"vm-{uuid}"),
    ]


def removed(group: str, uuid: str, ip: str) -> list[Remodel]:
    """An instance no longer wanted (scale-down), whose VM holds ``ip``."""
    why = (Reason(code="scale_down", message=f"{group} is scaled down"),)
    old = f"old-{uuid}"
    return [
        step(group, uuid, "stop", old, reasons=why, vm=old),
        step(
            group,
            uuid,
            "delete_vm",
            old,
            reasons=why,
            vm=old,
            cid=f"cid-{old}",
            material=vm_record(uuid, old, {"default": ip}),
        ),
        step(group, uuid, "delete_instance", reasons=why),
    ]


def ips(count: int, start: int = 10) -> list[str]:
    return [f"10.0.0.{start + n}" for n in range(count)]


def fleet(group: str, count: int) -> list[Remodel]:
    """``count`` replaced instances ``<group>-0`` ... on addresses 10.0.0.10 ..."""
    base = {"web": 10, "db": 40, "api": 70, "log": 100}.get(group, 130)
    return [r for n, ip in enumerate(ips(count, base)) for r in replaced(group, f"{group}-{n}", ip)]


def spares_for(*remodels_lists: Sequence[Remodel]) -> dict[str, tuple[NetworkPlacement, ...]]:
    """A spare on ``default`` for every instance, at 10.0.0.200 + its order."""
    uuids: list[str] = []
    for remodels in remodels_lists:
        for r in remodels:
            if r.instance and r.instance not in uuids:
                uuids.append(r.instance)
    return {u: (manual(f"10.0.1.{n + 1}"),) for n, u in enumerate(uuids)}


def group(name: str, size: int, strategy: str = "hot_swap", **update: Any) -> GroupUpdate:
    return GroupUpdate(group=name, instances=size, update=UpdateConfig(**update), strategy=strategy)


def policy(
    *groups: GroupUpdate, spares: Mapping[str, tuple[NetworkPlacement, ...]] | None = None
) -> UpdatePolicy:
    return UpdatePolicy(strategy="hot_swap", groups=groups, swap_addresses=spares or {})


async def plan(
    remodels: Sequence[Remodel], update: UpdatePolicy, strategy: HotSwapStrategy | None = None
) -> ConstructionPlan:
    drawn = await (strategy or HotSwapStrategy()).plan(remodels, update)
    drawn.check()
    assert_keeps_every_remodel(drawn, remodels)
    return drawn


def assert_keeps_every_remodel(drawn: ConstructionPlan, given: Sequence[Remodel]) -> None:
    """Every given remodel is in the plan once, in exactly one stage, plus one ``swap`` per
    swapped instance; and every edge points forward through the stages."""
    ids = [r.id for r in drawn.remodels]
    assert len(ids) == len(set(ids))
    assert {r.id for r in given} <= set(ids)
    added = [drawn.remodel(i) for i in set(ids) - {r.id for r in given}]
    assert {r.action for r in added} <= {"swap"}
    placed = Counter(rid for s in drawn.stages for rid in s.remodels)
    assert placed == Counter(ids)
    order = {s.name: n for n, s in enumerate(drawn.stages)}
    stage_of = drawn.stage_of()
    for before, after in drawn.edges:
        assert order[stage_of[before]] <= order[stage_of[after]], (before, after)


def stage(drawn: ConstructionPlan, name: str) -> Stage:
    return next(s for s in drawn.stages if s.name == name)


def names(drawn: ConstructionPlan) -> list[str]:
    return [s.name for s in drawn.stages]


def members(drawn: ConstructionPlan, name: str) -> list[str]:
    """The instances a stage holds, in order."""
    out: list[str] = []
    for rid in stage(drawn, name).remodels:
        who = drawn.remodel(rid).instance or rid
        if who not in out:
            out.append(who)
    return out


def ancestors(drawn: ConstructionPlan, name: str) -> set[str]:
    """Every stage that must finish before ``name`` starts."""
    by_name = {s.name: s for s in drawn.stages}
    seen: set[str] = set()
    todo = list(by_name[name].after)
    while todo:
        other = todo.pop()
        if other not in seen:
            seen.add(other)
            todo.extend(by_name[other].after)
    return seen


def of(drawn: ConstructionPlan, uuid: str, action: str) -> Remodel:
    return next(r for r in drawn.remodels if r.instance == uuid and r.action == action)


def chain(drawn: ConstructionPlan, uuid: str) -> list[str]:
    """The actions of an instance's remodels in its group's stages, in stage order."""
    return [
        drawn.remodel(rid).action
        for s in drawn.stages
        if s.name not in (CREATE_STAGE, CLEANUP_STAGE)
        for rid in s.remodels
        if drawn.remodel(rid).instance == uuid
    ]


def ip_of(remodel: Remodel, network: str = "default") -> str | None:
    material: VmMaterial = remodel.material
    return next(p.ip for p in material.networks if p.network == network)


# --- create VMs, swap, delete old VMs ----------------------------------------------------------


@pytest.mark.anyio
async def test_a_replaced_instance_is_created_first_swapped_in_its_stage_and_deleted_last() -> None:
    given = replaced("web", "w0", "10.0.0.10", disks=("d1", "d2"))
    drawn = await plan(given, policy(group("web", 1), spares=spares_for(given)))

    assert names(drawn) == [CREATE_STAGE, "web: canaries", CLEANUP_STAGE]
    create, cleanup = stage(drawn, CREATE_STAGE), stage(drawn, CLEANUP_STAGE)
    assert (create.kind, create.after, create.instance_group) == ("create", (), None)
    assert create.max_in_flight == DEFAULT_CREATE_MAX_IN_FLIGHT == 32
    assert create.remodels == ("web/w0:create_vm:new-w0",)
    assert stage(drawn, "web: canaries").after == (CREATE_STAGE,)
    assert (cleanup.kind, cleanup.after) == ("cleanup", ("web: canaries",))
    assert cleanup.remodels == ("web/w0:delete_vm:old-w0",)

    swap = of(drawn, "w0", "swap")
    assert swap.id == "web/w0:swap:new-w0"
    assert (swap.deployment, swap.instance_group, swap.instance, swap.index) == (
        "shop",
        "web",
        "w0",
        0,
    )
    assert (swap.vm, dict(swap.options)) == ("new-w0", {"old_vm": "old-w0"})
    assert swap.reasons == of(drawn, "w0", "create_vm").reasons
    assert swap.reasons[0] == WHY_VM
    assert stage(drawn, "web: canaries").remodels == (
        "web/w0:apply:new-w0",  # on the standby VM, while the old one still runs
        "web/w0:stop:old-w0",
        "web/w0:detach_disk:d1@old-w0",
        "web/w0:detach_disk:d2@old-w0",
        "web/w0:swap:new-w0",
        "web/w0:attach_disk:d1@new-w0",
        "web/w0:attach_disk:d2@new-w0",
        "web/w0:start:new-w0",
    )
    swapped_in = list(stage(drawn, "web: canaries").remodels)
    assert set(drawn.edges) == {
        *itertools.pairwise(swapped_in),
        ("web/w0:create_vm:new-w0", "web/w0:swap:new-w0"),
        ("web/w0:create_vm:new-w0", "web/w0:apply:new-w0"),
        ("web/w0:swap:new-w0", "web/w0:delete_vm:old-w0"),
    }
    assert len(drawn.edges) == len(set(drawn.edges))
    # the plan lists the instance's remodels in the order they run
    listed = [r.id for r in drawn.remodels if r.instance == "w0"]
    assert listed == [
        "web/w0:create_vm:new-w0",
        *stage(drawn, "web: canaries").remodels,
        "web/w0:delete_vm:old-w0",
    ]


@pytest.mark.anyio
async def test_the_new_vm_is_a_standby_until_the_swap_and_a_new_instances_is_not() -> None:
    given = [*replaced("web", "w0", "10.0.0.10"), *created("web", "w1")]
    drawn = await plan(given, policy(group("web", 2), spares=spares_for(given)))
    assert dict(of(drawn, "w0", "create_vm").options) == {
        "agent_id": "agent-new-w0",
        "standby": True,
    }
    assert dict(of(drawn, "w1", "create_vm").options) == {"agent_id": "agent-new-w1"}
    assert stage(drawn, CREATE_STAGE).remodels == (
        "web/w0:create_vm:new-w0",
        "web/w1:create_vm:new-w1",
    )
    # the new instance has nothing to swap or delete: the rest of it follows its VM
    assert [r.action for r in drawn.remodels if r.instance == "w1"] == [
        "create_vm",
        "create_disk",
        "attach_disk",
        "apply",
        "start",
    ]
    assert chain(drawn, "w1") == ["create_disk", "attach_disk", "apply", "start"]
    assert ("web/w1:create_vm:new-w1", "web/w1:create_disk:d") in drawn.edges
    assert stage(drawn, CLEANUP_STAGE).remodels == ("web/w0:delete_vm:old-w0",)


@pytest.mark.anyio
async def test_every_vm_of_the_deploy_is_created_before_any_running_instance_is_touched() -> None:
    given = [
        *removed("web", "w9", "10.0.0.99"),
        *fleet("web", 4),
        *created("web", "w5", "10.0.0.60"),
        *jobs_only("db", "d0"),
        *fleet("api", 3),
    ]
    drawn = await plan(
        given,
        policy(
            group("web", 6, max_in_flight=MaxInFlight(2)),
            group("db", 1),
            group("api", 3, serial=False),
            spares=spares_for(given),
        ),
    )
    assert drawn.stages[0].name == CREATE_STAGE
    created_first = [drawn.remodel(rid) for rid in stage(drawn, CREATE_STAGE).remodels]
    assert {r.action for r in created_first} == {"create_vm"}
    assert [r.instance for r in created_first] == [
        "web-0",
        "web-1",
        "web-2",
        "web-3",
        "w5",
        "api-0",
        "api-1",
        "api-2",
    ]
    assert {r.id for r in drawn.remodels if r.action == "create_vm"} == {
        r.id for r in created_first
    }
    for later in drawn.stages[1:]:
        assert CREATE_STAGE in ancestors(drawn, later.name), later.name
    # unneeded instances are deleted after the VMs are created, before any group
    assert names(drawn)[1] == DELETE_STAGE
    assert stage(drawn, DELETE_STAGE).after == (CREATE_STAGE,)
    assert members(drawn, DELETE_STAGE) == ["w9"]
    for name in names(drawn)[2:]:
        assert DELETE_STAGE in ancestors(drawn, name), name
    # old VMs go last, after every group's last stage
    assert names(drawn)[-1] == CLEANUP_STAGE
    assert stage(drawn, CLEANUP_STAGE).after == (
        "web: update",
        "db: canaries",
        "api: update",
    )
    assert [drawn.remodel(rid).instance for rid in stage(drawn, CLEANUP_STAGE).remodels] == [
        "web-0",
        "web-1",
        "web-2",
        "web-3",
        "api-0",
        "api-1",
        "api-2",
    ]


@pytest.mark.anyio
async def test_unneeded_instances_leftover_vms_and_removed_groups_are_deleted_as_serial_does() -> (
    None
):
    scaled_down = removed("web", "w9", "10.0.0.99")
    removed_group = jobs_only("worker", "k0")
    leftover = [
        Remodel(id="shop:delete_vm:vm-7", action="delete_vm", deployment="shop", cid="vm-7")
    ]
    leftover_of_group = [step("web", None, "delete_vm", "x", vm="x")]
    given = [*scaled_down, *removed_group, *fleet("web", 1), *leftover_of_group, *leftover]
    drawn = await plan(given, policy(group("web", 2), spares=spares_for(given)))
    assert names(drawn) == [CREATE_STAGE, DELETE_STAGE, "web: canaries", CLEANUP_STAGE]
    assert stage(drawn, DELETE_STAGE).kind == "delete"
    assert stage(drawn, DELETE_STAGE).remodels == tuple(
        r.id for r in (*scaled_down, *removed_group, *leftover_of_group, *leftover)
    )
    assert stage(drawn, "web: canaries").after == (DELETE_STAGE,)
    # deletions keep their order, chained per instance
    assert ("web/w9:stop:old-w9", "web/w9:delete_vm:old-w9") in drawn.edges
    assert ("web/w9:delete_vm:old-w9", "web/w9:delete_instance") in drawn.edges


@pytest.mark.anyio
async def test_a_deploy_that_creates_no_vm_has_no_create_or_cleanup_stage() -> None:
    given = [*jobs_only("web", "w0"), *jobs_only("web", "w1")]
    drawn = await plan(given, policy(group("web", 2)))
    assert names(drawn) == ["web: canaries", "web: update"]
    assert stage(drawn, "web: canaries").after == ()
    assert drawn.remodels == tuple(given)
    assert set(drawn.edges) == {
        e for i in ("w0", "w1") for e in itertools.pairwise(r.id for r in given if r.instance == i)
    }
    only_deletions = await plan(removed("web", "w3", "10.0.0.13"), policy(group("web", 3)))
    assert names(only_deletions) == [DELETE_STAGE]
    assert stage(only_deletions, DELETE_STAGE).after == ()
    empty = await plan([], policy(group("web", 3)))
    assert (empty.stages, empty.edges, empty.remodels, empty.strategy) == ((), (), (), "hot_swap")


# --- groups: canaries, the pool, serial: false -------------------------------------------------


@pytest.mark.anyio
async def test_canaries_then_a_rolling_pool_of_a_percentage_of_the_group() -> None:
    given = fleet("web", 10)
    drawn = await plan(
        given,
        policy(
            group(
                "web",
                10,
                canaries=2,
                max_in_flight=MaxInFlight(30, percent=True),
                canary_watch_time=WatchTime(1000, 30000),
                update_watch_time=WatchTime(5000, 5000),
            ),
            spares=spares_for(given),
        ),
    )
    assert names(drawn) == [CREATE_STAGE, "web: canaries", "web: update", CLEANUP_STAGE]
    assert members(drawn, "web: canaries") == ["web-0", "web-1"]
    # the rest is one pool: 3 instances at a time, the next starting as soon as one is done
    assert members(drawn, "web: update") == [f"web-{n}" for n in range(2, 10)]
    canaries = stage(drawn, "web: canaries")
    assert (canaries.kind, canaries.max_in_flight, canaries.watch_time) == (
        "canary",
        2,
        (1000, 30000),
    )
    assert canaries.after == (CREATE_STAGE,)
    pool = stage(drawn, "web: update")
    assert (pool.kind, pool.instance_group) == ("update", "web")
    assert (pool.max_in_flight, pool.watch_time) == (3, (5000, 5000))  # 30% of 10
    assert pool.after == ("web: canaries",)
    assert stage(drawn, CLEANUP_STAGE).after == ("web: update",)
    for n in range(10):
        assert chain(drawn, f"web-{n}") == [
            "apply",
            "stop",
            "detach_disk",
            "swap",
            "attach_disk",
            "start",
        ]


@pytest.mark.anyio
async def test_a_percentage_is_of_the_groups_size_and_canaries_obey_max_in_flight() -> None:
    given = fleet("web", 3)
    drawn = await plan(
        given,
        policy(
            group("web", 4, max_in_flight=MaxInFlight(50, percent=True)),
            spares=spares_for(given),
        ),
    )
    assert names(drawn)[1:-1] == ["web: canaries", "web: update"]
    assert members(drawn, "web: update") == ["web-1", "web-2"]
    assert stage(drawn, "web: update").max_in_flight == 2
    five = fleet("web", 5)
    wide = await plan(
        five,
        policy(group("web", 5, canaries=3, max_in_flight=MaxInFlight(1)), spares=spares_for(five)),
    )
    assert members(wide, "web: canaries") == ["web-0", "web-1", "web-2"]
    assert stage(wide, "web: canaries").max_in_flight == 1
    assert names(wide)[1:-1] == ["web: canaries", "web: update"]
    assert members(wide, "web: update") == ["web-3", "web-4"]
    assert stage(wide, "web: update").max_in_flight == 1
    none = await plan(
        fleet("web", 4),
        policy(group("web", 4, canaries=0, max_in_flight=MaxInFlight(2)), spares=spares_for(five)),
    )
    assert names(none)[1:-1] == ["web: update"]
    assert members(none, "web: update") == ["web-0", "web-1", "web-2", "web-3"]
    assert stage(none, "web: update").max_in_flight == 2
    assert stage(none, "web: update").after == (CREATE_STAGE,)


@pytest.mark.anyio
async def test_serial_false_groups_run_alongside_each_other_as_in_bosh() -> None:
    given = [*fleet("db", 1), *fleet("web", 1), *fleet("api", 1), *fleet("log", 1)]
    drawn = await plan(
        given,
        policy(
            group("db", 1),
            group("web", 1, serial=False),
            group("api", 1, serial=False),
            group("log", 1),
            spares=spares_for(given),
        ),
    )
    assert stage(drawn, "db: canaries").after == (CREATE_STAGE,)
    assert stage(drawn, "web: canaries").after == ("db: canaries",)
    assert stage(drawn, "api: canaries").after == ("db: canaries",)
    assert "web: canaries" not in ancestors(drawn, "api: canaries")
    assert stage(drawn, "log: canaries").after == ("web: canaries", "api: canaries")
    assert stage(drawn, CLEANUP_STAGE).after == (
        "db: canaries",
        "web: canaries",
        "api: canaries",
        "log: canaries",
    )


@pytest.mark.anyio
async def test_non_serial_groups_first_start_together_and_unchanged_groups_still_split_runs() -> (
    None
):
    given = [*fleet("web", 1), *fleet("api", 1)]
    drawn = await plan(
        given,
        policy(
            group("web", 1, serial=False),
            group("db", 1),
            group("api", 1, serial=False),
            spares=spares_for(given),
        ),
    )
    assert stage(drawn, "web: canaries").after == (CREATE_STAGE,)
    assert stage(drawn, "api: canaries").after == ("web: canaries",)
    together = await plan(
        given,
        policy(
            group("web", 1, serial=False), group("api", 1, serial=False), spares=spares_for(given)
        ),
    )
    assert stage(together, "web: canaries").after == (CREATE_STAGE,)
    assert stage(together, "api: canaries").after == (CREATE_STAGE,)
    assert stage(together, CLEANUP_STAGE).after == ("web: canaries", "api: canaries")


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_new_vm_takes_the_spare_address_where_the_old_vm_holds_its_own() -> None:
    given = replaced("web", "w0", "10.0.0.10")
    spare = manual("10.0.0.200")
    drawn = await plan(given, policy(group("web", 1), spares={"w0": (spare,)}))
    create = of(drawn, "w0", "create_vm")
    given_create = next(r for r in given if r.action == "create_vm")
    assert create.material == attrs.evolve(given_create.material, networks=(spare,))
    changed = Reason(
        code="address_changed",
        message=(
            "address 10.0.0.10 → 10.0.0.200 on default (hot_swap: the old VM keeps its "
            "address until it is deleted)"
        ),
        details={"network": "default", "old": "10.0.0.10", "new": "10.0.0.200"},
    )
    for action in ("create_vm", "swap", "apply", "start"):
        assert of(drawn, "w0", action).reasons == (WHY_VM, changed), action
    for action in ("stop", "detach_disk", "delete_vm", "attach_disk"):
        assert of(drawn, "w0", action).reasons == (WHY_VM,), action
    assert "swap_fallback" not in {c for r in drawn.remodels for c in r.codes}


@pytest.mark.anyio
async def test_only_held_addresses_change_and_dynamic_networks_are_left_to_the_cloud() -> None:
    networks = (
        manual("10.0.0.10"),
        manual("10.1.0.10", "other"),  # a new address: the old VM holds 10.1.0.9
        dynamic("cloud"),
        manual("10.2.0.10", "third"),
    )
    given = replaced(
        "web",
        "w0",
        networks=networks,
        held={
            "default": "10.0.0.10",
            "other": "10.1.0.9",
            "cloud": "172.16.0.4",
            "third": "10.2.0.10",
        },
    )
    spares = (manual("10.2.0.200", "third"), manual("10.0.0.200"), manual("10.1.0.200", "other"))
    drawn = await plan(given, policy(group("web", 1), spares={"w0": spares}))
    create = of(drawn, "w0", "create_vm")
    assert [(p.network, p.type, p.ip) for p in create.material.networks] == [
        ("default", "manual", "10.0.0.200"),
        ("other", "manual", "10.1.0.10"),
        ("cloud", "dynamic", None),
        ("third", "manual", "10.2.0.200"),
    ]
    changes = [r.details for r in create.reasons if r.code == "address_changed"]
    assert changes == [
        {"network": "default", "old": "10.0.0.10", "new": "10.0.0.200"},
        {"network": "third", "old": "10.2.0.10", "new": "10.2.0.200"},
    ]
    assert of(drawn, "w0", "swap").reasons == create.reasons


@pytest.mark.anyio
async def test_a_vm_on_addresses_the_old_one_does_not_hold_is_swapped_without_a_spare() -> None:
    given = replaced("web", "w0", "10.0.0.11", held={"default": "10.0.0.10"})
    drawn = await plan(given, policy(group("web", 1)))  # no spare at all: none needed
    create = of(drawn, "w0", "create_vm")
    assert create.material == next(r for r in given if r.action == "create_vm").material
    assert create.reasons == (WHY_VM,)
    assert create.options["standby"] is True
    assert "web/w0:swap:new-w0" in stage(drawn, "web: canaries").remodels
    only_dynamic = replaced("web", "w1", networks=(dynamic(),), held={"cloud": "172.16.0.9"})
    drawn = await plan(only_dynamic, policy(group("web", 1)))
    assert of(drawn, "w1", "create_vm").reasons == (WHY_VM,)
    assert stage(drawn, CREATE_STAGE).remodels == ("web/w1:create_vm:new-w1",)


@pytest.mark.anyio
async def test_when_the_old_vms_addresses_are_unknown_every_address_is_taken_as_held() -> None:
    given = replaced("web", "w0", "10.0.0.10", record=False)
    drawn = await plan(given, policy(group("web", 1), spares={"w0": (manual("10.0.0.200"),)}))
    assert ip_of(of(drawn, "w0", "create_vm")) == "10.0.0.200"
    assert "address_changed" in of(drawn, "w0", "start").codes


# --- falling back to delete-first ---------------------------------------------------------------


def assert_delete_first(drawn: ConstructionPlan, given: Sequence[Remodel], uuid: str) -> None:
    """The instance runs in core's order inside its group's stage: no standby, no swap,
    nothing created up front or deleted last."""
    mine = [r for r in given if r.instance == uuid]
    ids = [r.id for r in mine]
    assert [r.id for r in drawn.remodels if r.instance == uuid] == ids
    assert not any(r.action == "swap" for r in drawn.remodels if r.instance == uuid)
    holding = [s.name for s in drawn.stages if set(ids) & set(s.remodels)]
    assert len(holding) == 1
    assert holding[0] not in (CREATE_STAGE, CLEANUP_STAGE, DELETE_STAGE)
    assert [rid for rid in stage(drawn, holding[0]).remodels if rid in ids] == ids
    assert set(itertools.pairwise(ids)) <= set(drawn.edges)
    assert "standby" not in of(drawn, uuid, "create_vm").options
    assert (
        of(drawn, uuid, "create_vm").material
        == next(r for r in mine if r.action == "create_vm").material
    )


def fallback_of(drawn: ConstructionPlan, uuid: str) -> Reason:
    reasons = [r for r in of(drawn, uuid, "create_vm").reasons if r.code == "swap_fallback"]
    assert len(reasons) == 1
    return reasons[0]


@pytest.mark.anyio
async def test_a_static_ip_cannot_be_held_by_two_vms_so_the_instance_is_replaced_delete_first() -> (
    None
):
    static = replaced(
        "web", "w0", networks=(manual("10.0.0.5", static=True),), held={"default": "10.0.0.5"}
    )
    given = [*static, *fleet("web", 1)]
    drawn = await plan(
        given,
        policy(group("web", 2, canaries=0, max_in_flight=MaxInFlight(2)), spares=spares_for(given)),
    )
    assert_delete_first(drawn, given, "w0")
    why = fallback_of(drawn, "w0")
    assert why.message == (
        "static IP 10.0.0.5 on default cannot be held by two VMs: the VM is replaced delete-first"
    )
    assert dict(why.details) == {"network": "default", "ip": "10.0.0.5", "cause": "static"}
    assert of(drawn, "w0", "delete_vm").reasons == (WHY_VM, why)
    assert of(drawn, "w0", "stop").reasons == (WHY_VM,)
    # the other instance of the group's stage is still swapped
    assert stage(drawn, CREATE_STAGE).remodels == ("web/web-0:create_vm:new-web-0",)
    assert stage(drawn, CLEANUP_STAGE).remodels == ("web/web-0:delete_vm:old-web-0",)
    assert names(drawn) == [CREATE_STAGE, "web: update", CLEANUP_STAGE]
    assert members(drawn, "web: update") == ["w0", "web-0"]
    assert stage(drawn, "web: update").max_in_flight == 2


@pytest.mark.anyio
async def test_a_static_ip_the_old_vm_does_not_hold_needs_no_fallback() -> None:
    given = replaced(
        "web", "w0", networks=(manual("10.0.0.6", static=True),), held={"default": "10.0.0.5"}
    )
    drawn = await plan(given, policy(group("web", 1)))
    assert stage(drawn, CREATE_STAGE).remodels == ("web/w0:create_vm:new-w0",)
    assert ip_of(of(drawn, "w0", "create_vm")) == "10.0.0.6"


@pytest.mark.anyio
async def test_a_vip_cannot_be_held_by_two_vms_either() -> None:
    given = replaced(
        "web",
        "w0",
        networks=(manual("10.0.0.10"), manual("203.0.113.7", "public", static=True, kind="vip")),
        held={"default": "10.0.0.10", "public": "203.0.113.7"},
    )
    drawn = await plan(given, policy(group("web", 1), spares=spares_for(given)))
    assert_delete_first(drawn, given, "w0")
    assert fallback_of(drawn, "w0").message == (
        "VIP 203.0.113.7 on public cannot be held by two VMs: the VM is replaced delete-first"
    )


@pytest.mark.anyio
async def test_an_instance_without_a_spare_address_is_replaced_delete_first() -> None:
    # the architect found no free address for w0's spare (the subnet is exhausted)
    given = [*replaced("web", "w0", "10.0.0.10"), *replaced("web", "w1", "10.0.0.11")]
    drawn = await plan(given, policy(group("web", 2), spares={"w1": (manual("10.0.0.200"),)}))
    assert_delete_first(drawn, given, "w0")
    why = fallback_of(drawn, "w0")
    assert why.message.startswith("no spare address on default")
    assert why.message.endswith("the VM is replaced delete-first")
    assert "10.0.0.10" in why.message
    assert why.details["cause"] == "no_spare"
    assert chain(drawn, "w1") == ["apply", "stop", "detach_disk", "swap", "attach_disk", "start"]
    # a spare on another network is no spare for this one
    other = await plan(
        replaced("web", "w0", "10.0.0.10"),
        policy(group("web", 1), spares={"w0": (manual("10.9.0.200", "other"),)}),
    )
    assert fallback_of(other, "w0").details["cause"] == "no_spare"
    assert names(other) == ["web: canaries"]


@pytest.mark.anyio
async def test_an_address_freed_by_an_instance_deleted_later_is_not_taken_up_front() -> None:
    # web/w9 is scaled down, freeing 10.0.0.19; the architect handed it to the new w5 and
    # as w0's spare, but w9's VM holds it until "delete unneeded instances", after
    # "create VMs": both are created in their group's stage, after the deletion.
    given = [
        *removed("web", "w9", "10.0.0.19"),
        *replaced("web", "w0", "10.0.0.10"),
        *created("web", "w5", "10.0.0.19"),
        *replaced("web", "w1", "10.0.0.11"),
    ]
    spares = {"w0": (manual("10.0.0.19"),), "w1": (manual("10.0.0.201"),)}
    drawn = await plan(
        given, policy(group("web", 3, canaries=0, max_in_flight=MaxInFlight(3)), spares=spares)
    )
    assert_delete_first(drawn, given, "w0")
    assert_delete_first(drawn, given, "w5")
    assert fallback_of(drawn, "w0").message == (
        "address 10.0.0.19 on default is held by VM cid-old-w9 of web/w9 until it is deleted: "
        "the VM is replaced delete-first"
    )
    assert fallback_of(drawn, "w5").message == (
        "address 10.0.0.19 on default is held by VM cid-old-w9 of web/w9 until it is deleted: "
        "the new VM is created in its group's stage, not up front"
    )
    assert stage(drawn, CREATE_STAGE).remodels == ("web/w1:create_vm:new-w1",)
    assert members(drawn, "web: update") == ["w0", "w5", "w1"]
    assert DELETE_STAGE in ancestors(drawn, "web: update")


@pytest.mark.anyio
async def test_a_group_asking_for_serial_is_planned_the_serial_way_inside_the_plan() -> None:
    serial_group = fleet("db", 2)
    given = [*fleet("web", 2), *serial_group, *created("db", "d9", "10.0.0.59")]
    drawn = await plan(
        given,
        policy(group("web", 2), group("db", 3, strategy="serial"), spares=spares_for(given)),
    )
    assert names(drawn) == [
        CREATE_STAGE,
        "web: canaries",
        "web: update",
        "db: canaries",
        "db: update",
        CLEANUP_STAGE,
    ]
    for uuid in ("db-0", "db-1", "d9"):
        assert_delete_first(drawn, given, uuid)
        assert "swap_fallback" not in {
            c for r in drawn.remodels if r.instance == uuid for c in r.codes
        }
    assert members(drawn, CREATE_STAGE) == ["web-0", "web-1"]
    assert stage(drawn, "db: canaries").after == ("web: update",)
    assert members(drawn, "db: update") == ["db-1", "d9"]
    assert stage(drawn, "db: update").after == ("db: canaries",)
    assert CREATE_STAGE in ancestors(drawn, "db: canaries")
    assert stage(drawn, CLEANUP_STAGE).after == ("web: update", "db: update")


# --- adopting a VM an interrupted deploy created ------------------------------------------------


@pytest.mark.anyio
async def test_an_adopted_vm_keeps_its_material_and_still_goes_first() -> None:
    # an interrupted hot_swap left w0's standby VM (cid-standby); the plan adopts it
    adopted = replaced("web", "w0", "10.0.0.10", cid="cid-standby")
    static_adopted = replaced(
        "web",
        "w1",
        networks=(manual("10.0.0.5", static=True),),
        held={"default": "10.0.0.5"},
        cid="cid-s",
    )
    new_adopted = created("web", "w2", "10.0.0.12", cid="cid-new")
    given = [*adopted, *static_adopted, *new_adopted]
    drawn = await plan(given, policy(group("web", 3), spares={"w0": (manual("10.0.0.200"),)}))
    assert stage(drawn, CREATE_STAGE).remodels == (
        "web/w0:create_vm:new-w0",
        "web/w1:create_vm:new-w1",
        "web/w2:create_vm:new-w2",
    )
    for uuid in ("w0", "w1", "w2"):
        create = of(drawn, uuid, "create_vm")
        given_create = next(r for r in given if r.instance == uuid and r.action == "create_vm")
        assert create.material == given_create.material
        assert create.cid == given_create.cid
        assert not {"address_changed", "swap_fallback"} & {
            c for r in drawn.remodels if r.instance == uuid for c in r.codes
        }
    assert of(drawn, "w0", "create_vm").options["standby"] is True
    assert of(drawn, "w1", "create_vm").options["standby"] is True
    assert "standby" not in of(drawn, "w2", "create_vm").options
    assert chain(drawn, "w0") == ["apply", "stop", "detach_disk", "swap", "attach_disk", "start"]
    assert members(drawn, CLEANUP_STAGE) == ["w0", "w1"]


# --- the plan as a whole -------------------------------------------------------------------------


def mixed() -> tuple[list[Remodel], UpdatePolicy]:
    """A deploy with a bit of everything."""
    given = [
        *removed("web", "w9", "10.0.0.99"),
        *fleet("web", 5),
        *replaced(
            "web", "ws", networks=(manual("10.0.0.5", static=True),), held={"default": "10.0.0.5"}
        ),
        *created("web", "wn", "10.0.0.60"),
        *jobs_only("db", "d0"),
        *fleet("db", 2),
        *fleet("api", 3),
        *fleet("log", 2),
        Remodel(id="shop:delete_vm:vm-7", action="delete_vm", deployment="shop", cid="vm-7"),
    ]
    spares = spares_for(given)
    del spares["web-3"]
    update = policy(
        group("web", 7, canaries=2, max_in_flight=MaxInFlight(50, percent=True)),
        group("db", 3, strategy="serial"),
        group("api", 3, serial=False, max_in_flight=MaxInFlight(2)),
        group("log", 2, serial=False, canaries=0),
        spares=spares,
    )
    return given, update


@pytest.mark.anyio
async def test_a_mixed_deploy_passes_cores_checks_and_is_deterministic() -> None:
    given, update = mixed()
    drawn = await plan(given, update)
    again = await plan(list(given), update)
    assert drawn == again
    assert drawn.stages == again.stages
    assert drawn.edges == again.edges
    # through core's own ordering: checked, nothing dropped
    ordered = await order_remodels(HotSwapStrategy(), "hot_swap", given, update)
    assert ordered == drawn
    assert names(drawn) == [
        CREATE_STAGE,
        DELETE_STAGE,
        "web: canaries",
        "web: update",
        "db: canaries",
        "db: update",
        "api: canaries",
        "api: update",
        "log: update",
        CLEANUP_STAGE,
    ]
    fallen = {r.instance for r in drawn.remodels if "swap_fallback" in r.codes}
    assert fallen == {"ws", "web-3"}
    swapped = {r.instance for r in drawn.remodels if r.action == "swap"}
    assert swapped == {
        "web-0",
        "web-1",
        "web-2",
        "web-4",
        "api-0",
        "api-1",
        "api-2",
        "log-0",
        "log-1",
    }
    assert members(drawn, CLEANUP_STAGE) == [
        "web-0",
        "web-1",
        "web-2",
        "web-4",
        "api-0",
        "api-1",
        "api-2",
        "log-0",
        "log-1",
    ]
    assert members(drawn, "web: update") == ["web-2", "web-3", "web-4", "ws", "wn"]
    # 50% of web's 7 is 3, api's is 2; log has no canaries and the default of 1
    assert [stage(drawn, f"{g}: update").max_in_flight for g in ("web", "api", "log")] == [3, 2, 1]
    assert members(drawn, "log: update") == ["log-0", "log-1"]
    assert stage(drawn, "web: update").after == ("web: canaries",)
    assert stage(drawn, "db: update").after == ("db: canaries",)
    assert stage(drawn, "api: update").after == ("api: canaries",)
    # api and log (serial: false) both start when db is done, neither waits for the other
    assert stage(drawn, "api: canaries").after == ("db: update",)
    assert stage(drawn, "log: update").after == ("db: update",)
    assert not ancestors(drawn, "log: update") & {"api: canaries", "api: update"}
    assert stage(drawn, CLEANUP_STAGE).after == (
        "web: update",
        "db: update",
        "api: update",
        "log: update",
    )
    for later in drawn.stages[1:]:
        assert CREATE_STAGE in ancestors(drawn, later.name)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(enabled: bool) -> None:
    given, update = mixed()
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        hot_swap_plan(given, update)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.anyio
async def test_the_create_max_in_flight_option_bounds_the_create_stage() -> None:
    strategy = (
        load_plugins()
        .registry("strategy")
        .create(
            DriverContext(name="hot_swap", options={"create_max_in_flight": 5, "other": "ignored"})
        )
    )
    given = fleet("web", 2)
    drawn = await plan(given, policy(group("web", 2), spares=spares_for(given)), strategy)
    assert stage(drawn, CREATE_STAGE).max_in_flight == 5
    default = load_plugins().registry("strategy").create(DriverContext(name="hot_swap"))
    assert default.create_max_in_flight == DEFAULT_CREATE_MAX_IN_FLIGHT


@pytest.mark.parametrize("value", [0, -3, "8", 2.5, True, None, [4]])
def test_a_bad_create_max_in_flight_is_one_line_naming_the_option(value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        load_plugins().registry("strategy").create(
            DriverContext(name="hot_swap", options={"create_max_in_flight": value})
        )
    text = str(caught.value)
    assert "\n" not in text
    assert text == (
        "strategy hot_swap: option create_max_in_flight: expected a positive integer, "
        f"got {value!r}"
    )


# --- the plugin ---------------------------------------------------------------------------------


def test_the_entry_point_registers_the_hot_swap_strategy() -> None:
    plugins = load_plugins()
    info = next(i for i in plugins.infos if i.name == "hot_swap")
    assert (info.distribution, info.module) == ("jobsite-hot-swap", "jobsite_hot_swap.plugin")
    assert plugins.offered_by("hot_swap") == {"strategy": ["hot_swap"]}
    assert not [f for f in plugins.failures if f.name == "hot_swap"]
    strategy = plugins.registry("strategy").create(DriverContext(name="hot_swap"))
    assert isinstance(strategy, HotSwapStrategy)
    assert isinstance(strategy, Strategy)
    assert strategy.handles == frozenset({"serial"})
    assert strategy.creates_first is True


def test_loading_the_plugin_does_not_import_the_strategy() -> None:
    code = textwrap.dedent(
        """
        import sys
        from jobsite.plugins import load_plugins
        assert "hot_swap" in load_plugins().registry("strategy")
        print(sorted(m for m in sys.modules if m.startswith("jobsite_hot_swap")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['jobsite_hot_swap', 'jobsite_hot_swap.plugin']"


def test_the_plugin_imports_only_jobsites_public_api_and_no_other_plugin() -> None:
    public = {
        "jobsite",
        "jobsite.architect",
        "jobsite.config",
        "jobsite.errors",
        "jobsite.foreman",
    }
    seen: set[str] = set()
    for path in Path(jobsite_hot_swap.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                seen.add(node.module)
            elif isinstance(node, ast.Import):
                seen.update(alias.name for alias in node.names)
    from_jobsite = {m for m in seen if m == "jobsite" or m.startswith("jobsite.")}
    assert from_jobsite
    assert from_jobsite <= public, from_jobsite - public
    assert not {
        m for m in seen if m.startswith("jobsite_") and not m.startswith("jobsite_hot_swap")
    }


# --- end to end: choosing the strategy, through make_plan ----------------------------------------

CLOUD_CONFIG = """
azs: [{name: z1}]
vm_types: [{name: small}]
networks:
- name: default
  type: manual
  subnets:
  - {range: 10.0.0.0/24, gateway: 10.0.0.1, azs: [z1], static: [10.0.0.5-10.0.0.9]}
compilation: {workers: 1, az: z1, vm_type: small, network: default}
"""


def manifest(version: str, update: Mapping[str, Any], **groups: Mapping[str, Any]) -> str:
    """``web`` (3 instances, one disk) and ``db`` (2, static IPs), on stemcell ``version``."""
    web = {
        "name": "web",
        "instances": 3,
        "azs": ["z1"],
        "vm_type": "small",
        "stemcell": "default",
        "persistent_disk": 1024,
        "networks": [{"name": "default"}],
        "jobs": [{"name": "nginx", "release": "shop"}],
        **groups.get("web", {}),
    }
    db = {
        "name": "db",
        "instances": 2,
        "azs": ["z1"],
        "vm_type": "small",
        "stemcell": "default",
        "networks": [{"name": "default", "static_ips": ["10.0.0.5", "10.0.0.6"]}],
        "jobs": [{"name": "pg", "release": "shop"}],
        **groups.get("db", {}),
    }
    return yaml.safe_dump(
        {
            "name": "shop",
            "releases": [{"name": "shop", "version": "1"}],
            "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": version}],
            "update": {"canaries": 1, "max_in_flight": 2, **update},
            "instance_groups": [web, db],
        }
    )


def configs(text: str) -> Any:
    return load_deployment(
        Document("manifest.yml", yaml.safe_load(text)),
        [Document("cloud-config.yml", yaml.safe_load(CLOUD_CONFIG))],
    )


async def deployed_then_planned(tmp_path: Path, before: str, after: str) -> Plan:
    """Record ``before`` as completely deployed, then plan ``after`` against it."""
    plugins = load_plugins()
    async with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        first = await make_plan(
            PlanRequest(configs=configs(before), id_seed="one"),
            store=store,
            cpi=None,
            plugins=plugins,
        )
        settled = settled_records(first.blueprint)
        async with store.transaction() as batch:
            batch.put_deployment(settled.deployment)
            for instance in settled.instances:
                batch.put_instance(instance)
            for vm in settled.vms:
                batch.put_vm(vm)
            for disk in settled.disks:
                batch.put_disk(disk)
            for address in settled.addresses:
                batch.put_ip_reservation(address)
        return await make_plan(
            PlanRequest(configs=configs(after), id_seed="two"),
            store=store,
            cpi=None,
            plugins=plugins,
        )


@pytest.mark.parametrize(
    "update",
    [{"vm_strategy": "create-swap-delete"}, {"strategy": "hot_swap"}],
    ids=["vm_strategy", "strategy"],
)
@pytest.mark.anyio
async def test_a_manifest_asking_for_create_swap_delete_is_planned_by_hot_swap(
    tmp_path: Path, update: Mapping[str, Any]
) -> None:
    made = await deployed_then_planned(tmp_path, manifest("1.1", {}), manifest("1.2", update))
    drawn = made.construction
    assert drawn.strategy == "hot_swap"
    drawn.check()
    assert names(drawn) == [
        CREATE_STAGE,
        "web: canaries",
        "web: update",
        "db: canaries",
        "db: update",
        CLEANUP_STAGE,
    ]
    web = [i.uuid for i in made.blueprint.instances if i.group == "web"]
    db = [i.uuid for i in made.blueprint.instances if i.group == "db"]
    assert members(drawn, CREATE_STAGE) == web
    assert members(drawn, CLEANUP_STAGE) == web
    old_ips = {vm.instance_uuid: vm.networks["default"]["ip"] for vm in made.floorplan.vms}
    for uuid in web:
        create = of(drawn, uuid, "create_vm")
        spare = made.blueprint.swap_addresses[uuid][0]
        assert ip_of(create) == spare.ip != old_ips[uuid]
        assert create.options["standby"] is True
        assert "address_changed" in of(drawn, uuid, "start").codes
        assert chain(drawn, uuid) == [
            "apply",
            "stop",
            "detach_disk",
            "swap",
            "attach_disk",
            "start",
        ]
    # db's static IPs cannot be held twice: replaced delete-first, and it says why
    for uuid in db:
        assert chain(drawn, uuid) == ["stop", "delete_vm", "create_vm", "apply", "start"]
        assert "swap_fallback" in of(drawn, uuid, "create_vm").codes
    assert made.blueprint.swap_addresses.keys() == set(web)


@pytest.mark.anyio
async def test_a_serial_deployment_with_one_group_on_hot_swap_is_drawn_by_hot_swap(
    tmp_path: Path,
) -> None:
    made = await deployed_then_planned(
        tmp_path,
        manifest("1.1", {}),
        manifest("1.2", {}, web={"update": {"vm_strategy": "create-swap-delete"}}),
    )
    drawn = made.construction
    assert drawn.strategy == "hot_swap"
    web = [i.uuid for i in made.blueprint.instances if i.group == "web"]
    db = [i.uuid for i in made.blueprint.instances if i.group == "db"]
    assert members(drawn, CREATE_STAGE) == web
    # db asks for serial (the deployment's): planned the serial way, no fallback reasons
    for uuid in db:
        assert chain(drawn, uuid) == ["stop", "delete_vm", "create_vm", "apply", "start"]
        assert "swap_fallback" not in of(drawn, uuid, "create_vm").codes
    # only hot_swap's group got spare addresses
    assert made.blueprint.swap_addresses.keys() == set(web)
    # and a deployment entirely on serial stays with serial
    (tmp_path / "again").mkdir()
    serial = await deployed_then_planned(
        tmp_path / "again", manifest("1.1", {}), manifest("1.2", {})
    )
    assert serial.construction.strategy == "serial"


# --- end to end: deployed on the mock cloud ------------------------------------------------------

MOCK_CLOUD = """
azs: [{name: z1}]
vm_types: [{name: small}]
disk_types: [{name: ten, disk_size: 10240}]
networks:
- name: default
  type: manual
  subnets: [{range: 10.0.0.0/24, gateway: 10.0.0.1, azs: [z1]}]
compilation: {workers: 1, az: z1, vm_type: small, network: default}
"""


def mock_manifest(version: str, update: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": "shop",
        "releases": [{"name": "app", "version": "1"}],
        "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": version}],
        "update": {
            "canaries": 1,
            "max_in_flight": 2,
            "canary_watch_time": "0-1000",
            "update_watch_time": "0-1000",
            **update,
        },
        "instance_groups": [
            {
                "name": "web",
                "instances": 3,
                "azs": ["z1"],
                "jobs": [{"name": "web", "release": "app"}],
                "vm_type": "small",
                "stemcell": "default",
                "persistent_disk_type": "ten",
                "networks": [{"name": "default"}],
            }
        ],
    }


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_hot_swap_deploy_on_the_mock_cloud_creates_first_and_deletes_last(
    tmp_path: Path,
) -> None:
    from jobsite.director import Director, DirectorConfig, DriverChoice
    from jobsite.store import Batch, StemcellRecord
    from jobsite_mock import MockAgent, MockCpi

    def request(man: dict[str, Any]) -> PlanRequest:
        return PlanRequest(
            configs=load_deployment(
                Document("manifest.yml", man),
                [Document("cloud.yml", yaml.safe_load(MOCK_CLOUD))],
            ),
            manifest_text=yaml.safe_dump(man),
        )

    config = DirectorConfig(
        home=tmp_path,
        store=f"sqlite:///{tmp_path / 'jobsite.db'}",
        cpi=DriverChoice("mock", {}),
        agent=DriverChoice("mock", {}),
    )
    async with Director(config) as director:
        cpi, agent_driver = director.cpi, director.agent
        assert isinstance(cpi, MockCpi)
        assert isinstance(agent_driver, MockAgent)
        for version in ("1.0", "2.0"):
            cid = await director.cpi.create_stemcell("", {})
            await director.store.apply(
                Batch().put_stemcell(
                    StemcellRecord(name="ubuntu-jammy", os="ubuntu-jammy", version=version, cid=cid)
                )
            )
        first = await director.deploy(await director.plan(request(mock_manifest("1.0", {}))))
        assert (first.state, first.failed) == ("done", 0)
        before = {vm.instance_uuid: vm for vm in await director.store.list_vms()}

        wanted = mock_manifest("2.0", {"vm_strategy": "create-swap-delete"})
        made = await director.plan(request(wanted))
        assert made.construction.strategy == "hot_swap"
        calls, agent_calls = len(cpi.calls), len(agent_driver.calls)
        second = await director.deploy(made)
        assert (second.state, second.failed, second.failures) == ("done", 0, ())

        after = {vm.instance_uuid or "": vm for vm in await director.store.list_vms()}
        assert after.keys() == before.keys()
        for uuid, vm in after.items():
            assert (vm.state, vm.active, vm.stemcell_version) == ("created", True, "2.0")
            assert vm.networks["default"]["ip"] == made.blueprint.swap_addresses[uuid][0].ip
            assert vm.networks["default"]["ip"] != before[uuid].networks["default"]["ip"]
        cloud = cpi.calls[calls:]
        agent = agent_driver.calls[agent_calls:]
        new_agents = {vm.agent_id for vm in after.values()}
        created_at = [
            c.ended for c in cloud if c.method == "create_vm" and c.args["agent_id"] in new_agents
        ]
        old_cids = {vm.cid for vm in before.values()}
        deleted_at = [
            c.started for c in cloud if c.method == "delete_vm" and c.args["vm_cid"] in old_cids
        ]
        assert len(created_at) == len(deleted_at) == 3
        # every new VM existed before any instance was stopped; old VMs went after every start
        assert max(created_at) <= min(c.started for c in agent if c.method == "stop")
        assert max(c.ended for c in agent if c.method == "start") <= min(deleted_at)
        assert set(cpi.snapshot().vms) == {vm.cid for vm in after.values()}
        again = await director.plan(request(wanted))
        assert again.construction.remodels == ()

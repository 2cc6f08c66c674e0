"""hot_swap end to end on the mock: new VMs first, then swaps, old VMs last; a failed
creation disturbs no instance, and a rerun reuses what was created (never twice)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from jobsite_mock import Fault

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.anyio


def hot(site: Site, version: str = "1.0", **changes: Any) -> dict[str, Any]:
    return site.manifest(
        update={"strategy": "hot_swap"},
        stemcells=[{"alias": "default", "os": "ubuntu-jammy", "version": version}],
        **changes,
    )


async def ips(site: Site) -> dict[str, str]:
    return {
        r.uuid: vm.networks["default"]["ip"]
        for r, vm, _ in await site.director.instances("shop")
        if vm is not None
    }


async def test_a_hot_swap_creates_every_new_vm_before_touching_an_instance(site: Site) -> None:
    assert (await site.deploy(hot(site))).ok
    web = next(x for x in await site.director.instances("shop") if x[0].group == "web")
    assert web[1] is not None
    await site.agent.write_file(web[1].agent_id, "state", "precious")
    before_ips = await ips(site)
    creates_before = len(site.cpi.calls.of("create_vm"))
    stops_before = len(site.agent.calls.of("stop"))

    man = hot(site, "2.0")
    plan = await site.plan(man)
    assert plan.construction.stages[0].name == "create VMs"
    result = await site.director.deploy(plan)
    assert result.ok, result.failures

    creates = site.cpi.calls.of("create_vm")[creates_before:]
    stops = site.agent.calls.of("stop")[stops_before:]
    deletes = site.cpi.calls.of("delete_vm")
    assert len(creates) == 5
    assert len(stops) == 5
    assert max(c.ended for c in creates) <= min(s.started for s in stops)
    assert min(d.started for d in deletes) >= max(s.ended for s in stops)
    after_ips = await ips(site)
    assert set(after_ips) == set(before_ips)
    assert all(after_ips[u] != before_ips[u] for u in before_ips)  # a spare address each
    codes = {c for r in plan.construction.remodels for c in r.codes}
    assert "address_changed" in codes
    moved = {r.uuid: vm for r, vm, _ in await site.director.instances("shop")}[web[0].uuid]
    assert moved is not None
    assert site.agent.read_file(moved.agent_id, "state") == "precious"
    await site.converged(man)


async def test_a_failed_creation_disturbs_no_instance_and_a_rerun_reuses_what_was_made(
    site: Site,
) -> None:
    assert (await site.deploy(hot(site))).ok
    running = {vm.cid for _, vm, _ in await site.director.instances("shop") if vm}
    stops_before = len(site.agent.calls.of("stop"))
    site.cpi.inject(Fault(method="create_vm", nth=3))

    man = hot(site, "2.0")
    failed = await site.deploy(man)
    assert failed.state == "error"
    assert [f.action for f in failed.failures] == ["create_vm"]
    assert len(site.agent.calls.of("stop")) == stops_before  # nobody was stopped
    assert {vm.cid for _, vm, _ in await site.director.instances("shop") if vm} == running
    standby = [
        v for v in await site.store.list_vms("shop") if not v.active and v.state == "created"
    ]
    assert len(standby) == 4  # made, not yet swapped

    creates_before = len(site.cpi.calls.of("create_vm"))
    plan = await site.plan(man)
    reused = [
        r for r in plan.construction.remodels if r.action == "create_vm" and "vm_reused" in r.codes
    ]
    assert len(reused) == 4
    result = await site.director.deploy(plan)
    assert result.ok, result.failures
    assert len(site.cpi.calls.of("create_vm")) - creates_before == 1  # only the missing one
    assert {v.cid for v in standby} <= {v.cid for v in await site.store.list_vms("shop")}
    await site.converged(man)


async def test_a_static_ip_instance_is_replaced_delete_first(site: Site) -> None:
    static = {"networks": [{"name": "default", "static_ips": ["10.0.0.10-10.0.0.11"]}]}
    man = hot(site, worker=static)
    assert (await site.deploy(man)).ok
    bumped = hot(site, "2.0", worker=static)
    plan = await site.plan(bumped)
    fallback = [r for r in plan.construction.remodels if "swap_fallback" in r.codes]
    assert {r.instance_group for r in fallback} == {"worker"}
    assert (await site.director.deploy(plan)).ok
    assert sorted(
        vm.networks["default"]["ip"]
        for r, vm, _ in await site.director.instances("shop")
        if r.group == "worker" and vm
    ) == ["10.0.0.10", "10.0.0.11"]
    await site.converged(bumped)


async def test_jobs_are_applied_on_the_standby_vm_before_the_old_one_stops(site: Site) -> None:
    """Installing jobs (often an update's slowest step) happens while the old VM still
    serves; with a disk migration in the same update, the apply waits for the new disk."""
    assert (await site.deploy(hot(site))).ok
    plan = await site.plan(hot(site, "2.0"))
    for instance in {r.instance for r in plan.construction.remodels}:
        actions = [r.action for r in plan.construction.remodels if r.instance == instance]
        assert actions.index("apply") < actions.index("stop")
    resized = hot(site, "2.0", web={"persistent_disk_type": "twenty"})
    plan = await site.plan(resized)
    web = {r.instance for r in plan.construction.remodels if r.instance_group == "web"}
    for instance in web:
        actions = [r.action for r in plan.construction.remodels if r.instance == instance]
        assert actions.index("apply") > actions.index("migrate_disk")
    result = await site.director.deploy(plan)
    assert result.ok, result.failures
    await site.converged(resized)

"""End to end on the mock driver: plan, deploy, replan; every change a user makes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.anyio


async def test_a_first_deploy_creates_everything_and_a_redeploy_changes_nothing(
    site: Site,
) -> None:
    result = await site.deploy()
    assert result.ok, result.failures
    assert len(site.cpi.snapshot().vms) == 5
    await site.converged()
    again = await site.deploy()
    assert again.ok
    assert again.done == 0


def vm_cids(site: Site) -> set[str]:
    return set(site.cpi.snapshot().vms)


async def instance_ips(site: Site) -> dict[str, str]:
    return {
        f"{r.group}/{r.index}": vm.networks["default"]["ip"]
        for r, vm, _ in await site.director.instances("shop")
        if vm is not None
    }


async def test_a_stemcell_bump_replaces_every_vm_and_keeps_disks_and_data(site: Site) -> None:
    assert (await site.deploy()).ok
    before = vm_cids(site)
    web = [(r, vm) for r, vm, _ in await site.director.instances("shop") if r.group == "web"]
    record, vm = web[0]
    assert vm is not None
    await site.agent.write_file(vm.agent_id, "data/important.txt", "keep me")
    disks_before = {d.cid for d in await site.store.list_disks("shop")}

    man = site.manifest(stemcells=[{"alias": "default", "os": "ubuntu-jammy", "version": "2.0"}])
    result = await site.deploy(man)
    assert result.ok, result.failures
    assert vm_cids(site).isdisjoint(before)
    assert len(vm_cids(site)) == 5
    assert {d.cid for d in await site.store.list_disks("shop")} == disks_before
    after = {r.uuid: vm for r, vm, _ in await site.director.instances("shop")}
    new_vm = after[record.uuid]
    assert new_vm is not None
    assert new_vm.stemcell_version == "2.0"
    assert site.agent.read_file(new_vm.agent_id, "data/important.txt") == "keep me"
    await site.converged(man)


async def test_a_vm_type_change_replaces_only_that_groups_vms(site: Site) -> None:
    assert (await site.deploy()).ok
    workers = {
        vm.cid for r, vm, _ in await site.director.instances("shop") if r.group == "worker" and vm
    }
    man = site.manifest(web={"vm_type": "large"})
    assert (await site.deploy(man)).ok
    now = {r.group: vm for r, vm, _ in await site.director.instances("shop")}
    assert now["web"] is not None
    assert now["web"].cloud_properties["cpu"] == 4
    assert workers <= vm_cids(site)
    await site.converged(man)


async def test_scaling_up_and_down(site: Site) -> None:
    assert (await site.deploy()).ok
    up = site.manifest(web={"instances": 5})
    assert (await site.deploy(up)).ok
    assert len(vm_cids(site)) == 7
    await site.converged(up)
    down = site.manifest(web={"instances": 2})
    assert (await site.deploy(down)).ok
    assert len(vm_cids(site)) == 4
    orphaned = await site.store.list_disks("shop", orphaned=True)
    assert len(orphaned) == 3  # disks are kept, as BOSH keeps them
    await site.converged(down)


async def test_a_disk_resize_migrates_the_data_to_a_bigger_disk(site: Site) -> None:
    assert (await site.deploy()).ok
    rows = await site.director.instances("shop")
    record, vm, disks = next(x for x in rows if x[0].group == "web")
    assert vm is not None
    await site.agent.write_file(vm.agent_id, "db", "rows")
    man = site.manifest(web={"persistent_disk_type": "twenty"})
    result = await site.deploy(man)
    assert result.ok, result.failures
    rows = {r.uuid: (v, d) for r, v, d in await site.director.instances("shop")}
    new_vm, new_disks = rows[record.uuid]
    assert new_vm is not None
    assert [d.size for d in new_disks] == [20480]
    assert new_disks[0].cid != disks[0].cid
    assert site.agent.read_file(new_vm.agent_id, "db") == "rows"
    assert len(await site.store.list_disks("shop", orphaned=True)) == 3
    await site.converged(man)


async def test_renaming_a_group_with_migrated_from_keeps_its_instances(site: Site) -> None:
    assert (await site.deploy()).ok
    before = {r.uuid: vm.cid for r, vm, _ in await site.director.instances("shop") if vm}
    man = site.manifest()
    web = man["instance_groups"][0]
    web["name"] = "frontend"
    web["migrated_from"] = [{"name": "web"}]
    result = await site.deploy(man)
    assert result.ok, result.failures
    after = {r.uuid: (r.group, vm.cid) for r, vm, _ in await site.director.instances("shop") if vm}
    assert set(after) == set(before)
    assert {g for g, _ in after.values()} == {"frontend", "worker"}
    assert {uuid: cid for uuid, (_, cid) in after.items()} == before  # same VMs
    await site.converged(man)


async def test_a_properties_change_restarts_on_the_same_vm(site: Site) -> None:
    assert (await site.deploy()).ok
    before = vm_cids(site)
    man = site.manifest(
        web={"jobs": [{"name": "web", "release": "app", "properties": {"port": 81}}]}
    )
    result = await site.deploy(man)
    assert result.ok
    assert vm_cids(site) == before
    actions = [e.action for e in site.events if getattr(e, "kind", "") == "remodel_finished"]
    assert actions[-9:].count("apply") == 3
    await site.converged(man)


async def test_a_failing_canary_stops_the_group_and_touches_nothing_else(site: Site) -> None:
    assert (await site.deploy()).ok
    site.agent.fail_jobs("web")
    first = len(site.agent.calls.of("stop"))
    man = site.manifest(
        web={"jobs": [{"name": "web", "release": "app", "properties": {"port": 9}}]},
        worker={"jobs": [{"name": "worker", "release": "app", "properties": {"n": 1}}]},
    )
    plan = await site.plan(man)
    result = await site.director.deploy(plan)
    assert result.state == "error"
    [failure] = result.failures
    assert failure.action == "start"
    assert failure.instance is not None
    assert failure.instance.startswith("web/")
    assert "failing" in failure.error
    # only the canary was stopped: no other web instance, no worker was touched
    assert len(site.agent.calls.of("stop")) - first == 1
    canary = plan.construction.stages[0]
    assert canary.kind == "canary"
    assert result.done == len(canary.remodels) - 1
    assert result.not_started == len(plan.construction.remodels) - len(canary.remodels)
    await site.consistent()  # nothing leaked or left detached by the failure


async def test_state_changes_stop_start_restart(site: Site) -> None:
    assert (await site.deploy()).ok
    rows = await site.director.instances("shop")
    uuid = next(r.uuid for r, _, _ in rows if r.group == "worker")
    stop = await site.director.stored_request("shop", states={uuid: "stopped"})
    assert (await site.director.deploy(await site.director.plan(stop))).ok
    assert {r.uuid: r.state for r in await site.store.list_instances("shop")}[uuid] == "stopped"
    again = await site.director.plan(await site.director.stored_request("shop"))
    assert again.construction.remodels == ()  # stopped stays stopped
    start = await site.director.stored_request("shop", states={uuid: "started"})
    assert (await site.director.deploy(await site.director.plan(start))).ok
    assert {r.uuid: r.state for r in await site.store.list_instances("shop")}[uuid] == "started"
    restart = await site.director.stored_request("shop", restart=frozenset({uuid}))
    plan = await site.director.plan(restart)
    assert [r.action for r in plan.construction.remodels] == ["stop", "start"]
    assert (await site.director.deploy(plan)).ok
    hard = await site.director.stored_request("shop", states={uuid: "detached"})
    assert (await site.director.deploy(await site.director.plan(hard))).ok
    assert len(vm_cids(site)) == 4
    await site.consistent()


async def test_delete_deployment_removes_every_vm_and_orphans_disks(site: Site) -> None:
    assert (await site.deploy()).ok
    result = await site.director.delete_deployment("shop")
    assert result.ok, result.failures
    assert vm_cids(site) == set()
    assert await site.store.get_deployment("shop") is None
    assert len(await site.store.list_disks(orphaned=True)) == 3


async def test_stemcell_version_latest_is_the_newest_uploaded_and_follows_uploads(
    site: Site,
) -> None:
    latest = site.manifest(
        stemcells=[{"alias": "default", "os": "ubuntu-jammy", "version": "latest"}]
    )
    assert (await site.deploy(latest)).ok
    versions = {v.stemcell_version for v in await site.store.list_vms("shop")}
    assert versions == {"2.0"}
    await site.converged(latest)
    await site.upload_stemcell(site.director, "10.0")  # newer than 2.0, as numbers go
    plan = await site.plan(latest)
    codes = {c for r in plan.construction.remodels for c in r.codes}
    assert "stemcell_changed" in codes
    assert (await site.director.deploy(plan)).ok
    assert {v.stemcell_version for v in await site.store.list_vms("shop")} == {"10.0"}
    await site.converged(latest)

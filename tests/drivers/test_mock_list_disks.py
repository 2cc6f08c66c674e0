"""The mock CPI lists its disks (``DiskLister``): what exists, as recovery needs it to adopt a
disk whose cid a crash lost, through the same call path as every other method and consistent
with the state file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from jobsite.cpi import DiskLister, DiskListing
from jobsite.errors import CloudError
from jobsite_mock import Fault, MockCpi

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


async def new_vm(cpi: MockCpi, agent_id: str) -> str:
    stemcell = await cpi.create_stemcell("", {})
    return (await cpi.create_vm(agent_id, stemcell, {}, {}, [], {})).vm_cid


async def test_lists_every_disk_with_size_properties_attachment_and_metadata() -> None:
    cpi = MockCpi()
    assert isinstance(cpi, DiskLister)
    assert await cpi.list_disks() == []
    vm = await new_vm(cpi, "a1")
    # Twelve disks, so creation order (disk-1 .. disk-12) differs from the cids' text order.
    cids = [await cpi.create_disk(100 + i, {"type": f"t{i}"}, None) for i in range(12)]
    await cpi.attach_disk(vm, cids[0])  # replacing a disk's record keeps its place
    await cpi.set_disk_metadata(cids[0], {"deployment": "cf", "instance_group": "db"})
    await cpi.resize_disk(cids[11], 500)
    listing = await cpi.list_disks()
    assert [d.disk_cid for d in listing] == [f"disk-{n}" for n in range(1, 13)]
    assert listing[0] == DiskListing(
        disk_cid="disk-1",
        size_mb=100,
        cloud_properties={"type": "t0"},
        vm_cid=vm,
        metadata={"deployment": "cf", "instance_group": "db"},
    )
    assert listing[11] == DiskListing(
        disk_cid="disk-12", size_mb=500, cloud_properties={"type": "t11"}
    )
    assert all(d.vm_cid is None and d.metadata == {} for d in listing[1:])


async def test_a_disk_that_update_disk_replaced_is_listed_under_its_new_cid_last() -> None:
    cpi = MockCpi()
    first = await cpi.create_disk(100, {"type": "slow"}, None)
    second = await cpi.create_disk(100, {"type": "slow"}, None)
    moved = await cpi.update_disk(first, 200, {"type": "fast"})
    listing = await cpi.list_disks()
    assert [(d.disk_cid, d.size_mb, d.cloud_properties) for d in listing] == [
        (second, 100, {"type": "slow"}),
        (moved, 200, {"type": "fast"}),
    ]


async def test_a_listing_is_a_copy_the_caller_cannot_change_the_cloud_through() -> None:
    cpi = MockCpi()
    disk = await cpi.create_disk(100, {"nested": {"iops": 3000}}, None)
    await cpi.set_disk_metadata(disk, {"deployment": "cf"})
    [listed] = await cpi.list_disks()
    listed.metadata["deployment"] = "changed"  # type: ignore[index]
    listed.cloud_properties["nested"]["iops"] = 1
    assert cpi.snapshot().disks[disk].metadata == {"deployment": "cf"}
    assert (await cpi.list_disks())[0] == DiskListing(
        disk_cid=disk,
        size_mb=100,
        cloud_properties={"nested": {"iops": 3000}},
        metadata={"deployment": "cf"},
    )


async def test_deleted_disks_vanish_and_a_deleted_vms_disks_are_listed_detached() -> None:
    cpi = MockCpi()
    vm = await new_vm(cpi, "a1")
    first, second, third = [await cpi.create_disk(10, {}, None) for _ in range(3)]
    await cpi.attach_disk(vm, third)
    await cpi.delete_disk(second)
    assert [(d.disk_cid, d.vm_cid) for d in await cpi.list_disks()] == [
        (first, None),
        (third, vm),
    ]
    await cpi.delete_vm(vm)  # disks outlive their VM, detached
    assert [(d.disk_cid, d.vm_cid) for d in await cpi.list_disks()] == [
        (first, None),
        (third, None),
    ]
    await cpi.delete_disk(first)
    await cpi.delete_disk(third)
    assert await cpi.list_disks() == []


async def test_faults_can_be_injected_into_list_disks() -> None:
    cpi = MockCpi(faults=[{"method": "list_disks", "nth": 2, "transient": True}])
    await cpi.create_disk(10, {}, None)
    assert len(await cpi.list_disks()) == 1
    with pytest.raises(CloudError, match="injected fault: list_disks failed") as info:
        await cpi.list_disks()
    assert info.value.ok_to_retry
    assert (info.value.driver, info.value.call) == ("mock", "list_disks")
    assert len(await cpi.list_disks()) == 1
    assert len(await cpi.list_vms()) == 0  # the rule is list_disks's alone
    cpi.inject(Fault(method="*", every=True, error="CpiError", message="cloud is down"))
    with pytest.raises(CloudError, match="cloud is down"):
        await cpi.list_disks()


async def test_list_disks_is_recorded_and_takes_its_latency() -> None:
    cpi = MockCpi(latency={"list_disks": 0.05})
    disk = await cpi.create_disk(10, {}, None)
    listing = await cpi.list_disks()
    [record] = cpi.calls.of("list_disks")
    assert cpi.calls.methods() == ["create_disk", "list_disks"]
    assert record.ok
    assert record.args == {}
    assert record.result == listing == [DiskListing(disk_cid=disk, size_mb=10)]
    assert record.ended - record.started >= 0.05
    async with anyio.create_task_group() as tg:  # two listings at once overlap, like any call
        tg.start_soon(cpi.list_disks)
        tg.start_soon(cpi.list_disks)
    assert cpi.calls.max_concurrency("list_disks") == 2
    cpi.inject(Fault(method="list_disks", nth=1))
    with pytest.raises(CloudError):
        await cpi.list_disks()
    assert cpi.calls.of("list_disks")[-1].error == "CloudError"


async def test_disks_are_listed_after_reopening_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    cpi = MockCpi(state_file=state_file)
    vm = await new_vm(cpi, "a1")
    kept = await cpi.create_disk(10, {"type": "ssd"}, None)
    doomed = await cpi.create_disk(20, {}, None)
    last = await cpi.create_disk(30, {}, vm)
    await cpi.attach_disk(vm, last)
    await cpi.set_disk_metadata(kept, {"deployment": "cf"})
    await cpi.delete_disk(doomed)
    before = await cpi.list_disks()
    assert [(d.disk_cid, d.vm_cid) for d in before] == [(kept, None), (last, vm)]
    assert await MockCpi(state_file=state_file).list_disks() == before


async def test_a_disk_whose_create_was_cancelled_mid_write_is_on_disk_once_listed(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "cloud.json"
    cpi = MockCpi(state_file=state_file)
    await cpi.create_stemcell("", {})  # the file exists
    writer_lock = cpi._state_file._lock  # type: ignore[union-attr]  # hold up the next write
    async with anyio.create_task_group() as tg:
        await writer_lock.acquire()
        tg.start_soon(cpi.create_disk, 10, {"type": "ssd"}, None)
        await anyio.wait_all_tasks_blocked()
        assert cpi.snapshot().disks  # the disk exists; its write waits for the lock
        tg.cancel_scope.cancel()
    writer_lock.release()
    assert cpi.calls.of("create_disk")[0].error == "cancelled"
    assert MockCpi(state_file=state_file).snapshot().disks == {}  # not written yet
    listing = await cpi.list_disks()
    assert [(d.size_mb, d.cloud_properties) for d in listing] == [(10, {"type": "ssd"})]
    assert await MockCpi(state_file=state_file).list_disks() == listing

"""The mock CPI lists its VMs (``VmLister``): what exists, as the inspector needs it, through
the same call path as every other method and consistent with the state file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from jobsite.cpi import VmLister, VmListing, vm_metadata
from jobsite.errors import CloudError
from jobsite_mock import Fault, MockCpi

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


async def create(cpi: MockCpi, stemcell: str, agent_id: str) -> str:
    return (await cpi.create_vm(agent_id, stemcell, {}, {}, [], {})).vm_cid


async def test_lists_every_vm_with_its_agent_id_and_metadata_in_creation_order() -> None:
    cpi = MockCpi()
    assert isinstance(cpi, VmLister)
    assert await cpi.list_vms() == []
    stemcell = await cpi.create_stemcell("", {})
    # Twelve VMs, so creation order (vm-1 .. vm-12) differs from the cids' text order.
    cids = [await create(cpi, stemcell, f"agent-{i}") for i in range(12)]
    tags = vm_metadata("jobsite", "cf", "web", "uuid-0", 0)
    await cpi.set_vm_metadata(cids[0], tags)  # replacing the first VM's record keeps its place
    await cpi.set_vm_metadata(cids[11], {"deployment": "cf"})
    listing = await cpi.list_vms()
    assert [v.vm_cid for v in listing] == [f"vm-{n}" for n in range(1, 13)]
    assert listing[0] == VmListing(vm_cid="vm-1", agent_id="agent-0", metadata=tags)
    assert listing[11] == VmListing(
        vm_cid="vm-12", agent_id="agent-11", metadata={"deployment": "cf"}
    )
    assert all(v.agent_id == f"agent-{i}" for i, v in enumerate(listing))
    assert all(v.metadata == {} for v in listing[1:11])


async def test_a_listing_is_a_copy_the_caller_cannot_change_the_cloud_through() -> None:
    cpi = MockCpi()
    stemcell = await cpi.create_stemcell("", {})
    vm = await create(cpi, stemcell, "a1")
    await cpi.set_vm_metadata(vm, {"deployment": "cf"})
    [listed] = await cpi.list_vms()
    listed.metadata["deployment"] = "changed"  # type: ignore[index]
    assert cpi.snapshot().vms[vm].metadata == {"deployment": "cf"}
    assert (await cpi.list_vms())[0].metadata == {"deployment": "cf"}


async def test_deleted_vms_vanish_from_the_listing() -> None:
    cpi = MockCpi()
    stemcell = await cpi.create_stemcell("", {})
    first, second, third = [await create(cpi, stemcell, f"a{i}") for i in range(3)]
    await cpi.delete_vm(second)
    assert [(v.vm_cid, v.agent_id) for v in await cpi.list_vms()] == [(first, "a0"), (third, "a2")]
    again = await create(cpi, stemcell, "a1")  # the agent id is free again; a new cid
    assert [v.vm_cid for v in await cpi.list_vms()] == [first, third, again]
    await cpi.delete_vm(first)
    await cpi.delete_vm(third)
    await cpi.delete_vm(again)
    assert await cpi.list_vms() == []


async def test_faults_can_be_injected_into_list_vms() -> None:
    cpi = MockCpi(faults=[{"method": "list_vms", "nth": 2, "transient": True}])
    stemcell = await cpi.create_stemcell("", {})
    await create(cpi, stemcell, "a1")
    assert len(await cpi.list_vms()) == 1
    with pytest.raises(CloudError, match="injected fault: list_vms failed") as info:
        await cpi.list_vms()
    assert info.value.ok_to_retry
    assert (info.value.driver, info.value.call) == ("mock", "list_vms")
    assert len(await cpi.list_vms()) == 1
    cpi.inject(Fault(method="*", every=True, error="CpiError", message="cloud is down"))
    with pytest.raises(CloudError, match="cloud is down"):
        await cpi.list_vms()


async def test_list_vms_is_recorded_and_takes_its_latency() -> None:
    cpi = MockCpi(latency={"list_vms": 0.05})
    stemcell = await cpi.create_stemcell("", {})
    vm = await create(cpi, stemcell, "a1")
    listing = await cpi.list_vms()
    [record] = cpi.calls.of("list_vms")
    assert cpi.calls.methods() == ["create_stemcell", "create_vm", "list_vms"]
    assert record.ok
    assert record.args == {}
    assert record.result == listing == [VmListing(vm_cid=vm, agent_id="a1")]
    assert record.ended - record.started >= 0.05
    async with anyio.create_task_group() as tg:  # two listings at once overlap, like any call
        tg.start_soon(cpi.list_vms)
        tg.start_soon(cpi.list_vms)
    assert cpi.calls.max_concurrency("list_vms") == 2
    cpi.inject(Fault(method="list_vms", nth=1))
    with pytest.raises(CloudError):
        await cpi.list_vms()
    assert cpi.calls.of("list_vms")[-1].error == "CloudError"


async def test_vms_are_listed_after_reopening_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    cpi = MockCpi(state_file=state_file)
    stemcell = await cpi.create_stemcell("", {})
    kept = await create(cpi, stemcell, "a1")
    doomed = await create(cpi, stemcell, "a2")
    last = await create(cpi, stemcell, "a3")
    await cpi.set_vm_metadata(kept, vm_metadata("jobsite", "cf", "web", "u1", 0))
    await cpi.delete_vm(doomed)
    before = await cpi.list_vms()
    reopened = MockCpi(state_file=state_file)
    assert await reopened.list_vms() == before
    assert [v.vm_cid for v in before] == [kept, last]
    assert before[0].metadata["deployment"] == "cf"
    assert before[0].agent_id == "a1"


async def test_a_vm_whose_create_was_cancelled_mid_write_is_on_disk_once_listed(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "cloud.json"
    cpi = MockCpi(state_file=state_file)
    stemcell = await cpi.create_stemcell("", {})
    writer_lock = cpi._state_file._lock  # type: ignore[union-attr]  # hold up the next write
    async with anyio.create_task_group() as tg:
        await writer_lock.acquire()
        tg.start_soon(create, cpi, stemcell, "a1")
        await anyio.wait_all_tasks_blocked()
        assert cpi.snapshot().vms  # the VM exists; its write waits for the lock
        tg.cancel_scope.cancel()
    writer_lock.release()
    assert cpi.calls.of("create_vm")[0].error == "cancelled"
    assert MockCpi(state_file=state_file).snapshot().vms == {}  # not written yet
    listing = await cpi.list_vms()
    assert [v.agent_id for v in listing] == ["a1"]
    assert await MockCpi(state_file=state_file).list_vms() == listing

"""Mock disks hold data: written and read through the agent's mounted disk, kept by the CPI
(and its state file), carried over by ``migrate_disk``, so tests can prove persistent data
survives VM recreation and disk migration. Also: mounting and unmounting repeat harmlessly."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from jobsite.agent import Agent
from jobsite.errors import AgentError, DiskNotFound, DriverError
from jobsite_mock import Fault, MockAgent, MockBlobstore, MockCpi

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio

SPEC: dict[str, Any] = {"deployment": "d", "job": {"name": "db", "templates": []}, "index": 0}


class Cloud:
    """A mock cloud and agent, with helpers for VMs with disks."""

    def __init__(self, state_file: Path | None = None, **agent_options: Any) -> None:
        self.cpi = MockCpi(state_file=state_file)
        self.agent = MockAgent(cpi=self.cpi, blobstore=MockBlobstore(), **agent_options)
        self.stemcell = ""

    async def vm(self, agent_id: str) -> str:
        if not self.stemcell:
            self.stemcell = await self.cpi.create_stemcell("", {})
        return (await self.cpi.create_vm(agent_id, self.stemcell, {}, {}, [], {})).vm_cid

    async def mounted_disk(self, agent_id: str, vm: str, size_mb: int = 100) -> str:
        disk = await self.cpi.create_disk(size_mb, {}, vm)
        await self.cpi.attach_disk(vm, disk)
        await self.agent.mount_disk(agent_id, disk)
        return disk


async def test_files_go_to_the_mounted_disk_and_stay_on_it() -> None:
    c = Cloud()
    vm = await c.vm("a1")
    disk = await c.mounted_disk("a1", vm)
    assert c.cpi.disk_files(disk) == {}
    assert c.agent.read_file("a1", "db/data") is None
    await c.agent.write_file("a1", "db/data", "v1")
    await c.agent.write_file("a1", "db/log", "started")
    await c.agent.write_file("a1", "db/data", "v2")  # overwrites
    assert c.agent.read_file("a1", "db/data") == "v2"
    assert c.cpi.disk_files(disk) == {"db/data": "v2", "db/log": "started"}
    c.cpi.disk_files(disk)["db/data"] = "changed"  # a copy
    assert c.agent.read_file("a1", "db/data") == "v2"
    assert c.cpi.calls.methods() == ["create_stemcell", "create_vm", "create_disk", "attach_disk"]
    assert c.agent.calls.methods() == ["mount_disk"]  # helpers are not calls
    c.agent.set_unresponsive("a1")  # the disk is still there to look at
    assert c.agent.read_file("a1", "db/log") == "started"


async def test_files_need_a_mounted_disk() -> None:
    c = Cloud()
    with pytest.raises(AgentError, match="agent 'a1' has no persistent disk mounted") as info:
        await c.agent.write_file("a1", "f", "x")  # no VM at all
    assert str(info.value).startswith("mock: ")
    vm = await c.vm("a1")
    with pytest.raises(AgentError, match="no persistent disk mounted"):
        c.agent.read_file("a1", "f")
    disk = await c.cpi.create_disk(10, {}, vm)
    await c.cpi.attach_disk(vm, disk)  # attached, not mounted
    with pytest.raises(AgentError, match="no persistent disk mounted"):
        await c.agent.write_file("a1", "f", "x")
    await c.agent.mount_disk("a1", disk)
    with pytest.raises(AgentError, match="non-empty path"):
        await c.agent.write_file("a1", "", "x")
    with pytest.raises(AgentError, match="str content"):
        await c.agent.write_file("a1", "f", b"x")  # type: ignore[arg-type]
    await c.agent.write_file("a1", "f", "x")
    await c.cpi.detach_disk(vm, disk)  # a detached disk's mount is gone with its device
    assert c.agent.mounted_disks("a1") == []
    with pytest.raises(AgentError, match="no persistent disk mounted"):
        c.agent.read_file("a1", "f")
    assert c.cpi.disk_files(disk) == {"f": "x"}
    with pytest.raises(DiskNotFound, match="disk 'disk-9' not found"):
        c.cpi.disk_files("disk-9")


async def test_data_survives_vm_recreation() -> None:
    c = Cloud()
    old_vm = await c.vm("a1")
    disk = await c.mounted_disk("a1", old_vm)
    await c.agent.write_file("a1", "db/data", "precious")
    await c.cpi.delete_vm(old_vm)  # deleting the VM (disk still attached) keeps its contents
    assert c.agent.mounted_disks("a1") == []
    assert c.cpi.disk_files(disk) == {"db/data": "precious"}
    new_vm = await c.vm("a1")
    await c.cpi.attach_disk(new_vm, disk)
    with pytest.raises(AgentError, match="no persistent disk mounted"):
        c.agent.read_file("a1", "db/data")  # a new VM mounts nothing by itself
    await c.agent.mount_disk("a1", disk)
    assert c.agent.read_file("a1", "db/data") == "precious"


async def test_deleting_a_disk_deletes_its_contents() -> None:
    c = Cloud()
    vm = await c.vm("a1")
    disk = await c.mounted_disk("a1", vm)
    await c.agent.write_file("a1", "f", "x")
    await c.agent.unmount_disk("a1", disk)
    await c.cpi.detach_disk(vm, disk)
    await c.cpi.delete_disk(disk)
    with pytest.raises(DiskNotFound):
        c.cpi.disk_files(disk)
    fresh = await c.mounted_disk("a1", vm)
    assert c.cpi.disk_files(fresh) == {}


async def test_resizing_and_updating_a_disk_keep_its_contents() -> None:
    c = Cloud()
    vm = await c.vm("a1")
    disk = await c.mounted_disk("a1", vm)
    await c.agent.write_file("a1", "f", "x")
    await c.agent.unmount_disk("a1", disk)
    await c.cpi.detach_disk(vm, disk)
    await c.cpi.resize_disk(disk, 200)
    moved = await c.cpi.update_disk(disk, 300, {"type": "fast"})  # a new cid, same volume
    assert c.cpi.disk_files(moved) == {"f": "x"}


async def test_migrate_disk_copies_the_data_and_mounts_the_new_disk() -> None:
    c = Cloud()
    assert isinstance(c.agent, Agent)
    vm = await c.vm("a1")
    old = await c.mounted_disk("a1", vm)
    await c.agent.write_file("a1", "db/data", "precious")
    await c.agent.write_file("a1", "db/log", "old log")
    new = await c.cpi.create_disk(200, {}, vm)
    await c.cpi.attach_disk(vm, new)
    await c.agent.mount_disk("a1", new)  # as BOSH does: the migration target
    assert c.agent.mounted_disks("a1") == [old, new]
    assert c.agent.read_file("a1", "db/data") == "precious"  # still the old disk's
    c.cpi._put_disk_files(new, {"db/log": "stale", "lost+found": ""})
    await c.agent.migrate_disk("a1", old, new)
    assert c.agent.mounted_disks("a1") == [new]
    # Copied over what the new disk held, as tar would; the old disk keeps its data.
    expected = {"db/data": "precious", "db/log": "old log", "lost+found": ""}
    assert c.cpi.disk_files(new) == expected
    assert c.cpi.disk_files(old) == {"db/data": "precious", "db/log": "old log"}
    await c.agent.write_file("a1", "db/data", "after")  # writes go to the new disk now
    assert c.cpi.disk_files(new)["db/data"] == "after"
    assert c.cpi.disk_files(old)["db/data"] == "precious"
    [record] = c.agent.calls.of("migrate_disk")
    assert record.ok
    assert record.args == {"agent_id": "a1", "old_disk_cid": old, "new_disk_cid": new}
    await c.agent.unmount_disk("a1", old)  # the director's next steps: nothing to unmount
    await c.cpi.detach_disk(vm, old)
    assert c.agent.read_file("a1", "db/data") == "after"


async def test_migrate_disk_works_without_a_prior_mount_and_can_be_repeated() -> None:
    c = Cloud()
    vm = await c.vm("a1")
    old = await c.mounted_disk("a1", vm)
    await c.agent.write_file("a1", "f", "x")
    new = await c.cpi.create_disk(200, {}, vm)
    await c.cpi.attach_disk(vm, new)
    await c.agent.migrate_disk("a1", old, new)
    await c.agent.migrate_disk("a1", old, new)  # a rerun after a crash: same outcome
    assert c.agent.mounted_disks("a1") == [new]
    assert c.cpi.disk_files(new) == {"f": "x"}


async def test_migrate_disk_needs_both_disks_attached_to_the_agents_vm() -> None:
    c = Cloud()
    vm = await c.vm("a1")
    other_vm = await c.vm("a2")
    old = await c.mounted_disk("a1", vm)
    await c.agent.write_file("a1", "f", "x")
    loose = await c.cpi.create_disk(10, {}, None)
    elsewhere = await c.mounted_disk("a2", other_vm)
    for source, target, named in [
        (old, loose, loose),
        (loose, old, loose),
        (old, elsewhere, elsewhere),
        (old, "disk-99", "disk-99"),
    ]:
        with pytest.raises(AgentError, match=f"disk '{named}' is not attached to this VM"):
            await c.agent.migrate_disk("a1", source, target)
    with pytest.raises(AgentError, match="cannot be migrated onto itself"):
        await c.agent.migrate_disk("a1", old, old)
    assert c.agent.mounted_disks("a1") == [old]  # nothing changed
    assert c.cpi.disk_files(loose) == c.cpi.disk_files(elsewhere) == {}
    await c.cpi.delete_vm(vm)
    with pytest.raises(AgentError, match="not responding"):
        await c.agent.migrate_disk("a1", old, loose)
    assert [r.error for r in c.agent.calls.of("migrate_disk")] == ["AgentError"] * 6


async def test_migrate_disk_is_an_exclusive_call_with_faults_and_latency() -> None:
    c = Cloud(latency={"migrate_disk": 60})
    vm = await c.vm("a1")
    old = await c.mounted_disk("a1", vm)
    new = await c.cpi.create_disk(10, {}, vm)
    await c.cpi.attach_disk(vm, new)
    async with anyio.create_task_group() as tg:
        tg.start_soon(c.agent.migrate_disk, "a1", old, new)
        await anyio.sleep(0.01)  # in flight, waiting out its latency
        with pytest.raises(AgentError, match="agent 'a1' is busy with migrate_disk"):
            await c.agent.apply("a1", SPEC)
        with pytest.raises(AgentError, match="busy with migrate_disk"):
            await c.agent.unmount_disk("a1", old)
        await c.agent.get_state("a1")  # reading is fine
        tg.cancel_scope.cancel()
    assert c.agent.calls.of("migrate_disk")[0].error == "cancelled"
    assert c.agent.mounted_disks("a1") == [old]
    c.agent.set_latency(0)
    c.agent.inject(Fault(method="migrate_disk", nth=1, message="rsync died"))
    await c.agent.write_file("a1", "f", "x")
    with pytest.raises(AgentError, match="mock migrate_disk: rsync died"):
        await c.agent.migrate_disk("a1", old, new)
    assert (c.agent.mounted_disks("a1"), c.cpi.disk_files(new)) == ([old], {})
    c.agent.inject(Fault(method="migrate_disk", nth=1, after=True))  # done, answer lost
    with pytest.raises(AgentError, match="injected fault"):
        await c.agent.migrate_disk("a1", old, new)
    assert (c.agent.mounted_disks("a1"), c.cpi.disk_files(new)) == ([new], {"f": "x"})


async def test_mounting_and_unmounting_repeat_harmlessly() -> None:
    c = Cloud()
    vm = await c.vm("a1")
    disk = await c.mounted_disk("a1", vm)
    await c.agent.mount_disk("a1", disk)  # already mounted: nothing happens
    assert c.agent.mounted_disks("a1") == [disk]
    await c.agent.unmount_disk("a1", disk)
    await c.agent.unmount_disk("a1", disk)  # not mounted: nothing happens
    assert c.agent.mounted_disks("a1") == []
    await c.cpi.detach_disk(vm, disk)
    await c.agent.unmount_disk("a1", disk)  # detached since: still nothing to do
    await c.agent.unmount_disk("a1", "disk-99")  # never attached: nothing to unmount
    assert [r.ok for r in c.agent.calls.of("unmount_disk")] == [True] * 4
    with pytest.raises(AgentError, match="not attached"):
        await c.agent.mount_disk("a1", disk)  # mounting still needs the disk attached
    await c.cpi.attach_disk(vm, disk)
    await c.agent.mount_disk("a1", disk)
    assert c.agent.mounted_disks("a1") == [disk]
    await c.cpi.delete_vm(vm)
    for call in (c.agent.mount_disk("a1", disk), c.agent.unmount_disk("a1", disk)):
        with pytest.raises(AgentError, match="not responding"):  # only on a live VM
            await call


async def test_a_second_mount_lands_beside_the_data_directory() -> None:
    c = Cloud()
    vm = await c.vm("a1")
    first = await c.mounted_disk("a1", vm)
    second = await c.mounted_disk("a1", vm)
    await c.agent.write_file("a1", "f", "x")
    assert c.cpi.disk_files(first) == {"f": "x"}
    assert c.cpi.disk_files(second) == {}
    await c.agent.unmount_disk("a1", first)  # the remaining one becomes the data directory
    assert c.agent.read_file("a1", "f") is None
    await c.agent.mount_disk("a1", first)
    assert c.agent.mounted_disks("a1") == [second, first]


async def test_disk_contents_are_in_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    c = Cloud(state_file=state_file)
    vm = await c.vm("a1")
    old = await c.mounted_disk("a1", vm)
    await c.agent.write_file("a1", "db/data", "precious")
    assert MockCpi(state_file=state_file).disk_files(old) == {"db/data": "precious"}
    new = await c.cpi.create_disk(10, {}, vm)
    await c.cpi.attach_disk(vm, new)
    await c.agent.migrate_disk("a1", old, new)
    # On disk when the call returns: a director killed now finds the data on the new disk.
    reopened = MockCpi(state_file=state_file)
    assert reopened.disk_files(new) == {"db/data": "precious"}
    assert reopened.disk_files(old) == {"db/data": "precious"}


async def test_state_files_without_disk_contents_still_load(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    cpi = MockCpi(state_file=state_file)
    disk = await cpi.create_disk(10, {"type": "ssd"}, None)
    data = json.loads(state_file.read_text())
    for item in data["disks"]:
        del item["files"]  # as written before disks held files
    state_file.write_text(json.dumps(data))
    reopened = MockCpi(state_file=state_file)
    assert reopened.disk_files(disk) == {}
    assert reopened.snapshot().disks[disk].cloud_properties == {"type": "ssd"}
    data["disks"][0]["files"] = {"f": 1}
    state_file.write_text(json.dumps(data))
    with pytest.raises(DriverError, match="unreadable: disk 'disk-1': files must map str to str"):
        MockCpi(state_file=state_file)
    data["disks"][0] = ["not", "a", "disk"]
    state_file.write_text(json.dumps(data))
    with pytest.raises(DriverError, match="unreadable"):
        MockCpi(state_file=state_file)

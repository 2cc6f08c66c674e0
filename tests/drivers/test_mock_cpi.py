"""The mock CPI keeps the CPI contract as a real cloud does: it refuses what clouds refuse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import pytest

from jobsite.cpi import Cpi, CpiInfo, VmLister, VmResources
from jobsite.errors import (
    CloudError,
    DiskNotAttached,
    DiskNotFound,
    NotSupported,
    VMCreationFailed,
    VMNotFound,
)
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio

MANUAL = {"default": {"type": "manual", "ip": "10.0.0.10", "netmask": "255.255.255.0"}}


async def with_stemcell(cpi: MockCpi) -> str:
    return await cpi.create_stemcell("", {"name": "light"})


async def new_vm(
    cpi: MockCpi,
    stemcell: str,
    agent_id: str,
    networks: dict[str, Any] | None = None,
    disk_cids: list[str] | None = None,
) -> str:
    created = await cpi.create_vm(
        agent_id, stemcell, {"type": "small"}, networks or {}, disk_cids or [], {}
    )
    return created.vm_cid


async def test_implements_the_cpi_protocol_and_vm_lister() -> None:
    cpi = MockCpi(stemcell_formats=["mock-raw", "mock-light"])
    assert isinstance(cpi, Cpi)
    assert isinstance(cpi, VmLister)
    assert await cpi.info() == CpiInfo(api_version=2, stemcell_formats=("mock-raw", "mock-light"))


async def test_cids_are_unique_and_never_reused() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    first = await new_vm(cpi, stemcell, "a1")
    await cpi.delete_vm(first)
    second = await new_vm(cpi, stemcell, "a1")
    disk = await cpi.create_disk(1024, {}, None)
    await cpi.delete_disk(disk)
    disk2 = await cpi.create_disk(1024, {}, None)
    assert (first, second) == ("vm-1", "vm-2")
    assert (disk, disk2) == ("disk-1", "disk-2")
    assert stemcell == "stemcell-1"


async def test_stemcell_image_must_exist_unless_light(tmp_path: Path) -> None:
    cpi = MockCpi()
    with pytest.raises(CloudError, match="not found"):
        await cpi.create_stemcell(str(tmp_path / "missing"), {})
    image = tmp_path / "image"
    image.write_bytes(b"disk image")
    assert await cpi.create_stemcell(str(image), {}) == "stemcell-1"  # a failure takes no cid
    assert cpi.snapshot().stemcells["stemcell-1"].image_path == str(image)


async def test_deleting_a_stemcell_in_use_fails_and_unknown_is_fine() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    vm = await new_vm(cpi, stemcell, "a1")
    with pytest.raises(CloudError, match="in use by vm-1"):
        await cpi.delete_stemcell(stemcell)
    await cpi.delete_vm(vm)
    await cpi.delete_stemcell(stemcell)
    await cpi.delete_stemcell(stemcell)  # unknown: not an error
    assert cpi.snapshot().stemcells == {}


async def test_create_vm_checks_stemcell_disks_and_agent_id() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    with pytest.raises(VMCreationFailed, match="stemcell 'nope' not found"):
        await new_vm(cpi, "nope", "a1")
    with pytest.raises(VMCreationFailed, match="disk 'disk-9' not found"):
        await new_vm(cpi, stemcell, "a1", disk_cids=["disk-9"])
    vm = await new_vm(cpi, stemcell, "a1")
    with pytest.raises(VMCreationFailed, match="agent id 'a1' is in use by vm-1") as info:
        await new_vm(cpi, stemcell, "a1")
    assert info.value.ok_to_retry is False
    await cpi.delete_vm(vm)
    assert await new_vm(cpi, stemcell, "a1") == "vm-2"  # free again once its VM is gone
    assert [vm.cid for vm in cpi.snapshot().vms.values()] == ["vm-2"]


async def test_a_manual_address_held_by_a_live_vm_is_refused() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    old = await new_vm(cpi, stemcell, "old", MANUAL)
    # hot swap: the new VM may not take the old one's address while the old one lives
    no_type = {"other": {"ip": "10.0.0.10"}}
    for networks in (MANUAL, no_type):
        with pytest.raises(VMCreationFailed, match=r"address 10\.0\.0\.10 in use by vm-1"):
            await new_vm(cpi, stemcell, "new", networks)
    await cpi.delete_vm(old)
    created = await cpi.create_vm("new", stemcell, {}, MANUAL, [], {})
    assert created.networks["default"]["ip"] == "10.0.0.10"


async def test_malformed_networks_are_refused() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    for networks in (
        {"n": {"type": "manual"}},
        {"n": {"type": "manual", "ip": "10.0.0.300"}},
        {"n": {"type": "carrier-pigeon", "ip": "10.0.0.1"}},
        {"a": {"ip": "10.0.0.1"}, "b": {"ip": "10.0.0.1"}},
    ):
        with pytest.raises(VMCreationFailed):
            await new_vm(cpi, stemcell, "a1", networks)
    assert cpi.snapshot().vms == {}


async def test_dynamic_networks_get_distinct_private_addresses() -> None:
    cpi = MockCpi(dynamic_ip_range="192.168.50.0/29")  # 8 addresses, 5 usable
    stemcell = await with_stemcell(cpi)
    taken = {"m": {"type": "manual", "ip": "192.168.50.3"}}
    await new_vm(cpi, stemcell, "m", taken)
    addresses = []
    for i in range(4):
        created = await cpi.create_vm(f"a{i}", stemcell, {}, {"d": {"type": "dynamic"}}, [], {})
        addresses.append(created.networks["d"]["ip"])
        assert created.networks["d"]["netmask"] == "255.255.255.248"
    assert addresses == ["192.168.50.2", "192.168.50.4", "192.168.50.5", "192.168.50.6"]
    with pytest.raises(VMCreationFailed, match="no free address"):
        await cpi.create_vm("full", stemcell, {}, {"d": {"type": "dynamic"}}, [], {})
    await cpi.delete_vm("vm-3")
    again = await cpi.create_vm("again", stemcell, {}, {"d": {"type": "dynamic"}}, [], {})
    assert again.networks["d"]["ip"] == "192.168.50.4"


async def test_create_vm_keeps_its_own_copy_of_the_arguments() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    properties: dict[str, Any] = {"type": "small"}
    networks: dict[str, Any] = {"n": {"type": "manual", "ip": "10.0.0.5"}}
    created = await cpi.create_vm("a1", stemcell, properties, networks, [], {"bosh": {}})
    properties["type"] = "huge"
    networks["n"]["ip"] = "10.0.0.6"
    created.networks["n"]["ip"] = "10.9.9.9"
    vm = cpi.snapshot().vms["vm-1"]
    assert vm.cloud_properties == {"type": "small"}
    assert vm.networks["n"]["ip"] == "10.0.0.5"
    with pytest.raises(CloudError, match="not JSON"):
        await cpi.create_vm("a2", stemcell, {"x": object()}, {}, [], {})


async def test_vm_calls_on_unknown_vms_raise_vm_not_found() -> None:
    cpi = MockCpi()
    assert await cpi.has_vm("vm-404") is False
    for call in (
        cpi.delete_vm("vm-404"),
        cpi.reboot_vm("vm-404"),
        cpi.set_vm_metadata("vm-404", {"a": "b"}),
        cpi.get_disks("vm-404"),
        cpi.create_disk(10, {}, "vm-404"),
    ):
        with pytest.raises(VMNotFound, match="vm-404"):
            await call


async def test_metadata_merges_and_list_vms_shows_it() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    vm = await new_vm(cpi, stemcell, "a1")
    other = await new_vm(cpi, stemcell, "a2")
    await cpi.set_vm_metadata(vm, {"deployment": "d", "index": "0"})
    await cpi.set_vm_metadata(vm, {"index": "1", "director": "jobsite"})
    with pytest.raises(CloudError, match="strings"):
        await cpi.set_vm_metadata(vm, {"index": 1})  # type: ignore[dict-item]
    listing = {v.vm_cid: dict(v.metadata) for v in await cpi.list_vms()}
    assert listing == {vm: {"deployment": "d", "index": "1", "director": "jobsite"}, other: {}}
    await cpi.reboot_vm(vm)
    assert cpi.snapshot().vms[vm].reboots == 1
    assert await cpi.has_vm(vm)


async def test_calculate_vm_cloud_properties_is_deterministic() -> None:
    cpi = MockCpi()
    small = await cpi.calculate_vm_cloud_properties(
        VmResources(cpu=2, ram=4096, ephemeral_disk_size=10240)
    )
    again = await cpi.calculate_vm_cloud_properties(
        VmResources(cpu=2, ram=4096, ephemeral_disk_size=10240)
    )
    big = await cpi.calculate_vm_cloud_properties(
        VmResources(cpu=8, ram=4096, ephemeral_disk_size=10240)
    )
    assert small == again != big
    assert small["instance_type"] == "mock.c2.m4096"
    with pytest.raises(CloudError):
        await cpi.calculate_vm_cloud_properties(VmResources(cpu=0, ram=1, ephemeral_disk_size=1))


async def test_disk_lifecycle_attach_detach_and_survival() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    vm = await new_vm(cpi, stemcell, "a1")
    with pytest.raises(CloudError, match="size_mb"):
        await cpi.create_disk(0, {}, vm)
    disk = await cpi.create_disk(1024, {"type": "ssd"}, vm)
    disk2 = await cpi.create_disk(2048, {}, None)
    assert await cpi.has_disk(disk)
    assert not await cpi.has_disk("disk-404")
    assert await cpi.attach_disk(vm, disk) == {"path": "/dev/sdc"}
    assert await cpi.attach_disk(vm, disk2) == {"path": "/dev/sdd"}
    assert await cpi.get_disks(vm) == [disk, disk2]
    with pytest.raises(CloudError, match="attached to vm-1"):
        await cpi.delete_disk(disk)
    other = await new_vm(cpi, stemcell, "a2")
    for target in (vm, other):  # attached anywhere: refused, also to the same VM
        with pytest.raises(CloudError, match="already attached to vm-1"):
            await cpi.attach_disk(target, disk)
    with pytest.raises(DiskNotAttached):
        await cpi.detach_disk(other, disk)
    await cpi.detach_disk(vm, disk)
    with pytest.raises(DiskNotAttached):
        await cpi.detach_disk(vm, disk)
    assert await cpi.get_disks(vm) == [disk2]
    assert await cpi.attach_disk(vm, disk) == {"path": "/dev/sdc"}  # the freed device
    await cpi.delete_vm(vm)  # disks outlive their VM, detached
    assert await cpi.has_disk(disk)
    assert await cpi.has_disk(disk2)
    assert all(d.vm_cid is None for d in cpi.snapshot().disks.values())
    await cpi.attach_disk(other, disk)
    await cpi.detach_disk(other, disk)
    await cpi.delete_disk(disk)
    assert not await cpi.has_disk(disk)


async def test_disk_calls_on_unknown_disks_raise_disk_not_found() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    vm = await new_vm(cpi, stemcell, "a1")
    for call in (
        cpi.delete_disk("disk-404"),
        cpi.attach_disk(vm, "disk-404"),
        cpi.detach_disk(vm, "disk-404"),
        cpi.resize_disk("disk-404", 10),
        cpi.update_disk("disk-404", 10, {}),
        cpi.set_disk_metadata("disk-404", {}),
        cpi.snapshot_disk("disk-404", {}),
    ):
        with pytest.raises(DiskNotFound, match="disk-404"):
            await call


async def test_resize_grows_detached_disks_only() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    vm = await new_vm(cpi, stemcell, "a1")
    disk = await cpi.create_disk(1024, {}, None)
    with pytest.raises(NotSupported, match="cannot shrink"):
        await cpi.resize_disk(disk, 512)
    await cpi.resize_disk(disk, 4096)
    await cpi.attach_disk(vm, disk)
    with pytest.raises(CloudError, match="detach it first"):
        await cpi.resize_disk(disk, 8192)
    assert cpi.snapshot().disks[disk].size_mb == 4096


async def test_update_disk_resizes_in_place_or_returns_a_new_cid_for_a_new_type() -> None:
    cpi = MockCpi()
    disk = await cpi.create_disk(1024, {"type": "hdd"}, None)
    await cpi.set_disk_metadata(disk, {"a": "1"})
    assert await cpi.update_disk(disk, 2048, {"type": "hdd"}) == disk
    with pytest.raises(NotSupported):
        await cpi.update_disk(disk, 1024, {"type": "hdd"})
    new = await cpi.update_disk(disk, 2048, {"type": "ssd"})
    assert new != disk
    assert not await cpi.has_disk(disk)
    record = cpi.snapshot().disks[new]
    assert (record.size_mb, dict(record.cloud_properties), dict(record.metadata)) == (
        2048,
        {"type": "ssd"},
        {"a": "1"},
    )


async def test_disk_metadata_merges_and_snapshots_come_and_go() -> None:
    cpi = MockCpi()
    disk = await cpi.create_disk(100, {}, None)
    await cpi.set_disk_metadata(disk, {"a": "1", "b": "2"})
    await cpi.set_disk_metadata(disk, {"b": "3"})
    assert cpi.snapshot().disks[disk].metadata == {"a": "1", "b": "3"}
    snap = await cpi.snapshot_disk(disk, {"why": "backup"})
    assert snap == "snapshot-1"
    assert cpi.snapshot().snapshots[snap].disk_cid == disk
    await cpi.delete_snapshot(snap)
    with pytest.raises(CloudError, match="snapshot-1"):
        await cpi.delete_snapshot(snap)


async def test_calls_are_recorded_in_order_with_outcomes() -> None:
    cpi = MockCpi()
    stemcell = await with_stemcell(cpi)
    vm = await new_vm(cpi, stemcell, "a1")
    with pytest.raises(VMNotFound):
        await cpi.delete_vm("vm-404")
    assert cpi.calls.methods() == ["create_stemcell", "create_vm", "delete_vm"]
    create, failed = cpi.calls.of("create_vm", "delete_vm")
    assert create.ok
    assert create.result.vm_cid == vm
    assert create.args["agent_id"] == "a1"
    assert create.started <= create.ended <= failed.started
    assert (failed.error, failed.ok) == ("VMNotFound", False)
    assert "mock delete_vm: VM 'vm-404' not found" in (failed.message or "")


async def test_concurrent_creates_never_share_an_address_or_agent() -> None:
    cpi = MockCpi(latency={"create_vm": 0.01})
    stemcell = await with_stemcell(cpi)
    outcomes: list[str] = []

    async def create(i: int) -> None:
        networks = {"n": {"type": "manual", "ip": f"10.0.0.{i % 5}"}}
        try:
            await cpi.create_vm(f"agent-{i % 7}", stemcell, {}, networks, [], {})
            outcomes.append("ok")
        except VMCreationFailed:
            outcomes.append("refused")

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(create, i)
    vms = list(cpi.snapshot().vms.values())
    assert outcomes.count("ok") == len(vms) == 5
    assert len({vm.agent_id for vm in vms}) == len({vm.networks["n"]["ip"] for vm in vms}) == 5
    assert cpi.calls.max_concurrency("create_vm") > 1

"""The mock CPI: an in-memory cloud that keeps the CPI contract as strictly as a real one.

It is what tests and benchmarks deploy to, so it must refuse what a real cloud refuses (an
unknown stemcell, a disk attached twice, a private address already in use, a shrinking disk)
and raise BOSH's error types for it; a fake that says yes to everything would hide exactly the
bugs a deploy engine has. Every call passes through latency, fault injection and the call
record (:mod:`jobsite_mock._calls`). Changes happen between awaits, so each call is atomic
with respect to the others; with ``state_file`` each change is on disk before the call returns.
Disks hold a few files (written and read through the mock agent), so tests can see persistent
data outlive VMs and survive disk migration.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import attrs

from jobsite.cpi import CpiInfo, CreatedVm, DiskListing, VmListing, VmResources
from jobsite.errors import (
    CloudError,
    CpiError,
    DiskNotAttached,
    DiskNotFound,
    DriverError,
    NoDiskSpace,
    NotImplementedByCpi,
    NotSupported,
    VMCreationFailed,
    VMNotFound,
)
from jobsite_mock._calls import CallLog, CallRunner
from jobsite_mock._faults import ArmedFault, Fault, FaultInjector
from jobsite_mock._latency import Latency, LatencySpec
from jobsite_mock._network import DEFAULT_DYNAMIC_RANGE, assign_networks
from jobsite_mock._options import OptionError, check_known, read_str, read_str_list
from jobsite_mock._state import (
    AgentRecord,
    DiskRecord,
    SnapshotRecord,
    StemcellRecord,
    VmRecord,
    World,
    WorldSnapshot,
)
from jobsite_mock._statefile import StateFile

if TYPE_CHECKING:
    from jobsite import DriverContext

__all__ = ["CPI_METHODS", "CPI_OPTIONS", "MockCpi"]

R = TypeVar("R")

CPI_METHODS = (
    "info",
    "create_stemcell",
    "delete_stemcell",
    "create_vm",
    "delete_vm",
    "has_vm",
    "reboot_vm",
    "set_vm_metadata",
    "calculate_vm_cloud_properties",
    "create_disk",
    "delete_disk",
    "has_disk",
    "attach_disk",
    "detach_disk",
    "get_disks",
    "resize_disk",
    "update_disk",
    "set_disk_metadata",
    "snapshot_disk",
    "delete_snapshot",
    "list_vms",
    "list_disks",
)

CPI_OPTIONS = ("latency", "faults", "state_file", "stemcell_formats", "dynamic_ip_range")

#: Error names a fault rule may ask for: BOSH's, without ``Bosh::Clouds::``.
CPI_ERRORS: Mapping[str, type[DriverError]] = {
    cls.bosh_type.rsplit("::", 1)[-1]: cls
    for cls in (
        CloudError,
        CpiError,
        NotImplementedByCpi,
        NotSupported,
        VMNotFound,
        VMCreationFailed,
        NoDiskSpace,
        DiskNotAttached,
        DiskNotFound,
    )
}

_DEVICES = [f"/dev/sd{letter}" for letter in "cdefghijklmnopqrstuvwxyz"]


def _default_error(method: str) -> type[DriverError]:
    return VMCreationFailed if method == "create_vm" else CloudError


def _json(value: Any, what: str) -> Any:
    """A deep copy that a JSON wire (an external CPI) could carry; anything else is refused,
    so a caller that would break a real CPI breaks here too, and later changes to the
    caller's objects cannot reach into the cloud."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise CloudError(f"{what} is not JSON: {exc}") from None


def _metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise CloudError(f"metadata must map strings to strings, got {value!r}")
    return dict(value)


def _size(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CloudError(f"{what} must be a whole number of MiB > 0, got {value!r}")
    return value


class MockCpi:
    """An honest in-memory cloud. Implements :class:`jobsite.cpi.Cpi`, ``VmLister`` and
    ``DiskLister``."""

    def __init__(
        self,
        *,
        name: str = "mock",
        latency: LatencySpec | None = None,
        faults: Sequence[Fault | Mapping[str, Any]] = (),
        state_file: str | Path | None = None,
        stemcell_formats: Sequence[str] = ("mock",),
        dynamic_ip_range: str = DEFAULT_DYNAMIC_RANGE,
    ) -> None:
        self.name = name
        self._faults = FaultInjector(name, CPI_METHODS, CPI_ERRORS, _default_error)
        self._faults.parse(faults)
        self._runner = CallRunner(name, Latency.parse(latency, CPI_METHODS, name), self._faults)
        self._formats = read_str_list(stemcell_formats, name, "stemcell_formats")
        try:
            self._dynamic_range = ipaddress.ip_network(dynamic_ip_range)
        except (TypeError, ValueError):
            raise OptionError(
                f"option dynamic_ip_range: expected a network like 10.254.0.0/16, "
                f"got {dynamic_ip_range!r}",
                driver=name,
            ) from None
        self._state_file = StateFile(Path(state_file).absolute()) if state_file else None
        self._world = self._state_file.load() if self._state_file else World()

    @classmethod
    def from_context(cls, context: DriverContext) -> MockCpi:
        """The factory registered as ``mock``: options from the director config."""
        options = context.options
        check_known(options, CPI_OPTIONS, context.name)
        state_file: Path | None = None
        if options.get("state_file") is not None:
            state_file = Path(read_str(options["state_file"], context.name, "state_file"))
            if not state_file.is_absolute() and context.home is not None:
                state_file = context.home / state_file
        return cls(
            name=context.name,
            latency=options.get("latency"),
            faults=options.get("faults", ()),
            state_file=state_file,
            stemcell_formats=options.get("stemcell_formats", ("mock",)),
            dynamic_ip_range=options.get("dynamic_ip_range", DEFAULT_DYNAMIC_RANGE),
        )

    # --- for tests: inspection and injection (not cloud calls; not recorded) ----------------

    @property
    def calls(self) -> CallLog:
        """Every finished call, with arguments, outcome and times."""
        return self._runner.log

    @property
    def state_file(self) -> Path | None:
        return self._state_file.path if self._state_file else None

    def inject(self, fault: Fault) -> ArmedFault:
        """Add a fault rule now; counting starts with the next call."""
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_latency(self, latency: LatencySpec) -> None:
        """Change the latency of later calls."""
        self._runner.latency = Latency.parse(latency, CPI_METHODS, self.name)

    def find_vm_by_agent_id(self, agent_id: str) -> VmRecord | None:
        """The live VM whose agent answers to ``agent_id``: how the mock agent reaches VMs."""
        vm_cid = self._world.by_agent.get(agent_id)
        return None if vm_cid is None else self._world.vms[vm_cid]

    def snapshot(self) -> WorldSnapshot:
        """The whole cloud now: stemcells, VMs, disks, snapshots, counters."""
        return self._world.snapshot()

    def disk_files(self, disk_cid: str) -> dict[str, str]:
        """What a disk stores now (path → content; a copy), attached or not."""
        disk = self._world.disks.get(disk_cid)
        if disk is None:
            raise DiskNotFound(f"disk {disk_cid!r} not found", driver=self.name)
        return dict(disk.files)

    # --- for the mock agent: writing to disks (not cloud calls; not recorded) ---------------

    def _put_disk_files(self, disk_cid: str, files: Mapping[str, str]) -> None:
        """Replace what a disk stores. A change like any other: :meth:`_persist` makes it
        durable. The disk must exist (the agent checks it is attached to its VM)."""
        disk = self._world.disks[disk_cid]
        self._world.disks[disk_cid] = attrs.evolve(disk, files=dict(files))
        self._changed()

    def _put_agent(self, vm_cid: str, agent: AgentRecord) -> None:
        """Replace what the agent on a VM holds (kept with the VM, so it is in the state file
        and goes with the VM). A change like any other: :meth:`_persist` makes it durable. A
        VM deleted meanwhile takes the change with it: nothing happens."""
        vm = self._world.vms.get(vm_cid)
        if vm is None or vm.agent == agent:
            return
        self._world.put_vm(attrs.evolve(vm, agent=agent))
        self._changed()

    async def _persist(self) -> None:
        """With ``state_file``: return once every change so far is on disk."""
        if self._state_file is not None:
            await self._state_file.save(self._world)

    # --- the path of every call -------------------------------------------------------------

    async def _call(
        self,
        method: str,
        args: Mapping[str, Any],
        op: Callable[[], R],
        check: Callable[[], Awaitable[None]] | None = None,
        *,
        durable: bool = False,
    ) -> R:
        """Run ``op`` (synchronous, so atomic) as the call; persist what it changed.

        ``durable``: the answer must be on disk too, so a read reports nothing a ``kill -9``
        could take back (a change whose call was cancelled before its write finished is
        written first). Costs nothing when the file is already current.
        """

        async def body() -> R:
            if check is not None:
                await check()
            generation = self._world.generation
            result = op()
            if self._state_file is not None and (durable or self._world.generation != generation):
                await self._state_file.save(self._world)
            return result

        return await self._runner.run(method, args, body)

    def _changed(self) -> None:
        self._world.generation += 1

    def _vm(self, vm_cid: str) -> VmRecord:
        vm = self._world.vms.get(vm_cid)
        if vm is None:
            raise VMNotFound(f"VM {vm_cid!r} not found")
        return vm

    def _disk(self, disk_cid: str) -> DiskRecord:
        disk = self._world.disks.get(disk_cid)
        if disk is None:
            raise DiskNotFound(f"disk {disk_cid!r} not found")
        return disk

    # --- info and stemcells -----------------------------------------------------------------

    async def info(self) -> CpiInfo:
        return await self._call(
            "info", {}, lambda: CpiInfo(api_version=2, stemcell_formats=self._formats)
        )

    async def create_stemcell(self, image_path: str, cloud_properties: Mapping[str, Any]) -> str:
        async def image_exists() -> None:
            # A real cloud uploads the image; a light stemcell has an empty path.
            if not isinstance(image_path, str):
                raise CloudError(f"image path must be a string, got {image_path!r}")
            if image_path and not await anyio.Path(image_path).is_file():
                raise CloudError(f"stemcell image {image_path!r} not found")

        def op() -> str:
            properties = _json(cloud_properties, "cloud_properties")
            cid = self._world.new_cid("stemcell")
            self._world.stemcells[cid] = StemcellRecord(
                cid=cid, image_path=image_path, cloud_properties=properties
            )
            self._changed()
            return cid

        args = {"image_path": image_path, "cloud_properties": cloud_properties}
        return await self._call("create_stemcell", args, op, image_exists)

    async def delete_stemcell(self, stemcell_cid: str) -> None:
        def op() -> None:
            if stemcell_cid not in self._world.stemcells:
                return  # BOSH: deleting an unknown stemcell is not an error
            users = [vm.cid for vm in self._world.vms.values() if vm.stemcell_cid == stemcell_cid]
            if users:
                raise CloudError(f"stemcell {stemcell_cid!r} is in use by {', '.join(users)}")
            del self._world.stemcells[stemcell_cid]
            self._changed()

        await self._call("delete_stemcell", {"stemcell_cid": stemcell_cid}, op)

    # --- VMs --------------------------------------------------------------------------------

    async def create_vm(
        self,
        agent_id: str,
        stemcell_cid: str,
        cloud_properties: Mapping[str, Any],
        networks: Mapping[str, Mapping[str, Any]],
        disk_cids: Sequence[str],
        env: Mapping[str, Any],
    ) -> CreatedVm:
        def op() -> CreatedVm:
            world = self._world
            if not isinstance(agent_id, str) or not agent_id:
                raise VMCreationFailed(f"agent id must be a non-empty string, got {agent_id!r}")
            if stemcell_cid not in world.stemcells:
                raise VMCreationFailed(f"stemcell {stemcell_cid!r} not found")
            for disk_cid in disk_cids:
                if disk_cid not in world.disks:
                    raise VMCreationFailed(f"disk {disk_cid!r} not found")
            holder = world.by_agent.get(agent_id)
            if holder is not None:
                raise VMCreationFailed(f"agent id {agent_id!r} is in use by {holder}")
            if not isinstance(networks, Mapping):
                raise VMCreationFailed(f"networks must be a mapping, got {networks!r}")
            properties = _json(cloud_properties, "cloud_properties")
            settings = _json(env, "env")
            assigned, next_address = assign_networks(
                _json(networks, "networks"),
                world.by_address,
                self._dynamic_range,
                world.next_address,
            )
            vm = VmRecord(
                cid=world.new_cid("vm"),
                agent_id=agent_id,
                stemcell_cid=stemcell_cid,
                cloud_properties=properties,
                networks=assigned,
                env=settings,
            )
            world.next_address = next_address
            world.put_vm(vm)
            self._changed()
            return CreatedVm(vm_cid=vm.cid, networks=_json(assigned, "networks"))

        args = {
            "agent_id": agent_id,
            "stemcell_cid": stemcell_cid,
            "cloud_properties": cloud_properties,
            "networks": networks,
            "disk_cids": disk_cids,
            "env": env,
        }
        return await self._call("create_vm", args, op)

    async def delete_vm(self, vm_cid: str) -> None:
        def op() -> None:
            vm = self._vm(vm_cid)
            for disk_cid in vm.disk_cids:  # disks outlive their VM, detached
                disk = self._world.disks[disk_cid]
                self._world.disks[disk_cid] = attrs.evolve(disk, vm_cid=None, hint=None)
            self._world.drop_vm(vm_cid)
            self._changed()

        await self._call("delete_vm", {"vm_cid": vm_cid}, op)

    async def has_vm(self, vm_cid: str) -> bool:
        return await self._call("has_vm", {"vm_cid": vm_cid}, lambda: vm_cid in self._world.vms)

    async def reboot_vm(self, vm_cid: str) -> None:
        def op() -> None:
            vm = self._vm(vm_cid)
            self._world.put_vm(attrs.evolve(vm, reboots=vm.reboots + 1))
            self._changed()

        await self._call("reboot_vm", {"vm_cid": vm_cid}, op)

    async def set_vm_metadata(self, vm_cid: str, metadata: Mapping[str, str]) -> None:
        def op() -> None:
            vm = self._vm(vm_cid)
            merged = {**vm.metadata, **_metadata(metadata)}
            self._world.put_vm(attrs.evolve(vm, metadata=merged))
            self._changed()

        await self._call("set_vm_metadata", {"vm_cid": vm_cid, "metadata": metadata}, op)

    async def calculate_vm_cloud_properties(self, vm_resources: VmResources) -> dict[str, Any]:
        def op() -> dict[str, Any]:
            cpu = _size(vm_resources.cpu, "vm_resources.cpu")
            ram = _size(vm_resources.ram, "vm_resources.ram")
            disk = _size(vm_resources.ephemeral_disk_size, "vm_resources.ephemeral_disk_size")
            return {
                "instance_type": f"mock.c{cpu}.m{ram}",
                "cpu": cpu,
                "ram": ram,
                "ephemeral_disk": {"size": disk},
            }

        return await self._call("calculate_vm_cloud_properties", {"vm_resources": vm_resources}, op)

    async def list_vms(self) -> list[VmListing]:
        """Every live VM, in creation order, with the agent id it was created for and its
        metadata (:class:`jobsite.cpi.VmLister`). With ``state_file`` the file is brought up
        to date before the answer is returned, so a crash cannot take back a listed VM."""

        def op() -> list[VmListing]:
            return [
                VmListing(vm_cid=vm.cid, agent_id=vm.agent_id, metadata=dict(vm.metadata))
                for vm in self._world.vms.values()
            ]

        return await self._call("list_vms", {}, op, durable=True)

    async def list_disks(self) -> list[DiskListing]:
        """Every disk, in creation order, with its size, cloud properties, the VM it is
        attached to and its metadata (:class:`jobsite.cpi.DiskLister`). With ``state_file``
        the file is brought up to date before the answer is returned, so a crash cannot take
        back a listed disk."""

        def op() -> list[DiskListing]:
            return [
                DiskListing(
                    disk_cid=disk.cid,
                    size_mb=disk.size_mb,
                    cloud_properties=_json(disk.cloud_properties, "cloud_properties"),
                    vm_cid=disk.vm_cid,
                    metadata=dict(disk.metadata),
                )
                for disk in self._world.disks.values()
            ]

        return await self._call("list_disks", {}, op, durable=True)

    # --- disks ------------------------------------------------------------------------------

    async def create_disk(
        self, size_mb: int, cloud_properties: Mapping[str, Any], vm_cid: str | None
    ) -> str:
        def op() -> str:
            size = _size(size_mb, "size_mb")
            properties = _json(cloud_properties, "cloud_properties")
            if vm_cid is not None:
                self._vm(vm_cid)  # "near this VM": it has to exist
            cid = self._world.new_cid("disk")
            self._world.disks[cid] = DiskRecord(cid=cid, size_mb=size, cloud_properties=properties)
            self._changed()
            return cid

        args = {"size_mb": size_mb, "cloud_properties": cloud_properties, "vm_cid": vm_cid}
        return await self._call("create_disk", args, op)

    async def delete_disk(self, disk_cid: str) -> None:
        def op() -> None:
            disk = self._disk(disk_cid)
            if disk.vm_cid is not None:
                raise CloudError(f"disk {disk_cid!r} is attached to {disk.vm_cid}")
            del self._world.disks[disk_cid]
            self._changed()

        await self._call("delete_disk", {"disk_cid": disk_cid}, op)

    async def has_disk(self, disk_cid: str) -> bool:
        return await self._call(
            "has_disk", {"disk_cid": disk_cid}, lambda: disk_cid in self._world.disks
        )

    async def attach_disk(self, vm_cid: str, disk_cid: str) -> dict[str, Any]:
        def op() -> dict[str, Any]:
            vm = self._vm(vm_cid)
            disk = self._disk(disk_cid)
            if disk.vm_cid is not None:
                raise CloudError(f"disk {disk_cid!r} is already attached to {disk.vm_cid}")
            used = {(self._world.disks[d].hint or {}).get("path") for d in vm.disk_cids}
            free = [device for device in _DEVICES if device not in used]
            if not free:
                raise CloudError(f"VM {vm_cid!r} has no free device for another disk")
            hint = {"path": free[0]}
            self._world.disks[disk_cid] = attrs.evolve(disk, vm_cid=vm_cid, hint=hint)
            self._world.put_vm(attrs.evolve(vm, disk_cids=(*vm.disk_cids, disk_cid)))
            self._changed()
            return dict(hint)

        return await self._call("attach_disk", {"vm_cid": vm_cid, "disk_cid": disk_cid}, op)

    async def detach_disk(self, vm_cid: str, disk_cid: str) -> None:
        def op() -> None:
            vm = self._vm(vm_cid)
            disk = self._disk(disk_cid)
            if disk.vm_cid != vm_cid:
                raise DiskNotAttached(f"disk {disk_cid!r} is not attached to VM {vm_cid!r}")
            self._world.disks[disk_cid] = attrs.evolve(disk, vm_cid=None, hint=None)
            remaining = tuple(d for d in vm.disk_cids if d != disk_cid)
            # A mount ends with its device: reattaching the disk does not mount it again.
            mounted = tuple(d for d in vm.agent.mounted if d != disk_cid)
            agent = attrs.evolve(vm.agent, mounted=mounted)
            self._world.put_vm(attrs.evolve(vm, disk_cids=remaining, agent=agent))
            self._changed()

        await self._call("detach_disk", {"vm_cid": vm_cid, "disk_cid": disk_cid}, op)

    async def get_disks(self, vm_cid: str) -> list[str]:
        return await self._call(
            "get_disks", {"vm_cid": vm_cid}, lambda: list(self._vm(vm_cid).disk_cids)
        )

    def _check_resizable(self, disk: DiskRecord, new_size_mb: Any) -> int:
        size = _size(new_size_mb, "new_size_mb")
        if disk.vm_cid is not None:
            raise CloudError(f"disk {disk.cid!r} is attached to {disk.vm_cid}; detach it first")
        if size < disk.size_mb:
            raise NotSupported(
                f"disk {disk.cid!r} cannot shrink from {disk.size_mb} MiB to {size} MiB"
            )
        return size

    async def resize_disk(self, disk_cid: str, new_size_mb: int) -> None:
        def op() -> None:
            disk = self._disk(disk_cid)
            size = self._check_resizable(disk, new_size_mb)
            if size != disk.size_mb:
                self._world.disks[disk_cid] = attrs.evolve(disk, size_mb=size)
                self._changed()

        await self._call("resize_disk", {"disk_cid": disk_cid, "new_size_mb": new_size_mb}, op)

    async def update_disk(
        self, disk_cid: str, new_size_mb: int, cloud_properties: Mapping[str, Any]
    ) -> str:
        def op() -> str:
            disk = self._disk(disk_cid)
            size = self._check_resizable(disk, new_size_mb)
            properties = _json(cloud_properties, "cloud_properties")
            if properties == disk.cloud_properties:
                if size != disk.size_mb:
                    self._world.disks[disk_cid] = attrs.evolve(disk, size_mb=size)
                    self._changed()
                return disk_cid
            # A new disk type is a new disk, as on clouds that migrate volumes: the caller must
            # use the cid it gets back, and the old cid is gone.
            cid = self._world.new_cid("disk")
            del self._world.disks[disk_cid]
            self._world.disks[cid] = attrs.evolve(
                disk, cid=cid, size_mb=size, cloud_properties=properties
            )
            self._changed()
            return cid

        args = {
            "disk_cid": disk_cid,
            "new_size_mb": new_size_mb,
            "cloud_properties": cloud_properties,
        }
        return await self._call("update_disk", args, op)

    async def set_disk_metadata(self, disk_cid: str, metadata: Mapping[str, str]) -> None:
        def op() -> None:
            disk = self._disk(disk_cid)
            merged = {**disk.metadata, **_metadata(metadata)}
            self._world.disks[disk_cid] = attrs.evolve(disk, metadata=merged)
            self._changed()

        await self._call("set_disk_metadata", {"disk_cid": disk_cid, "metadata": metadata}, op)

    async def snapshot_disk(self, disk_cid: str, metadata: Mapping[str, str]) -> str:
        def op() -> str:
            disk = self._disk(disk_cid)
            tags = _metadata(metadata)
            cid = self._world.new_cid("snapshot")
            self._world.snapshots[cid] = SnapshotRecord(
                cid=cid, disk_cid=disk_cid, size_mb=disk.size_mb, metadata=tags
            )
            self._changed()
            return cid

        args = {"disk_cid": disk_cid, "metadata": metadata}
        return await self._call("snapshot_disk", args, op)

    async def delete_snapshot(self, snapshot_cid: str) -> None:
        def op() -> None:
            if snapshot_cid not in self._world.snapshots:
                raise CloudError(f"snapshot {snapshot_cid!r} not found")
            del self._world.snapshots[snapshot_cid]
            self._changed()

        await self._call("delete_snapshot", {"snapshot_cid": snapshot_cid}, op)

"""The simulated cloud's world: stemcells, VMs (with what their agents hold), disks,
snapshots, and the id counters.

Records are frozen and their mappings are never changed in place (a change builds a new record
with :func:`attrs.evolve`), so a snapshot is a cheap copy of four dicts that a worker thread can
serialize while the event loop moves on. Two indexes (agent id → VM, address → VM) make the
checks ``create_vm`` needs O(1), which keeps benchmarks of thousands of VMs fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from jobsite.errors import DriverError

__all__ = [
    "AgentRecord",
    "DiskRecord",
    "SnapshotRecord",
    "StemcellRecord",
    "VmRecord",
    "World",
    "WorldSnapshot",
]

FORMAT = "jobsite-mock-cpi/1"

KINDS = ("stemcell", "vm", "disk", "snapshot")


@attrs.frozen(kw_only=True)
class StemcellRecord:
    """An imported stemcell."""

    cid: str
    image_path: str
    cloud_properties: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class AgentRecord:
    """What the mock agent on a VM holds, kept with the VM as a real agent keeps it on its VM
    (it outlives the director process, and goes with the VM): the applied spec, when the jobs
    were started, the mounted disks."""

    spec: Mapping[str, Any] | None = None
    """The applied spec (JSON), or None before the first ``apply``."""
    started_at: float | None = None
    """Wall-clock time (``time.time()``) of ``start``; None while the jobs are stopped."""
    mounted: tuple[str, ...] = ()
    """Mounted disks in mount order: the first is the persistent data directory."""

    @classmethod
    def from_json(cls, data: Any, vm_cid: Any) -> AgentRecord:
        """The record a state file holds; an older file without one gives an empty agent."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"VM {vm_cid!r}: agent must be a mapping")
        spec = data.get("spec")
        started_at = data.get("started_at")
        mounted = data.get("mounted", [])
        if spec is not None and not isinstance(spec, dict):
            raise ValueError(f"VM {vm_cid!r}: agent spec must be a mapping")
        if started_at is not None and (
            isinstance(started_at, bool) or not isinstance(started_at, int | float)
        ):
            raise ValueError(f"VM {vm_cid!r}: agent started_at must be a number")
        if not isinstance(mounted, list) or not all(isinstance(d, str) for d in mounted):
            raise ValueError(f"VM {vm_cid!r}: agent mounted must be a list of disk cids")
        return cls(
            spec=spec,
            started_at=None if started_at is None else float(started_at),
            mounted=tuple(mounted),
        )


@attrs.frozen(kw_only=True)
class VmRecord:
    """A live VM, with its networks as ``create_vm`` returned them."""

    cid: str
    agent_id: str
    stemcell_cid: str
    cloud_properties: Mapping[str, Any]
    networks: Mapping[str, Mapping[str, Any]]
    env: Mapping[str, Any]
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    disk_cids: tuple[str, ...] = ()
    """Attached disks, in attach order."""
    reboots: int = 0
    agent: AgentRecord = AgentRecord()
    """What its agent holds; deleting the VM deletes it."""

    def addresses(self) -> list[str]:
        """Every address the VM holds, on any network."""
        return [str(n["ip"]) for n in self.networks.values() if n.get("ip")]


@attrs.frozen(kw_only=True)
class DiskRecord:
    """A persistent disk; ``vm_cid`` is where it is attached, ``hint`` how the agent finds it,
    ``files`` what is stored on it (path → content, written through the mock agent), so tests
    can see data outlive the VMs the disk was attached to."""

    cid: str
    size_mb: int
    cloud_properties: Mapping[str, Any]
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    vm_cid: str | None = None
    hint: Mapping[str, Any] | None = None
    files: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class SnapshotRecord:
    """A snapshot of a disk (which may since have been deleted)."""

    cid: str
    disk_cid: str
    size_mb: int
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class WorldSnapshot:
    """The world at one instant, detached from later changes."""

    stemcells: Mapping[str, StemcellRecord]
    vms: Mapping[str, VmRecord]
    disks: Mapping[str, DiskRecord]
    snapshots: Mapping[str, SnapshotRecord]
    counters: Mapping[str, int]
    next_address: int

    def to_json(self) -> dict[str, Any]:
        """The snapshot as the state file stores it."""
        return {
            "format": FORMAT,
            "counters": dict(self.counters),
            "next_address": self.next_address,
            "stemcells": [attrs.asdict(r) for r in self.stemcells.values()],
            "vms": [attrs.asdict(r) for r in self.vms.values()],
            "disks": [attrs.asdict(r) for r in self.disks.values()],
            "snapshots": [attrs.asdict(r) for r in self.snapshots.values()],
        }


class World:
    """The mutable world. Change it only between awaits: then every change is atomic."""

    def __init__(self) -> None:
        self.stemcells: dict[str, StemcellRecord] = {}
        self.vms: dict[str, VmRecord] = {}
        """Live VMs in creation order: replacing a record keeps its place, and the state file
        stores them as a list in this order."""
        self.disks: dict[str, DiskRecord] = {}
        self.snapshots: dict[str, SnapshotRecord] = {}
        self.counters: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.next_address = 0
        """Offset into the dynamic range where the next search for a free address starts."""
        self.by_agent: dict[str, str] = {}
        self.by_address: dict[str, str] = {}
        self.generation = 0
        """Bumped by every change, so persistence knows what it has already written."""

    def new_cid(self, kind: str) -> str:
        """A fresh cid (``vm-7``); counters only grow, so cids are never reused."""
        self.counters[kind] += 1
        return f"{kind}-{self.counters[kind]}"

    def put_vm(self, vm: VmRecord) -> None:
        """Add or replace a VM, keeping the indexes right."""
        old = self.vms.get(vm.cid)
        if old is not None:
            self._unindex(old)
        self.vms[vm.cid] = vm
        self.by_agent[vm.agent_id] = vm.cid
        for address in vm.addresses():
            self.by_address[address] = vm.cid

    def drop_vm(self, vm_cid: str) -> VmRecord:
        vm = self.vms.pop(vm_cid)
        self._unindex(vm)
        return vm

    def _unindex(self, vm: VmRecord) -> None:
        if self.by_agent.get(vm.agent_id) == vm.cid:
            del self.by_agent[vm.agent_id]
        for address in vm.addresses():
            if self.by_address.get(address) == vm.cid:
                del self.by_address[address]

    def snapshot(self) -> WorldSnapshot:
        return WorldSnapshot(
            stemcells=dict(self.stemcells),
            vms=dict(self.vms),
            disks=dict(self.disks),
            snapshots=dict(self.snapshots),
            counters=dict(self.counters),
            next_address=self.next_address,
        )

    @classmethod
    def from_json(cls, data: Any, source: str) -> World:
        """Rebuild a world from a state file's content; refuse anything else, saying why."""
        try:
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} state file")
            world = cls()
            for kind in KINDS:
                world.counters[kind] = int(data["counters"][kind])
            world.next_address = int(data["next_address"])
            for item in data["stemcells"]:
                world.stemcells[item["cid"]] = StemcellRecord(**item)
            for item in data["vms"]:
                # ``agent`` came later: a file written before holds VMs whose agents hold
                # nothing (no spec applied, stopped, nothing mounted).
                agent = AgentRecord.from_json(item.get("agent"), item.get("cid"))
                disk_cids = tuple(item["disk_cids"])
                world.put_vm(VmRecord(**{**item, "disk_cids": disk_cids, "agent": agent}))
            for item in data["disks"]:
                # ``files`` came later: a file written before holds disks without contents.
                files = item.get("files", {})
                if not isinstance(files, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in files.items()
                ):
                    raise ValueError(f"disk {item.get('cid')!r}: files must map str to str")
                world.disks[item["cid"]] = DiskRecord(**{**item, "files": files})
            for item in data["snapshots"]:
                world.snapshots[item["cid"]] = SnapshotRecord(**item)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise DriverError(f"state file {source} is unreadable: {exc}") from exc
        return world

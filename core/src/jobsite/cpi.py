"""The CPI protocol: BOSH's Cloud Provider Interface, version 2, as async Python.

Method names, argument order and meaning follow BOSH's CPI API v2 so that an external CPI
(one JSON request on stdin, one response on stdout) maps onto it one to one, and an operator's
knowledge of BOSH CPIs carries over. Failures raise :class:`jobsite.errors.CloudError` or one of
its BOSH-named subclasses, with ``ok_to_retry`` set for transient faults.

Contract highlights every implementation keeps (the conformance suite checks them):

- ``delete_vm``/``reboot_vm``/``set_vm_metadata``/``get_disks`` of an unknown VM raise
  :class:`~jobsite.errors.VMNotFound`; ``has_vm`` answers ``False`` instead.
- disk calls on an unknown disk raise :class:`~jobsite.errors.DiskNotFound`; ``has_disk``
  answers ``False``. Attaching a disk that is attached elsewhere fails; detaching a disk that
  is not attached to that VM raises :class:`~jobsite.errors.DiskNotAttached`.
- a disk outlives the VM it was attached to (deleting the VM detaches it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from jobsite._types import CloudProperties, JsonMapping

__all__ = [
    "Cpi",
    "CpiInfo",
    "CreatedVm",
    "DiskLister",
    "DiskListing",
    "VmLister",
    "VmListing",
    "VmResources",
    "vm_metadata",
]

CPI_API_VERSION = 2


@attrs.frozen(kw_only=True)
class CpiInfo:
    """What ``info()`` returns: the API version spoken and the stemcell formats accepted."""

    api_version: int = CPI_API_VERSION
    stemcell_formats: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class CreatedVm:
    """What ``create_vm`` returns in API v2: the VM's cid and the networks as the cloud set them
    (for dynamic networks, the address the cloud chose)."""

    vm_cid: str
    networks: JsonMapping = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class VmResources:
    """``vm_resources`` of an instance group: what ``calculate_vm_cloud_properties`` sizes."""

    cpu: int
    ram: int
    """MiB."""
    ephemeral_disk_size: int
    """MiB."""


@runtime_checkable
class Cpi(Protocol):
    """A cloud: VMs, disks, stemcells. Every method may be called concurrently."""

    async def info(self) -> CpiInfo:
        """Describe the CPI: API version and accepted stemcell formats."""
        ...

    async def create_stemcell(self, image_path: str, cloud_properties: CloudProperties) -> str:
        """Import a stemcell image (empty path for light stemcells); return its cid."""
        ...

    async def delete_stemcell(self, stemcell_cid: str) -> None:
        """Remove a stemcell. Deleting an unknown stemcell is not an error."""
        ...

    async def create_vm(
        self,
        agent_id: str,
        stemcell_cid: str,
        cloud_properties: CloudProperties,
        networks: Mapping[str, JsonMapping],
        disk_cids: Sequence[str],
        env: JsonMapping,
    ) -> CreatedVm:
        """Create and boot a VM whose agent answers to ``agent_id``.

        ``networks`` maps network name to BOSH's network settings (``type``, ``ip``,
        ``netmask``, ``gateway``, ``dns``, ``default``, ``cloud_properties``). ``disk_cids`` are
        disks the VM should be placed near. Raise :class:`~jobsite.errors.VMCreationFailed`
        (with ``ok_to_retry``) when no VM was left behind.
        """
        ...

    async def delete_vm(self, vm_cid: str) -> None:
        """Delete a VM; attached disks survive, detached. Unknown VM: ``VMNotFound``."""
        ...

    async def has_vm(self, vm_cid: str) -> bool:
        """Whether the VM exists."""
        ...

    async def reboot_vm(self, vm_cid: str) -> None:
        """Reboot a VM."""
        ...

    async def set_vm_metadata(self, vm_cid: str, metadata: Mapping[str, str]) -> None:
        """Tag a VM (director, deployment, instance group, index, ...); merged into earlier tags."""
        ...

    async def calculate_vm_cloud_properties(self, vm_resources: VmResources) -> CloudProperties:
        """Translate ``vm_resources`` into this cloud's cloud properties."""
        ...

    async def create_disk(
        self, size_mb: int, cloud_properties: CloudProperties, vm_cid: str | None
    ) -> str:
        """Create a persistent disk, near ``vm_cid`` where given; return its cid."""
        ...

    async def delete_disk(self, disk_cid: str) -> None:
        """Delete a disk that is not attached. Unknown disk: ``DiskNotFound``."""
        ...

    async def has_disk(self, disk_cid: str) -> bool:
        """Whether the disk exists."""
        ...

    async def attach_disk(self, vm_cid: str, disk_cid: str) -> Any:
        """Attach a disk to a VM; return the disk hint the agent uses to find it (API v2)."""
        ...

    async def detach_disk(self, vm_cid: str, disk_cid: str) -> None:
        """Detach a disk from a VM. Not attached there: ``DiskNotAttached``."""
        ...

    async def get_disks(self, vm_cid: str) -> list[str]:
        """The cids of the disks attached to a VM."""
        ...

    async def resize_disk(self, disk_cid: str, new_size_mb: int) -> None:
        """Grow a detached disk in place. Clouds that cannot raise ``NotImplementedByCpi``."""
        ...

    async def update_disk(
        self, disk_cid: str, new_size_mb: int, cloud_properties: CloudProperties
    ) -> str:
        """Change a disk's size or type in place; return its (possibly new) cid."""
        ...

    async def set_disk_metadata(self, disk_cid: str, metadata: Mapping[str, str]) -> None:
        """Tag a disk."""
        ...

    async def snapshot_disk(self, disk_cid: str, metadata: Mapping[str, str]) -> str:
        """Snapshot a disk; return the snapshot cid."""
        ...

    async def delete_snapshot(self, snapshot_cid: str) -> None:
        """Delete a snapshot."""
        ...


@attrs.frozen(kw_only=True)
class VmListing:
    """One VM as the cloud lists it, with the metadata it was tagged with."""

    vm_cid: str
    agent_id: str | None = None
    """The agent id the VM was created for, when the cloud remembers it."""
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@runtime_checkable
class VmLister(Protocol):
    """Optional capability: list the VMs that exist, so the inspector can find VMs a crash left
    unrecorded (tagged for this director, unknown to the store). Not part of BOSH's CPI API."""

    async def list_vms(self) -> list[VmListing]:
        """Every VM this CPI can see, with its metadata."""
        ...


@attrs.frozen(kw_only=True)
class DiskListing:
    """One persistent disk as the cloud lists it."""

    disk_cid: str
    size_mb: int
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    vm_cid: str | None = None
    """The VM it is attached to, if any."""
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@runtime_checkable
class DiskLister(Protocol):
    """Optional capability: list the disks that exist.

    ``create_disk`` takes no identity (unlike ``create_vm``'s agent id), so a director that
    dies between creating a disk and recording its cid can only find it again by listing:
    the assembler's recovery adopts an unrecorded disk of the size and cloud properties it
    was creating. A CPI without it can leak a disk in that window, as BOSH can. Not part of
    BOSH's CPI API.
    """

    async def list_disks(self) -> list[DiskListing]:
        """Every disk this CPI can see, with its size, attachment and metadata."""
        ...


def vm_metadata(
    director: str, deployment: str, group: str | None, instance: str | None, index: int | None
) -> dict[str, str]:
    """The tags jobsite sets on a VM, with BOSH's keys (``director``, ``deployment``,
    ``instance_group``, ``job``, ``id``, ``index``, ``name``).

    The inspector finds VMs a crash left unrecorded by ``director`` and ``deployment``, so a
    CPI that lists VMs (:class:`VmLister`) must hand these back as they were set.
    """
    tags = {"director": director, "deployment": deployment}
    if group is not None:
        tags["instance_group"] = group
        tags["job"] = group
    if instance is not None:
        tags["id"] = instance
        tags["name"] = f"{group}/{instance}"
    if index is not None:
        tags["index"] = str(index)
    return tags

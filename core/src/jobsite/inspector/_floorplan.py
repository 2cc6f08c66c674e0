"""The floorplan: the world as it is, for one deployment, as values.

It holds what the store remembers (instances, VMs, disks, addresses) and what the cloud
answered about it (which recorded VMs are gone, which VMs tagged for the deployment nobody
recorded). The foreman diffs the blueprint against it; the architect reads the identities it
remembers (:func:`known_instances`) so instances keep their uuid, index, AZ and addresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from jobsite.architect import KnownInstance
from jobsite.cpi import VmListing
from jobsite.store import DeploymentRecord, DiskRecord, InstanceRecord, IpReservation, VmRecord

__all__ = ["Drift", "DriftKind", "Floorplan", "known_instances"]

DriftKind = Literal[
    "vm_missing", "vm_unknown", "vm_unchecked", "vm_recovered", "disk_recovered", "disk_unchecked"
]


@attrs.frozen(kw_only=True)
class Drift:
    """A disagreement between the store and the cloud.

    - ``vm_missing``: the store records a VM the cloud says does not exist;
    - ``vm_unknown``: the cloud has a VM tagged for this director and deployment that the
      store does not record (a crash between ``create_vm`` and recording it, or someone
      else's doing);
    - ``vm_unchecked``: the cloud could not say (its ``has_vm`` failed, or its ``list_vms``:
      then ``vm_cid`` is None); nothing is assumed.
    - ``vm_recovered`` / ``disk_recovered``: a deploy stopped between recording that it was
      creating a VM or disk and recording its cid; the cloud was asked what really happened
      (by agent id for a VM, by size and cloud properties for a disk) and the floorplan holds
      the answer: the cid it found, or (``vm_cid``/``disk`` None) that nothing was created;
    - ``disk_unchecked``: such an interrupted disk creation, on a cloud that cannot list its
      disks (:class:`~jobsite.cpi.DiskLister`): a disk may have been left behind.
    """

    kind: DriftKind
    message: str
    vm_cid: str | None = None
    vm: str | None = None
    """The VM's store id, when the store knows it."""
    instance: str | None = None
    """The instance's uuid, when known (from the store or the VM's metadata)."""
    metadata: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    disk: str | None = None
    """The disk's store id, for disk drift."""


@attrs.frozen(kw_only=True)
class Floorplan:
    """What exists for one deployment."""

    deployment: str
    record: DeploymentRecord | None = None
    """The deployment as last applied (None before its first deploy)."""
    instances: tuple[InstanceRecord, ...] = ()
    vms: tuple[VmRecord, ...] = ()
    disks: tuple[DiskRecord, ...] = ()
    """The deployment's disks that are not orphaned."""
    addresses: tuple[IpReservation, ...] = ()
    """The deployment's own IP reservations."""
    taken_addresses: Mapping[str, frozenset[str]] = attrs.field(factory=dict, hash=False)
    """Per network, addresses held by *other* deployments."""
    missing_vms: frozenset[str] = frozenset()
    """Store ids of VMs the cloud says no longer exist (or, for a VM whose creation was
    interrupted, never did)."""
    missing_disks: frozenset[str] = frozenset()
    """Store ids of disks whose interrupted creation the cloud says never happened."""
    cloud_checked: bool = False
    """Whether recorded VMs were checked against the cloud (``has_vm``)."""
    drift: tuple[Drift, ...] = ()
    unknown_vms: tuple[VmListing, ...] = ()
    """VMs the cloud lists, tagged for this deployment, that the store does not record."""
    observations: tuple[Any, ...] = ()
    """What plugins reported through ``jobsite_inspect``."""


def known_instances(floorplan: Floorplan) -> tuple[KnownInstance, ...]:
    """The identities the architect keeps: instances with their AZ, disk and addresses."""
    with_disk = {d.instance_uuid for d in floorplan.disks if d.active and d.instance_uuid}
    ips: dict[str, dict[str, str]] = {}
    for r in floorplan.addresses:
        if r.instance_uuid is not None:
            ips.setdefault(r.instance_uuid, {})[r.network] = r.address
    # An instance holds two addresses on a network while a create-first strategy swaps it
    # onto a new VM: the one its active VM uses is its address.
    for vm in floorplan.vms:
        if vm.active and vm.instance_uuid is not None and vm.instance_uuid in ips:
            held = ips[vm.instance_uuid]
            for network, settings in vm.networks.items():
                ip = settings.get("ip") if isinstance(settings, Mapping) else None
                if network in held and isinstance(ip, str):
                    held[network] = ip
    return tuple(
        KnownInstance(
            group=i.group,
            index=i.index,
            uuid=i.uuid,
            az=i.az,
            bootstrap=i.bootstrap,
            has_disk=i.uuid in with_disk,
            ips=ips.get(i.uuid, {}),
        )
        for i in floorplan.instances
    )

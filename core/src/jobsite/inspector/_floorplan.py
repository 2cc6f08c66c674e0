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

DriftKind = Literal["vm_missing", "vm_unknown", "vm_unchecked"]


@attrs.frozen(kw_only=True)
class Drift:
    """A disagreement between the store and the cloud.

    - ``vm_missing``: the store records a VM the cloud says does not exist;
    - ``vm_unknown``: the cloud has a VM tagged for this director and deployment that the
      store does not record (a crash between ``create_vm`` and recording it, or someone
      else's doing);
    - ``vm_unchecked``: the cloud could not say (its ``has_vm`` failed, or its ``list_vms``:
      then ``vm_cid`` is None); nothing is assumed.
    """

    kind: DriftKind
    message: str
    vm_cid: str | None = None
    vm: str | None = None
    """The VM's store id, when the store knows it."""
    instance: str | None = None
    """The instance's uuid, when known (from the store or the VM's metadata)."""
    metadata: Mapping[str, str] = attrs.field(factory=dict, hash=False)


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
    """Store ids of VMs the cloud says no longer exist."""
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

"""The records a deploy leaves when it has carried out every remodel of a blueprint.

The assembler writes these step by step; this function states the end result in one place,
so the assembler can check it converged, and tests and benchmarks can build the floorplan of
a deployed blueprint without a cloud. VM and disk ids are the ones the foreman gives new VMs
and disks of new instances, so a settled blueprint and the plan that built it agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from jobsite.foreman._diff import new_ids
from jobsite.foreman._spec import instance_spec
from jobsite.store import (
    DeploymentRecord,
    DiskRecord,
    InstanceRecord,
    IpReservation,
    VmRecord,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from jobsite.architect import Blueprint, JobMaterial

__all__ = ["Settled", "settled_records"]


@attrs.frozen(kw_only=True)
class Settled:
    """A deployment's records after a complete deploy."""

    deployment: DeploymentRecord
    instances: tuple[InstanceRecord, ...]
    vms: tuple[VmRecord, ...]
    disks: tuple[DiskRecord, ...]
    addresses: tuple[IpReservation, ...]


def settled_records(
    blueprint: Blueprint,
    *,
    manifest: str = "",
    config_ids: tuple[int, ...] = (),
    cid: Callable[[str, str], str] | None = None,
) -> Settled:
    """The records a deploy of ``blueprint`` leaves.

    :param manifest: the manifest text as applied, for the deployment record.
    :param cid: ``cid(kind, id)`` names the cloud id of a VM (``kind="vm"``) or disk
        (``"disk"``); by default ``vm-<id>``/``disk-<id>``.
    """
    name_cid = cid or (lambda kind, ident: f"{kind}-{ident}")
    ids = new_ids(blueprint.id_seed)
    vms = {m.instance: m for m in blueprint.vms}
    jobs: dict[str, list[JobMaterial]] = {}
    for job in blueprint.jobs:
        jobs.setdefault(job.instance, []).append(job)
    instances = []
    vm_records = []
    vm_of: dict[str, str] = {}
    addresses: list[IpReservation] = []
    for instance in blueprint.instances:
        vm = vms.get(instance.uuid)
        instances.append(
            InstanceRecord(
                uuid=instance.uuid,
                deployment=blueprint.deployment,
                group=instance.group,
                index=instance.index,
                az=instance.az,
                state=instance.state,
                bootstrap=instance.bootstrap,
                ignore=instance.ignored,
                spec={
                    **instance_spec(instance, vm, jobs.get(instance.uuid, ())),
                    "vm": ids(instance.uuid, "vm") if vm is not None else None,
                },
            )
        )
        if vm is not None:
            vm_id = ids(instance.uuid, "vm")
            vm_of[instance.uuid] = vm_id
            vm_records.append(
                VmRecord(
                    id=vm_id,
                    deployment=blueprint.deployment,
                    instance_uuid=instance.uuid,
                    cid=name_cid("vm", vm_id),
                    agent_id=ids(vm_id, "agent"),
                    stemcell_os=vm.stemcell_os,
                    stemcell_version=vm.stemcell_version,
                    cloud_properties=vm.cloud_properties,
                    networks={n.network: n.settings() for n in vm.networks},
                    env=vm.env,
                    state="created",
                    active=True,
                )
            )
            addresses.extend(
                IpReservation(
                    network=n.network,
                    address=n.ip,
                    deployment=blueprint.deployment,
                    instance_uuid=instance.uuid,
                    static=n.static,
                )
                for n in vm.networks
                if n.type == "manual" and n.ip is not None
            )
    disks = []
    for disk in blueprint.disks:
        disk_id = ids(disk.instance, "disk", disk.name)
        disks.append(
            DiskRecord(
                id=disk_id,
                deployment=blueprint.deployment,
                instance_uuid=disk.instance,
                cid=name_cid("disk", disk_id),
                size=disk.size,
                disk_type=disk.disk_type,
                name=disk.name,
                cloud_properties=disk.cloud_properties,
                state="created",
                active=True,
                vm=vm_of.get(disk.instance),
            )
        )
    return Settled(
        deployment=DeploymentRecord(
            name=blueprint.deployment, manifest=manifest, config_ids=config_ids
        ),
        instances=tuple(instances),
        vms=tuple(vm_records),
        disks=tuple(disks),
        addresses=tuple(addresses),
    )

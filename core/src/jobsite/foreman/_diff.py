"""Core's diff: blueprint - floorplan → remodels, each with the reasons it is needed.

Per instance, the diff compares three layers and plans the least that makes them right:

- the **VM** (stemcell, cloud properties, networks, env, AZ, ``vm_resources``, a
  ``--recreate`` or ``--fix``): any difference means a new VM;
- the **disks** (added, removed, resized, re-typed): a changed disk is *migrated*, a new
  disk created and attached, the data copied, the old one orphaned (kept, as BOSH does);
- the **jobs** (jobs added or removed, release versions, properties, bootstrap, a rename):
  applied to the VM that is there, then restarted.

Steps come out in an order that is valid on its own (an instance's stop before its VM's
deletion, a disk's creation before its attachment), grouped by instance, instances in
deployment order; a strategy reorders across instances and may interleave, never drop.
Instances no longer wanted come first, as BOSH deletes unneeded instances before updating.

Pure: the only inputs are the three arguments; new VM and disk ids are drawn from the
blueprint's ``id_seed``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from jobsite._gcpause import without_gc
from jobsite.architect import (
    Blueprint,
    DiskMaterial,
    GroupMaterial,
    InstanceMaterial,
    JobMaterial,
    NetworkPlacement,
    VmMaterial,
)
from jobsite.config import parse_ip_ranges
from jobsite.foreman._remodels import Reason, Remodel
from jobsite.foreman._spec import SPEC_VERSION
from jobsite.store import DiskRecord, InstanceRecord, VmRecord

if TYPE_CHECKING:
    from jobsite.foreman._limitations import Limitations
    from jobsite.inspector import Floorplan

__all__ = ["changed_keys", "changed_paths", "diff", "same"]

_NAMESPACE = uuid.UUID("0f6f3c8e-4f6c-4c55-9a43-1c3f7d2b9e10")


# --- comparing JSON-shaped values -----------------------------------------------------------


_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAPPINGS = frozenset({dict, MappingProxyType})
_SEQUENCES = frozenset({list, tuple})


def same(a: Any, b: Any) -> bool:
    """Whether two JSON-shaped values mean the same, whatever their containers (a frozen
    store mapping equals a YAML dict, a tuple equals a list). No copies are made."""
    ta, tb = type(a), type(b)
    if ta in _SCALARS and tb in _SCALARS:  # the common case, decided without ABC checks
        return (ta is bool) is (tb is bool) and bool(a == b)
    if ta in _MAPPINGS and tb in _MAPPINGS:
        if len(a) != len(b):
            return False
        for k, v in a.items():  # a plain loop: a generator costs more than the compare
            if k not in b:
                return False
            w = b[k]
            if type(v) in _SCALARS and type(w) in _SCALARS:
                if (type(v) is bool) is not (type(w) is bool) or v != w:
                    return False
            elif not same(v, w):
                return False
        return True
    if ta in _SEQUENCES and tb in _SEQUENCES:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if not same(x, y):
                break
        else:
            return True
        return False
    if isinstance(a, Mapping):
        if not isinstance(b, Mapping) or len(a) != len(b):
            return False
        return all(key in b and same(value, b[key]) for key, value in a.items())
    if isinstance(a, list | tuple):
        if not isinstance(b, list | tuple) or len(a) != len(b):
            return False
        return all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(b, Mapping | list | tuple):
        return False
    if isinstance(a, bool) or isinstance(b, bool):  # True is not 1 in a manifest
        return type(a) is type(b) and a == b
    return bool(a == b)


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Top-level keys added, removed or changed, sorted."""
    return sorted(
        k
        for k in old.keys() | new.keys()
        if k not in old or k not in new or not same(old[k], new[k])
    )


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two nested mappings differ (down to the first non-mapping)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[str] = []
        for key in sorted(old.keys() | new.keys(), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(path)
            elif not same(old[key], new[key]):
                out.extend(changed_paths(old[key], new[key], path))
        return out
    return [] if same(old, new) else [prefix or "(all)"]


def _listing(items: Sequence[str], limit: int = 5) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _keys_reason(
    code: str, label: str, old: Mapping[str, Any], new: Mapping[str, Any], **details: Any
) -> Reason | None:
    """``<label>: a, b`` naming the keys that differ between two mappings, or None when
    they mean the same. Only keys, never values: values may be secrets."""
    if same(old, new):
        return None
    keys = changed_keys(old, new)
    return Reason(
        code=code, message=f"{label}: {_listing(keys)}", details={**details, "keys": keys}
    )


# --- the diff -------------------------------------------------------------------------------


@attrs.define
class _Floor:
    """The floorplan indexed for lookups by instance."""

    instances: dict[str, InstanceRecord]
    vm: dict[str, VmRecord]
    """The instance's active VM."""
    leftover_vms: list[VmRecord]
    disks: dict[str, dict[str, DiskRecord]]
    """Instance uuid → disk name → its active disk."""
    missing: frozenset[str]
    static: dict[str, dict[str, str]]
    """Instance uuid → network → the static address it holds."""
    standby: dict[str, list[VmRecord]] = attrs.field(factory=dict)
    """Instance uuid → its inactive VMs that exist (made by an interrupted deploy): reused
    when the instance needs a VM like one of them, deleted otherwise."""
    spare_disks: dict[str, list[DiskRecord]] = attrs.field(factory=dict)
    """Instance uuid → its inactive, unorphaned disks that exist."""
    missing_disks: frozenset[str] = frozenset()
    reused: set[str] = attrs.field(factory=set)
    """VMs and disks the diff has given back to their instance (not leftovers)."""
    leftover_disks: list[DiskRecord] = attrs.field(factory=list)

    @classmethod
    def of(cls, floorplan: Floorplan) -> _Floor:
        vm: dict[str, VmRecord] = {}
        leftover: list[VmRecord] = []
        standby: dict[str, list[VmRecord]] = {}
        for record in floorplan.vms:
            if record.state == "creating" and record.id not in floorplan.missing_vms:
                continue  # the cloud could not say whether it exists: left as it is
            owner = record.instance_uuid
            if owner and record.active and record.state == "created" and owner not in vm:
                vm[owner] = record
                continue
            if owner and record.cid and record.id not in floorplan.missing_vms:
                standby.setdefault(owner, []).append(record)
            leftover.append(record)
        static: dict[str, dict[str, str]] = {}
        for reservation in floorplan.addresses:
            if reservation.static and reservation.instance_uuid:
                static.setdefault(reservation.instance_uuid, {})[reservation.network] = (
                    reservation.address
                )
        disks: dict[str, dict[str, DiskRecord]] = {}
        spare_disks: dict[str, list[DiskRecord]] = {}
        leftover_disks: list[DiskRecord] = []
        for disk in floorplan.disks:
            owner = disk.instance_uuid
            if (
                owner
                and disk.active
                and disk.state == "created"
                and disk.name not in disks.get(owner, {})
            ):
                disks.setdefault(owner, {})[disk.name] = disk
                continue
            if disk.state == "creating" and disk.id not in floorplan.missing_disks:
                continue  # the cloud could not say whether it exists: left as it is
            if disk.instance_uuid and disk.state == "created" and disk.cid:
                spare_disks.setdefault(disk.instance_uuid, []).append(disk)
            leftover_disks.append(disk)
        return cls(
            instances={i.uuid: i for i in floorplan.instances},
            vm=vm,
            leftover_vms=leftover,
            disks=disks,
            missing=floorplan.missing_vms,
            static=static,
            standby=standby,
            spare_disks=spare_disks,
            missing_disks=floorplan.missing_disks,
            leftover_disks=leftover_disks,
        )


class _Ids:
    """New VM and disk ids, drawn from the plan's seed."""

    def __init__(self, seed: str) -> None:
        self._seed = seed

    def __call__(self, *parts: object) -> str:
        # uuid.uuid5(_NAMESPACE, name).hex, without building UUID objects (20,000 a plan)
        name = "/".join([self._seed, *map(str, parts)])
        digest = bytearray(hashlib.sha1(_NAMESPACE.bytes + name.encode()).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        return digest.hex()


def new_ids(seed: str) -> Callable[..., str]:
    """The id maker the diff uses: ``ids(instance_uuid, "vm")`` is the VM id a new
    instance gets, ``ids(instance_uuid, "disk", name)`` its disk's."""
    return _Ids(seed)


@without_gc
def diff(blueprint: Blueprint, floorplan: Floorplan, limitations: Limitations) -> list[Remodel]:
    """Every remodel that turns ``floorplan`` into ``blueprint``, in deployment order."""
    floor = _Floor.of(floorplan)
    ids = _Ids(blueprint.id_seed)
    vms = {m.instance: m for m in blueprint.vms}
    disks: dict[str, list[DiskMaterial]] = {}
    for d in blueprint.disks:
        disks.setdefault(d.instance, []).append(d)
    jobs: dict[str, list[JobMaterial]] = {}
    for j in blueprint.jobs:
        jobs.setdefault(j.instance, []).append(j)
    groups = {g.name: g for g in blueprint.groups}

    out: list[Remodel] = []
    wanted = {i.uuid for i in blueprint.instances}
    for record in floorplan.instances:
        if record.uuid not in wanted:
            out.extend(_remove(blueprint, floor, record, groups, limitations))
    for instance in blueprint.instances:
        builder = _Instance(blueprint.deployment, instance, limitations, ids)
        out.extend(
            builder.remodels(
                floor.instances.get(instance.uuid),
                vms.get(instance.uuid),
                disks.get(instance.uuid, []),
                jobs.get(instance.uuid, []),
                floor,
            )
        )
    out.extend(_leftovers(blueprint, floorplan, floor, wanted, limitations))
    return out


def _removal_reason(
    record: InstanceRecord,
    groups: Mapping[str, GroupMaterial],
    addresses: Mapping[str, Mapping[str, str]],
) -> Reason:
    group = groups.get(record.group)
    if group is None:
        adopted = next((g for g in groups.values() if record.group in g.migrated_from), None)
        if adopted is not None:
            return Reason(
                code="scale_down",
                message=f"{adopted.name} (migrated from {record.group}) needs fewer instances",
                details={"group": adopted.name, "instances": adopted.instances},
            )
        return Reason(
            code="group_removed",
            message=f"instance group {record.group!r} is no longer in the manifest",
            details={"group": record.group},
        )
    if record.az is not None and group.azs and record.az not in group.azs:
        return Reason(
            code="az_removed",
            message=f"AZ {record.az} is no longer one of {group.name}'s AZs",
            details={"az": record.az, "azs": list(group.azs)},
        )
    for network, entries in group.static_ips.items():
        held = addresses.get(record.uuid, {}).get(network)
        if held is not None and ipaddress.ip_address(held) not in parse_ip_ranges(entries):
            return Reason(
                code="static_ip_removed",
                message=f"static IP {held} is no longer in {group.name}'s static_ips",
                details={"network": network, "ip": held},
            )
    return Reason(
        code="scale_down",
        message=f"{group.name} is scaled down to {group.instances} instances",
        details={"group": group.name, "instances": group.instances},
    )


def _remove(
    blueprint: Blueprint,
    floor: _Floor,
    record: InstanceRecord,
    groups: Mapping[str, GroupMaterial],
    limitations: Limitations,
) -> list[Remodel]:
    reasons = (_removal_reason(record, groups, floor.static),)
    base = _Base(blueprint.deployment, record.group, record.uuid, record.index, reasons)
    out = []
    vm = floor.vm.get(record.uuid)
    if vm is not None:
        if vm.id not in floor.missing:
            out.append(_stop(base, vm, limitations))
        out.append(_step(base, "delete_vm", vm=vm.id, cid=vm.cid, material=vm))
    for disk in floor.disks.get(record.uuid, {}).values():
        out.append(_step(base, "orphan_disk", disk=disk.id, cid=disk.cid))
    out.append(_step(base, "delete_instance"))
    return out


def _leftovers(
    blueprint: Blueprint,
    floorplan: Floorplan,
    floor: _Floor,
    wanted: set[str],
    limitations: Limitations,
) -> list[Remodel]:
    """VMs no instance uses: leftovers of interrupted deploys, and (with ``--fix``) VMs the
    cloud has for this deployment that the store never recorded."""
    out = []
    for vm in floor.leftover_vms:
        if vm.id in floor.reused:
            continue
        if vm.cid is None:
            reason = Reason(
                code="vm_leftover",
                message=f"VM {vm.id} was being created when a deploy stopped; it never was",
            )
        elif vm.id in floor.missing:
            reason = Reason(
                code="vm_leftover",
                message=f"VM {vm.cid} was left over and is already gone from the cloud",
            )
        else:
            reason = Reason(
                code="vm_leftover",
                message=f"VM {vm.cid} is left over from an interrupted deploy",
            )
        owner = floor.instances.get(vm.instance_uuid or "")
        base = _Base(
            blueprint.deployment,
            owner.group if owner else None,
            owner.uuid if owner else None,
            owner.index if owner else None,
            (reason,),
        )
        out.append(_step(base, "delete_vm", vm=vm.id, cid=vm.cid, material=vm))
    for disk in floor.leftover_disks:
        if disk.id in floor.reused:
            continue
        owner = floor.instances.get(disk.instance_uuid or "")
        base = _Base(
            blueprint.deployment,
            owner.group if owner else None,
            owner.uuid if owner else None,
            owner.index if owner else None,
            (),
        )
        if disk.cid is None:
            reason = Reason(
                code="disk_leftover",
                message=f"disk {disk.id} was being created when a deploy stopped; it never was",
            )
            out.append(_step(base, "delete_disk", disk=disk.id, reasons=(reason,)))
        else:
            reason = Reason(
                code="disk_leftover",
                message=f"disk {disk.cid} is left over from an interrupted deploy (orphaned)",
            )
            out.append(_step(base, "orphan_disk", disk=disk.id, cid=disk.cid, reasons=(reason,)))
    if limitations.fix:
        for listing in floorplan.unknown_vms:
            reason = Reason(
                code="vm_unknown",
                message=(
                    f"VM {listing.vm_cid} is tagged for this deployment but unknown to the "
                    "store (--fix)"
                ),
                details={"cid": listing.vm_cid},
            )
            out.append(
                Remodel(
                    id=f"{blueprint.deployment}:delete_vm:{listing.vm_cid}",
                    action="delete_vm",
                    deployment=blueprint.deployment,
                    instance_group=listing.metadata.get("instance_group"),
                    reasons=(reason,),
                    cid=listing.vm_cid,
                )
            )
    return out


@attrs.frozen
class _Base:
    deployment: str
    group: str | None
    instance: str | None
    index: int | None
    reasons: tuple[Reason, ...]


def _step(
    base: _Base,
    action: str,
    *,
    vm: str | None = None,
    disk: str | None = None,
    source_disk: str | None = None,
    cid: str | None = None,
    material: Any = None,
    options: Mapping[str, Any] | None = None,
    reasons: tuple[Reason, ...] | None = None,
) -> Remodel:
    owner = f"{base.group}/{base.instance}" if base.instance else base.deployment
    rid = f"{owner}:{action}"
    if disk is not None:
        rid += f":{disk}"
        if vm is not None:
            rid += f"@{vm}"
    elif vm is not None:
        rid += f":{vm}"
    return Remodel(
        id=rid,
        action=action,
        deployment=base.deployment,
        instance_group=base.group,
        instance=base.instance,
        index=base.index,
        reasons=base.reasons if reasons is None else reasons,
        vm=vm,
        disk=disk,
        source_disk=source_disk,
        cid=cid,
        material=material,
        options=options or {},
    )


def _stop(base: _Base, vm: VmRecord, limitations: Limitations) -> Remodel:
    return _step(base, "stop", vm=vm.id, cid=vm.cid, options={"drain": not limitations.skip_drain})


@attrs.define
class _DiskChange:
    name: str
    old: DiskRecord | None
    new: DiskMaterial | None
    reasons: tuple[Reason, ...]


class _Instance:
    """The remodels of one instance of the blueprint."""

    def __init__(
        self, deployment: str, instance: InstanceMaterial, limitations: Limitations, ids: _Ids
    ) -> None:
        self.deployment = deployment
        self.instance = instance
        self.limitations = limitations
        self.ids = ids

    def _base(self, reasons: tuple[Reason, ...]) -> _Base:
        i = self.instance
        return _Base(self.deployment, i.group, i.uuid, i.index, reasons)

    def remodels(
        self,
        record: InstanceRecord | None,
        vm_material: VmMaterial | None,
        disks: list[DiskMaterial],
        jobs: list[JobMaterial],
        floor: _Floor,
    ) -> list[Remodel]:
        if record is None:
            return self._create(vm_material, disks, jobs, floor)
        vm = floor.vm.get(record.uuid)
        missing = vm is not None and vm.id in floor.missing
        if missing and not self.limitations.fix:
            return []  # the planner reports the missing VM as a problem; --fix recreates it
        if vm_material is None:
            return self._detach(vm, missing, floor) if vm is not None else []
        vm_reasons = self._vm_reasons(record, vm, missing, vm_material)
        current = floor.disks.get(record.uuid, {})
        disk_changes = self._disk_changes(current, disks)
        job_reasons = self._job_reasons(record, jobs)
        if vm is not None and not missing and not vm_reasons:
            spec_vm = record.spec.get("vm")
            if (
                spec_vm is not None
                and spec_vm != vm.id
                and not any(r.code == "not_applied" for r in job_reasons)
            ):
                job_reasons.append(
                    Reason(
                        code="not_applied",
                        message=f"the instance's jobs were not yet applied to VM {vm.cid}",
                    )
                )
            detached = sorted(n or "(default)" for n, d in current.items() if d.vm != vm.id)
            if detached:
                job_reasons.append(
                    Reason(
                        code="disk_detached",
                        message=f"disk not attached to the instance's VM: {_listing(detached)}",
                        details={"disks": detached},
                    )
                )
        if not (vm_reasons or disk_changes or job_reasons):
            return self._run_state(record, vm) if vm is not None and not missing else []
        reasons = (*vm_reasons, *(r for c in disk_changes for r in c.reasons), *job_reasons)
        return self._update(
            vm,
            missing,
            vm_material,
            tuple(vm_reasons),
            disk_changes,
            current,
            jobs,
            reasons,
            floor,
        )

    def _run_state(self, record: InstanceRecord, vm: VmRecord) -> list[Remodel]:
        """Nothing to change but whether the jobs run: ``jobsite stop``, ``start``,
        ``restart``."""
        i = self.instance
        if i.state == "stopped" and record.state != "stopped":
            reason = Reason(code="stopped", message="stop requested (jobsite stop)")
            return [_stop(self._base((reason,)), vm, self.limitations)]
        if i.state == "started" and record.state == "stopped":
            reason = Reason(code="started", message="start requested (jobsite start)")
            return [_step(self._base((reason,)), "start", vm=vm.id)]
        if i.restart and i.state == "started":
            reason = Reason(code="restart", message="restart requested (jobsite restart)")
            base = self._base((reason,))
            return [_stop(base, vm, self.limitations), _step(base, "start", vm=vm.id)]
        return []

    # -- new instance ------------------------------------------------------------------------

    def _create(
        self,
        vm_material: VmMaterial | None,
        disks: list[DiskMaterial],
        jobs: list[JobMaterial],
        floor: _Floor,
    ) -> list[Remodel]:
        if vm_material is None:
            return []  # errands and instances born detached get no VM
        i = self.instance
        where = f" in {i.az}" if i.az else ""
        reason = Reason(
            code="new_instance",
            message=f"new instance {i.group}/{i.index}{where}",
            details={"az": i.az},
        )
        base = self._base((reason,))
        vm_id = self.ids(i.uuid, "vm")
        create = self._create_vm(base, vm_id, vm_material, floor)
        out = [create]
        vm_id = create.vm or vm_id
        for disk in disks:
            disk_id = self.ids(i.uuid, "disk", disk.name)
            out.append(self._create_disk(base, disk_id, disk, floor))
            out.append(_step(base, "attach_disk", disk=out[-1].disk, vm=vm_id))
        out.append(_step(base, "apply", vm=vm_id, material=tuple(jobs)))
        if i.state != "stopped":
            out.append(_step(base, "start", vm=vm_id))
        return out

    def _create_vm(self, base: _Base, vm_id: str, material: VmMaterial, floor: _Floor) -> Remodel:
        """A ``create_vm``; or, when an interrupted deploy already made this instance a VM
        like the one wanted, that VM's adoption (``cid`` set: the assembler checks it and
        records it instead of creating another, so a rerun never creates twice)."""
        for vm in floor.standby.get(self.instance.uuid, ()):
            if vm.id in floor.reused or vm.state != "created" or not _fits(vm, material):
                continue
            floor.reused.add(vm.id)
            reason = Reason(
                code="vm_reused",
                message=f"reuses VM {vm.cid}, created for it by an interrupted deploy",
                details={"cid": vm.cid},
            )
            return _step(
                attrs.evolve(base, reasons=(*base.reasons, reason)),
                "create_vm",
                vm=vm.id,
                cid=vm.cid,
                material=attrs.evolve(material, networks=_with_ips(material.networks, vm)),
                options={"agent_id": vm.agent_id},
            )
        return _step(
            base,
            "create_vm",
            vm=vm_id,
            material=material,
            options={"agent_id": self.ids(vm_id, "agent")},
        )

    def _create_disk(
        self, base: _Base, disk_id: str, material: DiskMaterial, floor: _Floor
    ) -> Remodel:
        """A ``create_disk``, or the adoption of the disk an interrupted deploy created for
        it (``cid`` set)."""
        for disk in floor.spare_disks.get(self.instance.uuid, ()):
            if disk.id in floor.reused or disk.name != material.name or disk.vm is not None:
                continue
            if disk.size != material.size or disk.disk_type != material.disk_type:
                continue
            if not same(disk.cloud_properties, material.cloud_properties):
                continue
            floor.reused.add(disk.id)
            reason = Reason(
                code="disk_reused",
                message=f"reuses disk {disk.cid}, created for it by an interrupted deploy",
                details={"cid": disk.cid},
            )
            return _step(
                attrs.evolve(base, reasons=(*base.reasons, reason)),
                "create_disk",
                disk=disk.id,
                cid=disk.cid,
                material=material,
            )
        return _step(base, "create_disk", disk=disk_id, material=material)

    # -- stop --hard -------------------------------------------------------------------------

    def _detach(self, vm: VmRecord, missing: bool, floor: _Floor) -> list[Remodel]:
        reason = Reason(
            code="detached",
            message="instance is detached (stop --hard): its VM is deleted, its disks kept",
        )
        base = self._base((reason,))
        out = []
        if not missing:
            out.append(_stop(base, vm, self.limitations))
            for disk in floor.disks.get(self.instance.uuid, {}).values():
                if disk.vm == vm.id:
                    out.append(_step(base, "detach_disk", disk=disk.id, vm=vm.id, cid=disk.cid))
        out.append(_step(base, "delete_vm", vm=vm.id, cid=vm.cid, material=vm))
        return out

    # -- what changed --------------------------------------------------------------------------

    def _vm_reasons(
        self, record: InstanceRecord, vm: VmRecord | None, missing: bool, material: VmMaterial
    ) -> list[Reason]:
        i = self.instance
        if vm is None:
            if record.state == "detached":
                message = "instance was detached (stop --hard) and is started again"
            else:
                message = "instance has no VM"
            return [Reason(code="vm_absent", message=message)]
        out = []
        if missing:
            out.append(
                Reason(
                    code="vm_missing",
                    message=f"VM {vm.cid} is missing from the cloud (--fix)",
                    details={"cid": vm.cid},
                )
            )
        if i.recreate:
            out.append(Reason(code="recreate", message="recreate requested (--recreate)"))
        if vm.stemcell_os is not None and (vm.stemcell_os, vm.stemcell_version) != (
            material.stemcell_os,
            material.stemcell_version,
        ):
            old = f"{vm.stemcell_os}/{vm.stemcell_version}"
            new = f"{material.stemcell_os}/{material.stemcell_version}"
            out.append(
                Reason(
                    code="stemcell_changed",
                    message=f"stemcell {old} → {new}",
                    details={"old": old, "new": new},
                )
            )
        if record.az != i.az:
            out.append(
                Reason(
                    code="az_changed",
                    message=(
                        f"AZ {record.az} → {i.az}"
                        if record.az is not None and i.az is not None
                        else f"placed in AZ {i.az}"
                        if i.az is not None
                        else f"no longer in AZ {record.az}"
                    ),
                    details={"old": record.az, "new": i.az},
                )
            )
        reason = _keys_reason(
            "cloud_properties_changed",
            "cloud properties changed",
            vm.cloud_properties,
            material.cloud_properties,
        )
        if reason is not None:
            out.append(reason)
        network_changes = _network_changes(vm.networks, material)
        if network_changes:
            text = "; ".join(
                f"{net}: {_listing(fields)}" for net, fields in network_changes.items()
            )
            out.append(
                Reason(
                    code="networks_changed",
                    message=f"network settings changed ({text})",
                    details={"networks": network_changes},
                )
            )
        reason = _keys_reason("env_changed", "env changed", vm.env, material.env)
        if reason is not None:
            out.append(reason)
        old_resources = record.spec.get("vm_resources")
        new_resources = attrs.asdict(material.vm_resources) if material.vm_resources else None
        if record.spec:
            reason = _keys_reason(
                "vm_resources_changed",
                "vm_resources changed",
                old_resources or {},
                new_resources or {},
            )
            if reason is not None:
                out.append(reason)
        return out

    def _disk_changes(
        self, old: Mapping[str, DiskRecord], new: Sequence[DiskMaterial]
    ) -> list[_DiskChange]:
        out = []
        wanted = {d.name: d for d in new}
        for name, material in wanted.items():
            record = old.get(name)
            label = f"disk {name!r}" if name else "persistent disk"
            if record is None:
                out.append(
                    _DiskChange(
                        name,
                        None,
                        material,
                        (
                            Reason(
                                code="disk_added",
                                message=f"{label} added ({material.size} MiB)",
                                details={"disk": name, "size": material.size},
                            ),
                        ),
                    )
                )
                continue
            reasons = []
            if record.size != material.size:
                reasons.append(
                    Reason(
                        code="disk_resized",
                        message=f"{label} {record.size} → {material.size} MiB",
                        details={"disk": name, "old": record.size, "new": material.size},
                    )
                )
            if record.disk_type != material.disk_type:
                reasons.append(
                    Reason(
                        code="disk_type_changed",
                        message=f"{label} type {record.disk_type} → {material.disk_type}",
                        details={"disk": name, "old": record.disk_type, "new": material.disk_type},
                    )
                )
            else:
                reason = _keys_reason(
                    "disk_properties_changed",
                    f"{label} cloud properties changed",
                    record.cloud_properties,
                    material.cloud_properties,
                    disk=name,
                )
                if reason is not None:
                    reasons.append(reason)
            if reasons:
                out.append(_DiskChange(name, record, material, tuple(reasons)))
        for name, record in old.items():
            if name not in wanted:
                label = f"disk {name!r}" if name else "persistent disk"
                out.append(
                    _DiskChange(
                        name,
                        record,
                        None,
                        (
                            Reason(
                                code="disk_removed",
                                message=f"{label} removed (orphaned, not deleted)",
                                details={"disk": name, "size": record.size},
                            ),
                        ),
                    )
                )
        return out

    def _job_reasons(self, record: InstanceRecord, jobs: Sequence[JobMaterial]) -> list[Reason]:
        i = self.instance
        spec = record.spec
        out = []
        if record.group != i.group:
            out.append(
                Reason(
                    code="renamed",
                    message=f"instance group renamed {record.group} → {i.group} (migrated_from)",
                    details={"old": record.group, "new": i.group},
                )
            )
        if not spec or spec.get("spec_version") != SPEC_VERSION:
            out.append(Reason(code="not_applied", message="the instance's jobs were never applied"))
            return out
        if bool(spec.get("bootstrap")) != i.bootstrap:
            out.append(
                Reason(
                    code="bootstrap_changed",
                    message="becomes the bootstrap instance"
                    if i.bootstrap
                    else "is no longer the bootstrap instance",
                )
            )
        old_jobs = {(j["name"], j.get("addon")): j for j in spec.get("jobs", ())}
        new_jobs = {(j.name, j.addon): j for j in jobs}
        added = [name for name, _ in new_jobs.keys() - old_jobs.keys()]
        removed = [name for name, _ in old_jobs.keys() - new_jobs.keys()]
        if added or removed:
            parts = []
            if added:
                parts.append(f"added {_listing(sorted(added))}")
            if removed:
                parts.append(f"removed {_listing(sorted(removed))}")
            out.append(
                Reason(
                    code="jobs_changed",
                    message="jobs " + "; ".join(parts),
                    details={"added": sorted(added), "removed": sorted(removed)},
                )
            )
        releases: dict[str, tuple[str, str]] = {}
        props: list[str] = []
        for key, job in new_jobs.items():
            old = old_jobs.get(key)
            if old is None:
                continue
            if old.get("release") != job.release or old.get("version") != job.release_version:
                releases[job.release] = (
                    f"{old.get('release')}/{old.get('version')}",
                    f"{job.release}/{job.release_version}",
                )
            old_properties = old.get("properties", {})
            if not same(old_properties, job.properties):
                props.extend(
                    f"{job.name}: {path}" for path in changed_paths(old_properties, job.properties)
                )
        for name, (old_text, new_text) in sorted(releases.items()):
            out.append(
                Reason(
                    code="release_changed",
                    message=f"release {old_text} → {new_text}",
                    details={"release": name, "old": old_text, "new": new_text},
                )
            )
        if props:
            out.append(
                Reason(
                    code="properties_changed",
                    message=f"properties changed: {_listing(props)}",
                    details={"paths": props},
                )
            )
        return out

    # -- the steps of an update ----------------------------------------------------------------

    def _update(
        self,
        vm: VmRecord | None,
        missing: bool,
        material: VmMaterial,
        vm_reasons: tuple[Reason, ...],
        disk_changes: list[_DiskChange],
        disks: Mapping[str, DiskRecord],
        jobs: Sequence[JobMaterial],
        reasons: tuple[Reason, ...],
        floor: _Floor,
    ) -> list[Remodel]:
        i = self.instance
        base = self._base(reasons)
        running = vm is not None and not missing
        out: list[Remodel] = []
        if running:
            assert vm is not None
            out.append(_stop(base, vm, self.limitations))
        target = vm.id if vm is not None else ""
        attached: set[str] = (
            {d.id for d in disks.values() if vm is not None and d.vm == vm.id} if running else set()
        )
        removed = {c.old.id for c in disk_changes if c.new is None and c.old is not None}
        if vm_reasons:
            vm_base = self._base(vm_reasons)
            if vm is not None:
                for disk in disks.values():
                    if disk.id in attached:
                        out.append(
                            _step(vm_base, "detach_disk", disk=disk.id, vm=vm.id, cid=disk.cid)
                        )
                out.append(_step(vm_base, "delete_vm", vm=vm.id, cid=vm.cid, material=vm))
            new_id = self.ids(i.uuid, "vm", vm.id if vm is not None else "")
            create = self._create_vm(vm_base, new_id, material, floor)
            for old_vm in floor.standby.get(i.uuid, ()):
                # VMs an interrupted deploy left this instance (one half deleted, one made
                # for a swap that never came): gone before the new one takes their address
                if old_vm.id not in floor.reused and (vm is None or old_vm.id != vm.id):
                    floor.reused.add(old_vm.id)
                    out.append(
                        _step(vm_base, "delete_vm", vm=old_vm.id, cid=old_vm.cid, material=old_vm)
                    )
            out.append(create)
            target = create.vm or new_id
            attached = set()
        for disk in disks.values():
            if disk.id not in attached and disk.id not in removed:
                out.append(_step(base, "attach_disk", disk=disk.id, vm=target))
                attached.add(disk.id)
        for change in disk_changes:
            disk_base = self._base(change.reasons)
            new_disk = None
            if change.new is not None:
                new_disk = self.ids(
                    i.uuid, "disk", change.name, change.old.id if change.old else ""
                )
                create_disk = self._create_disk(disk_base, new_disk, change.new, floor)
                new_disk = create_disk.disk
                out.append(create_disk)
                out.append(_step(disk_base, "attach_disk", disk=new_disk, vm=target))
            if change.old is not None:
                old = change.old
                if new_disk is not None:
                    out.append(
                        _step(
                            disk_base,
                            "migrate_disk",
                            disk=new_disk,
                            source_disk=old.id,
                            vm=target,
                            cid=old.cid,
                        )
                    )
                if old.id in attached:
                    out.append(_step(disk_base, "detach_disk", disk=old.id, vm=target, cid=old.cid))
                out.append(_step(disk_base, "orphan_disk", disk=old.id, cid=old.cid))
        out.append(_step(base, "apply", vm=target, material=tuple(jobs)))
        if i.state != "stopped":  # a soft-stopped instance stays stopped, as in BOSH
            out.append(_step(base, "start", vm=target))
        return out


def _fits(vm: VmRecord, material: VmMaterial) -> bool:
    """Whether an existing VM is what ``material`` asks for, addresses on manual networks
    aside (a VM made to be swapped in has an address of its own)."""
    if (vm.stemcell_os, vm.stemcell_version) != (material.stemcell_os, material.stemcell_version):
        return False
    if not same(vm.cloud_properties, material.cloud_properties) or not same(vm.env, material.env):
        return False
    wanted = {n.network: n for n in material.networks}
    if wanted.keys() != vm.networks.keys():
        return False
    for name, placement in wanted.items():
        settings = dict(vm.networks[name])
        expected = placement.settings()
        if placement.type == "manual" and not placement.static:
            for key in ("ip", "netmask", "gateway", "dns", "cloud_properties"):
                settings.pop(key, None)
                expected.pop(key, None)
        elif placement.type == "dynamic":
            for key in ("ip", "netmask", "gateway"):
                settings.pop(key, None)
                expected.pop(key, None)
        if not same(settings, expected):
            return False
    return True


def _with_ips(networks: tuple[NetworkPlacement, ...], vm: VmRecord) -> tuple[NetworkPlacement, ...]:
    """The placements with the addresses ``vm`` really has on its manual networks."""
    out = []
    for placement in networks:
        settings = vm.networks.get(placement.network, {})
        ip = settings.get("ip")
        if placement.type == "manual" and isinstance(ip, str) and ip != placement.ip:
            placement = attrs.evolve(
                placement,
                ip=ip,
                netmask=settings.get("netmask", placement.netmask),
                gateway=settings.get("gateway", placement.gateway),
            )
        out.append(placement)
    return tuple(out)


def _network_changes(old: Mapping[str, Any], material: VmMaterial) -> dict[str, list[str]]:
    """Network name → the settings that differ (``added``/``removed`` for whole networks).

    Addresses on dynamic networks are the cloud's choice, so only what the manifest decides
    is compared there."""
    new = {n.network: n.settings() for n in material.networks}
    out: dict[str, list[str]] = {}
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            out[name] = ["added"]
        elif name not in new:
            out[name] = ["removed"]
        else:
            before, after = old[name], new[name]
            if same(before, after):
                continue
            fields = changed_keys(before, after)
            if after.get("type") == "dynamic":
                fields = [f for f in fields if f not in ("ip", "netmask", "gateway")]
            if fields:
                out[name] = fields
    return out

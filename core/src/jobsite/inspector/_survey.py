"""Surveying a deployment: the store's records, checked against the cloud, into a floorplan.

Reads only. The cloud is asked about every recorded VM (``has_vm``) by a small pool of
workers, so a deployment of thousands of VMs is checked at the cloud's pace without
thousands of tasks, and a CPI that can list its VMs (:class:`~jobsite.cpi.VmLister`) is also
asked for VMs tagged for this deployment that the store never recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import anyio
import attrs

from jobsite.cpi import DiskLister, VmLister, VmListing
from jobsite.errors import DriverError, PluginError
from jobsite.inspector._floorplan import Drift, Floorplan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobsite._hookcall import HookRunner
    from jobsite.cpi import Cpi
    from jobsite.store import DiskRecord, Store, VmRecord

__all__ = ["DEFAULT_CHECK_CONCURRENCY", "survey"]

DEFAULT_CHECK_CONCURRENCY = 32
"""How many ``has_vm`` calls are in flight at once."""


async def survey(
    deployment: str,
    store: Store,
    cpi: Cpi | None,
    *,
    director: str = "jobsite",
    concurrency: int = DEFAULT_CHECK_CONCURRENCY,
    hooks: HookRunner | None = None,
) -> Floorplan:
    """Read ``deployment`` from ``store`` and check its VMs against ``cpi``.

    With ``cpi=None`` the cloud is not consulted (``cloud_checked`` is False): for plans that
    only need the store, such as a ``jobsite plan`` with no cloud configured.
    """
    record = await store.get_deployment(deployment)
    instances = await store.list_instances(deployment)
    vms = await store.list_vms(deployment)
    disks = await store.list_disks(deployment, orphaned=False)
    taken: dict[str, set[str]] = {}
    own = []
    for reservation in await store.list_ip_reservations():
        if reservation.deployment == deployment:
            own.append(reservation)
        else:
            taken.setdefault(reservation.network, set()).add(reservation.address)
    missing: set[str] = set()
    missing_disks: set[str] = set()
    drift: list[Drift] = []
    unknown: list[VmListing] = []
    if cpi is not None:
        checked = [vm for vm in vms if vm.cid is not None and vm.state != "creating"]
        missing, drift = await _check_vms(cpi, checked, concurrency)
        if any(d.state == "creating" and d.cid is None for d in disks):
            disks, missing_disks = await _recover_disks(cpi, store, disks, director, drift)
        if isinstance(cpi, VmLister):
            try:
                listed = await cpi.list_vms()
                vms = _recover_vms(vms, listed, missing, drift)
                unknown = _unrecorded(listed, vms, director, deployment)
            except DriverError as exc:
                # As for has_vm: the cloud could not say, so nothing is assumed (and nothing
                # is offered to --fix for deletion); the plan warns instead of failing.
                drift.append(
                    Drift(kind="vm_unchecked", message=f"could not list the cloud's VMs: {exc}")
                )
        else:
            drift.extend(
                Drift(
                    kind="vm_unchecked",
                    message=(
                        f"a deploy stopped while creating VM {vm.id} (agent {vm.agent_id}); "
                        "this cloud cannot list its VMs, so jobsite cannot tell whether it "
                        "exists: find it by that agent id and delete it by hand"
                    ),
                    vm=vm.id,
                    instance=vm.instance_uuid,
                )
                for vm in vms
                if vm.state == "creating" and vm.cid is None
            )
        drift.extend(
            Drift(
                kind="vm_unknown",
                message=(
                    f"VM {vm.vm_cid} is tagged for deployment {deployment!r} but the "
                    "store does not record it"
                ),
                vm_cid=vm.vm_cid,
                instance=vm.metadata.get("id"),
                metadata=vm.metadata,
            )
            for vm in unknown
        )
    observations: tuple[object, ...] = ()
    if hooks is not None:
        observations = await _observations(hooks, deployment, store, cpi)
    return Floorplan(
        deployment=deployment,
        record=record,
        instances=instances,
        vms=vms,
        disks=disks,
        addresses=tuple(own),
        taken_addresses={k: frozenset(v) for k, v in taken.items()},
        missing_vms=frozenset(missing),
        missing_disks=frozenset(missing_disks),
        cloud_checked=cpi is not None,
        drift=tuple(drift),
        unknown_vms=tuple(unknown),
        observations=observations,
    )


async def _check_vms(
    cpi: Cpi, vms: Sequence[VmRecord], concurrency: int
) -> tuple[set[str], list[Drift]]:
    missing: set[str] = set()
    drift: list[Drift] = []
    pending = iter(vms)

    async def worker() -> None:
        for vm in pending:  # workers share one iterator: each VM is checked once
            assert vm.cid is not None
            try:
                exists = await cpi.has_vm(vm.cid)
            except DriverError as exc:
                drift.append(
                    Drift(
                        kind="vm_unchecked",
                        message=f"could not check VM {vm.cid}: {exc}",
                        vm_cid=vm.cid,
                        vm=vm.id,
                        instance=vm.instance_uuid,
                    )
                )
                continue
            if not exists:
                missing.add(vm.id)
                drift.append(
                    Drift(
                        kind="vm_missing",
                        message=f"VM {vm.cid} is recorded but missing from the cloud",
                        vm_cid=vm.cid,
                        vm=vm.id,
                        instance=vm.instance_uuid,
                    )
                )

    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(concurrency, len(vms)))):
            tg.start_soon(worker)
    order = {vm.id: i for i, vm in enumerate(vms)}
    drift.sort(key=lambda d: order.get(d.vm or "", 0))
    return missing, drift


def _recover_vms(
    vms: Sequence[VmRecord], listed: Sequence[VmListing], missing: set[str], drift: list[Drift]
) -> tuple[VmRecord, ...]:
    """Interrupted creations (``creating`` rows without a cid), as the cloud answers them:
    found by the agent id the VM was created for (its cid filled in, ``created`` and still
    inactive), or never created (added to ``missing``, so the foreman drops the row)."""
    if not any(vm.state == "creating" and vm.cid is None for vm in vms):
        return tuple(vms)
    by_agent = {v.agent_id: v for v in listed if v.agent_id is not None}
    out = []
    for vm in vms:
        if vm.state == "creating" and vm.cid is None:
            found = by_agent.get(vm.agent_id)
            if found is not None:
                vm = attrs.evolve(vm, cid=found.vm_cid, state="created", active=False)
                message = f"VM {found.vm_cid} was created by a deploy that stopped before "
                message += "recording it; it is recorded now"
            else:
                missing.add(vm.id)
                message = f"a deploy stopped while creating VM {vm.id}; the cloud has none"
            drift.append(
                Drift(
                    kind="vm_recovered",
                    message=message,
                    vm_cid=vm.cid,
                    vm=vm.id,
                    instance=vm.instance_uuid,
                )
            )
        out.append(vm)
    return tuple(out)


async def _recover_disks(
    cpi: Cpi, store: Store, disks: Sequence[DiskRecord], director: str, drift: list[Drift]
) -> tuple[tuple[DiskRecord, ...], set[str]]:
    """Interrupted disk creations: ``create_disk`` takes no identity, so an unrecorded disk
    is recognised by what it was asked to be (size and cloud properties), unattached or
    attached to this deployment's VM, untagged or tagged for this director, and unknown to
    the store. Empty new disks of one size and type are interchangeable, so which row gets
    which disk does not matter."""
    pending = [d for d in disks if d.state == "creating" and d.cid is None]
    if not isinstance(cpi, DiskLister):
        drift.extend(
            Drift(
                kind="disk_unchecked",
                message=(
                    f"a deploy stopped while creating disk {d.id} ({d.size} MiB); this cloud "
                    "cannot list its disks, so a disk may have been left behind"
                ),
                disk=d.id,
                instance=d.instance_uuid,
            )
            for d in pending
        )
        return tuple(disks), set()
    try:
        listed = await cpi.list_disks()
    except DriverError as exc:
        drift.append(
            Drift(kind="disk_unchecked", message=f"could not list the cloud's disks: {exc}")
        )
        return tuple(disks), set()
    known = {d.cid for d in await store.list_disks() if d.cid}
    free = [
        listing
        for listing in listed
        if listing.disk_cid not in known and listing.metadata.get("director", director) == director
    ]
    found: dict[str, str] = {}
    missing: set[str] = set()
    for disk in pending:
        match = next(
            (
                f
                for f in free
                if f.size_mb == disk.size
                and _plain(f.cloud_properties) == _plain(disk.cloud_properties)
            ),
            None,
        )
        if match is None:
            missing.add(disk.id)
            message = f"a deploy stopped while creating disk {disk.id}; the cloud has none"
        else:
            free.remove(match)
            found[disk.id] = match.disk_cid
            message = (
                f"disk {match.disk_cid} was created by a deploy that stopped before recording "
                "it; it is recorded now"
            )
        drift.append(
            Drift(kind="disk_recovered", message=message, disk=disk.id, instance=disk.instance_uuid)
        )
    return (
        tuple(
            attrs.evolve(d, cid=found[d.id], state="created") if d.id in found else d for d in disks
        ),
        missing,
    )


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _unrecorded(
    listed: Sequence[VmListing], vms: Sequence[VmRecord], director: str, deployment: str
) -> list[VmListing]:
    """Listed VMs tagged for this director and deployment whose cid and agent id the store
    does not know. A VM the store holds as ``creating`` (cid not yet recorded) is matched by
    the agent id in its tags, so an interrupted create is not mistaken for a stranger."""
    cids = {vm.cid for vm in vms if vm.cid}
    agents = {vm.agent_id for vm in vms}
    return [
        listing
        for listing in listed
        if listing.metadata.get("director") == director
        and listing.metadata.get("deployment") == deployment
        and listing.vm_cid not in cids
        and (listing.agent_id is None or listing.agent_id not in agents)
    ]


async def _observations(
    hooks: HookRunner, deployment: str, store: Store, cpi: Cpi | None
) -> tuple[object, ...]:
    """Every plugin's observations, in hook order: each ``jobsite_inspect`` returns an
    iterable of them (or None), as the hookspec says and as the other *collect* hooks are
    read, so the floorplan holds the observations themselves, not one list per plugin."""
    out: list[object] = []
    for result in await hooks.collect(
        "jobsite_inspect", deployment=deployment, store=store, cpi=cpi
    ):
        if isinstance(result, str | bytes | Mapping) or not isinstance(result, Iterable):
            raise PluginError(
                "jobsite_inspect must return an iterable of observations or None, got "
                f"{type(result).__name__}"
            )
        out.extend(result)
    return tuple(out)

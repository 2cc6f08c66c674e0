"""What each core action does: driver calls, with every side effect written ahead.

For each action the order is the same: write the intent, call the cloud or agent, write the
result. A crash between any two of those leaves records the next run's inspector can
reconcile (a ``creating`` VM found by its agent id, a disk by what it was asked to be), and
every action tolerates finding its work already done (a disk already detached, a VM already
gone), because a rerun repeats the step a crash interrupted.

The assembler acts on a remodel's ``action`` and ids, never on its reasons.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import attrs

from jobsite.agent import DrainType, JobState
from jobsite.cpi import VmLister, vm_metadata
from jobsite.errors import (
    AgentError,
    CloudError,
    DiskNotAttached,
    DiskNotFound,
    JobsiteError,
    VMNotFound,
)
from jobsite.foreman import instance_spec, plain
from jobsite.store import Batch, DiskRecord, InstanceRecord, IpReservation, VmRecord
from jobsite.store._json import utcnow

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from jobsite.architect import DiskMaterial, JobMaterial, VmMaterial
    from jobsite.assembler._context import AssemblyContext
    from jobsite.foreman import Remodel

__all__ = ["ACTION_NAMES", "RetryPolicy", "StepFailed", "carry_out"]

T = TypeVar("T")


class StepFailed(JobsiteError):
    """A remodel could not be carried out; the message says why, for the operator."""


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How transient cloud errors (``ok_to_retry``) are retried: exponential backoff with
    jitter, as cloud SDKs do for throttling."""

    attempts: int = 5
    """Calls made in all, the first included."""
    base: float = 1.0
    """Seconds before the first retry; doubled for each next one."""
    cap: float = 30.0
    """The longest wait between two attempts."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failed call."""
        return float(min(self.cap, self.base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))


async def _retrying(
    ctx: AssemblyContext,
    remodel: Remodel,
    call: Callable[[], Awaitable[T]],
    before_retry: Callable[[], Awaitable[T | None]] | None = None,
) -> T:
    """``call()``, again after a backoff while it fails with ``ok_to_retry``.

    ``before_retry`` may find that a failed attempt did take effect (a create whose answer
    was lost) and return its result instead of calling again.
    """
    attempt = 1
    while True:
        try:
            return await call()
        except CloudError as exc:
            if not exc.ok_to_retry or attempt >= ctx.retry.attempts:
                raise
            delay = ctx.retry.delay(attempt)
            await ctx.retried(remodel, attempt, delay, exc)
            await anyio.sleep(delay)
            attempt += 1
            if before_retry is not None:
                found = await before_retry()
                if found is not None:
                    return found


# --- VMs ------------------------------------------------------------------------------------


def _networks(material: VmMaterial) -> dict[str, dict[str, Any]]:
    return {n.network: n.settings() for n in material.networks}


def _reservations(
    vm: VmRecord, deployment: str, static: frozenset[str] = frozenset()
) -> list[IpReservation]:
    """The addresses a VM holds on manual networks (dynamic ones are the cloud's);
    ``static`` names the networks where the address is one of the group's static IPs."""
    out = []
    for network, settings in vm.networks.items():
        ip = settings.get("ip") if isinstance(settings, Mapping) else None
        if settings.get("type") == "manual" and isinstance(ip, str):
            out.append(
                IpReservation(
                    network=network,
                    address=ip,
                    deployment=deployment,
                    instance_uuid=vm.instance_uuid,
                    static=network in static,
                )
            )
    return out


def _ensure_instance(ctx: AssemblyContext, batch: Batch, uuid: str | None) -> None:
    """Queue the instance's row if the store does not have it yet (a new instance)."""
    if uuid is None or uuid in ctx.instances:
        return
    material = ctx.instance_material(uuid)
    record = InstanceRecord(
        uuid=uuid,
        deployment=ctx.deployment,
        group=material.group,
        index=material.index,
        az=material.az,
        state=material.state,
        bootstrap=material.bootstrap,
        ignore=material.ignored,
        spec={},
    )
    ctx.instances[uuid] = record
    batch.put_instance(record)


async def _create_vm(ctx: AssemblyContext, r: Remodel) -> None:
    material: VmMaterial = r.material
    assert r.vm is not None
    agent_id = str(r.options["agent_id"])
    active = not r.options.get("standby", False)
    static = frozenset(n.network for n in material.networks if n.static)
    networks = _networks(material)
    if r.cid is not None and await _retrying(ctx, r, lambda: ctx.cpi.has_vm(r.cid or "")):
        # adopting a VM an interrupted deploy created for this instance
        known = ctx.vms[r.vm]
        vm = attrs.evolve(known, state="created", active=active, networks=networks)
        batch = Batch().put_vm(vm)
        for reservation in _reservations(vm, ctx.deployment, static):
            batch.put_ip_reservation(reservation)
        await ctx.ledger.write(batch)
        ctx.vms[vm.id] = vm
        return
    stemcell_cid = ctx.stemcell_cid(material)
    cloud_properties: dict[str, Any] = dict(material.cloud_properties)
    if material.vm_resources is not None:
        resources = material.vm_resources
        calculated = await _retrying(
            ctx, r, lambda: ctx.cpi.calculate_vm_cloud_properties(resources)
        )
        cloud_properties = {**calculated, **cloud_properties}
    intent = VmRecord(
        id=r.vm,
        deployment=ctx.deployment,
        instance_uuid=r.instance,
        agent_id=agent_id,
        stemcell_cid=stemcell_cid,
        stemcell_os=material.stemcell_os,
        stemcell_version=material.stemcell_version,
        cloud_properties=material.cloud_properties,
        networks=networks,
        env=material.env,
        state="creating",
        active=False,
    )
    batch = Batch()
    _ensure_instance(ctx, batch, r.instance)
    batch.put_vm(intent)
    for reservation in _reservations(intent, ctx.deployment, static):
        batch.put_ip_reservation(reservation)
    await ctx.ledger.write(batch)
    ctx.vms[intent.id] = intent
    disk_cids = [d.cid for d in ctx.disks.of(r.instance) if d.active and d.cid]

    async def create() -> Any:
        return await ctx.cpi.create_vm(
            agent_id, stemcell_cid, cloud_properties, networks, disk_cids, material.env
        )

    async def adopt_if_created() -> Any:
        # a create whose answer was lost may have made the VM: find it by its agent id
        if isinstance(ctx.cpi, VmLister):
            for listing in await ctx.cpi.list_vms():
                if listing.agent_id == agent_id:
                    return _Found(listing.vm_cid)
        return None

    created = await _retrying(ctx, r, create, adopt_if_created)
    if isinstance(created, _Found):
        cid, answered = created.cid, networks
    else:
        cid, answered = created.vm_cid, {**networks, **dict(created.networks)}
    vm = attrs.evolve(intent, cid=cid, networks=answered, state="created", active=active)
    # a cloud that lists its VMs lets the next run find this one by its agent id, so its
    # cid need not be durable before the deploy goes on; any other cloud must wait for it
    await ctx.ledger.write(Batch().put_vm(vm), wait=not isinstance(ctx.cpi, VmLister))
    ctx.vms[vm.id] = vm
    group, index = (None, None)
    if r.instance is not None:
        m = ctx.instance_material(r.instance)
        group, index = m.group, m.index
    tags = vm_metadata(ctx.director, ctx.deployment, group, r.instance, index)
    await _retrying(ctx, r, lambda: ctx.cpi.set_vm_metadata(cid, tags))


@attrs.frozen
class _Found:
    cid: str


async def _delete_vm(ctx: AssemblyContext, r: Remodel) -> None:
    vm = ctx.vms.get(r.vm or "")
    cid = vm.cid if vm is not None else r.cid
    if vm is not None:
        vm = attrs.evolve(vm, state="deleting", active=False)
        await ctx.ledger.write(Batch().put_vm(vm))
        ctx.vms[vm.id] = vm
    if cid is not None:
        with contextlib.suppress(VMNotFound):  # already gone: what we wanted
            await _retrying(ctx, r, lambda: ctx.cpi.delete_vm(cid))
    if vm is None:
        return
    batch = Batch().delete_vm(vm.id)
    del ctx.vms[vm.id]
    held = {
        (n, s.get("ip"))
        for other in ctx.vms.of(vm.instance_uuid)
        for n, s in other.networks.items()
    }
    for reservation in _reservations(vm, ctx.deployment):
        if (reservation.network, reservation.address) not in held:
            batch.delete_ip_reservation(reservation.network, reservation.address)
    for disk in ctx.disks.of(vm.instance_uuid):
        if disk.vm == vm.id:  # deleting a VM detaches its disks
            ctx.disks[disk.id] = attrs.evolve(disk, vm=None)
            batch.put_disk(ctx.disks[disk.id])
    owner = vm.instance_uuid
    material = ctx.find_instance_material(owner) if owner is not None else None
    if owner in ctx.instances and material is not None and material.state == "detached":
        # ``stop --hard``: the instance keeps its identity and disks, without a VM
        assert owner is not None
        ctx.instances[owner] = attrs.evolve(ctx.instances[owner], state="detached")
        batch.put_instance(ctx.instances[owner])
    await ctx.ledger.write(batch)


async def _swap(ctx: AssemblyContext, r: Remodel) -> None:
    new = ctx.vms[r.vm or ""]
    batch = Batch()
    old_id = r.options.get("old_vm")
    old = ctx.vms.get(str(old_id)) if old_id is not None else None
    if old is not None:
        ctx.vms[old.id] = attrs.evolve(old, active=False)
        batch.put_vm(ctx.vms[old.id])
    ctx.vms[new.id] = attrs.evolve(new, active=True)
    batch.put_vm(ctx.vms[new.id])
    await ctx.ledger.write(batch)


# --- agents ---------------------------------------------------------------------------------


def _agent_of(ctx: AssemblyContext, r: Remodel) -> str:
    vm = ctx.vms.get(r.vm or "")
    if vm is None or vm.cid is None:
        raise StepFailed(f"VM {r.vm} has not been created")
    return vm.agent_id


async def _stop(ctx: AssemblyContext, r: Remodel) -> None:
    agent_id = _agent_of(ctx, r)
    if r.options.get("drain", True):
        going = any(
            other.action == "delete_vm" and other.vm == r.vm
            for other in ctx.plan_remodels_of(r.instance)
        )
        kind = DrainType.SHUTDOWN if going else DrainType.UPDATE
        spec = dict(ctx.instances[r.instance].spec) if r.instance in ctx.instances else {}
        wait = await ctx.agent.drain(agent_id, kind, spec)
        while wait < 0:  # a dynamic drain: poll its status until it says how long is left
            await anyio.sleep(-wait)
            wait = await ctx.agent.drain(agent_id, DrainType.STATUS, spec)
        if wait > 0:
            await anyio.sleep(wait)
    await ctx.agent.stop(agent_id)
    if r.instance is None or r.instance not in ctx.instances:
        return
    later = {o.action for o in ctx.plan_remodels_of(r.instance)}
    material = ctx.find_instance_material(r.instance)
    if material is not None and material.state == "stopped" and not later & {"apply", "start"}:
        # ``jobsite stop``: stopping is the whole change, so it is what gets recorded
        record = attrs.evolve(ctx.instances[r.instance], state="stopped")
        ctx.instances[r.instance] = record
        await ctx.ledger.write(Batch().put_instance(record))


def _recorded_spec(ctx: AssemblyContext, r: Remodel) -> dict[str, Any]:
    assert r.instance is not None
    material = ctx.instance_material(r.instance)
    jobs: tuple[JobMaterial, ...] = ctx.jobs_of(r.instance)
    return {
        **instance_spec(material, ctx.vm_material(r.instance), jobs),
        "vm": r.vm,
    }


async def _record_instance(ctx: AssemblyContext, r: Remodel) -> None:
    assert r.instance is not None
    material = ctx.instance_material(r.instance)
    known = ctx.instances.get(r.instance)
    record = InstanceRecord(
        uuid=r.instance,
        deployment=ctx.deployment,
        group=material.group,
        index=material.index,
        az=material.az,
        state=material.state,
        bootstrap=material.bootstrap,
        ignore=known.ignore if known is not None else material.ignored,
        spec=_recorded_spec(ctx, r),
    )
    ctx.instances[r.instance] = record
    # a lost record only means the next plan applies and starts the instance again
    await ctx.ledger.write(Batch().put_instance(record), wait=False)


async def _apply(ctx: AssemblyContext, r: Remodel) -> None:
    agent_id = _agent_of(ctx, r)
    vm = ctx.vms[r.vm or ""]
    spec = _recorded_spec(ctx, r)
    disks = [d for d in ctx.disks.of(r.instance) if d.active]
    default = next((d for d in disks if d.name == ""), None)
    spec.update(
        networks=dict(vm.networks),
        persistent_disk=default.size if default is not None else 0,
        packages={},
    )
    await ctx.agent.apply(agent_id, plain(spec))
    if r.instance is not None and r.instance not in ctx.starting:
        await _record_instance(ctx, r)  # nothing to start: applying is the last step


async def _start(ctx: AssemblyContext, r: Remodel) -> None:
    agent_id = _agent_of(ctx, r)
    await ctx.agent.start(agent_id)
    low, high = ctx.watch_time(r)
    await anyio.sleep(low / 1000)
    deadline = anyio.current_time() + max(0, high - low) / 1000
    interval = 0.05
    while True:
        state = await ctx.agent.get_state(agent_id)
        if state.job_state == JobState.RUNNING:
            break
        if anyio.current_time() >= deadline:
            failing = [p.name for p in state.processes if p.state != JobState.RUNNING]
            detail = f" ({', '.join(failing)})" if failing else ""
            raise StepFailed(
                f"is {state.job_state.value}{detail} after {high / 1000:g} s of watching"
            )
        await anyio.sleep(min(interval, max(0.0, deadline - anyio.current_time())))
        interval = min(interval * 2, 1.0)
    await _record_instance(ctx, r)


async def _delete_instance(ctx: AssemblyContext, r: Remodel) -> None:
    assert r.instance is not None
    batch = Batch()
    for disk in ctx.disks.of(r.instance):
        if not disk.orphaned and disk.active:
            # a disk the plan did not orphan (none should be left): orphan it, never lose it
            ctx.disks[disk.id] = attrs.evolve(disk, active=False, orphaned_at=utcnow(), vm=None)
            batch.put_disk(ctx.disks[disk.id])
    batch.delete_instance(r.instance)
    ctx.instances.pop(r.instance, None)
    await ctx.ledger.write(batch)


# --- disks ----------------------------------------------------------------------------------


async def _create_disk(ctx: AssemblyContext, r: Remodel) -> None:
    material: DiskMaterial = r.material
    assert r.disk is not None
    migrating = ctx.is_migration_target(r.disk)
    if r.cid is not None and await _retrying(ctx, r, lambda: ctx.cpi.has_disk(r.cid or "")):
        disk = attrs.evolve(ctx.disks[r.disk], state="created", active=not migrating)
        await ctx.ledger.write(Batch().put_disk(disk))
        ctx.disks[disk.id] = disk
        return
    intent = DiskRecord(
        id=r.disk,
        deployment=ctx.deployment,
        instance_uuid=r.instance,
        size=material.size,
        disk_type=material.disk_type,
        name=material.name,
        cloud_properties=material.cloud_properties,
        state="creating",
        active=False,
    )
    batch = Batch()
    _ensure_instance(ctx, batch, r.instance)
    batch.put_disk(intent)
    await ctx.ledger.write(batch)
    ctx.disks[intent.id] = intent
    near = ctx.vms.get(ctx.attach_target(r.disk) or "")
    near_cid = near.cid if near is not None else None
    cid = await _retrying(
        ctx,
        r,
        lambda: ctx.cpi.create_disk(material.size, dict(material.cloud_properties), near_cid),
    )
    disk = attrs.evolve(intent, cid=cid, state="created", active=not migrating)
    await ctx.ledger.write(Batch().put_disk(disk))
    ctx.disks[disk.id] = disk
    tags = {"director": ctx.director, "deployment": ctx.deployment}
    if r.instance is not None:
        m = ctx.instance_material(r.instance)
        tags.update(instance_group=m.group, instance_id=r.instance, instance_index=str(m.index))
    await _retrying(ctx, r, lambda: ctx.cpi.set_disk_metadata(cid, tags))


def _disk(ctx: AssemblyContext, disk_id: str | None) -> DiskRecord:
    disk = ctx.disks.get(disk_id or "")
    if disk is None or disk.cid is None:
        raise StepFailed(f"disk {disk_id} has not been created")
    return disk


async def _attach_disk(ctx: AssemblyContext, r: Remodel) -> None:
    disk = _disk(ctx, r.disk)
    vm = ctx.vms.get(r.vm or "")
    if vm is None or vm.cid is None:
        raise StepFailed(f"VM {r.vm} has not been created")
    vm_cid, disk_cid = vm.cid, disk.cid
    assert disk_cid is not None
    try:
        await _retrying(ctx, r, lambda: ctx.cpi.attach_disk(vm_cid, disk_cid))
    except CloudError:
        # a rerun repeats an attach a crash interrupted: already there is done
        if disk_cid not in await ctx.cpi.get_disks(vm_cid):
            raise
    await ctx.agent.mount_disk(vm.agent_id, disk_cid)
    disk = attrs.evolve(disk, vm=vm.id)
    # lost, the next plan attaches again, which finds the disk already there
    await ctx.ledger.write(Batch().put_disk(disk), wait=False)
    ctx.disks[disk.id] = disk


async def _detach_disk(ctx: AssemblyContext, r: Remodel) -> None:
    disk = _disk(ctx, r.disk)
    vm = ctx.vms.get(r.vm or "")
    if vm is not None and vm.cid is not None:
        vm_cid, disk_cid = vm.cid, disk.cid
        assert disk_cid is not None
        try:
            await ctx.agent.unmount_disk(vm.agent_id, disk_cid)
        except AgentError:
            if disk_cid in await ctx.cpi.get_disks(vm_cid):
                raise
        with contextlib.suppress(DiskNotAttached, VMNotFound):  # already detached: done
            await _retrying(ctx, r, lambda: ctx.cpi.detach_disk(vm_cid, disk_cid))
    disk = attrs.evolve(disk, vm=None)
    await ctx.ledger.write(Batch().put_disk(disk))
    ctx.disks[disk.id] = disk


async def _migrate_disk(ctx: AssemblyContext, r: Remodel) -> None:
    new = _disk(ctx, r.disk)
    old = _disk(ctx, r.source_disk)
    assert new.cid is not None
    assert old.cid is not None
    await ctx.agent.migrate_disk(_agent_of(ctx, r), old.cid, new.cid)
    new, old = attrs.evolve(new, active=True), attrs.evolve(old, active=False)
    await ctx.ledger.write(Batch().put_disk(new).put_disk(old))
    ctx.disks[new.id], ctx.disks[old.id] = new, old


async def _orphan_disk(ctx: AssemblyContext, r: Remodel) -> None:
    disk = ctx.disks.get(r.disk or "")
    if disk is None:
        raise StepFailed(f"disk {r.disk} is not recorded")
    disk = attrs.evolve(disk, active=False, vm=None, orphaned_at=utcnow())
    await ctx.ledger.write(Batch().put_disk(disk))
    ctx.disks[disk.id] = disk


async def _delete_disk(ctx: AssemblyContext, r: Remodel) -> None:
    disk = ctx.disks.get(r.disk or "")
    cid = disk.cid if disk is not None else r.cid
    if cid is not None:
        with contextlib.suppress(DiskNotFound):
            await _retrying(ctx, r, lambda: ctx.cpi.delete_disk(cid))
    if disk is not None:
        await ctx.ledger.write(Batch().delete_disk(disk.id))
        del ctx.disks[disk.id]


_ACTIONS: Mapping[str, Callable[[AssemblyContext, Remodel], Awaitable[None]]] = {
    "create_vm": _create_vm,
    "delete_vm": _delete_vm,
    "swap": _swap,
    "stop": _stop,
    "apply": _apply,
    "start": _start,
    "delete_instance": _delete_instance,
    "create_disk": _create_disk,
    "attach_disk": _attach_disk,
    "detach_disk": _detach_disk,
    "migrate_disk": _migrate_disk,
    "orphan_disk": _orphan_disk,
    "delete_disk": _delete_disk,
}

ACTION_NAMES = frozenset(_ACTIONS)
"""The actions core carries out itself."""

_NEEDS: Mapping[str, tuple[str, ...]] = {
    "create_vm": ("vm", "material"),
    "delete_vm": (),
    "swap": ("vm",),
    "stop": ("vm",),
    "apply": ("vm", "instance"),
    "start": ("vm", "instance"),
    "delete_instance": ("instance",),
    "create_disk": ("disk", "material"),
    "attach_disk": ("disk", "vm"),
    "detach_disk": ("disk",),
    "migrate_disk": ("disk", "source_disk", "vm"),
    "orphan_disk": ("disk",),
    "delete_disk": (),
}


def malformed(remodel: Remodel) -> str | None:
    """Why core cannot carry ``remodel`` out as given (a field its action needs is unset),
    or None. Checked for the whole plan before anything runs, so a plugin's malformed
    remodel is refused by name instead of failing half-way through a deploy."""
    missing = [f for f in _NEEDS.get(remodel.action, ()) if getattr(remodel, f) is None]
    if remodel.action == "create_vm" and "agent_id" not in remodel.options:
        missing.append("options.agent_id")
    if remodel.action == "delete_vm" and remodel.vm is None and remodel.cid is None:
        missing.append("vm or cid")
    if not missing:
        return None
    return f"remodel {remodel.id!r} ({remodel.action}) lacks {', '.join(missing)}"


async def carry_out(ctx: AssemblyContext, remodel: Remodel) -> None:
    """Do what ``remodel`` says."""
    await _ACTIONS[remodel.action](ctx, remodel)

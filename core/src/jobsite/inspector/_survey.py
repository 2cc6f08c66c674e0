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

from jobsite.cpi import VmLister, VmListing
from jobsite.errors import DriverError, PluginError
from jobsite.inspector._floorplan import Drift, Floorplan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobsite._hookcall import HookRunner
    from jobsite.cpi import Cpi
    from jobsite.store import Store, VmRecord

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
    drift: list[Drift] = []
    unknown: list[VmListing] = []
    if cpi is not None:
        checked = [vm for vm in vms if vm.cid is not None and vm.state != "creating"]
        missing, drift = await _check_vms(cpi, checked, concurrency)
        if isinstance(cpi, VmLister):
            try:
                unknown = await _unrecorded(cpi, vms, director, deployment)
            except DriverError as exc:
                # As for has_vm: the cloud could not say, so nothing is assumed (and nothing
                # is offered to --fix for deletion); the plan warns instead of failing.
                drift.append(
                    Drift(kind="vm_unchecked", message=f"could not list the cloud's VMs: {exc}")
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


async def _unrecorded(
    cpi: VmLister, vms: Sequence[VmRecord], director: str, deployment: str
) -> list[VmListing]:
    """Listed VMs tagged for this director and deployment whose cid and agent id the store
    does not know. A VM the store holds as ``creating`` (cid not yet recorded) is matched by
    the agent id in its tags, so an interrupted create is not mistaken for a stranger."""
    cids = {vm.cid for vm in vms if vm.cid}
    agents = {vm.agent_id for vm in vms}
    return [
        listing
        for listing in await cpi.list_vms()
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

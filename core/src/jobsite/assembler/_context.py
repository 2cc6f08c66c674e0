"""The assembler's context: the drivers, the store, and its live view of what exists.

The plan names VMs and disks by store id; the cloud knows them by cid, which the assembler
learns as it creates them. The context keeps the records as the deploy changes them (seeded
from the floorplan), so each action finds the cid and agent of what it acts on without
reading the store back. Only the assembler's own task mutates it, on the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

import attrs

from jobsite.agent import Agent
from jobsite.architect import InstanceMaterial, JobMaterial, VmMaterial
from jobsite.assembler._actions import RetryPolicy
from jobsite.assembler._events import Event, RemodelRetried
from jobsite.assembler._ledger import Ledger
from jobsite.cpi import Cpi
from jobsite.errors import JobsiteError
from jobsite.foreman import Remodel, Stage
from jobsite.planning import Plan
from jobsite.store import DiskRecord, InstanceRecord, StemcellRecord, Store, VmRecord

__all__ = ["AssemblyContext", "DeployRefused", "Records"]

DEFAULT_WATCH_TIME = (0, 30_000)
"""Milliseconds to watch a started instance when the manifest gives no watch time."""


class DeployRefused(JobsiteError):
    """The plan cannot be carried out as it stands (nothing was changed)."""


class _Owned(Protocol):
    @property
    def instance_uuid(self) -> str | None: ...


R = TypeVar("R", bound=_Owned)


class Records(dict[str, R]):
    """VM or disk records by id, also found by their instance (:meth:`of`), so an action
    never scans every record of the deployment: deploying N instances stays linear."""

    def __init__(self, records: Iterable[tuple[str, R]] = ()) -> None:
        super().__init__()
        self._by_instance: dict[str | None, dict[str, R]] = {}
        for key, record in records:
            self[key] = record

    def __setitem__(self, key: str, record: R) -> None:
        old = self.get(key)
        if old is not None:
            self._by_instance.get(old.instance_uuid, {}).pop(key, None)
        super().__setitem__(key, record)
        self._by_instance.setdefault(record.instance_uuid, {})[key] = record

    def __delitem__(self, key: str) -> None:
        old = self[key]
        super().__delitem__(key)
        self._by_instance.get(old.instance_uuid, {}).pop(key, None)

    def pop(self, key: str, default: Any = None) -> Any:
        if key not in self:
            return default
        old = self[key]
        del self[key]
        return old

    def of(self, instance: str | None) -> list[R]:
        """The records of one instance (none for ``None``: records of no instance)."""
        if instance is None:
            return []
        return list(self._by_instance.get(instance, {}).values())


@attrs.define(kw_only=True, eq=False)
class AssemblyContext:
    """What the assembler works with, handed to ``jobsite_assemble_remodel`` hooks too."""

    plan: Plan
    store: Store
    cpi: Cpi
    agent: Agent
    ledger: Ledger
    retry: RetryPolicy
    director: str
    emit: Callable[[Event], Awaitable[None]]
    stemcells: tuple[StemcellRecord, ...] = ()
    task: int | None = None
    vms: Records[VmRecord] = attrs.field(factory=Records)
    disks: Records[DiskRecord] = attrs.field(factory=Records)
    instances: dict[str, InstanceRecord] = attrs.field(factory=dict)
    starting: frozenset[str] = frozenset()
    """Instances the plan starts (their record is written once started)."""
    _materials: dict[str, InstanceMaterial] = attrs.field(factory=dict)
    _vm_materials: dict[str, VmMaterial] = attrs.field(factory=dict)
    _jobs: dict[str, tuple[JobMaterial, ...]] = attrs.field(factory=dict)
    _by_instance: dict[str, list[Remodel]] = attrs.field(factory=dict)
    _migration_targets: frozenset[str] = frozenset()
    _attach_targets: dict[str, str] = attrs.field(factory=dict)
    _stage_of: dict[str, Stage] = attrs.field(factory=dict)

    @property
    def deployment(self) -> str:
        return self.plan.deployment

    @classmethod
    def build(cls, plan: Plan, **kwargs: Any) -> AssemblyContext:
        """A context seeded from ``plan``'s floorplan and indexed for its remodels."""
        blueprint = plan.blueprint
        jobs: dict[str, list[JobMaterial]] = {}
        for job in blueprint.jobs:
            jobs.setdefault(job.instance, []).append(job)
        by_instance: dict[str, list[Remodel]] = {}
        for remodel in plan.construction.remodels:
            if remodel.instance is not None:
                by_instance.setdefault(remodel.instance, []).append(remodel)
        stages = {}
        for stage in plan.construction.stages:
            for rid in stage.remodels:
                stages[rid] = stage
        floor = plan.floorplan
        return cls(
            plan=plan,
            vms=Records((v.id, v) for v in floor.vms),
            disks=Records((d.id, d) for d in floor.disks),
            instances={i.uuid: i for i in floor.instances},
            starting=frozenset(
                r.instance for r in plan.construction.remodels if r.action == "start" and r.instance
            ),
            materials={i.uuid: i for i in blueprint.instances},
            vm_materials={v.instance: v for v in blueprint.vms},
            jobs={k: tuple(v) for k, v in jobs.items()},
            by_instance=by_instance,
            migration_targets=frozenset(
                r.disk for r in plan.construction.remodels if r.action == "migrate_disk" and r.disk
            ),
            attach_targets={
                r.disk: r.vm
                for r in plan.construction.remodels
                if r.action == "attach_disk" and r.disk and r.vm
            },
            stage_of=stages,
            **kwargs,
        )

    # --- what the plan says ----------------------------------------------------------------

    def instance_material(self, uuid: str) -> InstanceMaterial:
        try:
            return self._materials[uuid]
        except KeyError:
            raise DeployRefused(f"instance {uuid} is not in the blueprint") from None

    def find_instance_material(self, uuid: str) -> InstanceMaterial | None:
        """The instance as the blueprint draws it; None for one being deleted."""
        return self._materials.get(uuid)

    def vm_material(self, uuid: str) -> VmMaterial | None:
        return self._vm_materials.get(uuid)

    def jobs_of(self, uuid: str) -> tuple[JobMaterial, ...]:
        return self._jobs.get(uuid, ())

    def plan_remodels_of(self, uuid: str | None) -> list[Remodel]:
        return self._by_instance.get(uuid or "", [])

    def is_migration_target(self, disk_id: str) -> bool:
        return disk_id in self._migration_targets

    def attach_target(self, disk_id: str) -> str | None:
        return self._attach_targets.get(disk_id)

    def watch_time(self, remodel: Remodel) -> tuple[int, int]:
        stage = self._stage_of.get(remodel.id)
        if stage is not None and stage.watch_time is not None:
            return stage.watch_time
        return DEFAULT_WATCH_TIME

    def stemcell_cid(self, material: VmMaterial) -> str:
        """The uploaded stemcell a VM is created from: by os (or name) and version."""
        found = self.find_stemcell(material.stemcell_os, material.stemcell_version)
        if found is None:
            raise DeployRefused(_missing_stemcell(material.stemcell_os, material.stemcell_version))
        return found.cid

    def find_stemcell(self, os: str, version: str) -> StemcellRecord | None:
        matching = [s for s in self.stemcells if os in (s.os, s.name)]
        if version in ("latest", ""):
            return matching[-1] if matching else None
        return next((s for s in matching if s.version == version), None)

    # --- reporting ---------------------------------------------------------------------------

    def instance_label(self, remodel: Remodel) -> str | None:
        if remodel.instance is None:
            return None
        return f"{remodel.instance_group}/{remodel.index} ({remodel.instance})"

    async def retried(self, remodel: Remodel, attempt: int, delay: float, error: Exception) -> None:
        await self.emit(
            RemodelRetried(
                remodel=remodel.id,
                action=remodel.action,
                attempt=attempt,
                delay=delay,
                error=str(error),
                instance=self.instance_label(remodel),
            )
        )


def _missing_stemcell(os: str, version: str) -> str:
    return f"stemcell {os}/{version} is not uploaded; upload it first (jobsite upload-stemcell)"


def stemcell_problems(ctx: AssemblyContext) -> list[str]:
    """Every stemcell the plan's new VMs need that is not uploaded, named once each."""
    out: dict[tuple[str, str], str] = {}
    for remodel in ctx.plan.construction.remodels:
        if remodel.action == "create_vm" and remodel.cid is None:
            m = remodel.material
            key = (m.stemcell_os, m.stemcell_version)
            if key not in out and ctx.find_stemcell(*key) is None:
                out[key] = _missing_stemcell(*key)
    return list(out.values())

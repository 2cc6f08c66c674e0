"""The state store protocol: what the director reads and writes, whatever the database.

Every method is async (databases are blocking libraries, run in worker threads) and works
under asyncio and trio. Everything returned is an immutable record. Writes of the deploy
pipeline are queued in a :class:`~jobsite.store.Batch` and committed together (``apply``, or
``async with store.transaction() as batch``); the few writes whose result the caller needs
at once (a new config version, a task id, a lock) are methods of their own, each atomic.
Failures are :class:`~jobsite.errors.StoreError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from jobsite.store._batch import Batch
    from jobsite.store._records import (
        CompiledPackageRecord,
        ConfigRecord,
        DeploymentRecord,
        DiskRecord,
        EventRecord,
        InstanceRecord,
        IpReservation,
        LockLease,
        ReleaseRecord,
        StemcellRecord,
        TaskRecord,
        VmRecord,
    )

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """Durable director state: deployments, configs, instances, VMs, disks, IPs, releases,
    stemcells, compiled packages, locks, tasks and events."""

    @property
    def location(self) -> str:
        """Where the store is, for messages: a path or a URL with any password masked."""
        ...

    # --- lifecycle ---------------------------------------------------------------------------

    async def migrate(self) -> None:
        """Bring the schema to the version this jobsite needs; a no-op when it is current.

        Raises :class:`~jobsite.errors.StoreError` when the store was written by a newer
        jobsite (its schema is ahead of this one's), rather than guess at its meaning.
        """
        ...

    async def schema_version(self) -> int:
        """The schema version the store is at (0 before the first migration)."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads. The store is unusable afterwards."""
        ...

    # --- grouped writes ----------------------------------------------------------------------

    async def apply(self, batch: Batch) -> None:
        """Write every operation of ``batch`` in one transaction: all of them or none."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Batch]:
        """``async with store.transaction() as batch:`` queue writes, committed at the end of
        the block in one transaction; an exception inside the block writes nothing."""
        ...

    # --- configs -----------------------------------------------------------------------------

    async def add_config(self, type: str, name: str, content: str) -> ConfigRecord:
        """Store ``content`` as the newest version of config ``(type, name)``.

        When it equals the newest version already stored, nothing is added and that version
        is returned: compare the returned ``id`` with the previous one to know whether
        anything changed. Atomic: two uploads at once cannot add the same content twice.
        """
        ...

    async def latest_config(self, type: str, name: str = "default") -> ConfigRecord | None:
        """The newest version of config ``(type, name)``, or None."""
        ...

    async def get_config(self, config_id: int) -> ConfigRecord | None: ...

    async def list_configs(
        self, type: str | None = None, name: str | None = None, *, history: bool = False
    ) -> tuple[ConfigRecord, ...]:
        """Configs by type then name; only the newest version of each unless ``history``
        (then every version, newest first within a name)."""
        ...

    # --- deployments and what they are made of -----------------------------------------------

    async def get_deployment(self, name: str) -> DeploymentRecord | None: ...

    async def list_deployments(self) -> tuple[DeploymentRecord, ...]:
        """Every deployment, by name."""
        ...

    async def get_instance(self, uuid: str) -> InstanceRecord | None: ...

    async def list_instances(self, deployment: str) -> tuple[InstanceRecord, ...]:
        """A deployment's instances, by group then index."""
        ...

    async def get_vm(self, vm_id: str) -> VmRecord | None: ...

    async def list_vms(self, deployment: str | None = None) -> tuple[VmRecord, ...]:
        """VMs (of one deployment, or all), oldest first."""
        ...

    async def get_disk(self, disk_id: str) -> DiskRecord | None: ...

    async def list_disks(
        self, deployment: str | None = None, *, orphaned: bool | None = None
    ) -> tuple[DiskRecord, ...]:
        """Disks (of one deployment, or all), oldest first; ``orphaned`` filters when given."""
        ...

    async def list_ip_reservations(
        self, deployment: str | None = None, *, network: str | None = None
    ) -> tuple[IpReservation, ...]:
        """Reserved addresses, by network then address (as text)."""
        ...

    # --- releases, stemcells, compiled packages -----------------------------------------------

    async def list_releases(self, name: str | None = None) -> tuple[ReleaseRecord, ...]:
        """Release versions, by name then upload order."""
        ...

    async def list_stemcells(self) -> tuple[StemcellRecord, ...]:
        """Stemcells, by name then upload order."""
        ...

    async def find_compiled_package(
        self,
        package: str,
        fingerprint: str,
        stemcell_os: str,
        stemcell_version: str,
        dependency_key: str,
    ) -> CompiledPackageRecord | None:
        """The compiled package for exactly this package, stemcell and dependencies."""
        ...

    async def list_compiled_packages(
        self, package: str | None = None
    ) -> tuple[CompiledPackageRecord, ...]: ...

    # --- locks -------------------------------------------------------------------------------

    async def acquire_lock(self, name: str, holder: str, ttl: float) -> LockLease | None:
        """Take lock ``name`` for ``ttl`` seconds, or return None if someone else holds it.

        Atomic on every backend: of any number of directors trying at once exactly one gets
        the lease. A lease that has expired (its holder died or stopped renewing) is free to
        take. Acquiring a lock one already holds renews it, so ``holder`` must be unique to
        its owner (host, process and a random part).
        """
        ...

    async def renew_lock(self, name: str, holder: str, ttl: float) -> LockLease | None:
        """Extend one's lease to ``ttl`` seconds from now; None if it is no longer ours."""
        ...

    async def release_lock(self, name: str, holder: str) -> bool:
        """Give the lock up; False if ``holder`` did not hold it (any more)."""
        ...

    async def get_lock(self, name: str) -> LockLease | None:
        """The current lease of ``name``, expired or not, or None."""
        ...

    async def list_locks(self) -> tuple[LockLease, ...]: ...

    # --- tasks and their events --------------------------------------------------------------

    async def create_task(
        self, kind: str, *, deployment: str | None = None, description: str = ""
    ) -> TaskRecord:
        """Start a task (state ``processing``); ids increase."""
        ...

    async def get_task(self, task_id: int) -> TaskRecord | None: ...

    async def list_tasks(
        self, *, deployment: str | None = None, limit: int = 50
    ) -> tuple[TaskRecord, ...]:
        """The most recent tasks first."""
        ...

    async def list_events(self, task_id: int, *, after: int = 0) -> tuple[EventRecord, ...]:
        """A task's events with ``seq`` greater than ``after``, in order (for following)."""
        ...

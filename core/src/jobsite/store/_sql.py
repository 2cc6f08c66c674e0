"""The store's queries, written once for every SQL engine (SQLite and PostgreSQL).

:class:`SqlStore` implements :class:`~jobsite.store.Store` on an
:class:`~jobsite.store._dialect.Engine`; the engines only decide how a connection is held
and how a transaction begins. Every method is one trip to a worker thread and one
transaction, so a method's reads are consistent and its writes atomic.
"""

from __future__ import annotations

import itertools
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from jobsite._gcpause import gc_paused
from jobsite.store._batch import Batch
from jobsite.store._codec import (
    COMPILED_PACKAGE,
    CONFIG,
    DEPLOYMENT,
    DISK,
    EVENT,
    INSTANCE,
    IP,
    LOCK,
    RELEASE,
    STEMCELL,
    TASK,
    VM,
    Table,
    write_statement,
)
from jobsite.store._schema import LATEST, check_not_newer, current_version, migrate

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from types import TracebackType

    from jobsite.store._dialect import Engine, Row, Tx
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

__all__ = ["SqlStore"]

T = TypeVar("T")
R = TypeVar("R")

_ACQUIRE = f"""INSERT INTO locks ({LOCK.select}) VALUES (?, ?, {{now}}, {{now}} + ?)
ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    acquired_at = CASE WHEN locks.holder = excluded.holder
        THEN locks.acquired_at ELSE excluded.acquired_at END,
    expires_at = excluded.expires_at
WHERE locks.holder = excluded.holder OR locks.expires_at <= excluded.acquired_at
RETURNING {LOCK.select}"""

_RENEW = (
    "UPDATE locks SET expires_at = {now} + ? WHERE name = ? AND holder = ? "
    f"RETURNING {LOCK.select}"
)


def _where(**filters: Any) -> tuple[str, tuple[Any, ...]]:
    """``WHERE a = ? AND b = ?`` for the filters that are not None."""
    given = {k: v for k, v in filters.items() if v is not None}
    if not given:
        return "", ()
    return " WHERE " + " AND ".join(f"{k} = ?" for k in given), tuple(given.values())


class SqlStore:
    """:class:`~jobsite.store.Store` on a SQL engine; usable as an async context manager."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def location(self) -> str:
        return self._engine.location

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"

    async def __aenter__(self) -> SqlStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- helpers -------------------------------------------------------------------------

    async def _read(self, fn: Callable[[Tx], T]) -> T:
        return await self._engine.run(fn, write=False)

    async def _write(self, fn: Callable[[Tx], T]) -> T:
        return await self._engine.run(fn, write=True)

    async def _get(self, table: Table[R], sql: str, params: Sequence[Any]) -> R | None:
        row = await self._read(lambda tx: tx.one(f"SELECT {table.select} {sql}", params))
        return None if row is None else table.from_row(row)

    async def _list(self, table: Table[R], sql: str, params: Sequence[Any] = ()) -> tuple[R, ...]:
        def fetch(tx: Tx) -> list[Row]:
            with gc_paused():  # rows and records hold no cycles; see jobsite._gcpause
                return tx.all(f"SELECT {table.select} {sql}", params)

        rows = await self._read(fetch)
        with gc_paused():
            return tuple(table.from_row(r) for r in rows)

    # --- lifecycle -----------------------------------------------------------------------

    async def schema_version(self) -> int:
        return await self._read(current_version)

    async def migrate(self) -> None:
        version = await self.schema_version()
        check_not_newer(version, self.location)
        if version < LATEST:
            await self._write(lambda tx: migrate(tx, self.location))

    async def aclose(self) -> None:
        await self._engine.aclose()

    # --- grouped writes ------------------------------------------------------------------

    async def apply(self, batch: Batch) -> None:
        operations = batch.operations
        if not operations:
            return

        def run(tx: Tx) -> None:
            statements = [write_statement(name, args) for name, args in operations]
            for sql, group in itertools.groupby(statements, key=lambda s: s[0]):
                rows = [params for _, params in group]
                if len(rows) == 1:
                    tx.execute(sql, rows[0])
                else:
                    tx.executemany(sql, rows)

        await self._write(run)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Batch]:
        batch = Batch()
        yield batch
        await self.apply(batch)

    # --- configs -------------------------------------------------------------------------

    async def add_config(self, type: str, name: str, content: str) -> ConfigRecord:
        def run(tx: Tx) -> ConfigRecord:
            if tx.dialect.lock_table:
                tx.execute(tx.dialect.lock_table.format(table="configs"))
            latest = tx.one(
                f"SELECT {CONFIG.select} FROM configs WHERE type = ? AND name = ? "
                "ORDER BY id DESC LIMIT 1",
                (type, name),
            )
            if latest is not None and latest[3] == content:
                return CONFIG.from_row(latest)
            row = tx.one(
                "INSERT INTO configs (type, name, content, created_at) VALUES (?, ?, ?, ?) "
                f"RETURNING {CONFIG.select}",
                (type, name, content, time.time()),
            )
            assert row is not None
            return CONFIG.from_row(row)

        return await self._write(run)

    async def latest_config(self, type: str, name: str = "default") -> ConfigRecord | None:
        return await self._get(
            CONFIG,
            "FROM configs WHERE type = ? AND name = ? ORDER BY id DESC LIMIT 1",
            (type, name),
        )

    async def get_config(self, config_id: int) -> ConfigRecord | None:
        return await self._get(CONFIG, "FROM configs WHERE id = ?", (config_id,))

    async def list_configs(
        self, type: str | None = None, name: str | None = None, *, history: bool = False
    ) -> tuple[ConfigRecord, ...]:
        where, params = _where(type=type, name=name)
        if not history:
            latest = "id IN (SELECT max(id) FROM configs GROUP BY type, name)"
            where = f"{where} AND {latest}" if where else f" WHERE {latest}"
        return await self._list(CONFIG, f"FROM configs{where} ORDER BY type, name, id DESC", params)

    # --- deployments and what they are made of -------------------------------------------

    async def get_deployment(self, name: str) -> DeploymentRecord | None:
        return await self._get(DEPLOYMENT, "FROM deployments WHERE name = ?", (name,))

    async def list_deployments(self) -> tuple[DeploymentRecord, ...]:
        return await self._list(DEPLOYMENT, "FROM deployments ORDER BY name")

    async def get_instance(self, uuid: str) -> InstanceRecord | None:
        return await self._get(INSTANCE, "FROM instances WHERE uuid = ?", (uuid,))

    async def list_instances(self, deployment: str) -> tuple[InstanceRecord, ...]:
        return await self._list(
            INSTANCE,
            "FROM instances WHERE deployment = ? ORDER BY instance_group, idx",
            (deployment,),
        )

    async def get_vm(self, vm_id: str) -> VmRecord | None:
        return await self._get(VM, "FROM vms WHERE id = ?", (vm_id,))

    async def list_vms(self, deployment: str | None = None) -> tuple[VmRecord, ...]:
        where, params = _where(deployment=deployment)
        return await self._list(VM, f"FROM vms{where} ORDER BY created_at, id", params)

    async def get_disk(self, disk_id: str) -> DiskRecord | None:
        return await self._get(DISK, "FROM disks WHERE id = ?", (disk_id,))

    async def list_disks(
        self, deployment: str | None = None, *, orphaned: bool | None = None
    ) -> tuple[DiskRecord, ...]:
        where, params = _where(deployment=deployment)
        if orphaned is not None:
            test = "orphaned_at IS NOT NULL" if orphaned else "orphaned_at IS NULL"
            where = f"{where} AND {test}" if where else f" WHERE {test}"
        return await self._list(DISK, f"FROM disks{where} ORDER BY created_at, id", params)

    async def list_ip_reservations(
        self, deployment: str | None = None, *, network: str | None = None
    ) -> tuple[IpReservation, ...]:
        where, params = _where(deployment=deployment, network=network)
        return await self._list(
            IP, f"FROM ip_reservations{where} ORDER BY network, address", params
        )

    # --- releases, stemcells, compiled packages ------------------------------------------

    async def list_releases(self, name: str | None = None) -> tuple[ReleaseRecord, ...]:
        where, params = _where(name=name)
        return await self._list(RELEASE, f"FROM releases{where} ORDER BY name, created_at", params)

    async def list_stemcells(self) -> tuple[StemcellRecord, ...]:
        return await self._list(STEMCELL, "FROM stemcells ORDER BY name, created_at")

    async def find_compiled_package(
        self,
        package: str,
        fingerprint: str,
        stemcell_os: str,
        stemcell_version: str,
        dependency_key: str,
    ) -> CompiledPackageRecord | None:
        where, params = _where(
            package=package,
            fingerprint=fingerprint,
            stemcell_os=stemcell_os,
            stemcell_version=stemcell_version,
            dependency_key=dependency_key,
        )
        return await self._get(COMPILED_PACKAGE, f"FROM compiled_packages{where}", params)

    async def list_compiled_packages(
        self, package: str | None = None
    ) -> tuple[CompiledPackageRecord, ...]:
        where, params = _where(package=package)
        return await self._list(
            COMPILED_PACKAGE,
            f"FROM compiled_packages{where} ORDER BY package, created_at",
            params,
        )

    # --- locks ---------------------------------------------------------------------------

    async def _lease(self, sql: str, params: tuple[Any, ...]) -> LockLease | None:
        row = await self._write(lambda tx: tx.one(sql, params))
        return None if row is None else LOCK.from_row(row)

    async def acquire_lock(self, name: str, holder: str, ttl: float) -> LockLease | None:
        return await self._lease(_ACQUIRE, (name, holder, float(ttl)))

    async def renew_lock(self, name: str, holder: str, ttl: float) -> LockLease | None:
        return await self._lease(_RENEW, (float(ttl), name, holder))

    async def release_lock(self, name: str, holder: str) -> bool:
        sql = "DELETE FROM locks WHERE name = ? AND holder = ?"
        return await self._write(lambda tx: tx.execute(sql, (name, holder))) > 0

    async def get_lock(self, name: str) -> LockLease | None:
        return await self._get(LOCK, "FROM locks WHERE name = ?", (name,))

    async def list_locks(self) -> tuple[LockLease, ...]:
        return await self._list(LOCK, "FROM locks ORDER BY name")

    # --- tasks and their events ----------------------------------------------------------

    async def create_task(
        self, kind: str, *, deployment: str | None = None, description: str = ""
    ) -> TaskRecord:
        sql = (
            "INSERT INTO tasks (kind, deployment, description, state, started_at) "
            f"VALUES (?, ?, ?, 'processing', ?) RETURNING {TASK.select}"
        )
        params = (kind, deployment, description, time.time())
        row = await self._write(lambda tx: tx.one(sql, params))
        assert row is not None
        return TASK.from_row(row)

    async def get_task(self, task_id: int) -> TaskRecord | None:
        return await self._get(TASK, "FROM tasks WHERE id = ?", (task_id,))

    async def list_tasks(
        self, *, deployment: str | None = None, limit: int = 50
    ) -> tuple[TaskRecord, ...]:
        where, params = _where(deployment=deployment)
        return await self._list(
            TASK, f"FROM tasks{where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )

    async def list_events(self, task_id: int, *, after: int = 0) -> tuple[EventRecord, ...]:
        return await self._list(
            EVENT, "FROM events WHERE task_id = ? AND seq > ? ORDER BY seq", (task_id, after)
        )

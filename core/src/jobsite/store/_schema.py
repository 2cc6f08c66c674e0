"""The schema, as an ordered list of migrations, and the code that applies them.

The same statements build the schema on SQLite and PostgreSQL: text, ``BIGINT``, ``BOOLEAN``
and ``DOUBLE PRECISION`` mean the same in both; JSON is stored as text and times as seconds
since the epoch, so no column depends on one database's types. The only token is
``{serial}``, an auto-increment key.

Each applied migration is a row of ``schema_migrations``. Migrating runs every missing
migration in one transaction (a failure leaves the store as it was) and is a no-op when the
store is current. A store whose schema is *newer* than this jobsite knows is refused, not
guessed at: an older jobsite would misread or damage it.

Rules for adding a migration: append, never edit one that has shipped; keep statements valid
on both databases; say in its name what it changes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import attrs

from jobsite.errors import StoreError

if TYPE_CHECKING:
    from jobsite.store._dialect import Tx

__all__ = ["LATEST", "MIGRATIONS", "Migration", "check_not_newer", "current_version", "migrate"]


@attrs.frozen
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


_INITIAL = (
    """CREATE TABLE configs (
        id {serial},
        type TEXT NOT NULL,
        name TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX configs_type_name ON configs (type, name, id)",
    """CREATE TABLE deployments (
        name TEXT PRIMARY KEY,
        manifest TEXT NOT NULL,
        config_ids TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE instances (
        uuid TEXT PRIMARY KEY,
        deployment TEXT NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
        instance_group TEXT NOT NULL,
        idx INTEGER NOT NULL,
        az TEXT,
        state TEXT NOT NULL,
        bootstrap BOOLEAN NOT NULL,
        ignored BOOLEAN NOT NULL,
        spec TEXT NOT NULL,
        UNIQUE (deployment, instance_group, idx)
    )""",
    """CREATE TABLE vms (
        id TEXT PRIMARY KEY,
        deployment TEXT NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
        instance_uuid TEXT REFERENCES instances (uuid) ON DELETE SET NULL,
        cid TEXT UNIQUE,
        agent_id TEXT NOT NULL,
        stemcell_cid TEXT,
        cloud_properties TEXT NOT NULL,
        networks TEXT NOT NULL,
        env TEXT NOT NULL,
        state TEXT NOT NULL,
        active BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX vms_deployment ON vms (deployment)",
    "CREATE INDEX vms_instance ON vms (instance_uuid)",
    # Disks name their deployment without referencing it: orphaned disks outlive it.
    """CREATE TABLE disks (
        id TEXT PRIMARY KEY,
        deployment TEXT NOT NULL,
        instance_uuid TEXT REFERENCES instances (uuid) ON DELETE SET NULL,
        cid TEXT UNIQUE,
        size BIGINT NOT NULL,
        disk_type TEXT,
        name TEXT NOT NULL,
        cloud_properties TEXT NOT NULL,
        state TEXT NOT NULL,
        active BOOLEAN NOT NULL,
        orphaned_at DOUBLE PRECISION,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX disks_deployment ON disks (deployment)",
    "CREATE INDEX disks_instance ON disks (instance_uuid)",
    """CREATE TABLE ip_reservations (
        network TEXT NOT NULL,
        address TEXT NOT NULL,
        deployment TEXT NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
        instance_uuid TEXT REFERENCES instances (uuid) ON DELETE CASCADE,
        static BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (network, address)
    )""",
    "CREATE INDEX ip_reservations_deployment ON ip_reservations (deployment)",
    """CREATE TABLE releases (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        commit_hash TEXT,
        manifest TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (name, version)
    )""",
    """CREATE TABLE stemcells (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        cpi TEXT NOT NULL,
        os TEXT NOT NULL,
        cid TEXT NOT NULL,
        sha1 TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (name, version, cpi)
    )""",
    """CREATE TABLE compiled_packages (
        package TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        stemcell_os TEXT NOT NULL,
        stemcell_version TEXT NOT NULL,
        dependency_key TEXT NOT NULL,
        blob_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (package, fingerprint, stemcell_os, stemcell_version, dependency_key)
    )""",
    """CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        acquired_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )""",
    # Tasks name their deployment without referencing it: the task log outlives it.
    """CREATE TABLE tasks (
        id {serial},
        kind TEXT NOT NULL,
        deployment TEXT,
        description TEXT NOT NULL,
        state TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        ended_at DOUBLE PRECISION,
        result TEXT
    )""",
    "CREATE INDEX tasks_deployment ON tasks (deployment, id)",
    """CREATE TABLE events (
        task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        seq BIGINT NOT NULL,
        emitted_at DOUBLE PRECISION NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (task_id, seq)
    )""",
)

# A VM's stemcell is part of what it is: the foreman compares it with the blueprint's to
# decide whether the VM must be replaced (BOSH keeps the same two columns on its vms table).
_VM_STEMCELL = (
    "ALTER TABLE vms ADD COLUMN stemcell_os TEXT",
    "ALTER TABLE vms ADD COLUMN stemcell_version TEXT",
)

# Which VM a disk is attached to, as last recorded: a crash between a detach and the next
# attach leaves a disk that the store would otherwise believe attached, and the foreman must
# see that to attach it again.
_DISK_VM = ("ALTER TABLE disks ADD COLUMN vm_id TEXT",)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL),
    Migration(2, "vms: stemcell os and version", _VM_STEMCELL),
    Migration(3, "disks: the VM a disk is attached to", _DISK_VM),
)
LATEST = MIGRATIONS[-1].version

_CREATE_MIGRATIONS = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""

_TABLE_EXISTS = {
    "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
    "postgres": (
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = ?"
    ),
}


def current_version(tx: Tx) -> int:
    """The highest migration applied (0 for an empty database)."""
    exists = tx.one(_TABLE_EXISTS[tx.dialect.name], ("schema_migrations",))
    if not exists or not exists[0]:
        return 0
    row = tx.one("SELECT max(version) FROM schema_migrations")
    return int(row[0]) if row and row[0] is not None else 0


def check_not_newer(version: int, location: str) -> None:
    if version > LATEST:
        raise StoreError(
            f"{location}: the store's schema is at version {version}, newer than this "
            f"jobsite understands (up to {LATEST}); upgrade jobsite to use this store"
        )


def migrate(tx: Tx, location: str) -> list[int]:
    """Apply every missing migration inside ``tx``; return the versions applied."""
    if tx.dialect.migration_lock:
        tx.execute(tx.dialect.migration_lock)
    tx.execute(_CREATE_MIGRATIONS)
    current = current_version(tx)
    check_not_newer(current, location)
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        for statement in migration.statements:
            tx.execute(statement)
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, time.time()),
        )
        applied.append(migration.version)
    return applied

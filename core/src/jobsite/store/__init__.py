"""The state store: the director's memory, and the records it holds.

Deployments with the manifest and configs they were applied with, configs (cloud, runtime)
with versions, instances, VMs, disks, IP reservations, releases, stemcells, compiled
packages, locks, tasks and events. SQLite (a file under ``JOBSITE_HOME``) is the default;
PostgreSQL lets several directors share state. Both run the same schema and the same
queries, in worker threads, so every method is async and works under asyncio and trio.

Everything a store returns is an immutable record. Writes are grouped::

    async with open_store() as store:
        async with store.transaction() as batch:
            batch.put_vm(VmRecord(deployment="cf", agent_id=agent, state="creating"))
            batch.put_disk(disk)
        # both rows are committed together, or neither is

Store plugins register a factory under a name through ``jobsite_register_stores``; the
built-in ones are ``sqlite`` and ``postgres``.
"""

from __future__ import annotations

from jobsite.store._batch import Batch, Operation
from jobsite.store._open import (
    HOME_ENV,
    STORE_ENV,
    StoreOpening,
    StoreUrl,
    default_home,
    mask_url,
    open_store,
    parse_store_url,
)
from jobsite.store._protocol import Store
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
    new_id,
)
from jobsite.store._schema import LATEST as SCHEMA_VERSION

__all__ = [
    "HOME_ENV",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "Batch",
    "CompiledPackageRecord",
    "ConfigRecord",
    "DeploymentRecord",
    "DiskRecord",
    "EventRecord",
    "InstanceRecord",
    "IpReservation",
    "LockLease",
    "Operation",
    "ReleaseRecord",
    "StemcellRecord",
    "Store",
    "StoreOpening",
    "StoreUrl",
    "TaskRecord",
    "VmRecord",
    "default_home",
    "mask_url",
    "new_id",
    "open_store",
    "parse_store_url",
]

"""The state store protocol (declared here; implemented by store drivers).

The store is the director's memory: deployments with the manifest and configs they were
deployed with, configs (cloud, runtime) with versions, instances, VMs, disks, IP
reservations, releases, stemcells, compiled packages, locks, tasks and events. SQLite is the
default; PostgreSQL lets several directors share state. Blocking database work runs in worker
threads, so every method is async.

This protocol is deliberately small for now: the planning issue grows it with the records the
inspector reads and the assembler writes. Everything a store returns is an immutable value.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """Durable director state."""

    async def migrate(self) -> None:
        """Bring the schema to the version this jobsite needs; a no-op when it is current."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads. The store is unusable afterwards."""
        ...

"""The ledger: the assembler's durable writes, group-committed.

Every side effect is written ahead: the intent ("creating VM x for agent y") is committed
before the cloud is called, the result after it answers. One commit per write would cap a
deploy at the store's commit rate (DESIGN: ~8,000 one-row commits/s through a worker thread,
against ~700,000 rows/s batched), so writers queue their operations and whoever finds no
commit in flight commits everything queued, its own and the others'. A writer returns only
once its operations are durable. Task-log events ride along in the same commits without
waiting.

Commits are shielded from cancellation: a deploy cancelled by its caller still records what
it did, which is the whole point of writing ahead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from jobsite.errors import StoreError
from jobsite.store import Batch

if TYPE_CHECKING:
    from jobsite.store import Store
    from jobsite.store._batch import Operation

__all__ = ["Ledger"]


class Ledger:
    """Queued store writes, committed together; see the module docstring."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[Operation] = []
        self._queued = 0
        """Sequence number of the last write queued."""
        self._durable = 0
        """Every write with a sequence number up to this one is committed."""
        self._lock = anyio.Lock()
        self._broken: BaseException | None = None
        self.commits = 0

    def note(self, batch: Batch) -> None:
        """Queue writes that need not be durable before the caller goes on (task-log
        events): they go out with the next commit or :meth:`flush`."""
        self._pending.extend(batch.operations)

    async def write(self, batch: Batch, *, wait: bool = True) -> None:
        """Queue ``batch`` and return once it is committed (with whatever else is queued).

        ``wait=False`` queues a result the next run could reconstruct from the cloud anyway
        (a disk's attachment, an instance's applied spec): it goes out with the next commit,
        always before any later intent (the queue is in order), and the deploy flushes it
        at its end. Intents always wait: a side effect never happens before its intent is
        durable.
        """
        if self._broken is not None:
            raise StoreError(f"the state store failed earlier: {self._broken}")
        if not wait:
            self._pending.extend(batch.operations)
            return
        self._pending.extend(batch.operations)
        self._queued += 1
        mine = self._queued
        async with self._lock:
            if self._durable >= mine:
                return  # someone else's commit carried our writes
            await self._commit()

    async def flush_every(self, interval: float) -> None:
        """Commit what is queued every ``interval`` seconds, until cancelled: writes that
        nobody waits for (results, events) then reach the store promptly even when no
        intent comes along to carry them, off every instance's critical path."""
        while True:
            await anyio.sleep(interval)
            if self._pending and not self._lock.locked():
                await self.flush()

    async def flush(self) -> None:
        """Commit whatever is queued."""
        async with self._lock:
            if self._pending:
                await self._commit()

    async def _commit(self) -> None:
        operations, self._pending = self._pending, []
        upto = self._queued
        batch = Batch().extend(operations)
        with anyio.CancelScope(shield=True):
            try:
                await self._store.apply(batch)
            except BaseException as exc:
                self._broken = exc
                raise
        self.commits += 1
        self._durable = upto

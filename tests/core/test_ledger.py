"""The assembler's ledger: writes grouped into few commits, intents durable before they
return, results that nobody waits for still committed promptly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from jobsite.assembler._ledger import Ledger
from jobsite.store import Batch, DeploymentRecord, open_store

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


async def test_concurrent_writes_share_commits_and_each_is_durable_on_return(
    tmp_path: Path,
) -> None:
    async with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        ledger = Ledger(store)

        async def write(n: int) -> None:
            await ledger.write(Batch().put_deployment(DeploymentRecord(name=f"d{n}", manifest="")))
            assert await store.get_deployment(f"d{n}") is not None  # durable on return

        async with anyio.create_task_group() as tg:
            for n in range(50):
                tg.start_soon(write, n)
        assert len(await store.list_deployments()) == 50
        assert ledger.commits < 50


async def test_writes_nobody_waits_for_are_flushed_on_a_cadence(tmp_path: Path) -> None:
    async with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        ledger = Ledger(store)
        async with anyio.create_task_group() as tg:
            tg.start_soon(ledger.flush_every, 0.01)
            await ledger.write(
                Batch().put_deployment(DeploymentRecord(name="later", manifest="")), wait=False
            )
            assert await store.get_deployment("later") is None  # queued, not yet written
            await anyio.sleep(0.2)  # twenty flush intervals
            assert await store.get_deployment("later") is not None
            tg.cancel_scope.cancel()

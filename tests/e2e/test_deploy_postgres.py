"""The same deploys with the state in PostgreSQL (several directors may share it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.anyio


async def test_deploy_bump_and_hot_swap_on_postgresql(pg_site: Site) -> None:
    site = pg_site
    assert (await site.deploy()).ok
    await site.converged()
    bumped = site.manifest(
        update={"strategy": "hot_swap"},
        stemcells=[{"alias": "default", "os": "ubuntu-jammy", "version": "2.0"}],
    )
    result = await site.deploy(bumped)
    assert result.ok, result.failures
    await site.converged(bumped)
    task = await site.store.get_task(result.task or 0)
    assert task is not None
    assert task.state == "done"
    first_end = next(n for n, e in enumerate(site.events) if e.kind == "deploy_finished")
    second = site.events[first_end + 1 :]
    assert len(await site.store.list_events(task.id)) == len(second)  # the whole task log

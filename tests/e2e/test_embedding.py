"""jobsite as a library inside someone else's event loop: asyncio or trio, never blocking
it, cancelled by the caller's own cancel scopes."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import anyio
import pytest

from jobsite.director import Director

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Site

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_a_full_deploy_runs_under_trio(site: Site) -> None:
    assert (await site.deploy()).ok
    man = site.manifest(stemcells=[{"alias": "default", "os": "ubuntu-jammy", "version": "2.0"}])
    assert (await site.deploy(man)).ok
    await site.converged(man)


async def test_an_asyncio_application_keeps_serving_while_it_deploys(
    site: Site, tmp_path: Path
) -> None:
    """A TCP echo service of the embedding application answers throughout a deploy whose
    cloud calls take time (the mock sleeps on the event loop; SQLite runs in threads)."""
    site.cpi.set_latency({"default": 0.005})

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gaps: list[float] = []
    done = asyncio.Event()

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not done.is_set():
            sent = time.monotonic()
            writer.write(b"ping\n")
            await writer.drain()
            assert await reader.readline() == b"ping\n"
            gaps.append(time.monotonic() - sent)
            await asyncio.sleep(0.005)
        writer.close()

    task = asyncio.create_task(client())
    try:
        result = await site.deploy()
    finally:
        done.set()
        await task
        server.close()
        await server.wait_closed()
    assert result.ok, result.failures
    assert len(gaps) >= 10  # the application kept answering during the deploy
    assert max(gaps) < 0.5  # and never waited on the deploy for long


async def test_the_callers_cancel_scope_cancels_a_deploy_and_a_rerun_converges(
    site: Site, tmp_path: Path
) -> None:
    site.cpi.set_latency({"default": 0.02})
    plan = await site.plan()
    with anyio.move_on_after(0.15) as scope:
        await site.director.deploy(plan)
    assert scope.cancelled_caught
    tasks = await site.store.list_tasks()
    assert tasks[0].state == "cancelled"
    site.cpi.set_latency({"default": 0})
    async with Director(site.config_for(tmp_path)) as again:
        rerun = await again.deploy(await again.plan(await again.request_for(_text(site))))
        assert rerun.ok, rerun.failures
        await site.consistent_in(again)


def _text(site: Site) -> str:
    import yaml

    return yaml.safe_dump(site.manifest())

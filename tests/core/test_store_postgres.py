"""The PostgreSQL store: passwords never shown, several directors sharing one database,
migrations that do not race, and a pool that survives a dropped connection.

Each test that needs the server works in a fresh schema (dropped after) and is skipped,
saying why, where no server answers at 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import time

import anyio
import pytest

from jobsite.errors import StoreError
from jobsite.store import SCHEMA_VERSION, Batch, DeploymentRecord, Store, mask_url, open_store

pytestmark = pytest.mark.anyio

PG_URL = os.environ.get("JOBSITE_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


@pytest.fixture
def schema(pg_schema: str) -> str:
    """A fresh schema (the shared ``pg_schema`` fixture), by the name these tests use."""
    return pg_schema


@pytest.fixture
def url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={schema}"


def admin_execute(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as admin:
        cursor = admin.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def wait_until_gone(application_name: str) -> None:
    """pg_terminate_backend only signals: wait until the backends have really exited."""
    deadline = time.monotonic() + 10
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    while admin_execute(query, (application_name,)) != [(0,)]:
        assert time.monotonic() < deadline, "terminated backends did not exit"
        time.sleep(0.01)


# --- no server needed ------------------------------------------------------------------------


def test_urls_are_shown_with_the_password_masked() -> None:
    assert mask_url("postgresql://ops:hunter22@db:5432/bosh") == "postgresql://ops:***@db:5432/bosh"
    assert mask_url("postgresql://db/bosh?user=ops&password=hunter22&sslmode=require") == (
        "postgresql://db/bosh?user=ops&password=***&sslmode=require"
    )
    assert mask_url("postgresql://ops@db/bosh") == "postgresql://ops@db/bosh"


async def test_a_server_that_does_not_answer_is_one_line_without_the_password(
    anyio_backend: str,
) -> None:
    with pytest.raises(StoreError) as info:
        await open_store("postgresql://ops:s3cret-pw@127.0.0.1:1/test")
    message = str(info.value)
    assert message.startswith("postgresql://ops:***@127.0.0.1:1/test: cannot connect: ")
    assert "s3cret-pw" not in message
    assert "\n" not in message


# --- with a server ---------------------------------------------------------------------------


async def test_a_store_from_a_newer_jobsite_is_refused(
    url: str, schema: str, anyio_backend: str
) -> None:
    async with open_store(url):
        pass
    admin_execute(f"INSERT INTO {schema}.schema_migrations VALUES (99, 'future', 0)")
    with pytest.raises(StoreError, match=r"schema is at version 99, newer than this jobsite"):
        await open_store(url)


async def test_directors_opening_a_fresh_database_at_once_migrate_it_once(
    url: str, schema: str, anyio_backend: str
) -> None:
    async def open_and_close() -> None:
        async with open_store(url) as store:
            assert await store.schema_version() == SCHEMA_VERSION

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(open_and_close)
    rows = admin_execute(f"SELECT version FROM {schema}.schema_migrations ORDER BY version")
    assert rows == [(v,) for v in range(1, SCHEMA_VERSION + 1)]  # each migration once


async def test_two_directors_contending_for_a_lock_one_wins(url: str, anyio_backend: str) -> None:
    async with open_store(url) as first, open_store(url) as second:
        winners: list[str] = []

        async def contend(store: Store, holder: str) -> None:
            if await store.acquire_lock("deploy:cf", holder, 30):
                winners.append(holder)

        async with anyio.create_task_group() as tg:
            for n in range(6):
                tg.start_soon(contend, (first, second)[n % 2], f"director-{n}")
        assert len(winners) == 1
        assert await second.release_lock("deploy:cf", winners[0])
        assert await first.acquire_lock("deploy:cf", "director-late", 30) is not None


async def test_connections_dropped_while_idle_are_replaced_unnoticed(
    url: str, schema: str, anyio_backend: str
) -> None:
    async with open_store(url) as store:
        await store.apply(Batch().put_deployment(DeploymentRecord(name="cf", manifest="{}")))
        admin_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (schema,),
        )
        wait_until_gone(schema)
        found = await store.get_deployment("cf")
        assert found is not None
        assert found.name == "cf"

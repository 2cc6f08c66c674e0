from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest

from jobsite.store import mask_url

if TYPE_CHECKING:
    from collections.abc import Iterator

POSTGRES_URL = os.environ.get("JOBSITE_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Core never uses asyncio-only APIs: every async core test runs on both backends."""
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server's URL (``JOBSITE_TEST_POSTGRES`` overrides it); every test
    that needs it is skipped, saying why, where no server answers."""
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        name = (
            "127.0.0.1:5432 (database test)"
            if "JOBSITE_TEST_POSTGRES" not in os.environ
            else mask_url(POSTGRES_URL)
        )
        pytest.skip(f"PostgreSQL at {name} does not answer: {' '.join(str(exc).split())}")
    return POSTGRES_URL


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema's name in the test database, dropped afterwards, so PostgreSQL tests
    can run side by side and leave nothing behind."""
    import psycopg

    name = f"jobsite_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")

"""The PostgreSQL engine: psycopg 3's synchronous API in worker threads, a small pool.

psycopg's async API is asyncio-only, and jobsite must run under trio as well, so the
blocking API runs in worker threads, as sqlite3 does. A ``CapacityLimiter`` bounds the
threads to the pool's size, so each thread always finds a connection: idle ones are reused,
broken ones dropped and replaced on the next call. psycopg is the ``postgres`` extra of
jobsite-core and is imported only when a PostgreSQL store is opened.

Several directors may share one database: locks are single atomic statements, config
uploads lock their table, and migrations take an advisory lock, so they never race.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

import anyio
import anyio.to_thread

from jobsite.errors import StoreError
from jobsite.store._dialect import POSTGRES, Tx
from jobsite.store._sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PostgresEngine", "postgres_store"]

T = TypeVar("T")

POOL_SIZE = 4
CONNECT_TIMEOUT = 10


class PostgresEngine:
    """Up to ``size`` psycopg connections, each used by one worker thread at a time."""

    dialect = POSTGRES

    def __init__(self, url: str, *, location: str, size: int = POOL_SIZE) -> None:
        self._url = url
        self._location = location
        self._size = size
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None
        self._closed = False

    @property
    def location(self) -> str:
        return self._location

    def _limit(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._size)
        return self._limiter

    async def run(self, fn: Callable[[Tx], T], *, write: bool) -> T:
        if self._closed:
            raise StoreError(f"{self.location}: the store is closed")
        return await anyio.to_thread.run_sync(self._call, fn, limiter=self._limit())

    async def aclose(self) -> None:
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        with anyio.CancelScope(shield=True):  # a cancelled caller must not leak connections
            for connection in idle:
                await anyio.to_thread.run_sync(connection.close, limiter=self._limit())

    # --- in a worker thread --------------------------------------------------------------

    def _call(self, fn: Callable[[Tx], T]) -> T:
        import psycopg

        while True:
            connection, reused = self._checkout()
            begun = False
            try:
                with connection.transaction():
                    begun = True
                    return fn(Tx(connection.cursor(), POSTGRES))
            except psycopg.Error as exc:
                if reused and not begun and connection.broken:
                    continue  # an idle connection died (a server restart): nothing ran, retry
                raise StoreError(f"{self.location}: {self._one_line(exc)}") from exc
            finally:
                self._checkin(connection)

    def _checkout(self) -> tuple[Any, bool]:
        """A connection, and whether it was idle in the pool (and so may have died)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                f"{self.location}: PostgreSQL support needs psycopg "
                "(pip install 'jobsite-core[postgres]')"
            ) from None
        try:
            connection = psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            )
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: cannot connect: {self._one_line(exc)}") from exc
        return connection, False

    def _checkin(self, connection: Any) -> None:
        if connection.closed or connection.broken or self._closed:
            connection.close()
            return
        with self._lock:
            self._idle.append(connection)

    def _one_line(self, exc: BaseException) -> str:
        """psycopg's message on one line, never showing the URL's password."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        password = urlsplit(self._url).password
        if password and len(password) >= 4:  # shorter ones would mangle ordinary words
            text = text.replace(password, "***").replace(unquote(password), "***")
        return text


def postgres_store(url: str, *, location: str, pool_size: int = POOL_SIZE) -> SqlStore:
    """A store on the PostgreSQL database at ``url`` (connections are made on first use)."""
    return SqlStore(PostgresEngine(url, location=location, size=pool_size))

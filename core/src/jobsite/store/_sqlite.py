"""The SQLite engine: one file, one connection, one worker thread at a time.

sqlite3 is a blocking library, so every call runs in a worker thread; a
``CapacityLimiter(1)`` makes the one connection used by one thread at a time (sqlite3
connections must not be used concurrently). The file is set up for a director:

- WAL journal, so readers in other processes are never blocked by a writer;
- ``synchronous=NORMAL``: in WAL mode a crash loses at most the last commits, never
  consistency, and commits are several times cheaper than with FULL;
- foreign keys on (SQLite leaves them off by default);
- a busy timeout, so several processes sharing the file (two CLI runs, a deploy and a
  ``jobsite tasks``) wait for each other's writes instead of failing at once;
- writes begin with ``BEGIN IMMEDIATE``: taking the write lock up front means two writers
  queue on the busy timeout instead of one failing when it upgrades a read to a write.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread

from jobsite.errors import StoreError
from jobsite.store._dialect import SQLITE, Tx
from jobsite.store._sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SqliteEngine", "sqlite_store"]

T = TypeVar("T")

BUSY_TIMEOUT = 30.0
"""Seconds a statement waits for another process's write lock before giving up."""


class SqliteEngine:
    """One sqlite3 connection, opened lazily in a worker thread."""

    dialect = SQLITE

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._connection: sqlite3.Connection | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._closed = False

    @property
    def location(self) -> str:
        return str(self.path)

    def _limit(self) -> anyio.CapacityLimiter:
        # Made on first use, inside the event loop that will use it.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        return self._limiter

    async def run(self, fn: Callable[[Tx], T], *, write: bool) -> T:
        if self._closed:
            raise StoreError(f"{self.location}: the store is closed")
        return await anyio.to_thread.run_sync(self._call, fn, write, limiter=self._limit())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._connection is not None:
            with anyio.CancelScope(shield=True):  # a cancelled caller must not leak the file
                await anyio.to_thread.run_sync(self._connection.close, limiter=self._limit())
            self._connection = None

    # --- in the worker thread ------------------------------------------------------------

    def _call(self, fn: Callable[[Tx], T], write: bool) -> T:
        connection = self._connection or self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = fn(Tx(connection.cursor(), SQLITE))
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
            connection.commit()
            return result
        except sqlite3.Error as exc:
            raise StoreError(f"{self.location}: {_one_line(exc)}") from exc

    def _connect(self) -> sqlite3.Connection:
        parent = self.path.parent
        if not parent.is_dir():
            raise StoreError(f"{self.location}: cannot open: the directory {parent} does not exist")
        if self.path.is_dir():
            raise StoreError(f"{self.location}: cannot open: it is a directory")
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # transactions are begun explicitly
                check_same_thread=False,  # used from worker threads, one at a time
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.location}: cannot open: {_one_line(exc)}") from exc
        try:
            self._enable_wal(connection)
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            connection.close()
            raise StoreError(f"{self.location}: cannot open: {_one_line(exc)}") from exc
        self._connection = connection
        return connection

    def _enable_wal(self, connection: sqlite3.Connection) -> None:
        """Switch the file to WAL. When two processes open one fresh file together, SQLite
        answers the switch with "database is locked" at once instead of waiting on the busy
        timeout, so wait here (this runs in a worker thread) until the timeout is spent."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                connection.execute("PRAGMA journal_mode = WAL").fetchall()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def sqlite_store(path: Path) -> SqlStore:
    """A store on the SQLite file ``path`` (created on first use; its directory must exist)."""
    return SqlStore(SqliteEngine(Path(path)))

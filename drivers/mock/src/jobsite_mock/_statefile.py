"""Persisting the simulated cloud to a file, so it outlives the process that changed it.

A real cloud keeps its VMs when the director is killed; crash tests need the mock to do the
same. After every change the whole world is written to a temporary file beside the state file,
fsynced, and renamed over it (``os.replace`` is atomic), then the directory is fsynced: a
reader, or a process started after a ``kill -9``, sees either the previous state or the new
one, never a torn file. A call returns only once its change is on disk.

Writes run in a worker thread and are serialized by a lock. Changes made while a write is in
flight are picked up by the next one, and a caller whose change an earlier write already
covered returns without writing (group commit): concurrent calls do not queue one write each.

One process at a time owns a state file; a new process takes it over by loading it.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from jobsite.errors import DriverError
from jobsite_mock._state import World, WorldSnapshot

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["StateFile"]


class StateFile:
    """One state file: loaded at construction, rewritten after each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = anyio.Lock()
        self._written = 0
        self._tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")

    def load(self) -> World:
        """The world the file holds (an empty one if there is no file yet). Synchronous: it
        runs once, when the driver is built, before any event loop work."""
        self._remove_stale_temporaries()
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return World()
        except OSError as exc:
            raise DriverError(f"state file {self.path} cannot be read: {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DriverError(f"state file {self.path} is not JSON: {exc}") from exc
        return World.from_json(data, str(self.path))

    async def save(self, world: World) -> None:
        """Write the world unless a write since ``world``'s last change already did."""
        wanted = world.generation
        async with self._lock:
            if self._written >= wanted:
                return
            generation, snapshot = world.generation, world.snapshot()
            await anyio.to_thread.run_sync(self._write, snapshot)
            self._written = generation

    def _write(self, snapshot: WorldSnapshot) -> None:
        data = json.dumps(snapshot.to_json(), separators=(",", ":"), sort_keys=True)
        try:
            with open(self._tmp, "w", encoding="utf-8") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(self._tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            raise DriverError(f"state file {self.path} cannot be written: {exc}") from exc
        _fsync_directory(self.path.parent)

    def _remove_stale_temporaries(self) -> None:
        """Remove temporary files of writers that died mid-write (their pid is gone)."""
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            pid = tmp.name[len(self.path.name) + 2 : -len(".tmp")]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    tmp.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); where directories cannot be opened, skip."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    fd = os.open(directory, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

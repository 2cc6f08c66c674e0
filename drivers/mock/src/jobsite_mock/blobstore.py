"""The mock blobstore: content-addressed blobs in memory, with the real contract's checks.

Ids are SHA-256 digests, so the store verifies what it is given (a wrong ``sha256`` stores
nothing) and what it hands out (``get`` re-hashes while streaming; :meth:`MockBlobstore.corrupt`
lets a test simulate bit rot to see that caught). A put becomes visible only once its last
chunk arrived and matched: a failed or cancelled put leaves nothing behind. Content is streamed
out in ``chunk_size`` pieces, so consumers that assume one chunk are caught too.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from jobsite.blobstore import BlobInfo, check_blob_id
from jobsite.errors import BlobNotFound, BlobstoreError, DigestMismatch, DriverError
from jobsite_mock._calls import CallLog, CallRunner
from jobsite_mock._faults import ArmedFault, Fault, FaultInjector
from jobsite_mock._latency import Latency, LatencySpec
from jobsite_mock._options import check_known, read_positive_int

if TYPE_CHECKING:
    from jobsite import DriverContext

__all__ = ["BLOBSTORE_METHODS", "BLOBSTORE_OPTIONS", "MockBlobstore"]

BLOBSTORE_METHODS = ("put", "get", "exists", "delete")
BLOBSTORE_OPTIONS = ("latency", "faults", "chunk_size")
BLOBSTORE_ERRORS: Mapping[str, type[DriverError]] = {
    cls.__name__: cls for cls in (BlobstoreError, BlobNotFound, DigestMismatch)
}
DEFAULT_CHUNK_SIZE = 64 * 1024


def _default_error(method: str) -> type[DriverError]:
    return BlobstoreError


async def _close(iterator: AsyncIterator[bytes]) -> None:
    """Close a producer we stopped reading (an async generator left open would be finalized
    by the garbage collector, at an unknown time, with its ``finally`` blocks unrun)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()


class _Stream(AsyncIterator[bytes]):
    """A stored blob streamed in chunks, re-hashed on the way: ``DigestMismatch`` at the end
    if the content no longer matches its id. A plain iterator, not an async generator, so a
    consumer that stops early leaves nothing to finalize."""

    def __init__(self, blob_id: str, content: bytes, chunk_size: int) -> None:
        self._blob_id = blob_id
        self._view = memoryview(content)
        self._chunk_size = chunk_size
        self._offset = 0
        self._digest = hashlib.sha256()
        self._done = False

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        if self._offset >= len(self._view):
            self._done = True
            actual = self._digest.hexdigest()
            if actual != self._blob_id:
                raise DigestMismatch(f"blob {self._blob_id} has content with digest {actual}")
            raise StopAsyncIteration
        chunk = bytes(self._view[self._offset : self._offset + self._chunk_size])
        self._offset += len(chunk)
        self._digest.update(chunk)
        return chunk


class MockBlobstore:
    """An in-memory :class:`jobsite.blobstore.Blobstore`."""

    def __init__(
        self,
        *,
        name: str = "mock",
        latency: LatencySpec | None = None,
        faults: Sequence[Fault | Mapping[str, Any]] = (),
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.name = name
        self._faults = FaultInjector(name, BLOBSTORE_METHODS, BLOBSTORE_ERRORS, _default_error)
        self._faults.parse(faults)
        latency_ = Latency.parse(latency, BLOBSTORE_METHODS, name)
        self._runner = CallRunner(name, latency_, self._faults)
        self._chunk_size = read_positive_int(chunk_size, name, "chunk_size")
        self._blobs: dict[str, bytes] = {}

    @classmethod
    def from_context(cls, context: DriverContext) -> MockBlobstore:
        """The factory registered as ``mock``."""
        options = context.options
        check_known(options, BLOBSTORE_OPTIONS, context.name)
        return cls(
            name=context.name,
            latency=options.get("latency"),
            faults=options.get("faults", ()),
            chunk_size=options.get("chunk_size", DEFAULT_CHUNK_SIZE),
        )

    # --- for tests --------------------------------------------------------------------------

    @property
    def calls(self) -> CallLog:
        return self._runner.log

    def inject(self, fault: Fault) -> ArmedFault:
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_latency(self, latency: LatencySpec) -> None:
        self._runner.latency = Latency.parse(latency, BLOBSTORE_METHODS, self.name)

    def blob_ids(self) -> frozenset[str]:
        """The ids stored now."""
        return frozenset(self._blobs)

    def corrupt(self, blob_id: str, content: bytes = b"bit rot") -> None:
        """Replace a stored blob's content behind the store's back (a disk gone bad), so a
        test can see ``get`` refuse it."""
        if blob_id not in self._blobs:
            raise BlobNotFound(f"blob {blob_id} not found", driver=self.name, call="corrupt")
        self._blobs[blob_id] = bytes(content)

    # --- the blobstore protocol -------------------------------------------------------------

    async def put(self, chunks: AsyncIterable[bytes], *, sha256: str | None = None) -> BlobInfo:
        async def body() -> BlobInfo:
            if sha256 is not None:
                check_blob_id(sha256)
            digest = hashlib.sha256()
            parts: list[bytes] = []
            iterator = aiter(chunks)
            try:
                async for chunk in iterator:
                    if not isinstance(chunk, bytes | bytearray | memoryview):
                        raise BlobstoreError(f"chunks must be bytes, got {type(chunk).__name__}")
                    part = bytes(chunk)
                    digest.update(part)
                    parts.append(part)
            finally:
                await _close(iterator)
            blob_id = digest.hexdigest()
            if sha256 is not None and blob_id != sha256:
                raise DigestMismatch(f"content has digest {blob_id}, expected {sha256}")
            content = b"".join(parts)
            self._blobs.setdefault(blob_id, content)  # already stored: same content, same id
            return BlobInfo(blob_id=blob_id, size=len(content))

        return await self._runner.run("put", {"sha256": sha256}, body)

    def get(self, blob_id: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._open(blob_id)

    @asynccontextmanager
    async def _open(self, blob_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        async def body() -> _Stream:
            check_blob_id(blob_id)
            content = self._blobs.get(blob_id)
            if content is None:
                raise BlobNotFound(f"blob {blob_id} not found")
            return _Stream(blob_id, content, self._chunk_size)

        yield await self._runner.run("get", {"blob_id": blob_id}, body)

    async def exists(self, blob_id: str) -> bool:
        async def body() -> bool:
            return check_blob_id(blob_id) in self._blobs

        return await self._runner.run("exists", {"blob_id": blob_id}, body)

    async def delete(self, blob_id: str) -> None:
        async def body() -> None:
            if self._blobs.pop(check_blob_id(blob_id), None) is None:
                raise BlobNotFound(f"blob {blob_id} not found")

        await self._runner.run("delete", {"blob_id": blob_id}, body)

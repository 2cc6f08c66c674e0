"""The blobstore protocol: content-addressed blobs, streamed, digest-checked.

A blob's id is the SHA-256 of its content (lowercase hex), so the same package compiled twice
is stored once and a blob can be verified by anyone who holds its id. Content always flows as
chunks (``AsyncIterable[bytes]``), never whole files in memory.

Contract (the conformance suite checks it):

- ``put`` is atomic: until it returns, no reader sees a partial blob; a failed or cancelled put
  leaves nothing behind. Putting content that is already stored is cheap and returns the same id.
- ``get`` verifies the content against the id while it streams and raises
  :class:`~jobsite.errors.DigestMismatch` at the end if it does not match.
- an unknown id raises :class:`~jobsite.errors.BlobNotFound` from ``get`` and ``delete``;
  ``exists`` answers ``False``.
- ids are validated: anything but 64 lowercase hex digits is refused (no path escapes).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from jobsite.errors import BlobstoreError

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator
    from contextlib import AbstractAsyncContextManager

__all__ = ["BlobInfo", "Blobstore", "check_blob_id"]

_BLOB_ID = re.compile(r"[0-9a-f]{64}")


def check_blob_id(blob_id: str) -> str:
    """Return ``blob_id`` if it is a well-formed SHA-256 id, else raise ``BlobstoreError``."""
    if not isinstance(blob_id, str) or not _BLOB_ID.fullmatch(blob_id):
        raise BlobstoreError(f"invalid blob id {blob_id!r}: expected 64 lowercase hex digits")
    return blob_id


@attrs.frozen(kw_only=True)
class BlobInfo:
    """A stored blob: its id (the SHA-256 of its content) and size in bytes."""

    blob_id: str
    size: int

    @property
    def sha256(self) -> str:
        """The content digest, which is also the id."""
        return self.blob_id


@runtime_checkable
class Blobstore(Protocol):
    """Where packages, compiled packages and rendered jobs live between director and VMs."""

    async def put(self, chunks: AsyncIterable[bytes], *, sha256: str | None = None) -> BlobInfo:
        """Store the content ``chunks`` yields. With ``sha256``, refuse (``DigestMismatch``,
        nothing stored) content that does not match it."""
        ...

    def get(self, blob_id: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Open a blob for streaming: ``async with store.get(id) as chunks: async for c in
        chunks``. Unknown id: ``BlobNotFound`` on entering."""
        ...

    async def exists(self, blob_id: str) -> bool:
        """Whether the blob is stored."""
        ...

    async def delete(self, blob_id: str) -> None:
        """Remove a blob. Unknown id: ``BlobNotFound``."""
        ...

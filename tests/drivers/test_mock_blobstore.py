"""The mock blobstore: content-addressed, digest-checked, atomic, streamed."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import anyio
import pytest

from jobsite.blobstore import Blobstore
from jobsite.errors import BlobNotFound, BlobstoreError, DigestMismatch
from jobsite_mock import Fault, MockBlobstore, OptionError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read(store: MockBlobstore, blob_id: str) -> list[bytes]:
    async with store.get(blob_id) as stream:
        return [chunk async for chunk in stream]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_put_get_exists_delete_round_trip() -> None:
    store = MockBlobstore(chunk_size=4)
    assert isinstance(store, Blobstore)
    info = await store.put(chunks(b"hello ", b"world"))
    assert info.blob_id == sha(b"hello world") == info.sha256
    assert info.size == 11
    assert await store.exists(info.blob_id)
    assert await read(store, info.blob_id) == [b"hell", b"o wo", b"rld"]
    await store.delete(info.blob_id)
    assert not await store.exists(info.blob_id)
    assert store.blob_ids() == frozenset()


async def test_same_content_is_stored_once_under_the_same_id() -> None:
    store = MockBlobstore()
    first = await store.put(chunks(b"abc"))
    second = await store.put(chunks(b"a", b"bc"), sha256=sha(b"abc"))
    assert first == second
    assert len(store.blob_ids()) == 1


async def test_a_wrong_digest_stores_nothing() -> None:
    store = MockBlobstore()
    with pytest.raises(DigestMismatch, match="expected"):
        await store.put(chunks(b"abc"), sha256=sha(b"abd"))
    assert store.blob_ids() == frozenset()


async def test_a_cancelled_put_stores_nothing() -> None:
    store = MockBlobstore()

    async def slow() -> AsyncIterator[bytes]:
        yield b"first half"
        await anyio.sleep(10)
        yield b"second half"

    with anyio.move_on_after(0.01):
        await store.put(slow())
    assert store.blob_ids() == frozenset()
    assert store.calls[-1].error == "cancelled"


async def test_unknown_and_malformed_ids() -> None:
    store = MockBlobstore()
    missing = sha(b"never stored")
    with pytest.raises(BlobNotFound, match=missing):
        await read(store, missing)
    with pytest.raises(BlobNotFound):
        await store.delete(missing)
    assert not await store.exists(missing)
    for bad in ("../etc/passwd", missing.upper(), missing[:-1]):
        with pytest.raises(BlobstoreError, match="invalid blob id"):
            await store.exists(bad)
        with pytest.raises(BlobstoreError, match="invalid blob id"):
            await read(store, bad)
    with pytest.raises(BlobstoreError, match="invalid blob id"):
        await store.put(chunks(b"x"), sha256="not-a-digest")


async def test_get_verifies_content_while_streaming() -> None:
    store = MockBlobstore(chunk_size=2)
    info = await store.put(chunks(b"precious"))
    store.corrupt(info.blob_id, b"rotten!!")
    got: list[bytes] = []

    async def drain() -> None:
        async with store.get(info.blob_id) as stream:
            async for chunk in stream:
                got.append(chunk)

    with pytest.raises(DigestMismatch, match=info.blob_id):
        await drain()
    assert b"".join(got) == b"rotten!!"  # streamed, then refused at the end


async def test_a_consumer_may_stop_reading_early() -> None:
    store = MockBlobstore(chunk_size=1)
    info = await store.put(chunks(b"abcdef"))
    async with store.get(info.blob_id) as stream:
        async for chunk in stream:
            assert chunk == b"a"
            break


async def test_non_bytes_chunks_are_refused() -> None:
    store = MockBlobstore()

    async def text() -> AsyncIterator[str]:
        yield "not bytes"

    with pytest.raises(BlobstoreError, match="must be bytes"):
        await store.put(text())  # type: ignore[arg-type]
    assert store.blob_ids() == frozenset()


async def test_faults_and_latency_apply_to_the_blobstore() -> None:
    store = MockBlobstore(
        faults=[{"method": "get", "nth": 1, "error": "BlobstoreError", "message": "503"}],
        latency={"put": 0.01},
    )
    info = await store.put(chunks(b"x"))
    with pytest.raises(BlobstoreError, match="mock get: 503"):
        await read(store, info.blob_id)
    assert await read(store, info.blob_id) == [b"x"]
    store.inject(Fault(method="put", every=True, error="DigestMismatch"))
    with pytest.raises(DigestMismatch):
        await store.put(chunks(b"y"))
    assert [c.method for c in store.calls] == ["put", "get", "get", "put"]


def test_bad_options_are_refused() -> None:
    with pytest.raises(OptionError, match="chunk_size"):
        MockBlobstore(chunk_size=0)
    with pytest.raises(OptionError, match="unknown method 'upload'"):
        MockBlobstore(latency={"upload": 1})

"""The cloud and runtime configs a plan uses when none are given: the store's newest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite.config import Document, parse_yaml

if TYPE_CHECKING:
    from jobsite.store import Store

__all__ = ["stored_configs"]


async def stored_configs(store: Store, kind: str) -> tuple[list[Document], tuple[int, ...]]:
    """The newest version of every ``kind`` config (``cloud``, ``runtime``) in the store, as
    documents named for errors (``cloud config 'default' (version 3)``), and their ids, which
    a deploy records with the deployment."""
    records = await store.list_configs(kind)
    documents = [
        Document(
            f"{kind} config {r.name!r} (version {r.id})",
            parse_yaml(r.content, document=f"{kind} config {r.name!r}"),
        )
        for r in records
    ]
    return documents, tuple(r.id for r in records)

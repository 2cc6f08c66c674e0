"""Choosing instances for agent failure injection: ``web``, ``web/0``, ``web/<id>``, ``*``.

Tests do not know the agent ids a director picks (they are fresh UUIDs), but they know the
instance they want to fail. An agent's instance is read from its applied spec once there is
one (``job.name``, ``index``, ``id``), and before that from the VM's metadata, which BOSH sets
right after ``create_vm`` (``instance_group``, ``index``, ``id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Identity", "Selector", "identity_of"]


@attrs.frozen
class Identity:
    """Which instance an agent serves, as far as is known."""

    group: str | None = None
    index: str | None = None
    id: str | None = None


def identity_of(spec: Mapping[str, Any] | None, metadata: Mapping[str, str]) -> Identity:
    """The agent's instance: from the applied spec, else from the VM's metadata."""
    if spec:
        job = spec.get("job")
        group = job.get("name") if isinstance(job, Mapping) else job
        group = group if isinstance(group, str) else spec.get("name")
        index = spec.get("index")
        return Identity(
            group=group if isinstance(group, str) else None,
            index=None if index is None else str(index),
            id=spec.get("id") if isinstance(spec.get("id"), str) else None,
        )
    return Identity(
        group=metadata.get("instance_group") or metadata.get("job"),
        index=metadata.get("index"),
        id=metadata.get("id"),
    )


@attrs.frozen
class Selector:
    """``*`` (every instance), ``group`` (every instance of it), ``group/index`` or
    ``group/id`` (one instance)."""

    group: str
    member: str | None = None

    @classmethod
    def parse(cls, text: str) -> Selector:
        group, _, member = text.partition("/")
        return cls(group, member or None)

    def matches(self, who: Identity) -> bool:
        if self.group == "*":
            return True
        if who.group != self.group:
            return False
        return self.member is None or self.member in (who.index, who.id)

"""JSON columns and timestamps: how values cross between records and rows.

Records are immutable all the way down, so JSON read from a row is *frozen*: objects become
read-only mappings and arrays become tuples. Rows store JSON as text (the same column type on
SQLite and PostgreSQL) and times as seconds since the epoch in a double, which compare and
index the same way in both databases and never depend on a collation or a time zone setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

__all__ = ["dumps", "freeze", "freeze_mapping", "from_epoch", "loads", "to_epoch", "utcnow"]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_frozen(value: Any) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is MappingProxyType:
        return all(type(k) is str and _is_frozen(v) for k, v in value.items())
    if kind is tuple:
        return all(_is_frozen(v) for v in value)
    return False


def freeze(value: Any) -> Any:
    """A deep, read-only copy of a JSON value: mappings become read-only, lists tuples.

    A value that is frozen already (as everything read from a row is) is returned as it is,
    after a check by exact types: records are built from rows by the hundred thousand, and
    copying what cannot change would double the cost of reading a large deployment.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if (kind is MappingProxyType or kind is tuple) and _is_frozen(value):
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """:func:`freeze` for fields that hold a JSON object (None becomes an empty one)."""
    frozen: Mapping[str, Any] = freeze(value or {})
    return frozen


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces) so equal values store as equal text."""
    if not value and isinstance(value, Mapping):  # most cloud properties and envs: fast path
        return "{}"
    return json.dumps(value, default=_plain, sort_keys=True, separators=(",", ":"))


def _freeze_json(value: Any) -> Any:
    """:func:`freeze` for what ``json.loads`` returns (only dicts, lists and scalars), checked
    by exact type: several times faster than the ABC checks ``freeze`` needs, and a store
    read of a large deployment decodes hundreds of thousands of these."""
    kind = type(value)
    if kind is dict:
        return MappingProxyType(
            {k: (v if type(v) not in _CONTAINERS else _freeze_json(v)) for k, v in value.items()}
        )
    if kind is list:
        return tuple(v if type(v) not in _CONTAINERS else _freeze_json(v) for v in value)
    return value


_CONTAINERS = (dict, list)
_EMPTY: Any = MappingProxyType({})


def loads(text: str | None) -> Any:
    """Frozen JSON from a column; NULL reads as an empty object."""
    if not text or text == "{}":
        return _EMPTY
    return _freeze_json(json.loads(text))


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_epoch(value: datetime | None) -> float | None:
    """A timestamp as stored: seconds since the epoch (naive times are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)

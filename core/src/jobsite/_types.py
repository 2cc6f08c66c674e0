"""Small shared type aliases for values that cross the driver boundary as BOSH writes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

__all__ = ["CloudProperties", "JsonMapping", "JsonValue"]

JsonValue: TypeAlias = Any
"""A value that JSON (and so an external CPI's wire format) can carry."""

JsonMapping: TypeAlias = Mapping[str, Any]
"""A JSON object: cloud properties, network settings, env, metadata."""

CloudProperties: TypeAlias = Mapping[str, Any]
"""Opaque, CPI-specific settings; jobsite merges and compares them but never reads inside."""

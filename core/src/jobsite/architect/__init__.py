"""The architect: a deployment's configs, and what the store remembers, drawn into a
blueprint of materials. Pure: no I/O."""

from __future__ import annotations

from jobsite.architect._addresses import AddressExhausted
from jobsite.architect._draw import ArchitectInputs, draw_blueprint
from jobsite.architect._materials import (
    Blueprint,
    DiskMaterial,
    GroupMaterial,
    InstanceMaterial,
    JobMaterial,
    NetworkPlacement,
    VmMaterial,
)
from jobsite.architect._placement import KnownInstance

__all__ = [
    "AddressExhausted",
    "ArchitectInputs",
    "Blueprint",
    "DiskMaterial",
    "GroupMaterial",
    "InstanceMaterial",
    "JobMaterial",
    "KnownInstance",
    "NetworkPlacement",
    "VmMaterial",
    "draw_blueprint",
]

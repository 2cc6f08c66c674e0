"""The inspector: the state store and the cloud surveyed into a floorplan. Reads only."""

from __future__ import annotations

from jobsite.inspector._floorplan import Drift, DriftKind, Floorplan, known_instances
from jobsite.inspector._survey import DEFAULT_CHECK_CONCURRENCY, survey

__all__ = [
    "DEFAULT_CHECK_CONCURRENCY",
    "Drift",
    "DriftKind",
    "Floorplan",
    "known_instances",
    "survey",
]

"""What every driver factory receives: its name, its options and the director around it.

A plugin registers a *factory* per name (``register("mock", MockCpi.from_context)``); the
director calls it with a :class:`DriverContext` only when a config selects that name, so a
broken or heavy driver costs nothing until it is used. Agents reach VMs made by a CPI and fetch
blobs from a blobstore, so their context carries those two as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import attrs

from jobsite.blobstore import Blobstore
from jobsite.cpi import Cpi

__all__ = ["DriverContext", "Factory"]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class DriverContext:
    """Everything a driver factory may use to build its driver."""

    name: str
    """The name the config chose this driver by."""
    options: Mapping[str, Any] = attrs.field(factory=dict)
    """The driver's own options from the director config, unvalidated: the driver owns them."""
    home: Path | None = None
    """The director's data directory (``JOBSITE_HOME``), for drivers that keep files."""
    cpi: Cpi | None = None
    """For agents: the CPI whose VMs they reach."""
    blobstore: Blobstore | None = None
    """For agents: where compiled packages and rendered jobs are fetched from and put to."""


Factory: TypeAlias = Callable[[DriverContext], T]

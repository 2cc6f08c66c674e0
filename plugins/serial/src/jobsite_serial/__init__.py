"""jobsite-serial: the ``serial`` update strategy (BOSH's ``vm_strategy: delete-create``).

Unneeded instances are deleted first; then each instance group, in manifest order, updates
its canaries and then a rolling pool of ``max_in_flight``, each instance stopped, its VM replaced
where needed, its jobs applied and started. Registered under the name ``serial`` by
:mod:`jobsite_serial.plugin`.

Names are imported on first use, so loading the plugin costs nothing (not even importing
``jobsite.foreman``) until a deployment selects the strategy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobsite_serial.strategy import (
        DEFAULT_CANARIES,
        DEFAULT_MAX_IN_FLIGHT,
        DELETE_STAGE,
        SerialStrategy,
        serial_plan,
    )

__all__ = [
    "DEFAULT_CANARIES",
    "DEFAULT_MAX_IN_FLIGHT",
    "DELETE_STAGE",
    "SerialStrategy",
    "serial_plan",
]


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module 'jobsite_serial' has no attribute {name!r}")
    return getattr(importlib.import_module("jobsite_serial.strategy"), name)


def __dir__() -> list[str]:
    return sorted(__all__)

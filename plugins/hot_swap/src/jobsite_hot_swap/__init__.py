"""jobsite-hot-swap: the ``hot_swap`` update strategy (BOSH's ``vm_strategy:
create-swap-delete``, for the whole deploy at once).

Every new VM is created up front, before any running instance is touched; then each
instance group, in manifest order, swaps its canaries and then the rest ``max_in_flight`` at a time
onto their new VMs; the old VMs are deleted last. Registered under the name ``hot_swap`` by
:mod:`jobsite_hot_swap.plugin`.

Names are imported on first use, so loading the plugin costs nothing (not even importing
``jobsite.foreman``) until a deployment selects the strategy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobsite_hot_swap.strategy import (
        CLEANUP_STAGE,
        CREATE_STAGE,
        DEFAULT_CREATE_MAX_IN_FLIGHT,
        DELETE_STAGE,
        HotSwapStrategy,
        hot_swap_plan,
    )

__all__ = [
    "CLEANUP_STAGE",
    "CREATE_STAGE",
    "DEFAULT_CREATE_MAX_IN_FLIGHT",
    "DELETE_STAGE",
    "HotSwapStrategy",
    "hot_swap_plan",
]


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module 'jobsite_hot_swap' has no attribute {name!r}")
    return getattr(importlib.import_module("jobsite_hot_swap.strategy"), name)


def __dir__() -> list[str]:
    return sorted(__all__)

"""Registers the ``hot_swap`` strategy under the name ``hot_swap``.

Found through the entry point ``hot_swap`` of the group ``jobsite``. The strategy's module
(and with it ``jobsite.foreman``) is imported only when a deployment selects the strategy,
so loading plugins for ``jobsite --help`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite import DriverContext, Register, hookimpl

if TYPE_CHECKING:
    from jobsite_hot_swap.strategy import HotSwapStrategy

__all__ = ["jobsite_register_strategies"]


def _hot_swap(context: DriverContext) -> HotSwapStrategy:
    """The strategy, with its options read from ``context.options``.

    Its own options (``create_max_in_flight``) are checked here, so a bad value fails when
    the deployment is planned, naming the option. Options it does not know are ignored
    rather than refused: the director hands its strategy options to whichever strategy a
    deployment selects, so an option meant for another strategy must not stop this one.
    """
    from jobsite_hot_swap.strategy import HotSwapStrategy

    return HotSwapStrategy.from_options(context.options)


@hookimpl
def jobsite_register_strategies(register: Register) -> None:
    """BOSH's ``create-swap-delete`` update: new VMs first, swapped in a rolling pool."""
    register("hot_swap", _hot_swap)

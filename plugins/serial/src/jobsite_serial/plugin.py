"""Registers the ``serial`` strategy under the name ``serial``.

Found through the entry point ``serial`` of the group ``jobsite``. The strategy's module (and
with it ``jobsite.foreman``) is imported only when a deployment selects the strategy, so
loading plugins for ``jobsite --help`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite import DriverContext, Register, hookimpl

if TYPE_CHECKING:
    from jobsite_serial.strategy import SerialStrategy

__all__ = ["jobsite_register_strategies"]


def _serial(context: DriverContext) -> SerialStrategy:
    """The strategy. ``context.options`` are ignored rather than refused: the director hands
    its strategy options to whichever strategy a deployment selects, so options written for
    another strategy (``hot_swap``'s) must not stop a deployment that asks for ``serial``."""
    from jobsite_serial.strategy import SerialStrategy

    return SerialStrategy()


@hookimpl
def jobsite_register_strategies(register: Register) -> None:
    """BOSH's ``delete-create`` update: canaries, a pool of ``max_in_flight``, serial groups."""
    register("serial", _serial)

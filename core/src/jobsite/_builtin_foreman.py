"""Core's diff, registered as a plugin: a third party's ``jobsite_foreman_remodels`` runs
before it and can add remodels next to it; disabling it (``JOBSITE_DISABLE_PLUGINS``) leaves a
foreman that plans only what plugins ask for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite.hookspecs import hookimpl

if TYPE_CHECKING:
    from jobsite.architect import Blueprint
    from jobsite.foreman import Limitations, Remodel
    from jobsite.inspector import Floorplan

__all__ = ["jobsite_foreman_remodels"]


@hookimpl(trylast=True)
def jobsite_foreman_remodels(
    blueprint: Blueprint, floorplan: Floorplan, limitations: Limitations
) -> list[Remodel]:
    """The remodels that turn the floorplan into the blueprint (see ``jobsite.foreman``)."""
    from jobsite.foreman import diff

    return diff(blueprint, floorplan, limitations)

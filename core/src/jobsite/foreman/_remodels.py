"""Remodels: the actions that change the floorplan, each with the reasons it is needed.

A remodel is one step on one thing (a VM, a disk, an instance's jobs), small enough that a
strategy can order it freely: ``serial`` deletes an instance's old VM before creating the new
one, ``hot_swap`` creates the new one first, from the same remodels. Reasons explain and never
steer: the assembler acts on ``action`` and the ids, never on ``reasons``.

Remodels refer to VMs and disks by their store ids (``vm``, ``disk``). Ids of VMs and disks
the plan creates are chosen by the foreman, deterministically from the plan's seed, so a plan
saved to a file names the same VMs when it is deployed later, and a crash half-way through
leaves rows the next run recognises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = ["ACTIONS", "Reason", "Remodel", "Skipped"]

#: Core's actions, in the order an instance usually goes through them. Plugins may add their
#: own (an assembler hook carries them out); the names below are reserved.
ACTIONS: Final = (
    "compile_package",
    "create_vm",
    "stop",
    "detach_disk",
    "delete_vm",
    "swap",
    "create_disk",
    "attach_disk",
    "migrate_disk",
    "orphan_disk",
    "delete_disk",
    "apply",
    "start",
    "delete_instance",
)


def _frozen_details(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


@attrs.frozen(kw_only=True)
class Reason:
    """Why a remodel is needed: a stable ``code`` for machines and a ``message`` for people.

    ``details`` holds the facts behind the message (``old``/``new`` values, the ``keys`` that
    differ). It never holds the values of properties, env or cloud properties: those may come
    from secret variables, so only their key paths are named.
    """

    code: str
    message: str
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_details, hash=False)

    def __str__(self) -> str:
        return self.message


@attrs.frozen(kw_only=True)
class Remodel:
    """One action on one subject, with its reasons.

    ``id`` is unique within a plan and stable across plans of the same inputs:
    ``<instance group>/<instance uuid>:<action>[:<vm or disk id>]``.
    """

    id: str
    action: str
    deployment: str
    instance_group: str | None = None
    instance: str | None = None
    """The instance's uuid (None for deployment-wide remodels such as compiling a package)."""
    index: int | None = None
    """The instance's index, for people (``web/2``)."""
    reasons: tuple[Reason, ...] = ()
    vm: str | None = None
    """The store id of the VM acted on (created, stopped, deleted, attached to)."""
    disk: str | None = None
    """The store id of the disk acted on (created, attached, detached, orphaned)."""
    source_disk: str | None = None
    """``migrate_disk``: the disk whose contents move to ``disk``."""
    cid: str | None = None
    """The cloud id of the existing VM or disk acted on, when it has one (for people and for
    deleting it)."""
    material: Any = None
    """What to build: the :class:`~jobsite.architect.VmMaterial` of a ``create_vm``, the
    :class:`~jobsite.architect.DiskMaterial` of a ``create_disk``, the instance's job
    materials (a tuple) for an ``apply``."""
    options: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    """Small action settings: ``{"drain": False}`` for a ``stop`` under ``--skip-drain``,
    ``{"agent_id": ...}`` for a ``create_vm``."""

    @property
    def instance_name(self) -> str | None:
        """``group/uuid``, as BOSH names instances (None without an instance)."""
        if self.instance is None:
            return None
        return f"{self.instance_group}/{self.instance}"

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, in order."""
        return tuple(r.code for r in self.reasons)


@attrs.frozen(kw_only=True)
class Skipped:
    """A remodel the plan leaves out, and why: an ignored instance, a plugin's veto."""

    remodel: Remodel
    reason: Reason
    by: str = "jobsite"
    """Who left it out: ``jobsite`` for limitations, otherwise the vetoing plugin's name."""

"""What every update strategy draws the same way: units of work and the groups' stages.

Strategies differ in what an instance does inside its stage (delete first, or create first
and swap); they agree, with BOSH, on how a deployment's instance groups are laid out: each
group's canaries, then the rest ``max_in_flight`` at a time as a rolling pool, groups in
manifest order except that consecutive ``serial: false`` groups run side by side. That
layout lives here, in core's public API, so two strategy plugins (which may import only
core) draw it alike without copying it.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import attrs

from jobsite.foreman._construction import GroupUpdate, Stage
from jobsite.foreman._remodels import Remodel

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from jobsite.config import WatchTime

__all__ = [
    "DEFAULT_CANARIES",
    "DEFAULT_MAX_IN_FLIGHT",
    "Unit",
    "draw_groups",
    "units",
]

DEFAULT_CANARIES = 1
"""Canaries when neither the group nor the deployment says (one, so a bad change is caught
on one instance before it reaches the rest)."""

DEFAULT_MAX_IN_FLIGHT = 1
"""Instances updated at once when neither the group nor the deployment says."""


@attrs.frozen
class Unit:
    """One instance's remodels (or one remodel that has no instance), in the order given."""

    remodels: tuple[Remodel, ...]

    @property
    def group(self) -> str | None:
        return self.remodels[0].instance_group

    def is_unneeded(self, groups: frozenset[str]) -> bool:
        """Whether the unit belongs with the deletions that come before any group: the
        instance is being deleted, or the remodel belongs to no instance (a leftover VM), to
        no group, or to a group no longer in the manifest (``groups``)."""
        return any(
            r.action == "delete_instance"
            or r.instance is None
            or r.instance_group is None
            or r.instance_group not in groups
            for r in self.remodels
        )

    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.remodels)

    def edges(self) -> Iterable[tuple[str, str]]:
        """The remodels chained, each after the one given before it."""
        return ((a.id, b.id) for a, b in itertools.pairwise(self.remodels))


def units(remodels: Sequence[Remodel]) -> list[Unit]:
    """``remodels`` gathered by instance, instances in the order they first appear.

    The diff gives each instance's remodels together, but a plugin may add one for an
    instance later in the list; it still belongs to that instance, after the others.
    """
    by_key: dict[tuple[str, str], list[Remodel]] = {}
    for remodel in remodels:
        if remodel.instance is not None:
            key = ("instance", remodel.instance)
        else:
            key = ("remodel", remodel.id)
        by_key.setdefault(key, []).append(remodel)
    return [Unit(tuple(rs)) for rs in by_key.values()]


Piece = tuple[str, ...]
"""One instance's remodel ids as its group's stage holds them, in order."""


def _window(watch: WatchTime | None) -> tuple[int, int] | None:
    return None if watch is None else (watch.minimum, watch.maximum)


def _ids(pieces: Iterable[Piece]) -> tuple[str, ...]:
    return tuple(rid for piece in pieces for rid in piece)


def _group_stages(
    group: GroupUpdate, pieces: Sequence[Piece], after: tuple[str, ...]
) -> list[Stage]:
    """One group's canaries, then the rest as a rolling pool of ``max_in_flight``.

    ``max_in_flight`` is resolved against the group's size in the manifest, as BOSH resolves
    a percentage, so ``50%`` of a 4-instance group is 2 even when only 3 instances change.
    Canaries run at most ``max_in_flight`` at a time, as BOSH feeds them through the same
    pool of threads as the rest.
    """
    if not pieces:
        return []
    update = group.update
    canaries = min(
        len(pieces), max(0, DEFAULT_CANARIES if update.canaries is None else update.canaries)
    )
    in_flight = (
        DEFAULT_MAX_IN_FLIGHT
        if update.max_in_flight is None
        else update.max_in_flight.resolve(group.instances)
    )
    stages: list[Stage] = []
    if canaries:
        stages.append(
            Stage(
                name=f"{group.group}: canaries",
                remodels=_ids(pieces[:canaries]),
                after=after,
                kind="canary",
                instance_group=group.group,
                max_in_flight=min(canaries, in_flight),
                watch_time=_window(update.canary_watch_time),
            )
        )
    rest = pieces[canaries:]
    if rest:
        stages.append(
            Stage(
                name=f"{group.group}: update",
                remodels=_ids(rest),
                after=(stages[-1].name,) if stages else after,
                kind="update",
                instance_group=group.group,
                max_in_flight=in_flight,
                watch_time=_window(update.update_watch_time),
            )
        )
    return stages


def _serial(group: GroupUpdate) -> bool:
    """Whether the group waits for the one before it (BOSH's default: it does)."""
    return group.update.serial is not False


def _runs(groups: Sequence[GroupUpdate]) -> list[list[GroupUpdate]]:
    """Consecutive groups with the same ``serial``, as BOSH partitions them.

    Groups that change nothing still split runs, as they do in BOSH: ``a`` (not serial),
    ``b`` (serial), ``c`` (not serial) never run ``a`` beside ``c``.
    """
    runs: list[list[GroupUpdate]] = []
    for group in groups:
        if runs and _serial(runs[-1][-1]) == _serial(group):
            runs[-1].append(group)
        else:
            runs.append([group])
    return runs


def draw_groups(
    groups: Sequence[GroupUpdate], pieces: Mapping[str, Sequence[Piece]], after: tuple[str, ...]
) -> tuple[list[Stage], list[str]]:
    """Every group's stages (``pieces``: group → its instances' remodel ids, each instance's
    in order), the first run after ``after``; and each drawn group's last stage.

    A run of serial groups goes one group after another; a run of ``serial: false`` groups
    all start after whatever the run starts after, and the next run waits for all of them.
    """
    stages: list[Stage] = []
    ends: list[str] = []
    barrier = after
    for run in _runs(groups):
        run_ends: list[str] = []
        for group in run:
            drawn = _group_stages(group, pieces.get(group.group, ()), barrier)
            if drawn:
                stages.extend(drawn)
                run_ends.append(drawn[-1].name)
                if _serial(group):
                    barrier = (drawn[-1].name,)
        if run_ends and not _serial(run[0]):
            barrier = tuple(run_ends)
        ends.extend(run_ends)
    return stages, ends

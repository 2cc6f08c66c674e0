"""A plan seen instance by instance: what the text, JSON and dot renderers share.

Renderers only render: every fact here is read from the plan (remodels with their reasons,
the blueprint's and floorplan's identities), never re-derived by diffing. Addresses are the
only values taken from the materials; properties, env and cloud properties never are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import attrs

from jobsite.foreman import Remodel, Skipped

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jobsite.foreman import ConstructionPlan, Reason
    from jobsite.planning._plan import Plan

__all__ = [
    "Change",
    "GroupView",
    "InstanceView",
    "PlanView",
    "display_order",
    "distinct_reasons",
    "plan_view",
]

Change = Literal["create", "delete", "replace", "update", "ignored", "none"]


@attrs.frozen(kw_only=True)
class InstanceView:
    """One instance of the blueprint, or one the plan deletes, with what the plan does to it."""

    group: str
    index: int
    uuid: str
    az: str | None
    ips: Mapping[str, str]
    """Network → address, in the order of the instance's networks."""
    bootstrap: bool
    lifecycle: str | None
    """``service`` or ``errand``; None for an instance no longer in the manifest."""
    in_blueprint: bool
    remodels: tuple[Remodel, ...]
    """The instance's remodels, in display order."""
    skipped: tuple[Skipped, ...]
    change: Change

    @property
    def name(self) -> str:
        """``group/uuid``, as BOSH names instances."""
        return f"{self.group}/{self.uuid}"

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why the instance differs from its manifest: the distinct reasons of its remodels,
        planned or skipped."""
        return distinct_reasons(
            [*self.remodels, *(s.remodel for s in self.skipped)],
        )

    @property
    def skip_reasons(self) -> tuple[Reason, ...]:
        """Why some of its remodels are left out (distinct)."""
        return _distinct(s.reason for s in self.skipped)


@attrs.frozen(kw_only=True)
class GroupView:
    name: str
    in_blueprint: bool
    """False for a group the manifest no longer has (its instances are all deleted)."""
    instances: tuple[InstanceView, ...]


@attrs.frozen(kw_only=True)
class PlanView:
    groups: tuple[GroupView, ...]
    """Blueprint groups in manifest order, then groups only the floorplan knows."""
    other: tuple[Remodel, ...]
    """Remodels of no known instance (leftover and unknown VMs, deployment-wide work)."""
    other_skipped: tuple[Skipped, ...]
    order: tuple[Remodel, ...]
    """Every remodel, in display order."""


def _distinct(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    seen: set[tuple[str, str]] = set()
    out = []
    for reason in reasons:
        key = (reason.code, reason.message)
        if key not in seen:
            seen.add(key)
            out.append(reason)
    return tuple(out)


def distinct_reasons(remodels: Iterable[Remodel]) -> tuple[Reason, ...]:
    """The reasons of ``remodels``, each (code, message) once, in order of appearance."""
    return _distinct(reason for remodel in remodels for reason in remodel.reasons)


def display_order(construction: ConstructionPlan) -> tuple[Remodel, ...]:
    """Remodels stage by stage (stages in an order their ``after`` lists allow, the listed
    order where they leave a choice), each stage's in its listed order; remodels in no stage
    last."""
    stages = construction.stages
    names = {s.name for s in stages}
    done: set[str] = set()
    ordered = []
    pending = list(stages)
    while pending:
        ready = next(
            (s for s in pending if all(a in done or a not in names for a in s.after)),
            pending[0],  # a cycle (check() refuses those): keep the listed order
        )
        pending.remove(ready)
        done.add(ready.name)
        ordered.append(ready)
    by_id = {r.id: r for r in construction.remodels}
    out: list[Remodel] = []
    seen: set[str] = set()
    for stage in ordered:
        for rid in stage.remodels:
            if rid in by_id and rid not in seen:
                seen.add(rid)
                out.append(by_id[rid])
    out.extend(r for r in construction.remodels if r.id not in seen)
    return tuple(out)


def _change(remodels: tuple[Remodel, ...], skipped: tuple[Skipped, ...]) -> Change:
    if not remodels:
        return "ignored" if skipped else "none"
    actions = {r.action for r in remodels}
    if "delete_instance" in actions:
        return "delete"
    if any("new_instance" in r.codes for r in remodels):
        return "create"
    if "create_vm" in actions:
        return "replace"
    return "update"


def plan_view(plan: Plan) -> PlanView:
    """``plan`` arranged by instance group and instance."""
    order = display_order(plan.construction)
    by_instance: dict[str, list[Remodel]] = {}
    skipped_of: dict[str, list[Skipped]] = {}
    for remodel in order:
        if remodel.instance is not None:
            by_instance.setdefault(remodel.instance, []).append(remodel)
    for skipped in plan.skipped:
        if skipped.remodel.instance is not None:
            skipped_of.setdefault(skipped.remodel.instance, []).append(skipped)

    blueprint, floorplan = plan.blueprint, plan.floorplan
    reserved: dict[str, dict[str, str]] = {}
    for address in floorplan.addresses:
        if address.instance_uuid is not None:
            reserved.setdefault(address.instance_uuid, {})[address.network] = address.address
    vm_ips: dict[str, dict[str, str]] = {}
    for vm in blueprint.vms:
        vm_ips[vm.instance] = {n.network: n.ip for n in vm.networks if n.ip is not None}
    for vm_record in floorplan.vms:
        if vm_record.instance_uuid is not None and vm_record.active:
            # only the address of each network: its settings hold cloud properties
            vm_ips.setdefault(
                vm_record.instance_uuid,
                {
                    str(net): str(settings["ip"])
                    for net, settings in vm_record.networks.items()
                    if isinstance(settings, Mapping) and settings.get("ip") is not None
                },
            )

    def view(
        group: str,
        index: int,
        uuid: str,
        az: str | None,
        bootstrap: bool,
        lifecycle: str | None,
        in_blueprint: bool,
    ) -> InstanceView:
        remodels = tuple(by_instance.get(uuid, ()))
        skipped = tuple(skipped_of.get(uuid, ()))
        return InstanceView(
            group=group,
            index=index,
            uuid=uuid,
            az=az,
            ips=vm_ips.get(uuid) or reserved.get(uuid, {}),
            bootstrap=bootstrap,
            lifecycle=lifecycle,
            in_blueprint=in_blueprint,
            remodels=remodels,
            skipped=skipped,
            change=_change(remodels, skipped),
        )

    groups: dict[str, list[InstanceView]] = {g.name: [] for g in blueprint.groups}
    wanted = set()
    for i in blueprint.instances:
        wanted.add(i.uuid)
        groups.setdefault(i.group, []).append(
            view(i.group, i.index, i.uuid, i.az, i.bootstrap, i.lifecycle, True)
        )
    in_blueprint = set(groups)
    for record in floorplan.instances:
        if record.uuid not in wanted:
            wanted.add(record.uuid)
            groups.setdefault(record.group, []).append(
                view(
                    record.group,
                    record.index,
                    record.uuid,
                    record.az,
                    record.bootstrap,
                    None,
                    False,
                )
            )
    return PlanView(
        groups=tuple(
            GroupView(
                name=name,
                in_blueprint=name in in_blueprint,
                instances=tuple(sorted(members, key=lambda v: (v.index, not v.in_blueprint))),
            )
            for name, members in groups.items()
        ),
        other=tuple(r for r in order if r.instance is None or r.instance not in wanted),
        other_skipped=tuple(
            s
            for s in plan.skipped
            if s.remodel.instance is None or s.remodel.instance not in wanted
        ),
        order=order,
    )

"""A plan as JSON for machines: the stable schema documented in ``docs/plan-json.md``.

``format_version`` is 1. Within it fields are only ever added; a field that changes meaning
or goes away bumps the version. Every value is plain JSON (dicts, lists, strings, numbers,
booleans, null), so ``json.dumps`` takes the result as it is. Values of properties, env and
cloud properties never appear: materials and remodel options are not dumped, and reasons
carry key paths only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from jobsite.planning._render import InstanceView, plan_view

if TYPE_CHECKING:
    from jobsite.foreman import Reason, Remodel, Skipped, Stage
    from jobsite.planning._plan import Plan

__all__ = ["FORMAT_VERSION", "plan_to_json"]

FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    """A JSON-shaped copy of a reason's details: mappings become dicts with string keys,
    sequences and sets lists; anything else that JSON cannot hold becomes its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _reason(reason: Reason) -> dict[str, Any]:
    return {"code": reason.code, "message": reason.message, "details": _plain(reason.details)}


def _instance(view: InstanceView) -> dict[str, Any]:
    return {
        "name": view.name,
        "group": view.group,
        "index": view.index,
        "id": view.uuid,
        "az": view.az,
        "ips": dict(view.ips),
        "bootstrap": view.bootstrap,
        "lifecycle": view.lifecycle,
        "in_manifest": view.in_blueprint,
        "change": view.change,
        "reasons": [_reason(r) for r in view.reasons],
        "remodels": [r.id for r in view.remodels],
        "skipped": [s.remodel.id for s in view.skipped],
    }


def _remodel(remodel: Remodel, stage: str | None) -> dict[str, Any]:
    return {
        "id": remodel.id,
        "action": remodel.action,
        "instance_group": remodel.instance_group,
        "instance": remodel.instance,
        "index": remodel.index,
        "reasons": [_reason(r) for r in remodel.reasons],
        "stage": stage,
        "vm": remodel.vm,
        "disk": remodel.disk,
        "source_disk": remodel.source_disk,
        "cid": remodel.cid,
    }


def _stage(stage: Stage) -> dict[str, Any]:
    return {
        "name": stage.name,
        "kind": stage.kind,
        "instance_group": stage.instance_group,
        "after": list(stage.after),
        "max_in_flight": stage.max_in_flight,
        "watch_time": list(stage.watch_time) if stage.watch_time is not None else None,
        "remodels": list(stage.remodels),
    }


def _skipped(skipped: Skipped) -> dict[str, Any]:
    r = skipped.remodel
    return {
        "remodel": r.id,
        "action": r.action,
        "instance_group": r.instance_group,
        "instance": r.instance,
        "index": r.index,
        "reasons": [_reason(x) for x in r.reasons],
        "reason": _reason(skipped.reason),
        "by": skipped.by,
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """``plan`` as a JSON-serialisable dict (schema: ``docs/plan-json.md``)."""
    view = plan_view(plan)
    stage_of = plan.construction.stage_of()
    summary = attrs.asdict(plan.summary)
    summary["empty"] = plan.summary.empty
    return {
        "format_version": FORMAT_VERSION,
        "deployment": plan.deployment,
        "strategy": plan.construction.strategy,
        "id_seed": plan.id_seed,
        "cloud_checked": plan.floorplan.cloud_checked,
        "limitations": {
            "fix": plan.limitations.fix,
            "skip_drain": plan.limitations.skip_drain,
            "ignored": sorted(plan.limitations.ignored),
        },
        "summary": summary,
        "instance_groups": [
            {
                "name": group.name,
                "in_manifest": group.in_blueprint,
                "instances": [_instance(i) for i in group.instances],
            }
            for group in view.groups
        ],
        "remodels": [_remodel(r, stage_of.get(r.id)) for r in view.order],
        "stages": [_stage(s) for s in plan.construction.stages],
        "edges": [[before, after] for before, after in plan.construction.edges],
        "skipped": [_skipped(s) for s in plan.skipped],
        "problems": list(plan.problems),
        "warnings": list(plan.warnings),
        "versions": {str(k): str(v) for k, v in plan.versions.items()},
    }

"""The foreman: blueprint - floorplan - limitations → remodels → construction plan. Pure."""

from __future__ import annotations

from jobsite.foreman._construction import (
    ConstructionPlan,
    GroupUpdate,
    Stage,
    Strategy,
    UpdatePolicy,
)
from jobsite.foreman._diff import changed_keys, changed_paths, diff, same
from jobsite.foreman._drawing import (
    DEFAULT_CANARIES,
    DEFAULT_MAX_IN_FLIGHT,
    Unit,
    draw_groups,
    units,
)
from jobsite.foreman._foreman import (
    DEFAULT_STRATEGY,
    collect_remodels,
    order_remodels,
    update_policy,
)
from jobsite.foreman._limitations import Limitations
from jobsite.foreman._remodels import ACTIONS, Reason, Remodel, Skipped
from jobsite.foreman._settled import Settled, settled_records
from jobsite.foreman._spec import SPEC_VERSION, instance_spec, plain

__all__ = [
    "ACTIONS",
    "DEFAULT_CANARIES",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_STRATEGY",
    "SPEC_VERSION",
    "ConstructionPlan",
    "GroupUpdate",
    "Limitations",
    "Reason",
    "Remodel",
    "Settled",
    "Skipped",
    "Stage",
    "Strategy",
    "Unit",
    "UpdatePolicy",
    "changed_keys",
    "changed_paths",
    "collect_remodels",
    "diff",
    "draw_groups",
    "instance_spec",
    "order_remodels",
    "plain",
    "same",
    "settled_records",
    "units",
    "update_policy",
]

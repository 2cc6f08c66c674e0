"""A plan: what ``jobsite plan`` prints and ``jobsite deploy`` carries out.

It keeps every phase's output (blueprint, floorplan, construction plan) so a renderer can
explain each remodel from the facts behind it, and the problems that forbid deploying it.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from jobsite.architect import Blueprint
from jobsite.foreman import ConstructionPlan, Limitations, Remodel, Skipped
from jobsite.inspector import Floorplan

__all__ = ["Plan", "PlanSummary"]


@attrs.frozen(kw_only=True)
class PlanSummary:
    """The counts of a plan's summary line."""

    instances_created: int = 0
    instances_updated: int = 0
    instances_deleted: int = 0
    vms_created: int = 0
    vms_deleted: int = 0
    disks_created: int = 0
    disks_moved: int = 0
    """Disks migrated to a new disk (resized or re-typed)."""
    disks_orphaned: int = 0
    skipped: int = 0
    remodels: int = 0
    """Every remodel, including those of plugins that fit none of the counts above."""

    @property
    def empty(self) -> bool:
        """Whether the plan changes nothing (skipped remodels change nothing either)."""
        return self.remodels == 0

    @classmethod
    def of(cls, remodels: tuple[Remodel, ...], skipped: int) -> PlanSummary:
        created: set[str] = set()
        deleted: set[str] = set()
        touched: set[str] = set()
        counts = dict.fromkeys(
            ("create_vm", "delete_vm", "create_disk", "migrate_disk", "orphan_disk"), 0
        )
        for r in remodels:
            if r.action in counts:
                counts[r.action] += 1
            if r.instance is None:
                continue
            touched.add(r.instance)
            if r.action == "delete_instance":
                deleted.add(r.instance)
            elif "new_instance" in r.codes:
                created.add(r.instance)
        return cls(
            instances_created=len(created),
            instances_updated=len(touched - created - deleted),
            instances_deleted=len(deleted),
            vms_created=counts["create_vm"],
            vms_deleted=counts["delete_vm"],
            disks_created=counts["create_disk"] - counts["migrate_disk"],
            disks_moved=counts["migrate_disk"],
            disks_orphaned=counts["orphan_disk"] - counts["migrate_disk"],
            skipped=skipped,
            remodels=len(remodels),
        )


@attrs.frozen(kw_only=True)
class Plan:
    """Everything one planning run found and decided, for one deployment."""

    deployment: str
    id_seed: str
    """The seed new identities were drawn from: deploying this plan creates exactly the
    instances, VMs and disks it names."""
    blueprint: Blueprint
    floorplan: Floorplan
    limitations: Limitations
    construction: ConstructionPlan
    skipped: tuple[Skipped, ...] = ()
    problems: tuple[str, ...] = ()
    """What forbids deploying the plan as it is (a VM missing without ``--fix``)."""
    warnings: tuple[str, ...] = ()
    """Drift and doubts worth reading that do not forbid deploying."""
    versions: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    """Distribution → version of jobsite and every plugin that took part."""
    manifest_text: str = ""
    """The manifest as applied (after ops files and variables): what a deploy records."""
    config_ids: tuple[int, ...] = ()
    """The stored cloud and runtime config versions the plan was made with, if any."""

    @property
    def remodels(self) -> tuple[Remodel, ...]:
        return self.construction.remodels

    @property
    def summary(self) -> PlanSummary:
        return PlanSummary.of(self.construction.remodels, len(self.skipped))

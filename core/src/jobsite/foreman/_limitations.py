"""Limitations: what the operator asked the foreman to leave alone or to allow."""

from __future__ import annotations

import attrs

__all__ = ["Limitations"]


@attrs.frozen(kw_only=True)
class Limitations:
    """Scopes and switches that narrow (or, for ``fix``, widen) what a plan may change."""

    ignored: frozenset[str] = frozenset()
    """Instance uuids to leave alone (``jobsite ignore``): their remodels are skipped, and
    the plan says so. Instances the store marks ignored are added by the planner."""
    skip_drain: bool = False
    """``--skip-drain``: stop jobs without running their drain scripts."""
    fix: bool = False
    """``--fix``: recreate instances whose VM has gone missing from the cloud, and delete VMs
    tagged for this deployment that the store does not know. Without it such drift is a
    problem the plan reports and a deploy refuses."""

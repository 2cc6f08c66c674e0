"""Model pieces shared by deployment manifests and runtime configs: releases, jobs,
variables, addons and their placement rules.

Every class is frozen and slotted; field names are BOSH's keys, so a model reads like the YAML
it came from. Opaque maps (``properties``, ``cloud_properties``, ``env``) are kept as given:
jobsite compares and merges them but never interprets inside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from jobsite.config._values import Version

__all__ = [
    "Addon",
    "Job",
    "JobRule",
    "Placement",
    "Release",
    "ReleaseStemcell",
    "StemcellRule",
    "Variable",
]

Lifecycle = Literal["service", "errand"]


@attrs.frozen(kw_only=True)
class ReleaseStemcell:
    """The stemcell a compiled release was built for (``releases[].stemcell``,
    ``exported_from``)."""

    os: str
    version: Version | None = None


@attrs.frozen(kw_only=True)
class Release:
    """``releases[]``: a release by name and version, optionally fetched from ``url``."""

    name: str
    version: Version
    url: str | None = None
    sha1: str | None = None
    stemcell: ReleaseStemcell | None = None
    exported_from: tuple[ReleaseStemcell, ...] = ()


@attrs.frozen(kw_only=True)
class Job:
    """A job of an instance group or an addon: a release's job with its properties and links."""

    name: str
    release: str
    properties: Mapping[str, Any] | None = None
    consumes: Mapping[str, Any] | None = None
    provides: Mapping[str, Any] | None = None
    custom_provider_definitions: tuple[Mapping[str, Any], ...] = ()


@attrs.frozen(kw_only=True)
class Variable:
    """``variables[]``: a value the config server generates (password, certificate, ...)."""

    name: str
    type: str
    options: Mapping[str, Any] | None = None
    consumes: Mapping[str, Any] | None = None
    update_mode: Literal["converge", "no-overwrite"] | None = None


@attrs.frozen(kw_only=True)
class StemcellRule:
    """An addon placement rule on the stemcell's operating system."""

    os: str


@attrs.frozen(kw_only=True)
class JobRule:
    """An addon placement rule on a job (by name and release)."""

    name: str
    release: str


@attrs.frozen(kw_only=True)
class Placement:
    """An addon's ``include`` or ``exclude`` block: which instance groups it applies to.

    Within a block every given rule must match (and within a rule, any listed value); an
    empty block matches everything. ``exclude`` wins over ``include``.
    """

    stemcell: tuple[StemcellRule, ...] = ()
    deployments: tuple[str, ...] = ()
    jobs: tuple[JobRule, ...] = ()
    instance_groups: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    azs: tuple[str, ...] = ()
    lifecycle: Lifecycle | None = None


@attrs.frozen(kw_only=True)
class Addon:
    """``addons[]``: jobs colocated on every instance group the placement rules select."""

    name: str
    jobs: tuple[Job, ...] = ()
    include: Placement | None = None
    exclude: Placement | None = None
    properties: Mapping[str, Any] | None = None

"""Runtime config: releases and addons the operator adds to every deployment."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from jobsite.config._parts import Addon, Release, Variable

__all__ = ["RuntimeConfig"]


@attrs.frozen(kw_only=True)
class RuntimeConfig:
    """One runtime config, or several merged (lists concatenated, ``tags`` from one only)."""

    releases: tuple[Release, ...] = ()
    addons: tuple[Addon, ...] = ()
    variables: tuple[Variable, ...] = ()
    tags: Mapping[str, str] | None = None

"""Merging several cloud configs, or several runtime configs, the way the BOSH director does.

BOSH concatenates the lists of every cloud config (``azs``, ``vm_types``, ``vm_extensions``,
``disk_types``, ``networks``) and refuses ``compilation`` in more than one; runtime configs
concatenate ``releases``, ``addons`` and ``variables`` and refuse ``tags`` in more than one. A
name defined twice across configs is ambiguous, so jobsite refuses it and names both places,
where BOSH would pick one silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite.config._cloud import CloudConfig
from jobsite.config._runtime import RuntimeConfig
from jobsite.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence
from typing import Any

__all__ = ["merge_cloud_configs", "merge_runtime_configs"]

_NAMED_KINDS = ("azs", "vm_types", "vm_extensions", "disk_types", "networks")


def merge_cloud_configs(
    configs: Sequence[tuple[str, CloudConfig]],
) -> tuple[CloudConfig, list[ConfigError]]:
    """Merge ``(document, config)`` pairs in order; return the result and every conflict."""
    errors: list[ConfigError] = []
    lists: dict[str, list[object]] = {kind: [] for kind in _NAMED_KINDS}
    seen: dict[tuple[str, str], str] = {}
    compilation_from: str | None = None
    compilation = None
    for document, config in configs:
        for kind in _NAMED_KINDS:
            for index, item in enumerate(getattr(config, kind)):
                name = item.name
                first = seen.get((kind, name))
                if first is not None:
                    where = "earlier in this config" if first == document else f"in {first}"
                    errors.append(
                        ConfigError(
                            f"{kind[:-1]} {name!r} is already defined {where}",
                            document=document,
                            path=f"{kind}[{index}].name",
                        )
                    )
                    continue
                seen[(kind, name)] = document
                lists[kind].append(item)
        if config.compilation is not None:
            if compilation_from is not None:
                errors.append(
                    ConfigError(
                        f"'compilation' cannot be defined in multiple cloud configs (also in "
                        f"{compilation_from})",
                        document=document,
                        path="compilation",
                    )
                )
            else:
                compilation_from, compilation = document, config.compilation
    fields: dict[str, Any] = {kind: tuple(items) for kind, items in lists.items()}
    return CloudConfig(**fields, compilation=compilation), errors


def merge_runtime_configs(
    configs: Sequence[tuple[str, RuntimeConfig]],
) -> tuple[RuntimeConfig, list[ConfigError]]:
    """Merge ``(document, config)`` pairs in order; return the result and every conflict."""
    errors: list[ConfigError] = []
    merged = RuntimeConfig()
    tags_from: str | None = None
    releases: dict[str, tuple[str, str]] = {}
    for document, config in configs:
        for index, release in enumerate(config.releases):
            earlier = releases.get(release.name)
            if earlier is not None and earlier[0] != release.version:
                errors.append(
                    ConfigError(
                        f"release {release.name!r} version {release.version!r} conflicts with "
                        f"version {earlier[0]!r} in {earlier[1]}",
                        document=document,
                        path=f"releases[{index}].version",
                    )
                )
            releases.setdefault(release.name, (release.version, document))
        tags = merged.tags
        if config.tags is not None:
            if tags_from is not None:
                errors.append(
                    ConfigError(
                        f"'tags' cannot be defined in multiple runtime configs (also in "
                        f"{tags_from})",
                        document=document,
                        path="tags",
                    )
                )
            else:
                tags_from, tags = document, config.tags
        merged = RuntimeConfig(
            releases=merged.releases + config.releases,
            addons=merged.addons + config.addons,
            variables=merged.variables + config.variables,
            tags=tags,
        )
    return merged, errors

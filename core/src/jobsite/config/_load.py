"""From interpolated documents to validated, merged configs: the loading API.

Every function here reports *all* problems of its inputs at once, as one
:class:`~jobsite.errors.ConfigErrors`, so an operator fixes a manifest in one edit instead of
one error per run. Warnings (unknown keys) travel with the result, for the caller to print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from jobsite.config import _values  # noqa: F401  (registers the value types' hooks)
from jobsite.config._check_cloud import check_cloud_config
from jobsite.config._check_manifest import check_manifest
from jobsite.config._cloud import CloudConfig
from jobsite.config._converter import ConfigWarning, structure_document
from jobsite.config._manifest import Manifest
from jobsite.config._merge import merge_cloud_configs, merge_runtime_configs
from jobsite.config._problems import Problems
from jobsite.config._runtime import RuntimeConfig
from jobsite.errors import ConfigError, ConfigErrors

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DeploymentConfigs",
    "Document",
    "Loaded",
    "load_cloud_config",
    "load_deployment",
    "load_manifest",
    "load_runtime_config",
]

T = TypeVar("T")


@attrs.frozen
class Document:
    """A parsed (and interpolated) YAML document and the name to report it by."""

    name: str
    data: Any


@attrs.frozen(kw_only=True)
class Loaded(Generic[T]):
    """A structured document and the warnings found while reading it."""

    value: T
    warnings: tuple[ConfigWarning, ...] = ()


@attrs.frozen(kw_only=True)
class DeploymentConfigs:
    """Everything a deploy reads, structured, merged and cross-checked."""

    manifest: Manifest
    cloud_config: CloudConfig
    runtime_config: RuntimeConfig
    warnings: tuple[ConfigWarning, ...] = ()


def _structure(
    document: Document, cl: type[T], errors: list[ConfigError], warnings: list[ConfigWarning]
) -> T | None:
    if document.data is None:
        errors.append(ConfigError("is empty", document=document.name))
        return None
    result = structure_document(document.data, cl, document=document.name)
    errors.extend(result.errors)
    warnings.extend(result.warnings)
    return result.value


def _load(
    document: Document, cl: type[T]
) -> tuple[T | None, list[ConfigError], list[ConfigWarning]]:
    errors: list[ConfigError] = []
    warnings: list[ConfigWarning] = []
    value = _structure(document, cl, errors, warnings)
    return value, errors, warnings


def load_manifest(document: Document) -> Loaded[Manifest]:
    """Structure a manifest (types only: cross-references need the cloud config, see
    :func:`load_deployment`)."""
    value, errors, warnings = _load(document, Manifest)
    if errors or value is None:
        raise ConfigErrors(errors)
    return Loaded(value=value, warnings=tuple(warnings))


def load_cloud_config(*documents: Document) -> Loaded[CloudConfig]:
    """Structure, merge and check one or more cloud configs, in the order given."""
    configs, errors, warnings = _cloud_configs(documents)
    if errors:
        raise ConfigErrors(errors)
    return Loaded(value=configs, warnings=tuple(warnings))


def load_runtime_config(*documents: Document) -> Loaded[RuntimeConfig]:
    """Structure, merge and check one or more runtime configs, in the order given."""
    config, errors, warnings = _runtime_configs(documents)
    if errors:
        raise ConfigErrors(errors)
    return Loaded(value=config, warnings=tuple(warnings))


def _cloud_configs(
    documents: Sequence[Document],
) -> tuple[CloudConfig, list[ConfigError], list[ConfigWarning]]:
    errors: list[ConfigError] = []
    warnings: list[ConfigWarning] = []
    parsed: list[tuple[str, CloudConfig]] = []
    for document in documents:
        value = _structure(document, CloudConfig, errors, warnings)
        if value is not None:
            parsed.append((document.name, value))
    merged, merge_errors = merge_cloud_configs(parsed)
    errors.extend(merge_errors)
    for name, config in parsed:
        errors.extend(check_cloud_config(name, config, merged))
    return merged, errors, warnings


def _runtime_configs(
    documents: Sequence[Document],
) -> tuple[RuntimeConfig, list[ConfigError], list[ConfigWarning]]:
    errors: list[ConfigError] = []
    warnings: list[ConfigWarning] = []
    parsed: list[tuple[str, RuntimeConfig]] = []
    for document in documents:
        value = _structure(document, RuntimeConfig, errors, warnings)
        if value is not None:
            parsed.append((document.name, value))
    merged, merge_errors = merge_runtime_configs(parsed)
    errors.extend(merge_errors)
    for name, config in parsed:
        problems = Problems(name)
        problems.duplicates(("addons",), (a.name for a in config.addons), "addon")
        releases = [r.name for r in merged.releases]
        for a_index, addon in enumerate(config.addons):
            for j_index, job in enumerate(addon.jobs):
                if job.release not in releases:
                    problems.undefined(
                        ("addons", a_index, "jobs", j_index, "release"),
                        job.release,
                        "the runtime config's releases",
                        releases,
                    )
        errors.extend(problems.errors)
    return merged, errors, warnings


def load_deployment(
    manifest: Document,
    cloud_configs: Sequence[Document] = (),
    runtime_configs: Sequence[Document] = (),
) -> DeploymentConfigs:
    """Structure, merge and cross-check everything a deploy reads.

    Raises one :class:`~jobsite.errors.ConfigErrors` holding every problem of every document.
    A create-env manifest (one with ``cloud_provider``) needs no cloud config; a v2 manifest
    is checked against the merged cloud configs.
    """
    errors: list[ConfigError] = []
    warnings: list[ConfigWarning] = []
    value = _structure(manifest, Manifest, errors, warnings)
    cloud, cloud_errors, cloud_warnings = _cloud_configs(cloud_configs)
    runtime, runtime_errors, runtime_warnings = _runtime_configs(runtime_configs)
    errors += cloud_errors + runtime_errors
    warnings += cloud_warnings + runtime_warnings
    if value is not None:
        runtime_name = (
            runtime_configs[0].name if len(runtime_configs) == 1 else "the runtime configs"
        )
        errors.extend(
            check_manifest(
                manifest.name,
                value,
                None if value.is_create_env else cloud,
                runtime,
                runtime_name,
            )
        )
        if not value.is_create_env and not cloud_configs:
            errors.append(
                ConfigError(
                    "a v2 manifest needs a cloud config (give one with --cloud-config, or "
                    "upload one with update-cloud-config)",
                    document=manifest.name,
                )
            )
    if errors or value is None:
        raise ConfigErrors(errors)
    return DeploymentConfigs(
        manifest=value, cloud_config=cloud, runtime_config=runtime, warnings=tuple(warnings)
    )

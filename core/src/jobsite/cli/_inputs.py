"""What ``plan`` and ``deploy`` both read: the manifest (interpolated) and the configs it is
checked against, from files or the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

from jobsite.config import DeploymentConfigs, Document, interpolate, load_deployment, read_yaml
from jobsite.errors import ConfigError, JobsiteError
from jobsite.planning import stored_configs

if TYPE_CHECKING:
    from pathlib import Path

    from jobsite.cli._vars_options import Interpolation
    from jobsite.store import Store

__all__ = ["config_files", "deployment_configs", "read_manifest"]


def read_manifest(manifest: Path, interpolation: Interpolation, *, verb: str) -> Document:
    """The manifest with ops files and variables applied; a create-env manifest is refused
    first, before its own problems (it needs no cloud config) could hide what it is."""
    document = Document(
        str(manifest),
        interpolate(
            read_yaml(manifest),
            ops=interpolation.ops,
            variables=interpolation.variables,
            expect_all=interpolation.expect_all,
            document_name=str(manifest),
        ),
    )
    data = document.data
    if isinstance(data, Mapping) and data.get("cloud_provider") is not None:
        raise ConfigError(
            "is a create-env manifest (a single director VM for `bosh create-env`), not a "
            f"deployment; jobsite {verb} deployments",
            document=str(manifest),
        )
    return document


def config_files(paths: tuple[Path, ...], interpolation: Interpolation) -> list[Document]:
    """``--cloud-config``/``--runtime-config`` files, with the command's variables."""
    return [
        Document(
            str(path),
            interpolate(
                read_yaml(path),
                variables=interpolation.variables,
                expect_all=interpolation.expect_all,
                document_name=str(path),
            ),
        )
        for path in paths
    ]


async def deployment_configs(
    store: Store,
    manifest: Document,
    *,
    deployment: str | None,
    cloud_files: list[Document],
    runtime_files: list[Document],
) -> tuple[DeploymentConfigs, tuple[int, ...]]:
    """The manifest checked against the given config files, or the store's configs; with the
    ids of the stored configs used. Warnings go to standard error; ``-d`` must name the
    manifest's deployment."""
    ids: list[int] = []
    clouds = cloud_files
    if not clouds:
        clouds, cloud_ids = await stored_configs(store, "cloud")
        ids += cloud_ids
    if not clouds:
        raise JobsiteError(
            "no cloud config: upload one with `jobsite update-cloud-config FILE` or pass "
            "--cloud-config FILE"
        )
    runtimes = runtime_files
    if not runtimes:
        runtimes, runtime_ids = await stored_configs(store, "runtime")
        ids += runtime_ids
    configs = load_deployment(manifest, clouds, runtimes)
    for warning in configs.warnings:
        click.echo(f"Warning: {warning}", err=True)
    name = configs.manifest.name
    if deployment is not None and deployment != name:
        raise ConfigError(
            f"-d {deployment!r} does not match the manifest's name {name!r}",
            document=manifest.name,
            path="name",
        )
    return configs, tuple(sorted(ids))

"""``jobsite validate``: check a deployment's inputs without touching any cloud.

What ``terraform validate`` is to Terraform: every problem of the manifest, the cloud configs
and the runtime configs (types, cross-references, addresses), reported at once, one line
each, before anything is planned or deployed.
"""

from __future__ import annotations

from pathlib import Path

import click

from jobsite.cli._app import cli
from jobsite.cli._vars_options import Interpolation, interpolation_options
from jobsite.config import Document, interpolate, load_deployment, read_yaml
from jobsite.errors import ConfigError, ConfigErrors

__all__ = ["validate_command"]

_FILE = click.Path(dir_okay=False, path_type=Path)


def _read(path: Path, interpolation: Interpolation, *, ops: bool) -> Document:
    document = interpolate(
        read_yaml(path),
        ops=interpolation.ops if ops else (),
        variables=interpolation.variables,
        expect_all=interpolation.expect_all,
        document_name=str(path),
    )
    return Document(str(path), document)


@cli.command("validate")
@click.argument("manifest", type=_FILE)
@click.option(
    "--cloud-config",
    "cloud_configs",
    multiple=True,
    type=_FILE,
    help="A cloud config (repeatable: several merge as BOSH merges named configs).",
)
@click.option(
    "--runtime-config",
    "runtime_configs",
    multiple=True,
    type=_FILE,
    help="A runtime config (repeatable).",
)
@interpolation_options
def validate_command(
    manifest: Path,
    cloud_configs: tuple[Path, ...],
    runtime_configs: tuple[Path, ...],
    interpolation: Interpolation,
) -> None:
    """Check MANIFEST against its cloud and runtime configs and report every problem.

    Ops files apply to the manifest; variables apply to every file. Unknown keys are
    warnings (BOSH ignores them), printed to standard error; anything else wrong is an error
    and the exit status is 1.
    """
    errors: list[ConfigError] = []
    documents: list[Document] = []
    for path, ops in [(manifest, True)] + [(p, False) for p in (*cloud_configs, *runtime_configs)]:
        try:
            documents.append(_read(path, interpolation, ops=ops))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
        except ConfigError as exc:
            errors.append(exc)
    if errors:
        raise ConfigErrors(errors)
    clouds = documents[1 : 1 + len(cloud_configs)]
    runtimes = documents[1 + len(cloud_configs) :]
    configs = load_deployment(documents[0], clouds, runtimes)
    for warning in configs.warnings:
        click.echo(f"Warning: {warning}", err=True)
    m = configs.manifest
    instances = sum(g.instances for g in m.instance_groups if not g.is_errand)
    errands = sum(1 for g in m.instance_groups if g.is_errand)
    kind = "create-env manifest" if m.is_create_env else "deployment"
    click.echo(
        f"{kind} {m.name!r} is valid: {len(m.instance_groups)} instance groups, {instances} "
        f"instances, {errands} errands, {len(m.releases)} releases"
    )

"""Stemcells: BOSH's ``upload-stemcell``, ``stemcells`` and ``delete-stemcell``.

Each builds its director from the same driver options as ``deploy`` (``--cpi``,
``--cpi-option``, ...): a stemcell is uploaded to, and deleted from, that cloud, and is
recorded under the CPI's name. Uploading a stemcell whose name and version that CPI already
has changes nothing; deleting one that a deployment's VMs use is refused, naming them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jobsite.cli._app import cli
from jobsite.cli._configs import print_table
from jobsite.cli._director import director_options, with_director

if TYPE_CHECKING:
    from jobsite.director import Director, DirectorConfig
    from jobsite.store import StemcellRecord

__all__: list[str] = []

_FILE = click.Path(dir_okay=False, path_type=Path)


@cli.command("upload-stemcell")
@click.argument("path", type=_FILE)
@director_options
def upload_stemcell_command(path: Path, director_config: DirectorConfig) -> None:
    """Upload the stemcell tarball PATH to the cloud (a no-op when its name and version are
    already uploaded there)."""

    async def work(director: Director) -> tuple[StemcellRecord, bool]:
        before = {(s.name, s.version, s.cpi, s.cid) for s in await director.store.list_stemcells()}
        record = await director.upload_stemcell(path)
        return record, (record.name, record.version, record.cpi, record.cid) in before

    record, existed = with_director(director_config, work)
    label = f"{record.name}/{record.version}"
    if existed:
        click.echo(
            f"Stemcell {label} is already uploaded to {record.cpi} as {record.cid}: nothing to do."
        )
    else:
        click.echo(f"Uploaded stemcell {label} ({record.os}) to {record.cpi} as {record.cid}.")


@cli.command("stemcells")
@click.option("--json", "as_json", is_flag=True, help="A JSON list instead of a table.")
@director_options
def stemcells_command(as_json: bool, director_config: DirectorConfig) -> None:
    """List uploaded stemcells with the deployments whose VMs use them."""

    async def work(director: Director) -> list[tuple[StemcellRecord, tuple[str, ...]]]:
        return await director.stemcells()

    rows = with_director(director_config, work)
    if as_json:
        out = [
            {
                "name": s.name,
                "os": s.os,
                "version": s.version,
                "cid": s.cid,
                "cpi": s.cpi,
                "sha1": s.sha1,
                "in_use_by": list(users),
                "created_at": s.created_at.isoformat(),
            }
            for s, users in rows
        ]
        click.echo(json.dumps(out, indent=2))
        return
    if not rows:
        click.echo("No stemcells.")
        return
    print_table(
        ("Name", "OS", "Version", "CID", "CPI", "In use by"),
        ((s.name, s.os, s.version, s.cid, s.cpi, ", ".join(users) or "-") for s, users in rows),
    )
    click.echo(f"\n{len(rows)} stemcell{'' if len(rows) == 1 else 's'}")


def _name_version(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, str]:
    name, sep, version = value.partition("/")
    if not sep or not name or not version:
        raise click.BadParameter(f"expected NAME/VERSION, got {value!r}", ctx, param)
    return name, version


@cli.command("delete-stemcell")
@click.argument("stemcell", metavar="NAME/VERSION", callback=_name_version)
@director_options
def delete_stemcell_command(stemcell: tuple[str, str], director_config: DirectorConfig) -> None:
    """Delete stemcell NAME/VERSION from the cloud and forget it (refused while a
    deployment's VMs use it)."""
    name, version = stemcell

    async def work(director: Director) -> StemcellRecord:
        return await director.delete_stemcell(name, version)

    record = with_director(director_config, work)
    click.echo(f"Deleted stemcell {name}/{version} ({record.cid}) from {record.cpi}.")

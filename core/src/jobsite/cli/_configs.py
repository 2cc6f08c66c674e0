"""Configs and deployments in the store: BOSH's ``update-cloud-config``, ``cloud-config``,
``update-runtime-config``, ``runtime-config``, ``configs``, ``deployments`` and ``manifest``.

Every command here opens the director's store: ``--store URL`` (or ``JOBSITE_STORE``), else
the SQLite file in ``JOBSITE_HOME``. An upload is validated against the other named configs
of its type merged with it, exactly as a deploy will read them, so a config that would break
every deploy is refused at upload time; content that did not change adds no version.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jobsite.cli._app import cli
from jobsite.cli._store import with_store
from jobsite.cli._vars_options import Interpolation, interpolation_options
from jobsite.config import (
    Document,
    dump_yaml,
    interpolate,
    load_cloud_config,
    load_runtime_config,
    parse_yaml,
    read_yaml,
)
from jobsite.errors import JobsiteError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from jobsite.store import ConfigRecord, Store

__all__ = ["print_table"]

T = TypeVar("T")
_FILE = click.Path(dir_okay=False, path_type=Path)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Columns padded to their widest cell, as the bosh CLI prints its tables."""
    rows = [list(r) for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    for row in [list(headers), *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _missing(what: str, name: str, known: Iterable[str], none: str) -> JobsiteError:
    """``no cloud config named 'x' (known: a, b)``, or ``none`` when there are none at all."""
    names = sorted(set(known))
    if not names:
        return JobsiteError(none)
    return JobsiteError(f"no {what} named {name!r} (known: {', '.join(names)})")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _diff(old: str, new: str) -> list[str]:
    """What changed, bosh style: ``+``/``-`` lines with two lines of context around each."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2))
    out: list[str] = []
    for line in lines[2:]:  # the ---/+++ header
        if line.startswith("@@"):
            if out:
                out.append("  ...")
        elif line[:1] in ("+", "-"):
            out.append(f"{line[0]} {line[1:]}")
        else:
            out.append(f"  {line[1:]}")
    return out


# --- uploading -------------------------------------------------------------------------------


def _update(
    kind: str,
    path: Path,
    name: str,
    interpolation: Interpolation,
    load: Callable[..., Any],
) -> None:
    document = interpolate(
        read_yaml(path),
        ops=interpolation.ops,
        variables=interpolation.variables,
        expect_all=interpolation.expect_all,
        document_name=str(path),
    )

    async def work(store: Store) -> tuple[ConfigRecord | None, ConfigRecord, Any]:
        others = [c for c in await store.list_configs(kind) if c.name != name]
        documents = {}
        for other in others:
            label = f"{kind} config {other.name!r}"
            documents[other.name] = Document(label, parse_yaml(other.content, document=label))
        documents[name] = Document(str(path), document)
        loaded = load(*(documents[n] for n in sorted(documents)))
        previous = await store.latest_config(kind, name)
        record = await store.add_config(kind, name, dump_yaml(document))
        return previous, record, loaded

    previous, record, loaded = with_store(work)
    for warning in loaded.warnings:
        click.echo(f"Warning: {warning}", err=True)
    label = f"{kind} config {name!r}"
    if previous is not None and previous.id == record.id:
        click.echo(f"{label}: no changes")
        return
    for line in _diff(previous.content if previous else "", record.content):
        click.echo(line)
    click.echo(f"{label} updated (id {record.id})")


@cli.command("update-cloud-config")
@click.argument("file", type=_FILE)
@click.option("--name", default="default", show_default=True, help="The config's name.")
@interpolation_options
def update_cloud_config_command(file: Path, name: str, interpolation: Interpolation) -> None:
    """Upload FILE as the cloud config NAME, after ops files and variables.

    It is checked merged with the other named cloud configs, as a deploy reads them; the
    changes are printed, and content that did not change adds no new version.
    """
    _update("cloud", file, name, interpolation, load_cloud_config)


@cli.command("update-runtime-config")
@click.argument("file", type=_FILE)
@click.option("--name", default="default", show_default=True, help="The config's name.")
@interpolation_options
def update_runtime_config_command(file: Path, name: str, interpolation: Interpolation) -> None:
    """Upload FILE as the runtime config NAME, after ops files and variables.

    It is checked merged with the other named runtime configs; the changes are printed, and
    content that did not change adds no new version.
    """
    _update("runtime", file, name, interpolation, load_runtime_config)


# --- reading ---------------------------------------------------------------------------------


def _show(kind: str, name: str) -> None:
    async def work(store: Store) -> tuple[ConfigRecord | None, tuple[ConfigRecord, ...]]:
        return await store.latest_config(kind, name), await store.list_configs(kind)

    record, known = with_store(work)
    if record is None:
        none = f"no {kind} config has been uploaded (use jobsite update-{kind}-config FILE)"
        raise _missing(f"{kind} config", name, (c.name for c in known), none)
    click.echo(record.content, nl=not record.content.endswith("\n"))


@cli.command("cloud-config")
@click.option("--name", default="default", show_default=True, help="The config's name.")
def cloud_config_command(name: str) -> None:
    """Print the latest version of the cloud config NAME."""
    _show("cloud", name)


@cli.command("runtime-config")
@click.option("--name", default="default", show_default=True, help="The config's name.")
def runtime_config_command(name: str) -> None:
    """Print the latest version of the runtime config NAME."""
    _show("runtime", name)


@cli.command("configs")
@click.option("--type", "kind", metavar="TYPE", help="Only configs of this type (cloud, runtime).")
@click.option("--name", help="Only configs of this name.")
@click.option("--history", is_flag=True, help="Every version, not only the latest.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list instead of a table.")
def configs_command(kind: str | None, name: str | None, history: bool, as_json: bool) -> None:
    """List the configs in the store: type, name, version id and when it was uploaded."""

    async def work(store: Store) -> tuple[ConfigRecord, ...]:
        return await store.list_configs(kind, name, history=history)

    records = with_store(work)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": c.id,
                        "type": c.type,
                        "name": c.name,
                        "created_at": c.created_at.isoformat(),
                    }
                    for c in records
                ],
                indent=2,
            )
        )
        return
    if not records:
        click.echo("No configs.")
        return
    print_table(
        ("ID", "Type", "Name", "Created"),
        (
            (str(c.id), c.type, c.name, c.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
            for c in records
        ),
    )
    click.echo(f"\n{_count(len(records), 'config')}")


# --- deployments -----------------------------------------------------------------------------


def _summary(manifest: str, name: str) -> tuple[str, str, str]:
    """Releases, stemcells and instance count of a manifest as applied (``?`` if unreadable)."""
    try:
        data = parse_yaml(manifest, document=f"deployment {name!r}")
    except JobsiteError:
        return "?", "?", "?"
    if not isinstance(data, dict):
        return "?", "?", "?"

    def items(key: str) -> list[dict[str, Any]]:
        value = data.get(key)
        return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []

    releases = sorted(f"{r.get('name')}/{r.get('version')}" for r in items("releases"))
    stemcells = sorted(
        f"{s.get('os') or s.get('name')}/{s.get('version')}" for s in items("stemcells")
    )
    instances = sum(
        g["instances"]
        for g in items("instance_groups")
        if isinstance(g.get("instances"), int) and g.get("lifecycle") != "errand"
    )
    return ", ".join(releases) or "-", ", ".join(stemcells) or "-", str(instances)


@cli.command("deployments")
@click.option("--json", "as_json", is_flag=True, help="A JSON list instead of a table.")
def deployments_command(as_json: bool) -> None:
    """List deployments with the releases, stemcells and instance count they were applied
    with."""

    async def work(store: Store) -> Any:
        return await store.list_deployments()

    records = with_store(work)
    if as_json:
        out = []
        for d in records:
            releases, stemcells, instances = _summary(d.manifest, d.name)
            out.append(
                {
                    "name": d.name,
                    "releases": [] if releases in ("-", "?") else releases.split(", "),
                    "stemcells": [] if stemcells in ("-", "?") else stemcells.split(", "),
                    "instances": int(instances) if instances.isdigit() else None,
                    "updated_at": d.updated_at.isoformat(),
                }
            )
        click.echo(json.dumps(out, indent=2))
        return
    if not records:
        click.echo("No deployments.")
        return
    print_table(
        ("Name", "Release(s)", "Stemcell(s)", "Instances"),
        ((d.name, *_summary(d.manifest, d.name)) for d in records),
    )
    click.echo(f"\n{_count(len(records), 'deployment')}")


@cli.command("manifest")
@click.option("-d", "--deployment", required=True, help="The deployment's name.")
def manifest_command(deployment: str) -> None:
    """Print the manifest DEPLOYMENT was last applied with."""

    async def work(store: Store) -> Any:
        record = await store.get_deployment(deployment)
        known = [] if record else [d.name for d in await store.list_deployments()]
        return record, known

    record, known = with_store(work)
    if record is None:
        raise _missing(
            "deployment",
            deployment,
            known,
            f"no deployment named {deployment!r} (there are no deployments)",
        )
    click.echo(record.manifest, nl=not record.manifest.endswith("\n"))

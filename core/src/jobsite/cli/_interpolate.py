"""``jobsite interpolate``: BOSH's ``bosh int``, on jobsite's own interpolation."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jobsite.cli._app import cli
from jobsite.cli._vars_options import Interpolation, interpolation_options
from jobsite.config import dump_yaml, interpolate, parse_yaml, read_yaml


@cli.command("interpolate")
@click.argument("manifest", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@interpolation_options
@click.option(
    "--path",
    "path",
    metavar="OP-PATH",
    help="Print only the value at this go-patch path (for example /instance_groups/0/name).",
)
def interpolate_command(manifest: Path, interpolation: Interpolation, path: str | None) -> None:
    """Apply ops files and variables to MANIFEST (any YAML file; - for stdin) and print it.

    The same as ``bosh int``: ops files are applied in order, then variables are substituted;
    with --var-errs every variable left without a value is listed and nothing is printed.
    With --path, a string value is printed as it is (a certificate as its lines), anything
    else as YAML.
    """
    if str(manifest) == "-":
        document = parse_yaml(sys.stdin.read(), document="<stdin>")
        name = "<stdin>"
    else:
        document = read_yaml(manifest)
        name = str(manifest)
    result = interpolate(
        document,
        ops=interpolation.ops,
        variables=interpolation.variables,
        expect_all=interpolation.expect_all,
        path=path,
        document_name=name,
    )
    if path is not None and isinstance(result, str):
        click.echo(result)
    else:
        click.echo(dump_yaml(result), nl=False)

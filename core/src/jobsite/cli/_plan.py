"""``jobsite plan``: what a deploy would do, and why, without doing any of it.

Terraform's ``plan`` is the model: a summary line, then every change with its reasons,
grouped so it reads at a glance; ``--format json`` for machines (``docs/plan-json.md``) and
``--format dot`` for the construction plan as a graph. Cloud and runtime configs come from the
store (as uploaded with ``update-cloud-config``), or from files given on the command line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jobsite.cli._app import cli
from jobsite.cli._director import option_value
from jobsite.cli._inputs import config_files, deployment_configs, read_manifest
from jobsite.cli._store import with_store
from jobsite.cli._vars_options import Interpolation, interpolation_options
from jobsite.driver import DriverContext
from jobsite.planning import Plan, PlanRequest, make_plan, plan_to_json, render_dot, render_text
from jobsite.plugins import load_plugins
from jobsite.store import default_home

if TYPE_CHECKING:
    from jobsite.store import Store

__all__ = ["plan_command"]

_FILE = click.Path(dir_okay=False, path_type=Path)
EXIT_CHANGES = 2


@cli.command("plan")
@click.argument("manifest", type=_FILE)
@click.option(
    "-d",
    "--deployment",
    metavar="NAME",
    help="The deployment (default: the manifest's name; must match it).",
)
@click.option(
    "--cloud-config",
    "cloud_configs",
    multiple=True,
    type=_FILE,
    help="Use this cloud config instead of the store's (repeatable).",
)
@click.option(
    "--runtime-config",
    "runtime_configs",
    multiple=True,
    type=_FILE,
    help="Use this runtime config instead of the store's (repeatable).",
)
@click.option("--recreate", is_flag=True, help="Plan to recreate every VM.")
@click.option(
    "--fix", is_flag=True, help="Recreate VMs missing from the cloud; delete unknown ones."
)
@click.option("--skip-drain", is_flag=True, help="Stop jobs without running drain scripts.")
@click.option(
    "--strategy",
    metavar="NAME",
    help="The default update strategy (the manifest's update block overrides it).",
)
@click.option(
    "--cpi",
    metavar="NAME",
    help="Check recorded VMs against this CPI (default: plan from the store alone).",
)
@click.option(
    "--cpi-option",
    "cpi_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option for --cpi (repeatable; VALUE is read as YAML).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "dot"]),
    default="text",
    show_default=True,
)
@click.option(
    "--color/--no-color", default=None, help="Color the text plan (default: on a terminal)."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing would change, 2 when something would (1 on errors).",
)
@interpolation_options
def plan_command(
    manifest: Path,
    deployment: str | None,
    cloud_configs: tuple[Path, ...],
    runtime_configs: tuple[Path, ...],
    recreate: bool,
    fix: bool,
    skip_drain: bool,
    strategy: str | None,
    cpi: str | None,
    cpi_options: tuple[str, ...],
    fmt: str,
    color: bool | None,
    detailed_exitcode: bool,
    interpolation: Interpolation,
) -> None:
    """Show what deploying MANIFEST would change, and why.

    Reads the deployment's state from the store and, with --cpi, checks its VMs against the
    cloud. Changes nothing. Ops files and variables apply as for `jobsite interpolate`;
    secrets they bring in never appear in the output. Exits 1 when the plan has problems a
    deploy would refuse (a VM missing from the cloud without --fix).
    """
    document = read_manifest(manifest, interpolation, verb="plans")
    cloud_files = config_files(cloud_configs, interpolation)
    runtime_files = config_files(runtime_configs, interpolation)
    options = dict(option_value(o) for o in cpi_options)
    plugins = load_plugins()
    for failure in plugins.failures:
        click.echo(f"Warning: {failure}", err=True)

    async def work(store: Store) -> Plan:
        configs, _ = await deployment_configs(
            store,
            document,
            deployment=deployment,
            cloud_files=cloud_files,
            runtime_files=runtime_files,
        )
        driver = None
        if cpi is not None:
            driver = plugins.registry("cpi").create(
                DriverContext(name=cpi, options=options, home=default_home())
            )
        request = PlanRequest(
            configs=configs, recreate=recreate, fix=fix, skip_drain=skip_drain, strategy=strategy
        )
        return await make_plan(
            request, store=store, cpi=driver, plugins=plugins, home=default_home()
        )

    plan = with_store(work)
    if fmt == "json":
        click.echo(json.dumps(plan_to_json(plan), indent=2))
    elif fmt == "dot":
        click.echo(render_dot(plan), nl=False)
    else:
        use_color = color if color is not None else sys.stdout.isatty()
        # color= too: click.echo strips ANSI codes from output that is not a terminal, which
        # would make --color a no-op exactly where it is asked for (`| less -R`)
        click.echo(render_text(plan, color=use_color), nl=False, color=use_color)
    ctx = click.get_current_context()
    if plan.problems:
        if fmt != "text" or not sys.stdout.isatty():
            # the text plan on a terminal lists them; anywhere else stderr must say why
            for problem in plan.problems:
                click.echo(f"Error: {problem}", err=True)
        ctx.exit(1)
    if detailed_exitcode and not plan.summary.empty:
        ctx.exit(EXIT_CHANGES)

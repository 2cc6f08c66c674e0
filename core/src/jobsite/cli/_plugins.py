"""``jobsite plugins``: what is installed, what each plugin offers, and what failed."""

from __future__ import annotations

import json

import click

from jobsite.cli._app import cli
from jobsite.plugins import describe, load_plugins


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins, their versions, hooks and what they register.

    Plugins that failed to load are listed with their error and how to disable them
    (JOBSITE_DISABLE_PLUGINS=name); the others load regardless.
    """
    plugins = load_plugins()
    if as_json:
        click.echo(json.dumps(list(describe(plugins)), indent=2))
        return
    if not plugins.infos and not plugins.failures:
        click.echo("No plugins installed.")
        return
    for info in plugins.infos:
        version = (
            f"{info.distribution} {info.version}" if info.distribution else "(no distribution)"
        )
        click.echo(f"{info.name}: {version}")
        for kind, names in sorted(plugins.offered_by(info.name).items()):
            click.echo(f"  {kind}: {', '.join(names)}")
        click.echo(f"  hooks: {', '.join(info.hooks) or 'none'}")
    for kind in ("cpi", "blobstore", "agent", "strategy", "store", "template_renderer"):
        registry = plugins.registry(kind)
        for name, regs in sorted(registry.conflicts.items()):
            owners = " and ".join(repr(r.plugin) for r in regs)
            click.echo(f"conflict: {kind} {name!r} is registered by both {owners}", err=True)
    for failure in plugins.failures:
        click.echo(f"FAILED {failure}", err=True)

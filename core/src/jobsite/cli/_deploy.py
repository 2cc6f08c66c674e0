"""``jobsite deploy``, ``delete-deployment``, ``stop``, ``start``, ``restart``, ``recreate``.

Each is the same three steps over :class:`~jobsite.director.Director`, as ``bosh deploy``:

1. plan (exactly what ``jobsite plan`` shows), print it, and refuse a plan with problems;
2. ask ``Continue? [yN]`` unless ``-n`` (and refuse to guess when standard input is not a
   terminal), or stop there with ``--dry-run``;
3. deploy it, showing every step as it ends (:mod:`jobsite.cli._display`).

Ctrl-C while deploying asks the deploy to stop gently: nothing new starts, the running steps
finish and everything is recorded; a second Ctrl-C cancels the running steps (the assembler
still records what it did). Exit status: 0 done, 1 failed or refused, 130 stopped or
cancelled.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import click

from jobsite.assembler import StopSignal
from jobsite.cli._app import cli
from jobsite.cli._director import director_options, with_director
from jobsite.cli._display import Action, Display, make_display
from jobsite.cli._inputs import config_files, deployment_configs, read_manifest
from jobsite.cli._vars_options import Interpolation, interpolation_options
from jobsite.config import (
    DeploymentConfigs,
    Document,
    MaxInFlight,
    UpdateConfig,
    dump_yaml,
)
from jobsite.errors import ConfigError, JobsiteError
from jobsite.planning import PlanRequest, render_text

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from anyio.abc import TaskStatus

    from jobsite.assembler import DeployResult, Event
    from jobsite.director import Director, DirectorConfig
    from jobsite.planning import Plan
    from jobsite.store import InstanceRecord

__all__ = [
    "EXIT_INTERRUPTED",
    "apply_update_overrides",
    "resolve_instances",
]

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process Ctrl-C ended

_FILE = click.Path(dir_okay=False, path_type=Path)
_MAX_IN_FLIGHT = re.compile(r"^([0-9]+)(%?)$")


# --- shared by every command that deploys ------------------------------------------------------


def _max_in_flight(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> MaxInFlight | None:
    """``--max-in-flight N`` or ``N%``, read as the manifest's ``max_in_flight`` is."""
    if value is None:
        return None
    m = _MAX_IN_FLIGHT.match(value.strip())
    if m is not None:
        number, percent = int(m.group(1)), bool(m.group(2))
        if number >= 1 and (not percent or number <= 100):
            return MaxInFlight(number, percent=percent)
    raise click.BadParameter(
        f"expected a positive number or a percentage like 25%, got {value!r}", ctx, param
    )


def apply_update_overrides(
    configs: DeploymentConfigs,
    *,
    canaries: int | None = None,
    max_in_flight: MaxInFlight | None = None,
) -> DeploymentConfigs:
    """``configs`` with ``canaries`` and ``max_in_flight`` set on the manifest's ``update``
    block and on every instance group's own block, so they hold for every group (bosh
    deploy's ``--canaries`` and ``--max-in-flight``)."""
    changes: dict[str, Any] = {}
    if canaries is not None:
        changes["canaries"] = canaries
    if max_in_flight is not None:
        changes["max_in_flight"] = max_in_flight
    if not changes:
        return configs
    manifest = configs.manifest
    groups = tuple(
        g if g.update is None else attrs.evolve(g, update=attrs.evolve(g.update, **changes))
        for g in manifest.instance_groups
    )
    update = attrs.evolve(manifest.update or UpdateConfig(), **changes)
    return attrs.evolve(
        configs, manifest=attrs.evolve(manifest, update=update, instance_groups=groups)
    )


def _stdin_is_terminal() -> bool:
    """Whether someone can answer a question (a function so tests can say yes)."""
    return sys.stdin.isatty()


def _confirm(*, err: bool) -> None:
    if not _stdin_is_terminal():
        raise JobsiteError(
            "standard input is not a terminal, so nobody can answer 'Continue?': pass -n "
            "(--non-interactive) to go ahead without asking"
        )
    click.confirm("Continue? [yN]", default=False, show_default=False, abort=True, err=err)


def _show_plan(plan: Plan, *, json_lines: bool, non_interactive: bool) -> None:
    """Print the plan (on standard error when standard output carries JSON lines, where it
    appears only if someone is asked about it), then its warnings and problems."""
    if not json_lines:
        color = sys.stdout.isatty()
        click.echo(render_text(plan, color=color), nl=False, color=color)
    elif not non_interactive:
        click.echo(render_text(plan), nl=False, err=True)
    else:  # nobody reads a plan here, but its warnings still matter
        for warning in plan.warnings:
            click.echo(f"Warning: {warning}", err=True)
    for problem in plan.problems:
        click.echo(f"Error: {problem}", err=True)


async def _watch_interrupts(
    stop: StopSignal,
    deploy_scope: anyio.CancelScope,
    display: Display,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """First Ctrl-C: stop gently; the second: cancel what runs."""
    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        count = 0
        async for _ in signals:
            count += 1
            if count == 1:
                stop.request()
                running = display.progress.running
                steps = "running step" if running == 1 else "running steps"
                display.note(
                    f"Stopping: no new work starts; waiting for {running} {steps} "
                    "(Ctrl-C again to cancel them)"
                )
            else:
                display.note("Cancelling the running steps; recording what they did")
                deploy_scope.cancel()


async def _run_interruptibly(
    director: Director,
    run: Callable[[Director, Callable[[Event], Any], StopSignal], Awaitable[DeployResult]],
    display: Display,
) -> DeployResult | None:
    """``run`` beside a Ctrl-C watcher; None when a second Ctrl-C cancelled it."""
    stop = StopSignal()
    deploy_scope = anyio.CancelScope()
    result: DeployResult | None = None
    error: Exception | None = None
    async with anyio.create_task_group() as tasks:
        await tasks.start(_watch_interrupts, stop, deploy_scope, display)
        try:
            with deploy_scope:
                result = await run(director, display, stop)
        except Exception as exc:  # raised below, not wrapped in the task group's group
            error = exc
        finally:
            tasks.cancel_scope.cancel()
    if error is not None:
        raise error
    return result


def _carry_out(
    config: DirectorConfig,
    run: Callable[[Director, Callable[[Event], Any], StopSignal], Awaitable[DeployResult]],
    action: Action,
    *,
    json_lines: bool,
    warn: bool = False,
) -> None:
    """Deploy with the display; exit with the status the outcome calls for (``warn``: about
    plugins that failed to load, when no earlier step has)."""
    display = make_display(action, json_lines=json_lines)

    async def work(director: Director) -> DeployResult | None:
        with display:
            return await _run_interruptibly(director, run, display)

    result = with_director(config, work, warn=warn)
    ctx = click.get_current_context()
    if result is None or result.state in ("stopped", "cancelled"):
        ctx.exit(EXIT_INTERRUPTED)
    if not result.ok:
        ctx.exit(EXIT_FAILED)


def _plan_then_deploy(
    config: DirectorConfig,
    planner: Callable[[Director], Awaitable[Plan]],
    action: Action,
    *,
    description: str,
    non_interactive: bool,
    dry_run: bool,
    json_lines: bool,
) -> None:
    plan = with_director(config, planner)
    _show_plan(plan, json_lines=json_lines, non_interactive=non_interactive)
    ctx = click.get_current_context()
    if plan.problems:
        ctx.exit(EXIT_FAILED)
    if dry_run:
        return
    if plan.remodels and not non_interactive:
        _confirm(err=json_lines)

    async def run(
        director: Director, on_event: Callable[[Event], Any], stop: StopSignal
    ) -> DeployResult:
        return await director.deploy(plan, on_event=on_event, stop=stop, description=description)

    _carry_out(config, run, action, json_lines=json_lines)


def _deploy_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-n``, ``--skip-drain`` and ``--json``, which every deploying command takes."""
    func = click.option(
        "--json",
        "json_lines",
        is_flag=True,
        help="Print each event as a JSON object, one per line, and nothing else on stdout.",
    )(func)
    func = click.option(
        "--skip-drain", is_flag=True, help="Stop jobs without running drain scripts."
    )(func)
    return click.option(
        "-n",
        "--non-interactive",
        is_flag=True,
        help="Do not ask for confirmation.",
    )(func)


# --- jobsite deploy ----------------------------------------------------------------------------


@cli.command("deploy")
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
@click.option("--recreate", is_flag=True, help="Recreate every VM.")
@click.option(
    "--fix", is_flag=True, help="Recreate VMs missing from the cloud; delete unknown ones."
)
@click.option(
    "--canaries",
    type=click.IntRange(min=0),
    metavar="N",
    help="Canaries of every instance group, over the manifest's update blocks.",
)
@click.option(
    "--max-in-flight",
    metavar="N|N%",
    callback=_max_in_flight,
    help="Instances updated at once in every group (N or N%), over the manifest's.",
)
@click.option(
    "--strategy",
    metavar="NAME",
    help="The default update strategy (the manifest's update block overrides it).",
)
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@_deploy_flags
@director_options
@interpolation_options
def deploy_command(
    manifest: Path,
    deployment: str | None,
    cloud_configs: tuple[Path, ...],
    runtime_configs: tuple[Path, ...],
    recreate: bool,
    fix: bool,
    canaries: int | None,
    max_in_flight: MaxInFlight | None,
    strategy: str | None,
    dry_run: bool,
    non_interactive: bool,
    skip_drain: bool,
    json_lines: bool,
    director_config: DirectorConfig,
    interpolation: Interpolation,
) -> None:
    """Make the world match MANIFEST: plan, confirm, then create, update and delete.

    Shows the plan (as `jobsite plan` does) and asks before changing anything, unless -n.
    Ops files and variables apply as for `jobsite interpolate`; cloud and runtime configs come
    from the store unless given as files. Ctrl-C stops gently (running steps finish); a
    second Ctrl-C cancels them. Exits 0 when done, 1 when a step failed or the deploy was
    refused, 130 when stopped or cancelled.
    """
    document = read_manifest(manifest, interpolation, verb="deploys")
    cloud_files = config_files(cloud_configs, interpolation)
    runtime_files = config_files(runtime_configs, interpolation)

    async def planner(director: Director) -> Plan:
        configs, ids = await deployment_configs(
            director.store,
            document,
            deployment=deployment,
            cloud_files=cloud_files,
            runtime_files=runtime_files,
        )
        configs = apply_update_overrides(configs, canaries=canaries, max_in_flight=max_in_flight)
        request = PlanRequest(
            configs=configs,
            recreate=recreate,
            fix=fix,
            skip_drain=skip_drain,
            strategy=strategy,
            manifest_text=dump_yaml(document.data),
            config_ids=ids,
        )
        return await director.plan(request)

    name = _manifest_name(document)
    _plan_then_deploy(
        director_config,
        planner,
        Action(noun="Deploy", past="Deployed", target=name),
        description="deploy",
        non_interactive=non_interactive,
        dry_run=dry_run,
        json_lines=json_lines,
    )


def _manifest_name(document: Document) -> str:
    data = document.data
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name is not None else document.name


# --- jobsite delete-deployment -----------------------------------------------------------------


@cli.command("delete-deployment")
@click.option("-d", "--deployment", metavar="NAME", required=True, help="The deployment.")
@_deploy_flags
@director_options
def delete_deployment_command(
    deployment: str,
    non_interactive: bool,
    skip_drain: bool,
    json_lines: bool,
    director_config: DirectorConfig,
) -> None:
    """Delete every VM of a deployment, orphan its disks, and forget it.

    Orphaned disks are kept, as BOSH keeps them. When a step fails the deployment stays, so
    running the command again finishes the job.
    """
    plan: Plan | None = None
    if not non_interactive:

        async def planner(director: Director) -> Plan:
            return await director.delete_plan(deployment, skip_drain=skip_drain)

        plan = with_director(director_config, planner)
        _show_plan(plan, json_lines=json_lines, non_interactive=False)
        _confirm(err=json_lines)

    async def run(
        director: Director, on_event: Callable[[Event], Any], stop: StopSignal
    ) -> DeployResult:
        return await director.delete_deployment(
            deployment, skip_drain=skip_drain, on_event=on_event, stop=stop, plan=plan
        )

    _carry_out(
        director_config,
        run,
        Action(noun="Delete", past="Deleted", target=deployment),
        json_lines=json_lines,
        warn=non_interactive,
    )


# --- jobsite stop | start | restart | recreate -------------------------------------------------


def resolve_instances(
    deployment: str, instances: Sequence[InstanceRecord], selector: str | None
) -> list[InstanceRecord]:
    """The instances ``GROUP``, ``GROUP/INDEX`` or ``GROUP/UUID`` names (all without one);
    an unknown group or instance is an error listing the known ones."""
    if selector is None:
        if not instances:
            raise JobsiteError(f"deployment {deployment!r} has no instances")
        return list(instances)
    group, _, which = selector.partition("/")
    members = [i for i in instances if i.group == group]
    if not members:
        known = ", ".join(sorted({i.group for i in instances})) or "none"
        raise JobsiteError(
            f"deployment {deployment!r} has no instance group {group!r} (known: {known})"
        )
    if not which:
        return members
    found = [i for i in members if (which.isdigit() and i.index == int(which)) or i.uuid == which]
    if not found:
        known = ", ".join(f"{i.group}/{i.index}" for i in members)
        raise JobsiteError(
            f"deployment {deployment!r} has no instance {selector!r} (known: {known}; or "
            "GROUP/UUID)"
        )
    return found


_CHANGES = {
    "stop": (
        "Stop",
        "Stopped",
        "Stop instances: their jobs stop, their VMs stay (--hard: "
        "the VMs are deleted too, the disks kept).",
    ),
    "start": ("Start", "Started", "Start stopped or detached instances."),
    "restart": ("Restart", "Restarted", "Restart the jobs of instances (stop, then start)."),
    "recreate": ("Recreate", "Recreated", "Recreate the VMs of instances (disks move across)."),
}


def _flags(kind: str, uuids: frozenset[str], hard: bool) -> dict[str, Any]:
    if kind == "stop":
        return {"states": dict.fromkeys(uuids, "detached" if hard else "stopped")}
    if kind == "start":
        return {"states": dict.fromkeys(uuids, "started")}
    if kind == "restart":
        return {"restart": uuids}
    return {"recreate_instances": uuids}


def _instance_command(kind: str) -> None:
    noun, past, doc = _CHANGES[kind]

    def command(
        deployment: str,
        selector: str | None,
        non_interactive: bool,
        skip_drain: bool,
        json_lines: bool,
        dry_run: bool,
        director_config: DirectorConfig,
        hard: bool = False,
    ) -> None:
        async def planner(director: Director) -> Plan:
            if await director.store.get_deployment(deployment) is None:
                raise ConfigError(f"deployment {deployment!r} does not exist")
            chosen = resolve_instances(
                deployment, await director.store.list_instances(deployment), selector
            )
            uuids = frozenset(i.uuid for i in chosen)
            request = await director.stored_request(
                deployment, skip_drain=skip_drain, **_flags(kind, uuids, hard)
            )
            return await director.plan(request)

        target = f"{selector} in {deployment}" if selector else deployment
        _plan_then_deploy(
            director_config,
            planner,
            Action(noun=noun, past=past, target=target),
            description=f"{kind} {selector}" if selector else kind,
            non_interactive=non_interactive,
            dry_run=dry_run,
            json_lines=json_lines,
        )

    command.__doc__ = (
        f"{doc}\n\nGROUP chooses an instance group, GROUP/INDEX or GROUP/UUID one instance; "
        "without either, every instance of the deployment. The deployment is replanned from "
        "its manifest as last deployed."
    )
    decorated: Callable[..., Any] = director_options(command)
    decorated = _deploy_flags(decorated)
    decorated = click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")(
        decorated
    )
    if kind == "stop":
        decorated = click.option(
            "--hard", is_flag=True, help="Delete the VMs too (the instances are detached)."
        )(decorated)
    decorated = click.argument("selector", required=False, metavar="[GROUP[/INDEX|/UUID]]")(
        decorated
    )
    decorated = click.option(
        "-d", "--deployment", metavar="NAME", required=True, help="The deployment."
    )(decorated)
    cli.command(kind)(decorated)


for _kind in _CHANGES:
    _instance_command(_kind)
del _kind

"""``jobsite tasks`` and ``jobsite task N``: what deploys did, from the store's task log.

Every deploy (and delete, stop, start, ...) is a task whose events the store keeps;
``task N`` replays them through the same words a live deploy prints
(:func:`jobsite.cli._display.event_lines`), or, with ``--json``, prints them as stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from jobsite.assembler import event_from_json
from jobsite.cli._app import cli
from jobsite.cli._display import action_for, clock, event_lines
from jobsite.cli._instances import table
from jobsite.cli._store import with_store
from jobsite.errors import JobsiteError

if TYPE_CHECKING:
    from datetime import datetime

    from jobsite.store import EventRecord, Store, TaskRecord

__all__ = ["plain_json", "replay_lines"]


def plain_json(value: Any) -> Any:
    """A stored (frozen) JSON value as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    return value


def _when(moment: datetime | None) -> str | None:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment is not None else None


def _task_row(task: TaskRecord) -> dict[str, Any]:
    seconds = (
        (task.ended_at - task.started_at).total_seconds() if task.ended_at is not None else None
    )
    return {
        "id": task.id,
        "state": task.state,
        "kind": task.kind,
        "deployment": task.deployment,
        "description": task.description,
        "started_at": task.started_at.isoformat(),
        "ended_at": task.ended_at.isoformat() if task.ended_at is not None else None,
        "seconds": seconds,
        "result": task.result,
    }


@cli.command("tasks")
@click.option("-d", "--deployment", metavar="NAME", help="Only this deployment's tasks.")
@click.option(
    "-r",
    "--recent",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    metavar="N",
    help="How many of the most recent tasks.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def tasks_command(deployment: str | None, recent: int, as_json: bool) -> None:
    """List recent tasks, the newest first."""

    async def work(store: Store) -> tuple[Any, ...]:
        return await store.list_tasks(deployment=deployment, limit=recent)

    tasks = with_store(work)
    if as_json:
        click.echo(json.dumps([_task_row(t) for t in tasks], indent=2))
        return
    if not tasks:
        where = f" for deployment {deployment!r}" if deployment else ""
        click.echo(f"No tasks{where}.")
        return
    rows = []
    for task in tasks:
        row = _task_row(task)
        rows.append(
            [
                str(task.id),
                task.state,
                task.kind,
                task.deployment or "-",
                task.description or "-",
                _when(task.started_at) or "-",
                clock(row["seconds"]) if row["seconds"] is not None else "running",
                task.result or "-",
            ]
        )
    headers = ["ID", "State", "Kind", "Deployment", "Description", "Started", "Duration"]
    click.echo(table([*headers, "Result"], rows), nl=False)


def replay_lines(task: TaskRecord, events: tuple[EventRecord, ...]) -> list[str]:
    """The lines a task's log prints: the words a live deploy printed (its failures too,
    which a live deploy repeats on standard error), and whether it still runs."""
    action = action_for(task.description, task.deployment or "")
    out: list[str] = []
    for record in events:
        event = event_from_json(plain_json(record.data))
        if event is None:
            continue
        out += [line.text for line in event_lines(event, action)]
    if task.state == "processing":
        out.append(f"Task {task.id} is still running (since {_when(task.started_at)}).")
    elif not events:
        out.append(f"Task {task.id} has no events ({task.state}).")
    return out


@cli.command("task")
@click.argument("task_id", metavar="N", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the events as stored, one per line.")
def task_command(task_id: int, as_json: bool) -> None:
    """Show what task N did: its events, in the words a live deploy prints."""

    async def work(store: Store) -> tuple[TaskRecord, tuple[EventRecord, ...]]:
        task = await store.get_task(task_id)
        if task is None:
            raise JobsiteError(f"task {task_id} does not exist (see `jobsite tasks`)")
        return task, await store.list_events(task_id)

    task, events = with_store(work)
    if as_json:
        for record in events:
            click.echo(json.dumps(plain_json(record.data)))
        return
    for text in replay_lines(task, events):
        click.echo(text)

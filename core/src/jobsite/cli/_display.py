"""Showing a deploy as it runs, from its events: what ``jobsite deploy`` prints.

The words are pure functions of the events (:func:`event_lines`, :class:`Progress`), so
they are the same live, replayed by ``jobsite task N``, and in tests. Like bosh's task
output, each finished step is one line with its duration::

    Task 4: deploy shop: 21 steps in 4 stages (serial)
    Started web: canaries (5 steps)
      web/0 (e574c30e-...): create_vm (00:00:02)
      ...
    Finished web: canaries (5 done, 00:00:04)
    Deployed shop: 21 steps in 12.3 s

Three sinks print them: on a terminal :class:`RichDisplay` adds a live line per running
stage with its counts (rich); elsewhere :class:`PlainDisplay` prints the same lines without
live regions; :class:`JsonDisplay` prints each event's JSON, one per line, and nothing else
on standard output. Every failure is repeated on standard error when the deploy ends.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import click

from jobsite.assembler import (
    DeployFinished,
    DeployStarted,
    RemodelFailed,
    RemodelFinished,
    RemodelRetried,
    RemodelStarted,
    StageFinished,
    StageStarted,
)

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.spinner import Spinner

    from jobsite.assembler import Event

__all__ = [
    "Action",
    "Display",
    "JsonDisplay",
    "Line",
    "PlainDisplay",
    "Progress",
    "RichDisplay",
    "action_for",
    "clock",
    "event_lines",
    "make_display",
]


@attrs.frozen
class Line:
    """One line of output: its text, a rich style for terminals, and whether it goes to
    standard error."""

    text: str
    style: str = ""
    err: bool = False


@attrs.frozen
class Action:
    """What a deploy does, in the words of its first and last lines: ``noun`` (``Deploy``),
    ``past`` (``Deployed``) and ``target`` (``shop``, or ``web/0 in shop``)."""

    noun: str
    past: str
    target: str


_VERBS = {
    "deploy": ("Deploy", "Deployed"),
    "delete": ("Delete", "Deleted"),
    "stop": ("Stop", "Stopped"),
    "start": ("Start", "Started"),
    "restart": ("Restart", "Restarted"),
    "recreate": ("Recreate", "Recreated"),
}


def action_for(description: str, deployment: str) -> Action:
    """The action a task's description names (``deploy``, ``stop web/0``, ``delete
    deployment shop``), for replaying its log; any other makes a plain ``Task``."""
    verb, _, rest = description.strip().partition(" ")
    rest = rest.strip()
    if verb not in _VERBS:
        return Action(noun="Task", past="Finished", target=deployment)
    noun, past = _VERBS[verb]
    if not rest or rest == f"deployment {deployment}":
        return Action(noun=noun, past=past, target=deployment)
    return Action(noun=noun, past=past, target=f"{rest} in {deployment}")


def clock(seconds: float) -> str:
    """A duration as bosh prints it: ``00:01:05``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _subject(remodel: str, instance: str | None) -> str:
    return instance or remodel


def _outcome(event: DeployFinished) -> str:
    parts = []
    if event.failed:
        parts.append(f"{event.failed} failed")
    parts.append(f"{event.done} done")
    if event.not_started:
        parts.append(f"{event.not_started} not started")
    return ", ".join(parts) + f", in {event.seconds:.1f} s"


def _summary(event: DeployFinished, action: Action) -> list[Line]:
    if event.state == "done":
        return [
            Line(
                f"{action.past} {action.target}: {_count(event.done, 'step')} in "
                f"{event.seconds:.1f} s",
                "bold green",
            )
        ]
    if event.state == "error":
        head = Line(f"{action.noun} of {action.target} failed: {_outcome(event)}", "bold red")
    elif event.state == "stopped":
        head = Line(
            f"{action.noun} of {action.target} stopped on request: {_outcome(event)}",
            "bold yellow",
        )
    else:
        head = Line(
            f"{action.noun} of {action.target} {event.state}: {_outcome(event)}", "bold yellow"
        )
    return [head, *(Line(str(f), "red", err=True) for f in event.failures)]


def event_lines(event: Event, action: Action) -> list[Line]:
    """The lines one event prints (none for a step starting: its line comes when it ends)."""
    if isinstance(event, DeployStarted):
        task = f"Task {event.task}: " if event.task is not None else ""
        return [
            Line(
                f"{task}{action.noun.lower()} {action.target}: "
                f"{_count(event.remodels, 'step')} in {_count(event.stages, 'stage')} "
                f"({event.strategy})",
                "bold",
            )
        ]
    if isinstance(event, StageStarted):
        return [Line(f"Started {event.stage} ({_count(event.remodels, 'step')})", "bold")]
    if isinstance(event, RemodelFinished):
        subject = _subject(event.remodel, event.instance)
        return [Line(f"  {subject}: {event.action} ({clock(event.seconds)})")]
    if isinstance(event, RemodelFailed):
        subject = _subject(event.remodel, event.instance)
        return [
            Line(
                f"  {subject}: {event.action} failed: {event.error} ({clock(event.seconds)})",
                "red",
            )
        ]
    if isinstance(event, RemodelRetried):
        subject = _subject(event.remodel, event.instance)
        return [
            Line(
                f"  {subject}: {event.action} failed, retry {event.attempt} in "
                f"{event.delay:.1f} s: {event.error}",
                "yellow",
            )
        ]
    if isinstance(event, StageFinished):
        return [_stage_finished(event)]
    if isinstance(event, DeployFinished):
        return _summary(event, action)
    return []


def _stage_finished(event: StageFinished) -> Line:
    if event.state == "skipped":
        return Line(f"Skipped {event.stage} (not started)", "yellow")
    counts = f"{event.done} done"
    if event.failed:
        counts += f", {event.failed} failed"
    counts += f", {clock(event.seconds)}"
    if event.state == "done":
        return Line(f"Finished {event.stage} ({counts})", "green")
    if event.state == "failed":
        return Line(f"Failed {event.stage} ({counts})", "bold red")
    return Line(f"{event.state.capitalize()} {event.stage} ({counts})", "yellow")


@attrs.define
class StageProgress:
    """A running stage's counts."""

    name: str
    total: int
    done: int = 0
    failed: int = 0
    running: int = 0

    def line(self) -> str:
        text = f"{self.name}: {self.done}/{self.total} steps done"
        if self.running:
            text += f", {self.running} running"
        if self.failed:
            text += f", {self.failed} failed"
        return text


@attrs.define
class Progress:
    """What runs now, kept up to date from the events: the live part of the display."""

    stages: dict[str, StageProgress] = attrs.field(factory=dict)
    running: int = 0
    """Steps started and not yet ended, over every stage."""

    def feed(self, event: Event) -> None:
        if isinstance(event, StageStarted):
            self.stages[event.stage] = StageProgress(event.stage, event.remodels)
        elif isinstance(event, RemodelStarted):
            self.running += 1
            if (stage := self.stages.get(event.stage)) is not None:
                stage.running += 1
        elif isinstance(event, RemodelFinished | RemodelFailed):
            self.running = max(0, self.running - 1)
            if (stage := self.stages.get(event.stage)) is not None:
                stage.running = max(0, stage.running - 1)
                if isinstance(event, RemodelFailed):
                    stage.failed += 1
                else:
                    stage.done += 1
        elif isinstance(event, StageFinished):
            self.stages.pop(event.stage, None)
        elif isinstance(event, DeployFinished):
            self.stages.clear()
            self.running = 0

    def live_lines(self) -> list[str]:
        """One line per running stage, in the order they started."""
        return [stage.line() for stage in self.stages.values()]


class Display(Protocol):
    """Where a deploy's events go: called with each event; ``note`` says something to the
    operator (on standard error); a context manager around the deploy."""

    progress: Progress

    def __call__(self, event: Event) -> None: ...

    def note(self, text: str) -> None: ...

    def __enter__(self) -> Display: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Base:
    def __init__(self, action: Action) -> None:
        self.action = action
        self.progress = Progress()

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def note(self, text: str) -> None:
        click.echo(text, err=True)


class PlainDisplay(_Base):
    """The lines, printed as they come, without colours or live regions."""

    def __call__(self, event: Event) -> None:
        self.progress.feed(event)
        for line in event_lines(event, self.action):
            click.echo(line.text, err=line.err)


class JsonDisplay(_Base):
    """Each event as one JSON object per line on standard output, nothing else there; the
    failures again on standard error at the end."""

    def __call__(self, event: Event) -> None:
        self.progress.feed(event)
        click.echo(json.dumps(event.to_json()))
        if isinstance(event, DeployFinished):
            for failure in event.failures:
                click.echo(str(failure), err=True)


class RichDisplay(_Base):
    """On a terminal: the lines above a live region with one spinner line per running
    stage (rich)."""

    def __init__(self, action: Action, console: Console | None = None) -> None:
        from rich.console import Console

        super().__init__(action)
        self.console = console or Console(highlight=False)
        self.errors = Console(stderr=True, highlight=False)
        self._live: Live | None = None
        self._spinners: dict[str, Spinner] = {}

    def _renderable(self) -> RenderableType:
        """The live region (called by rich's refresh thread too: it only reads a copy)."""
        from rich.console import Group
        from rich.spinner import Spinner

        stages = list(self.progress.stages.items())
        spinners = []
        for name, stage in stages:
            spinner = self._spinners.get(name)
            if spinner is None:
                spinner = self._spinners[name] = Spinner("dots", style="cyan")
            spinner.update(text=stage.line())
            spinners.append(spinner)
        for name in set(self._spinners) - {name for name, _ in stages}:
            self._spinners.pop(name, None)
        return Group(*spinners)

    def __enter__(self) -> RichDisplay:
        from rich.live import Live

        self._live = Live(
            console=self.console,
            get_renderable=self._renderable,
            refresh_per_second=8,
            transient=True,
        )
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def __call__(self, event: Event) -> None:
        from rich.text import Text

        self.progress.feed(event)
        if self._live is not None:
            self._live.refresh()  # the counts the lines below are printed above
        for line in event_lines(event, self.action):
            console = self.errors if line.err else self.console
            console.print(Text(line.text, style=line.style))

    def note(self, text: str) -> None:
        from rich.text import Text

        self.errors.print(Text(text, style="bold yellow"))


def make_display(action: Action, *, json_lines: bool = False) -> Display:
    """The display for this terminal: JSON lines when asked, rich on a terminal, plain
    lines elsewhere."""
    if json_lines:
        return JsonDisplay(action)
    if sys.stdout.isatty():
        return RichDisplay(action)
    return PlainDisplay(action)

"""The deploy display's words: pure functions of the events, fed event lists here."""

from __future__ import annotations

import io
import json

import pytest

from jobsite.assembler import (
    DeployFinished,
    DeployStarted,
    Event,
    Failure,
    RemodelFailed,
    RemodelFinished,
    RemodelRetried,
    RemodelStarted,
    StageFinished,
    StageStarted,
)
from jobsite.cli._display import (
    Action,
    JsonDisplay,
    Line,
    PlainDisplay,
    Progress,
    RichDisplay,
    action_for,
    clock,
    event_lines,
)

DEPLOY = Action(noun="Deploy", past="Deployed", target="shop")
WEB0 = "web/0 (e574c30e)"
WEB1 = "web/1 (6ec1b7cb)"
FAILURE = Failure(remodel="r2", action="start", instance=WEB1, error="is failing (nginx)")


def _remodel(
    kind: type[Event], rid: str, action: str, instance: str | None, **more: object
) -> Event:
    return kind(remodel=rid, action=action, stage="web: canaries", instance=instance, **more)


def _events(state: str = "done") -> list[Event]:
    failed = state == "error"
    return [
        DeployStarted(deployment="shop", task=4, strategy="serial", stages=1, remodels=3),
        StageStarted(stage="web: canaries", stage_kind="canary", remodels=3, instance_group="web"),
        _remodel(RemodelStarted, "r1", "create_vm", WEB0),
        _remodel(RemodelStarted, "r2", "start", WEB1),
        _remodel(RemodelFinished, "r1", "create_vm", WEB0, seconds=2.4),
        (
            _remodel(RemodelFailed, "r2", "start", WEB1, seconds=65, error="is failing (nginx)")
            if failed
            else _remodel(RemodelFinished, "r2", "start", WEB1, seconds=1)
        ),
        _remodel(RemodelStarted, "compile", "compile_package", None),
        _remodel(RemodelFinished, "compile", "compile_package", None, seconds=0.2),
        StageFinished(
            stage="web: canaries",
            state="failed" if failed else "done",
            seconds=3725,
            done=2 if failed else 3,
            failed=1 if failed else 0,
        ),
        DeployFinished(
            deployment="shop",
            task=4,
            state=state,
            seconds=12.34,
            done=2 if failed else 3,
            failed=1 if failed else 0,
            not_started=0,
            failures=(FAILURE,) if failed else (),
        ),
    ]


def _text(events: list[Event], action: Action = DEPLOY) -> list[str]:
    return [line.text for event in events for line in event_lines(event, action)]


def test_a_deploy_reads_like_bosh_task_output() -> None:
    assert _text(_events()) == [
        "Task 4: deploy shop: 3 steps in 1 stage (serial)",
        "Started web: canaries (3 steps)",
        f"  {WEB0}: create_vm (00:00:02)",
        f"  {WEB1}: start (00:00:01)",
        "  compile: compile_package (00:00:00)",
        "Finished web: canaries (3 done, 01:02:05)",
        "Deployed shop: 3 steps in 12.3 s",
    ]


def test_a_failed_deploy_names_each_failure_on_stderr() -> None:
    lines = [line for event in _events("error") for line in event_lines(event, DEPLOY)]
    assert [line.text for line in lines if line.err] == [
        f"{WEB1}: start failed: is failing (nginx)"
    ]
    out = [line.text for line in lines if not line.err]
    assert f"  {WEB1}: start failed: is failing (nginx) (00:01:05)" in out
    assert "Failed web: canaries (2 done, 1 failed, 01:02:05)" in out
    assert out[-1] == "Deploy of shop failed: 1 failed, 2 done, in 12.3 s"


@pytest.mark.parametrize(
    ("state", "summary"),
    [
        ("stopped", "Deploy of shop stopped on request: 1 done, 2 not started, in 1.0 s"),
        ("cancelled", "Deploy of shop cancelled: 1 done, 2 not started, in 1.0 s"),
    ],
)
def test_stopped_and_cancelled_deploys_say_what_was_left(state: str, summary: str) -> None:
    event = DeployFinished(
        deployment="shop", task=1, state=state, seconds=1, done=1, failed=0, not_started=2
    )
    assert event_lines(event, DEPLOY) == [Line(summary, "bold yellow")]


def test_stage_endings_and_retries() -> None:
    skipped = StageFinished(stage="worker: canaries", state="skipped", seconds=0)
    stopped = StageFinished(stage="web: batch 1 of 2", state="stopped", seconds=3, done=4)
    retried = RemodelRetried(
        remodel="r", action="create_vm", attempt=2, delay=0.5, error="boom", instance=WEB0
    )
    assert _text([skipped, stopped, retried]) == [
        "Skipped worker: canaries (not started)",
        "Stopped web: batch 1 of 2 (4 done, 00:00:03)",
        f"  {WEB0}: create_vm failed, retry 2 in 0.5 s: boom",
    ]
    assert _text([_remodel(RemodelStarted, "r", "start", WEB0)]) == []


def test_a_deploy_without_a_task_and_with_one_step() -> None:
    started = DeployStarted(deployment="shop", task=None, strategy="hot_swap", stages=1, remodels=1)
    done = DeployFinished(
        deployment="shop", task=None, state="done", seconds=0.04, done=1, failed=0, not_started=0
    )
    assert _text([started, done]) == [
        "deploy shop: 1 step in 1 stage (hot_swap)",
        "Deployed shop: 1 step in 0.0 s",
    ]


def test_progress_counts_each_running_stage() -> None:
    progress = Progress()
    lines_seen = []
    for event in _events("error"):
        progress.feed(event)
        lines_seen.append((progress.running, progress.live_lines()))
    assert lines_seen[1] == (0, ["web: canaries: 0/3 steps done"])
    assert lines_seen[3] == (2, ["web: canaries: 0/3 steps done, 2 running"])
    assert lines_seen[5] == (0, ["web: canaries: 1/3 steps done, 1 failed"])
    assert lines_seen[-2] == (0, [])
    assert lines_seen[-1] == (0, [])


def test_durations_read_as_a_clock() -> None:
    assert [clock(s) for s in (0, 0.4, 2.6, 65, 3725, 90000)] == [
        "00:00:00",
        "00:00:00",
        "00:00:03",
        "00:01:05",
        "01:02:05",
        "25:00:00",
    ]


@pytest.mark.parametrize(
    ("description", "action"),
    [
        ("deploy", Action("Deploy", "Deployed", "shop")),
        ("delete deployment shop", Action("Delete", "Deleted", "shop")),
        ("stop web/0", Action("Stop", "Stopped", "web/0 in shop")),
        ("recreate", Action("Recreate", "Recreated", "shop")),
        ("migrate", Action("Task", "Finished", "shop")),
    ],
)
def test_a_tasks_description_names_its_action(description: str, action: Action) -> None:
    assert action_for(description, "shop") == action


def test_the_plain_display_prints_lines_and_failures_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    display = PlainDisplay(DEPLOY)
    with display:
        for event in _events("error"):
            display(event)
        display.note("Stopping")
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        line.text for e in _events("error") for line in event_lines(e, DEPLOY) if not line.err
    ]
    assert err.splitlines() == [f"{WEB1}: start failed: is failing (nginx)", "Stopping"]


def test_the_json_display_prints_only_events_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    display = JsonDisplay(DEPLOY)
    events = _events("error")
    for event in events:
        display(event)
    out, err = capsys.readouterr()
    assert [json.loads(line) for line in out.splitlines()] == [e.to_json() for e in events]
    assert err.splitlines() == [f"{WEB1}: start failed: is failing (nginx)"]
    assert display.progress.running == 0


def test_the_rich_display_prints_the_same_lines_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rich.console import Console

    screen = io.StringIO()
    display = RichDisplay(DEPLOY, Console(file=screen, force_terminal=True, width=200))
    with display:
        for event in _events():
            display(event)
    text = screen.getvalue()
    for line in _text(_events()):
        assert line in text
    assert "web: canaries: 0/3 steps done, 2 running" in text  # the live line

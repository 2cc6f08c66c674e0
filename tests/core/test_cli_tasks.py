"""``jobsite tasks`` and ``jobsite task N``: the task log that deploys made with the command
line leave in a real SQLite store file, listed and replayed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
import pytest
from click.testing import CliRunner, Result

from jobsite.cli import cli
from jobsite.cli._tasks import replay_lines
from jobsite.store import Batch, EventRecord, StemcellRecord, TaskRecord, open_store
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from pathlib import Path

CLOUD = """\
azs: [{name: z1}]
vm_types: [{name: small}]
networks:
- name: default
  type: manual
  subnets: [{range: 10.0.1.0/24, gateway: 10.0.1.1, azs: [z1]}]
compilation: {workers: 1, az: z1, vm_type: small, network: default}
"""

MANIFEST = """\
name: shop
releases: [{name: app, version: "1.0"}]
stemcells: [{alias: default, os: ubuntu-jammy, version: "1.5"}]
update: {canaries: 1, max_in_flight: 1, canary_watch_time: 0-100, update_watch_time: 0-100}
instance_groups:
- name: web
  instances: 2
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: nginx, release: app}]
"""

TASK_KEYS = {
    "id",
    "state",
    "kind",
    "deployment",
    "description",
    "started_at",
    "ended_at",
    "seconds",
    "result",
}


class Site:
    """A store file and a mock cloud with a stemcell and a cloud config, and the CLI."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.url = f"sqlite://{tmp_path / 'j.db'}"
        self.state_file = tmp_path / "cloud.json"
        self.runner = CliRunner()
        self.env: dict[str, str | None] = {
            "JOBSITE_HOME": str(tmp_path / "home"),
            "JOBSITE_STORE": None,
            "JOBSITE_DEBUG": None,
            "JOBSITE_CPI": None,
        }
        (tmp_path / "cloud.yml").write_text(CLOUD)
        (tmp_path / "manifest.yml").write_text(MANIFEST)
        anyio.run(self._upload_stemcell)
        self.jobsite("update-cloud-config", str(tmp_path / "cloud.yml"))

    async def _upload_stemcell(self) -> None:
        cid = await MockCpi(state_file=self.state_file).create_stemcell("", {})
        async with open_store(self.url) as store:
            await store.apply(
                Batch().put_stemcell(
                    StemcellRecord(name="ubuntu-jammy", os="ubuntu-jammy", version="1.5", cid=cid)
                )
            )

    def jobsite(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(
            cli, ["--store", self.url, *args], env=self.env, catch_exceptions=False
        )
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert "Traceback" not in result.output
        return result

    def deploy(self, *args: str, code: int = 0) -> Result:
        cloud = ("--cpi", "mock", "--cpi-option", f"state_file={self.state_file}")
        return self.jobsite(
            "deploy", str(self.dir / "manifest.yml"), "-n", *cloud, *args, code=code
        )


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def _from_task_line(output: str) -> list[str]:
    """The lines of a deploy's output from its ``Task N:`` line on (after the plan)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Task "))
    return lines[start:]


def test_without_tasks_it_says_so(site: Site) -> None:
    assert site.jobsite("tasks").stdout == "No tasks.\n"
    assert json.loads(site.jobsite("tasks", "--json").stdout) == []


def test_tasks_lists_the_newest_first_with_state_and_result(site: Site) -> None:
    site.deploy()
    site.deploy("--agent-option", "failing_jobs=[web]", "--recreate", code=1)
    rows = json.loads(site.jobsite("tasks", "--json").stdout)
    assert [set(r) for r in rows] == [TASK_KEYS] * 2
    assert [(r["id"], r["state"], r["kind"], r["deployment"]) for r in rows] == [
        (2, "error", "deploy", "shop"),
        (1, "done", "deploy", "shop"),
    ]
    assert rows[1]["result"] == "6 done"
    assert rows[1]["seconds"] >= 0
    assert "1 failed" in rows[0]["result"]
    text = site.jobsite("tasks").stdout.splitlines()
    assert text[0].split()[:4] == ["ID", "State", "Kind", "Deployment"]
    assert text[1].split()[:4] == ["2", "error", "deploy", "shop"]
    assert len(json.loads(site.jobsite("tasks", "-r", "1", "--json").stdout)) == 1
    assert site.jobsite("tasks", "-d", "other").stdout == "No tasks for deployment 'other'.\n"


def test_task_replays_the_lines_the_deploy_printed(site: Site) -> None:
    live = site.deploy()
    replay = site.jobsite("task", "1").stdout.splitlines()
    assert replay == _from_task_line(live.stdout)
    assert replay[-1].startswith("Deployed shop: 6 steps in")


def test_a_failed_task_replays_its_failures_too(site: Site) -> None:
    site.deploy()
    live = site.deploy("--agent-option", "failing_jobs=[web]", "--recreate", code=1)
    replay = site.jobsite("task", "2").stdout.splitlines()
    failures = live.stderr.splitlines()
    assert failures
    assert all(": start failed: " in f for f in failures)
    assert replay == _from_task_line(live.stdout) + failures


def test_task_json_prints_the_events_as_the_deploy_did(site: Site) -> None:
    live = [json.loads(line) for line in site.deploy("--json").stdout.splitlines()]
    stored = [json.loads(line) for line in site.jobsite("task", "1", "--json").stdout.splitlines()]
    assert stored == live


def test_an_unknown_task_is_an_error(site: Site) -> None:
    result = site.jobsite("task", "7", code=1)
    assert result.stderr == "Error: task 7 does not exist (see `jobsite tasks`)\n"


def test_replay_skips_events_a_newer_jobsite_wrote_and_says_when_still_running() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    task = TaskRecord(
        id=3, kind="deploy", deployment="shop", description="stop web/0", started_at=now
    )
    events = (
        EventRecord(task_id=3, seq=1, data={"kind": "from_the_future", "at": 1.0}),
        EventRecord(
            task_id=3,
            seq=2,
            data={
                "kind": "stage_started",
                "at": 1.0,
                "stage": "web: canaries",
                "stage_kind": "canary",
                "remodels": 2,
            },
        ),
    )
    lines = replay_lines(task, events)
    assert lines[0] == "Started web: canaries (2 steps)"
    assert lines[1].startswith("Task 3 is still running (since ")
    assert replay_lines(task, ())[-1].startswith("Task 3 is still running")
    done = TaskRecord(id=4, kind="deploy", state="done", started_at=now, ended_at=now)
    assert replay_lines(done, ()) == ["Task 4 has no events (done)."]

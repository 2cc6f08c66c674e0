"""The mock agent's state lives with its VM in the CPI's state file: an agent reached from a
later process (the next CLI command) remembers its applied spec, started jobs and mounts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from jobsite.agent import JobState
from jobsite.errors import AgentError, DriverError
from jobsite_mock import AgentRecord, MockAgent, MockBlobstore, MockCpi

if TYPE_CHECKING:
    from pathlib import Path

SPEC: dict[str, Any] = {
    "deployment": "d",
    "job": {"name": "web", "templates": [{"name": "nginx"}, {"name": "app"}]},
    "index": 0,
    "id": "uuid-0",
}


class Process:
    """One director process's view of the cloud: a mock CPI and agent on the state file."""

    def __init__(self, state_file: Path, **agent_options: Any) -> None:
        self.cpi = MockCpi(state_file=state_file)
        self.agent = MockAgent(cpi=self.cpi, blobstore=MockBlobstore(), **agent_options)


async def deployed(state_file: Path, **agent_options: Any) -> tuple[Process, str, str]:
    """A first process: a VM for agent ``a1`` with a disk attached and mounted, the spec
    applied and the jobs started. Returns it, the VM cid and the disk cid."""
    first = Process(state_file, **agent_options)
    stemcell = await first.cpi.create_stemcell("", {})
    vm = (await first.cpi.create_vm("a1", stemcell, {}, {}, [], {})).vm_cid
    disk = await first.cpi.create_disk(1024, {}, vm)
    await first.cpi.attach_disk(vm, disk)
    await first.agent.mount_disk("a1", disk)
    await first.agent.apply("a1", SPEC)
    await first.agent.start("a1")
    await first.agent.write_file("a1", "data.txt", "kept")
    return first, vm, disk


def agent_on_file(state_file: Path) -> dict[str, Any]:
    """What the state file holds for agent ``a1``'s VM."""
    vms = json.loads(state_file.read_text())["vms"]
    agent: dict[str, Any] = next(v["agent"] for v in vms if v["agent_id"] == "a1")
    return agent


@pytest.mark.anyio
async def test_a_later_process_sees_the_applied_spec_running_jobs_and_mounts(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "cloud.json"
    first, _, disk = await deployed(state_file)
    assert (await first.agent.get_state("a1")).job_state is JobState.RUNNING

    second = Process(state_file)  # created after the first applied, started and mounted
    state = await second.agent.get_state("a1")
    assert state.applied_spec == SPEC
    assert state.job_state is JobState.RUNNING
    assert [p.name for p in state.processes] == ["nginx", "app"]
    assert all(p.state is JobState.RUNNING for p in state.processes)
    assert second.agent.mounted_disks("a1") == [disk]
    assert second.agent.read_file("a1", "data.txt") == "kept"
    await second.agent.start("a1")  # already started: nothing to do, and no "no spec applied"
    assert (await second.agent.get_state("a1")).job_state is JobState.RUNNING


@pytest.mark.anyio
async def test_stop_persists_and_a_later_process_can_start_again(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    await deployed(state_file)
    second = Process(state_file)
    await second.agent.stop("a1")
    assert agent_on_file(state_file)["started_at"] is None  # on disk when stop returned

    third = Process(state_file)
    assert (await third.agent.get_state("a1")).job_state is JobState.STOPPED
    await third.agent.start("a1")  # the spec is still applied
    assert (await Process(state_file).agent.get_state("a1")).job_state is JobState.RUNNING


@pytest.mark.anyio
async def test_a_reloaded_start_reports_starting_until_start_seconds_pass(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "cloud.json"
    await deployed(state_file)
    slow = Process(state_file, start_seconds=3600)
    assert (await slow.agent.get_state("a1")).job_state is JobState.STARTING
    assert (await Process(state_file).agent.get_state("a1")).job_state is JobState.RUNNING

    since_start = time.time() - agent_on_file(state_file)["started_at"]
    later = Process(state_file, start_seconds=since_start + 0.3)
    assert (await later.agent.get_state("a1")).job_state is JobState.STARTING
    await anyio.sleep(0.4)
    assert (await later.agent.get_state("a1")).job_state is JobState.RUNNING


@pytest.mark.anyio
async def test_every_change_is_on_disk_when_its_call_returns(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    first, vm, disk = await deployed(state_file)
    on_file = agent_on_file(state_file)
    assert on_file["spec"] == SPEC
    assert isinstance(on_file["started_at"], float)
    assert on_file["mounted"] == [disk]

    await first.agent.unmount_disk("a1", disk)
    assert agent_on_file(state_file)["mounted"] == []
    assert Process(state_file).agent.mounted_disks("a1") == []

    await first.agent.mount_disk("a1", disk)
    await first.cpi.detach_disk(vm, disk)  # a mount ends with its device
    assert agent_on_file(state_file)["mounted"] == []
    await first.cpi.attach_disk(vm, disk)
    assert first.agent.mounted_disks("a1") == []  # reattaching does not mount it again
    assert Process(state_file).agent.mounted_disks("a1") == []


@pytest.mark.anyio
async def test_migrate_disk_leaves_the_new_mount_on_disk(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    first, vm, old = await deployed(state_file)
    new = await first.cpi.create_disk(2048, {}, vm)
    await first.cpi.attach_disk(vm, new)
    await first.agent.mount_disk("a1", new)
    assert Process(state_file).agent.mounted_disks("a1") == [old, new]
    await first.agent.migrate_disk("a1", old, new)
    later = Process(state_file)
    assert later.agent.mounted_disks("a1") == [new]
    assert later.agent.read_file("a1", "data.txt") == "kept"


@pytest.mark.anyio
async def test_deleting_the_vm_deletes_what_its_agent_held(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    first, vm, disk = await deployed(state_file)
    await first.cpi.delete_vm(vm)
    assert json.loads(state_file.read_text())["vms"] == []

    second = Process(state_file)
    with pytest.raises(AgentError, match="not responding"):
        await second.agent.get_state("a1")
    stemcell = next(iter(second.cpi.snapshot().stemcells))
    new_vm = (await second.cpi.create_vm("a1", stemcell, {}, {}, [], {})).vm_cid
    await second.cpi.attach_disk(new_vm, disk)
    state = await Process(state_file).agent.get_state("a1")  # a new VM's agent holds nothing
    assert state.applied_spec is None
    assert state.job_state is JobState.STOPPED
    assert Process(state_file).agent.mounted_disks("a1") == []


@pytest.mark.anyio
async def test_unresponsive_instances_are_known_from_the_persisted_spec(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    await deployed(state_file)
    later = Process(state_file, unresponsive=["web/0"])
    assert await later.agent.ping("a1") is False
    failing = Process(state_file, failing_jobs=["web"])
    assert (await failing.agent.get_state("a1")).job_state is JobState.FAILING


@pytest.mark.anyio
async def test_a_state_file_written_before_agents_were_kept_still_loads(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    _, vm, _ = await deployed(state_file)
    data = json.loads(state_file.read_text())
    for item in data["vms"]:
        del item["agent"]
    state_file.write_text(json.dumps(data))

    old = Process(state_file)
    assert old.cpi.snapshot().vms[vm].agent == AgentRecord()
    state = await old.agent.get_state("a1")
    assert state.applied_spec is None
    assert state.job_state is JobState.STOPPED
    assert old.agent.mounted_disks("a1") == []
    with pytest.raises(AgentError, match="no spec applied"):
        await old.agent.start("a1")
    await old.agent.apply("a1", SPEC)
    await old.agent.start("a1")
    assert (await Process(state_file).agent.get_state("a1")).job_state is JobState.RUNNING


@pytest.mark.parametrize(
    ("agent", "match"),
    [
        ([], "agent must be a mapping"),
        ({"spec": [1]}, "agent spec must be a mapping"),
        ({"started_at": "now"}, "agent started_at must be a number"),
        ({"mounted": [1]}, "agent mounted must be a list"),
    ],
)
def test_a_malformed_agent_record_is_refused_naming_it(
    tmp_path: Path, agent: Any, match: str
) -> None:
    state_file = tmp_path / "cloud.json"

    async def make() -> None:
        await deployed(state_file)

    anyio.run(make)
    data = json.loads(state_file.read_text())
    data["vms"][0]["agent"] = agent
    state_file.write_text(json.dumps(data))
    with pytest.raises(DriverError, match=f"unreadable: VM 'vm-1': {match}"):
        MockCpi(state_file=state_file)


# Applies a numbered spec, starts and stops, over and over, printing each number once the
# calls for it have returned.
CHILD = textwrap.dedent(
    """
    import sys
    import anyio
    from jobsite_mock import AgentRecord, MockAgent, MockBlobstore, MockCpi

    async def main() -> None:
        cpi = MockCpi(state_file=sys.argv[1])
        agent = MockAgent(cpi=cpi, blobstore=MockBlobstore())
        stemcell = await cpi.create_stemcell("", {})
        vm = (await cpi.create_vm("a1", stemcell, {}, {}, [], {})).vm_cid
        disk = await cpi.create_disk(1024, {}, vm)
        await cpi.attach_disk(vm, disk)
        for i in range(100_000):
            await agent.apply("a1", {"job": {"name": "web"}, "index": 0, "n": i})
            await agent.start("a1")
            await agent.mount_disk("a1", disk)
            await agent.stop("a1")
            await agent.unmount_disk("a1", disk)
            await agent.apply("a1", {"job": {"name": "web"}, "index": 0, "n": i})
            await agent.start("a1")
            print(i, flush=True)

    anyio.run(main)
    """
)


def test_a_killed_process_leaves_the_agents_last_returned_change_in_the_file(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "cloud.json"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(state_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    printed: list[int] = []
    try:
        while len(printed) < 20:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"child exited early: {child.stderr.read()}")
            printed.append(int(line))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    printed.extend(int(line) for line in child.stdout if line.strip())
    child.stdout.close()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    on_file = agent_on_file(state_file)  # never torn
    assert on_file["spec"]["n"] >= printed[-1]

    async def check() -> None:
        later = Process(state_file)
        state = await later.agent.get_state("a1")
        assert state.applied_spec is not None
        assert state.applied_spec["n"] >= printed[-1]
        if state.job_state is JobState.STOPPED:
            await later.agent.start("a1")
        assert (await later.agent.get_state("a1")).job_state is JobState.RUNNING

    anyio.run(check)

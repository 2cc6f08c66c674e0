"""The state file: the mock cloud outlives its process, even one killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import anyio
import pytest

from jobsite import DriverContext
from jobsite.errors import DriverError
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from pathlib import Path

# Creates VMs from four tasks at once, printing each cid once its create_vm has returned.
CHILD = textwrap.dedent(
    """
    import sys
    import anyio
    from jobsite_mock import MockCpi

    async def main() -> None:
        cpi = MockCpi(state_file=sys.argv[1])
        stemcell = await cpi.create_stemcell("", {})

        async def creator(task: int) -> None:
            for i in range(100_000):
                agent_id = f"{sys.argv[2]}-{task}-{i}"
                networks = {"n": {"type": "dynamic"}}
                created = await cpi.create_vm(agent_id, stemcell, {"i": i}, networks, [], {})
                print(created.vm_cid, flush=True)

        async with anyio.create_task_group() as tg:
            for task in range(4):
                tg.start_soon(creator, task)

    anyio.run(main)
    """
)


def run_and_kill(state_file: Path, run: str, wanted: int) -> list[str]:
    """Start a child creating VMs, SIGKILL it once ``wanted`` creates returned; every cid it
    printed (all printed before it died)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(state_file), run],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    cids: list[str] = []
    try:
        while len(cids) < wanted:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"child exited early: {child.stderr.read()}")
            cids.append(line.strip())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    cids.extend(line.strip() for line in child.stdout if line.strip())
    child.stdout.close()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return cids


def test_a_killed_process_leaves_every_returned_vm_in_an_intact_file(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    first = run_and_kill(state_file, "one", 60)
    json.loads(state_file.read_text())  # never torn
    after_first = MockCpi(state_file=state_file).snapshot()
    assert set(first) <= set(after_first.vms)
    assert not list(tmp_path.glob(".cloud.json.*.tmp"))  # the dead writer's leftovers went

    second = run_and_kill(state_file, "two", 60)  # a new process takes the cloud over
    json.loads(state_file.read_text())
    world = MockCpi(state_file=state_file).snapshot()
    assert set(first) | set(second) <= set(world.vms)
    assert not set(first) & set(second)  # cids are never reused across processes
    assert set(world.stemcells) == {"stemcell-1", "stemcell-2"}
    addresses = [vm.networks["n"]["ip"] for vm in world.vms.values()]
    assert len(addresses) == len(set(addresses))


@pytest.mark.anyio
async def test_the_whole_world_round_trips_through_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "cloud.json"
    state_file.parent.mkdir()
    cpi = MockCpi(state_file=state_file)
    stemcell = await cpi.create_stemcell("", {"image_id": "ami-1"})
    networks = {"n": {"type": "manual", "ip": "10.0.0.5"}, "d": {"type": "dynamic"}}
    vm = (await cpi.create_vm("a1", stemcell, {"t": "s"}, networks, [], {"bosh": {"x": 1}})).vm_cid
    doomed = (await cpi.create_vm("a2", stemcell, {}, {}, [], {})).vm_cid
    await cpi.set_vm_metadata(vm, {"deployment": "d"})
    await cpi.reboot_vm(vm)
    disk = await cpi.create_disk(1024, {"type": "ssd"}, vm)
    await cpi.attach_disk(vm, disk)
    await cpi.set_disk_metadata(disk, {"k": "v"})
    snapshot_cid = await cpi.snapshot_disk(disk, {"s": "1"})
    await cpi.delete_vm(doomed)

    on_disk = json.loads(state_file.read_text())  # written before the last call returned
    assert [v["cid"] for v in on_disk["vms"]] == [vm]

    loaded = MockCpi(state_file=state_file)
    assert loaded.snapshot() == cpi.snapshot()
    assert loaded.find_vm_by_agent_id("a1") is not None
    assert loaded.snapshot().snapshots[snapshot_cid].disk_cid == disk
    with pytest.raises(DriverError, match=r"address 10\.0\.0\.5 in use"):
        await loaded.create_vm("a3", stemcell, {}, {"n": {"ip": "10.0.0.5"}}, [], {})
    assert (await loaded.create_vm("a3", stemcell, {}, {}, [], {})).vm_cid == "vm-3"
    assert await loaded.get_disks(vm) == [disk]


@pytest.mark.anyio
async def test_concurrent_changes_are_all_written(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    cpi = MockCpi(state_file=state_file)
    stemcell = await cpi.create_stemcell("", {})
    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(cpi.create_vm, f"a{i}", stemcell, {}, {}, [], {})
    assert len(MockCpi(state_file=state_file).snapshot().vms) == 50


@pytest.mark.anyio
async def test_reads_do_not_write(tmp_path: Path) -> None:
    state_file = tmp_path / "cloud.json"
    cpi = MockCpi(state_file=state_file)
    await cpi.has_vm("vm-1")
    await cpi.list_vms()
    await cpi.delete_stemcell("stemcell-9")  # unknown: nothing changes
    assert not state_file.exists()


def test_a_relative_state_file_lives_in_the_director_home(tmp_path: Path) -> None:
    context = DriverContext(name="mock", options={"state_file": "cloud.json"}, home=tmp_path)
    assert MockCpi.from_context(context).state_file == tmp_path / "cloud.json"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"format": "something-else"}', "not a jobsite-mock-cpi/1 state file"),
        ('{"format": "jobsite-mock-cpi/1"}', "is unreadable"),
    ],
)
def test_an_unreadable_state_file_is_refused_naming_it(
    tmp_path: Path, content: str, message: str
) -> None:
    state_file = tmp_path / "cloud.json"
    state_file.write_text(content)
    with pytest.raises(DriverError, match=message) as info:
        MockCpi(state_file=state_file)
    assert str(state_file) in str(info.value)
    assert "\n" not in str(info.value)

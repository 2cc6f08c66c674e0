"""The mock agent: reachable only through its VM, with jobs, disks and compilation simulated."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from jobsite.agent import Agent, CompiledPackageRef, DrainType, JobState, PackageRef
from jobsite.errors import AgentError
from jobsite_mock import Fault, MockAgent, MockBlobstore, MockCpi

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio

SPEC: dict[str, Any] = {
    "deployment": "d",
    "job": {"name": "web", "templates": [{"name": "nginx"}, {"name": "app"}]},
    "index": 0,
    "id": "uuid-0",
}


class World:
    """A mock cloud, blobstore and agent, with helpers to make VMs."""

    def __init__(self, **agent_options: Any) -> None:
        self.cpi = MockCpi()
        self.blobstore = MockBlobstore()
        self.agent = MockAgent(cpi=self.cpi, blobstore=self.blobstore, **agent_options)
        self.stemcell = ""

    async def vm(self, agent_id: str, metadata: dict[str, str] | None = None) -> str:
        if not self.stemcell:
            self.stemcell = await self.cpi.create_stemcell("", {})
        created = await self.cpi.create_vm(agent_id, self.stemcell, {}, {}, [], {})
        if metadata:
            await self.cpi.set_vm_metadata(created.vm_cid, metadata)
        return created.vm_cid

    async def blob(self, content: bytes) -> PackageRef:
        async def one() -> AsyncIterator[bytes]:
            yield content

        info = await self.blobstore.put(one())
        return PackageRef(name="pkg", version="1", blob_id=info.blob_id, sha256=info.sha256)


async def test_an_agent_answers_only_while_its_vm_exists() -> None:
    w = World()
    assert isinstance(w.agent, Agent)
    assert await w.agent.ping("a1") is False
    vm = await w.vm("a1")
    assert await w.agent.ping("a1") is True
    await w.cpi.delete_vm(vm)
    assert await w.agent.ping("a1") is False
    for call in (w.agent.get_state("a1"), w.agent.apply("a1", SPEC), w.agent.start("a1")):
        with pytest.raises(AgentError, match="agent 'a1' not responding") as info:
            await call
        assert str(info.value).startswith("mock ")


async def test_jobs_go_from_stopped_to_running_and_back() -> None:
    w = World()
    await w.vm("a1")
    state = await w.agent.get_state("a1")
    assert (state.job_state, state.applied_spec, state.processes) == (JobState.STOPPED, None, ())
    with pytest.raises(AgentError, match="no spec applied"):
        await w.agent.start("a1")
    await w.agent.apply("a1", SPEC)
    assert (await w.agent.get_state("a1")).applied_spec == SPEC
    await w.agent.start("a1")
    state = await w.agent.get_state("a1")
    assert state.job_state is JobState.RUNNING
    assert [(p.name, p.state) for p in state.processes] == [
        ("nginx", JobState.RUNNING),
        ("app", JobState.RUNNING),
    ]
    assert await w.agent.drain("a1", DrainType.UPDATE, SPEC) == 0
    await w.agent.stop("a1")
    assert (await w.agent.get_state("a1")).job_state is JobState.STOPPED


async def test_started_jobs_report_starting_until_start_seconds_pass() -> None:
    slow = World(start_seconds=3600)
    await slow.vm("a1")
    await slow.agent.apply("a1", SPEC)
    await slow.agent.start("a1")
    assert (await slow.agent.get_state("a1")).job_state is JobState.STARTING
    quick = World(start_seconds=0.02)
    await quick.vm("a1")
    await quick.agent.apply("a1", SPEC)
    await quick.agent.start("a1")
    await anyio.sleep(0.04)
    assert (await quick.agent.get_state("a1")).job_state is JobState.RUNNING


async def test_chosen_instances_fail_to_start() -> None:
    w = World(failing_jobs=["web/1"])
    for index in range(3):
        await w.vm(f"a{index}")
        await w.agent.apply(f"a{index}", {**SPEC, "index": index, "id": f"uuid-{index}"})
        await w.agent.start(f"a{index}")
    w.agent.fail_jobs("web/uuid-2")
    states = [(await w.agent.get_state(f"a{i}")).job_state for i in range(3)]
    assert states == [JobState.RUNNING, JobState.FAILING, JobState.FAILING]


async def test_unresponsive_agents_by_instance_and_at_runtime() -> None:
    w = World(unresponsive=["web/1"])
    await w.vm("a0", {"instance_group": "web", "index": "0"})
    await w.vm("a1", {"instance_group": "web", "index": "1"})
    assert await w.agent.ping("a0")
    assert not await w.agent.ping("a1")
    with pytest.raises(AgentError, match="not responding"):
        await w.agent.apply("a1", SPEC)
    w.agent.set_unresponsive("a0")
    assert not await w.agent.ping("a0")
    w.agent.set_unresponsive("a0", False)
    assert await w.agent.ping("a0")


async def test_disks_mount_only_where_attached() -> None:
    w = World()
    vm = await w.vm("a1")
    other = await w.vm("a2")
    disk = await w.cpi.create_disk(100, {}, vm)
    with pytest.raises(AgentError, match="not attached"):
        await w.agent.mount_disk("a1", disk)
    await w.cpi.attach_disk(other, disk)
    with pytest.raises(AgentError, match="not attached"):
        await w.agent.mount_disk("a1", disk)
    await w.cpi.detach_disk(other, disk)
    await w.cpi.attach_disk(vm, disk)
    await w.agent.mount_disk("a1", disk)
    assert w.agent.mounted_disks("a1") == [disk]
    await w.agent.unmount_disk("a1", disk)
    assert w.agent.mounted_disks("a1") == []


async def test_a_new_vm_for_an_agent_id_starts_from_nothing() -> None:
    w = World()
    vm = await w.vm("a1")
    await w.agent.apply("a1", SPEC)
    await w.agent.start("a1")
    await w.cpi.delete_vm(vm)
    await w.vm("a1")
    state = await w.agent.get_state("a1")
    assert (state.job_state, state.applied_spec) == (JobState.STOPPED, None)


async def test_apply_needs_the_blobs_it_names() -> None:
    w = World()
    await w.vm("a1")
    missing = hashlib.sha256(b"nothing").hexdigest()
    spec = {**SPEC, "packages": {"nginx": {"name": "nginx", "blob_id": missing}}}
    with pytest.raises(AgentError, match=f"package 'nginx': blob {missing} not found"):
        await w.agent.apply("a1", spec)
    source = await w.blob(b"src")
    spec["packages"]["nginx"]["blob_id"] = source.blob_id
    await w.agent.apply("a1", spec)


async def test_compiling_is_deterministic_and_depends_on_dependencies() -> None:
    w = World()
    await w.vm("c1")
    await w.vm("c2")
    source = await w.blob(b"package source")
    dep = await w.agent.compile_package("c1", await w.blob(b"dep source"), {})
    first = await w.agent.compile_package("c1", source, {"dep": dep})
    again = await w.agent.compile_package("c2", source, {"dep": dep})
    alone = await w.agent.compile_package("c2", source, {})
    assert isinstance(first, CompiledPackageRef)
    assert first == again
    assert alone.blob_id != first.blob_id
    assert (first.name, first.version, first.blob_id) == ("pkg", "1", first.sha256)
    async with w.blobstore.get(first.blob_id) as chunks:
        content = b"".join([c async for c in chunks])
    assert source.sha256.encode() in content
    assert dep.sha256.encode() in content


async def test_compiling_fails_as_a_real_agent_would() -> None:
    w = World(failing_packages=["pkg"])
    await w.vm("c1")
    source = await w.blob(b"package source")
    with pytest.raises(AgentError, match="compiling pkg/1 failed"):
        await w.agent.compile_package("c1", source, {})
    w2 = World()
    await w2.vm("c1")
    unknown = PackageRef(name="p", version="1", blob_id="0" * 64, sha256="0" * 64)
    with pytest.raises(AgentError, match=r"source blob 0+ not found"):
        await w2.agent.compile_package("c1", unknown, {})
    source = await w2.blob(b"package source")
    lying = PackageRef(name="p", version="1", blob_id=source.blob_id, sha256="1" * 64)
    with pytest.raises(AgentError, match="source digest"):
        await w2.agent.compile_package("c1", lying, {})
    ghost = CompiledPackageRef(name="g", version="1", blob_id="2" * 64, sha256="2" * 64)
    with pytest.raises(AgentError, match="dependency 'g'"):
        await w2.agent.compile_package("c1", source, {"g": ghost})
    assert w2.blobstore.blob_ids() == {source.blob_id}  # nothing compiled was uploaded


async def test_compile_seconds_per_package() -> None:
    w = World(compile_seconds={"default": 0, "pkg": 60})
    await w.vm("c1")
    source = await w.blob(b"package source")
    with anyio.move_on_after(0.01) as scope:
        await w.agent.compile_package("c1", source, {})
    assert scope.cancelled_caught
    other = PackageRef(name="other", version="1", blob_id=source.blob_id, sha256=source.sha256)
    with anyio.fail_after(5):
        await w.agent.compile_package("c1", other, {})


async def test_overlapping_changes_to_one_agent_are_refused() -> None:
    w = World(latency={"apply": 60})
    await w.vm("a1")
    await w.vm("a2")
    async with anyio.create_task_group() as tg:
        tg.start_soon(w.agent.apply, "a1", SPEC)
        await anyio.sleep(0.01)  # the apply is in flight (waiting out its latency)
        with pytest.raises(AgentError) as info:
            await w.agent.stop("a1")
        assert str(info.value) == "mock stop: agent 'a1' is busy with apply"
        await w.agent.stop("a2")  # another agent: fine
        await w.agent.get_state("a1")  # reading is fine
        tg.cancel_scope.cancel()
    await w.agent.stop("a1")  # free again once the apply is over


async def test_calls_are_recorded_per_agent_in_order() -> None:
    w = World()
    await w.vm("a1")
    await w.vm("a2")
    await w.agent.apply("a1", SPEC)
    await w.agent.ping("a2")
    await w.agent.start("a1")
    w.agent.inject(Fault(method="get_state", nth=1))
    with pytest.raises(AgentError, match="injected"):
        await w.agent.get_state("a1")
    records = w.agent.calls_for("a1")
    assert [r.method for r in records] == ["apply", "start", "get_state"]
    assert records[-1].error == "AgentError"
    assert [r.method for r in w.agent.calls_for("a2")] == ["ping"]

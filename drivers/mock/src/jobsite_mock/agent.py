"""The mock agent: a simulated BOSH agent on each VM of a :class:`~jobsite_mock.cpi.MockCpi`.

An agent answers only while its VM exists in that CPI (a deleted VM's agent is gone, as on a
real cloud), so a director that talks to an agent whose VM it deleted is caught. The assembler
promises one call at a time per agent; the mock holds it to that and refuses a second call that
changes an agent while one is in flight. Jobs go STOPPED → (start) STARTING → RUNNING after
``start_seconds``, or FAILING for instances chosen to fail. Compiling reads the source from the
blobstore, takes ``compile_seconds`` and uploads a deterministic result (same source and
dependencies, same blob), so compiled-package caching can be tested for real. Persistent
data lives on the CPI's disks: ``write_file`` and ``read_file`` act on the disk mounted as the
agent's persistent data directory, and ``migrate_disk`` copies it to another disk, so a test
can prove data survives VM recreation and disk migration.

What an agent holds (applied spec, when its jobs were started, mounted disks) is kept with its
VM in the CPI's world (:class:`~jobsite_mock._state.AgentRecord`), as a real agent keeps it on
its VM: with the CPI's ``state_file`` it is written with the VM (the same atomic write, before
the call returns) and an agent reached from a later process remembers it; deleting the VM
deletes it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import attrs

from jobsite.agent import (
    AgentState,
    CompiledPackageRef,
    DrainType,
    JobState,
    PackageRef,
    ProcessState,
)
from jobsite.errors import AgentError, BlobNotFound, BlobstoreError, DriverError
from jobsite_mock._calls import CallLog, CallRecord, CallRunner
from jobsite_mock._faults import ArmedFault, Fault, FaultInjector
from jobsite_mock._latency import Latency, LatencySpec
from jobsite_mock._options import (
    check_known,
    read_mapping,
    read_seconds,
    read_str_list,
)
from jobsite_mock._selectors import Selector, identity_of
from jobsite_mock.cpi import MockCpi

if TYPE_CHECKING:
    from jobsite import DriverContext
    from jobsite.blobstore import Blobstore
    from jobsite_mock._state import VmRecord

__all__ = ["AGENT_METHODS", "AGENT_OPTIONS", "MockAgent"]

R = TypeVar("R")

AGENT_METHODS = (
    "ping",
    "get_state",
    "apply",
    "start",
    "stop",
    "drain",
    "compile_package",
    "mount_disk",
    "unmount_disk",
    "migrate_disk",
)
#: Calls that change an agent: two of them at once for one agent break the assembler's promise.
EXCLUSIVE = frozenset(AGENT_METHODS) - {"ping", "get_state"}
AGENT_OPTIONS = (
    "latency",
    "faults",
    "compile_seconds",
    "start_seconds",
    "failing_jobs",
    "failing_packages",
    "unresponsive",
)
COMPILED_MAGIC = b"jobsite-mock compiled package\n"


def _default_error(method: str) -> type[DriverError]:
    return AgentError


def _durations(value: Any, driver: str, where: str) -> tuple[float, dict[str, float]]:
    """``compile_seconds``: one number, or package name (or ``default``) → seconds."""
    if value is None:
        return 0.0, {}
    if isinstance(value, Mapping):
        read_mapping(value, driver, where)
        per_name = {k: read_seconds(v, driver, f"{where}.{k}") for k, v in value.items()}
        return per_name.pop("default", 0.0), per_name
    return read_seconds(value, driver, where), {}


class _Chunks:
    """One bytes value as the async iterable of chunks ``Blobstore.put`` takes."""

    def __init__(self, content: bytes) -> None:
        self._content: bytes | None = content

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        if self._content is None:
            raise StopAsyncIteration
        content, self._content = self._content, None
        return content


def _job_names(spec: Mapping[str, Any] | None) -> list[str]:
    """The job names an apply spec lists (``job.templates`` in BOSH's spec, or ``jobs``)."""
    if not spec:
        return []
    job = spec.get("job")
    items = job.get("templates") if isinstance(job, Mapping) else spec.get("jobs")
    if not isinstance(items, list):
        return []
    return [i["name"] for i in items if isinstance(i, Mapping) and isinstance(i.get("name"), str)]


def _blob_ids(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(what, blob id) for every blob an apply spec makes the agent download."""
    found: list[tuple[str, str]] = []
    packages = spec.get("packages")
    if isinstance(packages, Mapping):
        for name, ref in packages.items():
            if isinstance(ref, Mapping):
                blob = ref.get("blob_id") or ref.get("blobstore_id")
                if isinstance(blob, str):
                    found.append((f"package {name!r}", blob))
    archive = spec.get("rendered_templates_archive")
    if isinstance(archive, Mapping):
        blob = archive.get("blob_id") or archive.get("blobstore_id")
        if isinstance(blob, str):
            found.append(("rendered templates archive", blob))
    return found


class MockAgent:
    """Every simulated agent on one mock CPI's VMs. Implements :class:`jobsite.agent.Agent`."""

    def __init__(
        self,
        *,
        cpi: MockCpi,
        blobstore: Blobstore,
        name: str = "mock",
        latency: LatencySpec | None = None,
        faults: Sequence[Fault | Mapping[str, Any]] = (),
        compile_seconds: float | Mapping[str, float] | None = None,
        start_seconds: float = 0.0,
        failing_jobs: Sequence[str] = (),
        failing_packages: Sequence[str] = (),
        unresponsive: Sequence[str] = (),
    ) -> None:
        if not isinstance(cpi, MockCpi):
            raise DriverError(
                f"the mock agent reaches only VMs of a mock CPI, got {type(cpi).__name__}",
                driver=name,
            )
        self.name = name
        self._cpi = cpi
        self._blobstore = blobstore
        self._faults = FaultInjector(
            name, AGENT_METHODS, {"AgentError": AgentError}, _default_error
        )
        self._faults.parse(faults)
        self._runner = CallRunner(name, Latency.parse(latency, AGENT_METHODS, name), self._faults)
        self._compile_default, self._compile_per_package = _durations(
            compile_seconds, name, "compile_seconds"
        )
        self._start_seconds = read_seconds(start_seconds, name, "start_seconds")
        self._failing_jobs = [
            Selector.parse(s) for s in read_str_list(failing_jobs, name, "failing_jobs")
        ]
        self._failing_packages = set(read_str_list(failing_packages, name, "failing_packages"))
        self._unresponsive = [
            Selector.parse(s) for s in read_str_list(unresponsive, name, "unresponsive")
        ]
        self._silenced: set[str] = set()
        self._busy: dict[str, str] = {}
        self._clock: dict[str, tuple[float, float]] = {}
        """VM cid → (wall-clock start as recorded, the same instant on the event loop's
        clock): how long jobs have been starting is measured on the loop's clock."""

    @classmethod
    def from_context(cls, context: DriverContext) -> MockAgent:
        """The factory registered as ``mock``: needs the context's mock CPI and a blobstore."""
        options = context.options
        check_known(options, AGENT_OPTIONS, context.name)
        if not isinstance(context.cpi, MockCpi):
            got = "none" if context.cpi is None else type(context.cpi).__name__
            raise DriverError(
                f"the mock agent needs the mock CPI (cpi: mock), got {got}", driver=context.name
            )
        if context.blobstore is None:
            raise DriverError("the mock agent needs a blobstore, got none", driver=context.name)
        return cls(
            cpi=context.cpi,
            blobstore=context.blobstore,
            name=context.name,
            latency=options.get("latency"),
            faults=options.get("faults", ()),
            compile_seconds=options.get("compile_seconds"),
            start_seconds=options.get("start_seconds", 0.0),
            failing_jobs=options.get("failing_jobs", ()),
            failing_packages=options.get("failing_packages", ()),
            unresponsive=options.get("unresponsive", ()),
        )

    # --- for tests: inspection and injection ------------------------------------------------

    @property
    def calls(self) -> CallLog:
        """Every finished call of every agent; ``args["agent_id"]`` says which."""
        return self._runner.log

    def calls_for(self, agent_id: str) -> list[CallRecord]:
        """One agent's calls, in start order."""
        return sorted(
            (r for r in self._runner.log if r.args.get("agent_id") == agent_id),
            key=lambda r: r.seq,
        )

    def inject(self, fault: Fault) -> ArmedFault:
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_latency(self, latency: LatencySpec) -> None:
        self._runner.latency = Latency.parse(latency, AGENT_METHODS, self.name)

    def fail_jobs(self, selector: str) -> None:
        """Make the jobs of these instances fail (FAILING instead of RUNNING once started)."""
        self._failing_jobs.append(Selector.parse(selector))

    def fail_package(self, name: str) -> None:
        """Make compiling this package fail."""
        self._failing_packages.add(name)

    def set_unresponsive(self, agent_id: str, unresponsive: bool = True) -> None:
        """Make one agent stop (or resume) answering, as if its process hung."""
        if unresponsive:
            self._silenced.add(agent_id)
        else:
            self._silenced.discard(agent_id)

    # --- the path of every call -------------------------------------------------------------

    async def _call(
        self,
        method: str,
        agent_id: str,
        args: Mapping[str, Any],
        body: Callable[[VmRecord], Awaitable[R]],
    ) -> R:
        """Run one call to one agent: refuse overlapping changes, reach the agent, act."""
        exclusive = method in EXCLUSIVE
        conflict = self._busy.get(agent_id) if exclusive else None
        if exclusive and conflict is None:
            self._busy[agent_id] = method

        async def guarded() -> R:
            if conflict is not None:
                raise AgentError(f"agent {agent_id!r} is busy with {conflict}")
            return await body(self._reach(agent_id))

        try:
            return await self._runner.run(method, {"agent_id": agent_id, **args}, guarded)
        finally:
            if exclusive and conflict is None:
                del self._busy[agent_id]

    def _reach(self, agent_id: str) -> VmRecord:
        """The agent's VM (its record holds what the agent holds), if it exists and the agent
        answers. A new VM's agent holds nothing."""
        vm = self._cpi.find_vm_by_agent_id(agent_id)
        if vm is None or self._silent(agent_id, vm):
            raise AgentError(f"agent {agent_id!r} not responding")
        return vm

    def _silent(self, agent_id: str, vm: VmRecord) -> bool:
        if agent_id in self._silenced:
            return True
        who = identity_of(vm.agent.spec, vm.metadata)
        return any(s.matches(who) for s in self._unresponsive)

    def _change(self, agent_id: str, vm_cid: str, **changes: Any) -> None:
        """Change what the agent on ``vm_cid`` holds (nothing, if that VM is gone or another
        one now has the agent id: the change went with it). :meth:`MockCpi._persist` makes
        it durable."""
        vm = self._cpi.find_vm_by_agent_id(agent_id)
        if vm is not None and vm.cid == vm_cid:
            self._cpi._put_agent(vm_cid, attrs.evolve(vm.agent, **changes))

    def _started_for(self, vm: VmRecord) -> float | None:
        """Seconds the jobs have been started, None if stopped. A start this process saw is
        timed on the event loop's clock; one recorded by an earlier process (a state file)
        from the wall clock, from the moment this process first looks."""
        started_at = vm.agent.started_at
        if started_at is None:
            return None
        now = anyio.current_time()
        anchor = self._clock.get(vm.cid)
        if anchor is None or anchor[0] != started_at:
            anchor = (started_at, now - max(0.0, time.time() - started_at))
            self._clock[vm.cid] = anchor
        return now - anchor[1]

    def _job_state(self, vm: VmRecord) -> JobState:
        started_for = self._started_for(vm)
        if started_for is None:
            return JobState.STOPPED
        if started_for < self._start_seconds:
            return JobState.STARTING
        who = identity_of(vm.agent.spec, vm.metadata)
        if any(s.matches(who) for s in self._failing_jobs):
            return JobState.FAILING
        return JobState.RUNNING

    # --- the agent protocol -----------------------------------------------------------------

    async def ping(self, agent_id: str) -> bool:
        async def body() -> bool:
            try:
                self._reach(agent_id)
            except AgentError:
                return False
            return True

        return await self._runner.run("ping", {"agent_id": agent_id}, body)

    async def get_state(self, agent_id: str) -> AgentState:
        async def body(vm: VmRecord) -> AgentState:
            state = self._job_state(vm)
            spec = vm.agent.spec
            return AgentState(
                agent_id=agent_id,
                job_state=state,
                processes=tuple(ProcessState(name=n, state=state) for n in _job_names(spec)),
                applied_spec=None if spec is None else json.loads(json.dumps(spec)),
            )

        return await self._call("get_state", agent_id, {}, body)

    async def apply(self, agent_id: str, spec: Mapping[str, Any]) -> None:
        async def body(vm: VmRecord) -> None:
            try:
                copy = json.loads(json.dumps(spec))
            except (TypeError, ValueError) as exc:
                raise AgentError(f"apply spec is not JSON: {exc}") from None
            if not isinstance(copy, dict):
                raise AgentError(f"apply spec must be a mapping, got {type(spec).__name__}")
            for what, blob_id in _blob_ids(copy):  # the agent downloads them: they must exist
                if not await self._blob_exists(blob_id):
                    raise AgentError(f"{what}: blob {blob_id} not found in the blobstore")
            self._change(agent_id, vm.cid, spec=copy)
            await self._cpi._persist()

        await self._call("apply", agent_id, {"spec": spec}, body)

    async def start(self, agent_id: str) -> None:
        async def body(vm: VmRecord) -> None:
            if vm.agent.spec is None:
                raise AgentError(f"agent {agent_id!r} has nothing to start: no spec applied")
            if vm.agent.started_at is None:
                started_at = time.time()
                self._clock[vm.cid] = (started_at, anyio.current_time())
                self._change(agent_id, vm.cid, started_at=started_at)
            await self._cpi._persist()

        await self._call("start", agent_id, {}, body)

    async def stop(self, agent_id: str) -> None:
        async def body(vm: VmRecord) -> None:
            self._clock.pop(vm.cid, None)
            self._change(agent_id, vm.cid, started_at=None)
            await self._cpi._persist()

        await self._call("stop", agent_id, {}, body)

    async def drain(self, agent_id: str, drain_type: DrainType, spec: Mapping[str, Any]) -> int:
        async def body(vm: VmRecord) -> int:
            if not isinstance(drain_type, DrainType):
                raise AgentError(f"unknown drain type {drain_type!r}")
            return 0

        return await self._call("drain", agent_id, {"drain_type": drain_type, "spec": spec}, body)

    async def mount_disk(self, agent_id: str, disk_cid: str) -> None:
        """Mount an attached disk: the first one as the persistent data directory, a further
        one beside it (BOSH's migration target). Mounting a mounted disk does nothing."""

        async def body(vm: VmRecord) -> None:
            self._check_attached(agent_id, disk_cid)
            mounted = self._mounts(agent_id)
            if disk_cid not in mounted:
                mounted.append(disk_cid)
            self._change(agent_id, vm.cid, mounted=tuple(mounted))
            await self._cpi._persist()

        await self._call("mount_disk", agent_id, {"disk_cid": disk_cid}, body)

    async def unmount_disk(self, agent_id: str, disk_cid: str) -> None:
        """Unmount a disk so it can be detached. Unmounting a disk that is not mounted (also
        one detached since, or never attached) does nothing: a director rerunning after a
        crash repeats it."""

        async def body(vm: VmRecord) -> None:
            mounted = tuple(d for d in self._mounts(agent_id) if d != disk_cid)
            self._change(agent_id, vm.cid, mounted=mounted)
            await self._cpi._persist()

        await self._call("unmount_disk", agent_id, {"disk_cid": disk_cid}, body)

    async def migrate_disk(self, agent_id: str, old_disk_cid: str, new_disk_cid: str) -> None:
        """Copy the old disk's files onto the new one (over what it holds, as ``tar`` would),
        then leave the new one mounted as the persistent data directory and the old one
        unmounted. Both must be attached to this agent's VM; the old one keeps its files."""

        async def body(vm: VmRecord) -> None:
            self._check_attached(agent_id, old_disk_cid)
            self._check_attached(agent_id, new_disk_cid)
            if old_disk_cid == new_disk_cid:
                raise AgentError(f"disk {old_disk_cid!r} cannot be migrated onto itself")
            files = {**self._cpi.disk_files(new_disk_cid), **self._cpi.disk_files(old_disk_cid)}
            self._cpi._put_disk_files(new_disk_cid, files)
            others = [d for d in self._mounts(agent_id) if d not in (old_disk_cid, new_disk_cid)]
            self._change(agent_id, vm.cid, mounted=(new_disk_cid, *others))
            await self._cpi._persist()

        args = {"old_disk_cid": old_disk_cid, "new_disk_cid": new_disk_cid}
        await self._call("migrate_disk", agent_id, args, body)

    def mounted_disks(self, agent_id: str) -> list[str]:
        """The disks an agent has mounted now (for tests), the persistent data directory
        first; none once its VM is gone, and none its VM no longer has attached."""
        return self._mounts(agent_id)

    def _mounts(self, agent_id: str) -> list[str]:
        """The agent's mounts that its current VM has attached (a detached disk's mount is
        gone with its device; a new VM starts with none)."""
        vm = self._cpi.find_vm_by_agent_id(agent_id)
        if vm is None:
            return []
        return [d for d in vm.agent.mounted if d in vm.disk_cids]

    def _check_attached(self, agent_id: str, disk_cid: str) -> None:
        vm = self._cpi.find_vm_by_agent_id(agent_id)
        if vm is None or disk_cid not in vm.disk_cids:
            where = vm.cid if vm else "no VM"
            raise AgentError(f"disk {disk_cid!r} is not attached to this VM ({where})")

    # --- for tests: persistent data on the mounted disk (not agent calls; not recorded) -----

    def _data_disk(self, agent_id: str) -> str:
        mounted = self.mounted_disks(agent_id)
        if not mounted:
            raise AgentError(f"agent {agent_id!r} has no persistent disk mounted", driver=self.name)
        return mounted[0]

    async def write_file(self, agent_id: str, path: str, content: str) -> None:
        """Write a file to the persistent data directory (the disk mounted first) of this
        agent, as its jobs would. With the CPI's ``state_file`` it is on disk on return."""
        if not isinstance(path, str) or not path or not isinstance(content, str):
            raise AgentError(
                f"write_file needs a non-empty path and str content, got {path!r}, "
                f"{type(content).__name__}",
                driver=self.name,
            )
        disk_cid = self._data_disk(agent_id)
        self._cpi._put_disk_files(disk_cid, {**self._cpi.disk_files(disk_cid), path: content})
        await self._cpi._persist()

    def read_file(self, agent_id: str, path: str) -> str | None:
        """A file in this agent's persistent data directory; None if there is no such file."""
        return self._cpi.disk_files(self._data_disk(agent_id)).get(path)

    async def compile_package(
        self,
        agent_id: str,
        package: PackageRef,
        dependencies: Mapping[str, CompiledPackageRef],
    ) -> CompiledPackageRef:
        async def body(vm: VmRecord) -> CompiledPackageRef:
            source = await self._source_digest(package)
            for dep_name, dep in sorted(dependencies.items()):
                if not await self._blob_exists(dep.blob_id):
                    raise AgentError(
                        f"dependency {dep_name!r} of {package.name!r}: compiled blob "
                        f"{dep.blob_id} not found in the blobstore"
                    )
            seconds = self._compile_per_package.get(package.name, self._compile_default)
            if seconds > 0:
                await anyio.sleep(seconds)
            if package.name in self._failing_packages:
                raise AgentError(f"compiling {package.name}/{package.version} failed: exit 1")
            manifest = {
                "name": package.name,
                "version": package.version,
                "source_sha256": source,
                "dependencies": {n: d.sha256 for n, d in sorted(dependencies.items())},
            }
            content = COMPILED_MAGIC + json.dumps(manifest, sort_keys=True).encode()
            digest = hashlib.sha256(content).hexdigest()
            try:
                info = await self._blobstore.put(_Chunks(content), sha256=digest)
            except BlobstoreError as exc:
                raise AgentError(f"uploading compiled {package.name!r} failed: {exc}") from exc
            return CompiledPackageRef(
                name=package.name, version=package.version, blob_id=info.blob_id, sha256=digest
            )

        args = {"package": package, "dependencies": dependencies}
        return await self._call("compile_package", agent_id, args, body)

    async def _source_digest(self, package: PackageRef) -> str:
        """Download the source as a real agent does, and check it is what was asked for."""
        digest = hashlib.sha256()
        try:
            async with self._blobstore.get(package.blob_id) as chunks:
                async for chunk in chunks:
                    digest.update(chunk)
        except BlobNotFound:
            raise AgentError(
                f"package {package.name!r}: source blob {package.blob_id} not found"
            ) from None
        except BlobstoreError as exc:
            raise AgentError(f"package {package.name!r}: fetching source failed: {exc}") from exc
        actual = digest.hexdigest()
        if actual != package.sha256:
            raise AgentError(
                f"package {package.name!r}: source digest {actual}, expected {package.sha256}"
            )
        return actual

    async def _blob_exists(self, blob_id: str) -> bool:
        try:
            return await self._blobstore.exists(blob_id)
        except BlobstoreError:  # a malformed id cannot name a stored blob
            return False

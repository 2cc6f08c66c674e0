"""The agent protocol: what the director asks of the agent on a VM.

BOSH's director talks to each VM's agent by its ``agent_id`` (chosen by the director and
handed to ``create_vm``); so does jobsite. An agent driver is one object that reaches every
agent of its transport, so every method takes the ``agent_id`` first. A CPI driver says which
agent transport reaches its VMs.

Failures raise :class:`jobsite.errors.AgentError`; an agent that does not answer (its VM is
gone, its process died) raises it too, with a message that says so.

A director that crashed repeats, on its next run, the step it was in: ``stop``, ``apply``,
``start``, ``mount_disk``, ``unmount_disk`` and ``migrate_disk`` must be safe to repeat
(mounting a mounted disk, unmounting one that is not mounted, stopping stopped jobs: no-ops).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from jobsite._types import JsonMapping

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Agent",
    "AgentState",
    "CompiledPackageRef",
    "DrainType",
    "JobState",
    "PackageRef",
    "ProcessState",
]


class JobState(StrEnum):
    """An instance's overall state as its agent reports it (BOSH's ``job_state``)."""

    RUNNING = "running"
    STARTING = "starting"
    FAILING = "failing"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


class DrainType(StrEnum):
    """Why jobs are drained: before an update, or before the VM goes away."""

    UPDATE = "update"
    SHUTDOWN = "shutdown"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class ProcessState:
    """One process of a job, as the agent sees it."""

    name: str
    state: JobState


@attrs.frozen(kw_only=True)
class AgentState:
    """What ``get_state`` returns."""

    agent_id: str
    job_state: JobState
    processes: tuple[ProcessState, ...] = ()
    applied_spec: JsonMapping | None = None
    """The last spec ``apply`` installed, so the inspector can tell what a VM runs."""


@attrs.frozen(kw_only=True)
class PackageRef:
    """A package's source blob, as handed to ``compile_package``."""

    name: str
    version: str
    blob_id: str
    sha256: str


@attrs.frozen(kw_only=True)
class CompiledPackageRef:
    """A compiled package's blob: what ``compile_package`` returns and ``apply`` installs."""

    name: str
    version: str
    blob_id: str
    sha256: str


@runtime_checkable
class Agent(Protocol):
    """Every agent one transport reaches. Methods may be called concurrently for different
    agents; calls for one agent are made one at a time by the assembler."""

    async def ping(self, agent_id: str) -> bool:
        """Whether the agent answers at all (BOSH's ``ping``)."""
        ...

    async def get_state(self, agent_id: str) -> AgentState:
        """The instance's job state and processes."""
        ...

    async def apply(self, agent_id: str, spec: JsonMapping) -> None:
        """Install what ``spec`` names (compiled packages, rendered jobs, networks, disk) without
        starting it. The spec is BOSH's apply spec: ``deployment``, ``job``, ``index``, ``id``,
        ``az``, ``networks``, ``packages`` (name → ``CompiledPackageRef`` fields),
        ``rendered_templates_archive``, ``configuration_hash``, ``persistent_disk``."""
        ...

    async def start(self, agent_id: str) -> None:
        """Start the applied jobs' processes; returns once started, not once running."""
        ...

    async def stop(self, agent_id: str) -> None:
        """Stop every job process; returns once they are stopped."""
        ...

    async def drain(self, agent_id: str, drain_type: DrainType, spec: JsonMapping) -> int:
        """Run the jobs' drain scripts; return seconds to wait (negative: poll ``status``)."""
        ...

    async def compile_package(
        self,
        agent_id: str,
        package: PackageRef,
        dependencies: Mapping[str, CompiledPackageRef],
    ) -> CompiledPackageRef:
        """Compile a package on this (compilation) VM against its compiled dependencies,
        upload the result to the blobstore and return where it is."""
        ...

    async def mount_disk(self, agent_id: str, disk_cid: str) -> None:
        """Mount an attached persistent disk at the VM's persistent data directory."""
        ...

    async def unmount_disk(self, agent_id: str, disk_cid: str) -> None:
        """Unmount the persistent disk so it can be detached."""
        ...

    async def migrate_disk(self, agent_id: str, old_disk_cid: str, new_disk_cid: str) -> None:
        """Copy the persistent data from one attached disk to another (BOSH's
        ``migrate_disk``), then leave the new one mounted as the persistent data directory.
        Both disks are attached to the agent's VM when it is called."""
        ...

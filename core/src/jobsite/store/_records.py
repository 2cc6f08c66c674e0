"""The values a store holds and returns: frozen, slotted attrs records.

A record is what one row means, not how it is stored: times are aware ``datetime`` values (UTC),
JSON columns are frozen mappings, and identities are the ones the rest of jobsite uses
(instance uuids, VM and disk ids chosen by the writer). Writers build records and hand them to
a :class:`~jobsite.store.Batch` or a ``put_*`` method; readers get new records back, never a
live row, so a floorplan built from them cannot change underneath the foreman.

VM and disk ids are chosen by the writer (:func:`new_id`), not by the database: the assembler
can then record an intent ("creating this VM") and complete it later in the same batch
machinery without a round trip to learn the id, which is what lets state writes be grouped
into few commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from jobsite.store._json import freeze_mapping, utcnow

__all__ = [
    "CompiledPackageRecord",
    "ConfigRecord",
    "DeploymentRecord",
    "DiskRecord",
    "EventRecord",
    "InstanceRecord",
    "IpReservation",
    "LockLease",
    "ReleaseRecord",
    "StemcellRecord",
    "TaskRecord",
    "VmRecord",
    "new_id",
]


def new_id() -> str:
    """A fresh id for a VM or disk row (a UUID4 in hex)."""
    return uuid.uuid4().hex


def _ids(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _json_field() -> Any:
    # JSON objects take part in equality but not in hashing (a mapping is not hashable).
    return attrs.field(factory=dict, converter=freeze_mapping, hash=False)


@attrs.frozen(kw_only=True)
class ConfigRecord:
    """One version of a named cloud or runtime config, as uploaded (after interpolation).

    Versions are never changed: uploading different content adds a row with a higher ``id``;
    the latest version of a ``(type, name)`` is the one with the highest id.
    """

    id: int
    type: str
    """``cloud`` or ``runtime`` (other types are stored as given)."""
    name: str
    """``default`` unless uploaded with ``--name``."""
    content: str
    """The YAML text as stored."""
    created_at: datetime


@attrs.frozen(kw_only=True)
class DeploymentRecord:
    """A deployment with the inputs it was last applied with."""

    name: str
    manifest: str
    """The manifest as applied: YAML text after ops files and variables."""
    config_ids: tuple[int, ...] = attrs.field(default=(), converter=_ids)
    """The :class:`ConfigRecord` versions (cloud and runtime) the manifest was applied with."""
    created_at: datetime = attrs.field(factory=utcnow)
    updated_at: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class InstanceRecord:
    """One instance of an instance group: ``group/uuid`` with its index, az and spec."""

    uuid: str
    deployment: str
    group: str
    index: int
    az: str | None = None
    state: str = "started"
    """The desired state: ``started``, ``stopped`` or ``detached`` (``stop --hard``)."""
    bootstrap: bool = False
    ignore: bool = False
    """``bosh ignore``: the foreman leaves the instance alone."""
    spec: Mapping[str, Any] = _json_field()
    """The spec last applied to the instance's agent, as JSON."""


@attrs.frozen(kw_only=True)
class VmRecord:
    """A VM, from the intent to create it until it is deleted.

    The assembler writes the row with ``state="creating"`` and no ``cid`` before calling the
    CPI, then fills in the cid with ``state="created"``; a crash in between leaves a row the
    inspector can reconcile against the cloud (by ``agent_id``) instead of a leaked VM.
    """

    id: str = attrs.field(factory=new_id)
    deployment: str
    instance_uuid: str | None = None
    """The instance the VM belongs to (None for compilation VMs and VMs being deleted)."""
    cid: str | None = None
    agent_id: str
    stemcell_cid: str | None = None
    stemcell_os: str | None = None
    stemcell_version: str | None = None
    """The stemcell the VM was created from (what a stemcell change is detected against)."""
    cloud_properties: Mapping[str, Any] = _json_field()
    networks: Mapping[str, Any] = _json_field()
    env: Mapping[str, Any] = _json_field()
    state: str = "creating"
    """``creating``, ``created`` or ``deleting``."""
    active: bool = False
    """Whether this is the instance's current VM (hot_swap keeps two VMs for a while)."""
    created_at: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class DiskRecord:
    """A persistent disk, attached to an instance or orphaned.

    Orphaned disks keep their deployment's name (as text, not a reference) so they outlive
    the deployment, as BOSH's orphaned disks do.
    """

    id: str = attrs.field(factory=new_id)
    deployment: str
    instance_uuid: str | None = None
    cid: str | None = None
    size: int
    """Size in MiB."""
    disk_type: str | None = None
    name: str = ""
    """The disk's name in the manifest (empty for the unnamed persistent disk)."""
    cloud_properties: Mapping[str, Any] = _json_field()
    state: str = "creating"
    """``creating``, ``created`` or ``deleting``."""
    active: bool = False
    """Whether the instance uses this disk now (a migration keeps the old one inactive)."""
    vm: str | None = None
    """The store id of the VM the disk is attached to, as last recorded (None: detached)."""
    orphaned_at: datetime | None = None
    created_at: datetime = attrs.field(factory=utcnow)

    @property
    def orphaned(self) -> bool:
        return self.orphaned_at is not None


@attrs.frozen(kw_only=True)
class IpReservation:
    """An address on a network, held for an instance (or reserved with none yet)."""

    network: str
    address: str
    deployment: str
    instance_uuid: str | None = None
    static: bool = False
    """True for an address the manifest asks for; False for one chosen from the ranges."""
    created_at: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class ReleaseRecord:
    """An uploaded release version."""

    name: str
    version: str
    commit_hash: str | None = None
    manifest: Mapping[str, Any] = _json_field()
    """The release's ``release.MF`` (jobs, packages, fingerprints) as JSON."""
    created_at: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class StemcellRecord:
    """An uploaded stemcell: its image in one cloud (``cpi``) under ``cid``."""

    name: str
    version: str
    os: str
    cid: str
    cpi: str = ""
    sha1: str | None = None
    created_at: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class CompiledPackageRecord:
    """A package compiled for one stemcell, cached in the blobstore.

    A package is compiled once per (package, fingerprint, stemcell os and version, dependency
    key): the dependency key is the canonical list of the compiled dependencies' fingerprints.
    """

    package: str
    fingerprint: str
    stemcell_os: str
    stemcell_version: str
    dependency_key: str
    blob_id: str
    sha256: str
    created_at: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class LockLease:
    """A held lock: ``holder`` owns ``name`` until ``expires_at`` unless it renews.

    Lease times come from the database's clock (not the caller's), so directors on several
    hosts sharing one PostgreSQL agree on when a lease has run out.
    """

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


@attrs.frozen(kw_only=True)
class TaskRecord:
    """A unit of director work (a deploy, a config update): BOSH's tasks."""

    id: int
    kind: str
    deployment: str | None = None
    description: str = ""
    state: str = "processing"
    """``processing``, then ``done``, ``error`` or ``cancelled``."""
    started_at: datetime
    ended_at: datetime | None = None
    result: str | None = None
    """The one-line outcome shown by ``jobsite tasks``."""


@attrs.frozen(kw_only=True)
class EventRecord:
    """One event of a task's log, in ``seq`` order (the writer numbers them)."""

    task_id: int
    seq: int
    at: datetime = attrs.field(factory=utcnow)
    data: Mapping[str, Any] = _json_field()

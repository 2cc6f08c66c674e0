"""Materials: the atoms of required state the architect puts in a blueprint.

Each is a frozen value keyed by the instance it belongs to, so the foreman can diff blueprint
against floorplan one material at a time, and a plugin can add its own material types next to
these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from jobsite.config import UpdateConfig
from jobsite.cpi import VmResources

__all__ = [
    "Blueprint",
    "DiskMaterial",
    "GroupMaterial",
    "InstanceMaterial",
    "InstanceState",
    "JobMaterial",
    "NetworkPlacement",
    "VmMaterial",
]

InstanceState = Literal["started", "stopped", "detached"]


@attrs.frozen(kw_only=True)
class InstanceMaterial:
    """One instance with its stable identity: ``group/index`` for people, ``uuid`` for
    machines; both survive deploys (and ``migrated_from`` renames)."""

    deployment: str
    group: str
    index: int
    uuid: str
    az: str | None
    bootstrap: bool = False
    lifecycle: Literal["service", "errand"] = "service"
    state: InstanceState = "started"
    ignored: bool = False
    recreate: bool = False
    """Whether the operator asked for this instance's VM to be recreated (``--recreate``)."""
    restart: bool = False
    """Whether the operator asked for this instance's jobs to be restarted."""
    migrated_from: str | None = None
    """The old group name this instance was taken over from, when it was."""

    @property
    def name(self) -> str:
        """``group/uuid``, as BOSH names instances."""
        return f"{self.group}/{self.uuid}"


@attrs.frozen(kw_only=True)
class NetworkPlacement:
    """An instance's place on one network: what ``create_vm`` receives for it."""

    network: str
    type: Literal["manual", "dynamic", "vip"]
    ip: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    dns: tuple[str, ...] = ()
    default: tuple[str, ...] = ()
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    static: bool = False
    """Whether ``ip`` comes from the group's ``static_ips`` (such an instance cannot be
    swapped onto a second VM while the first holds the address)."""

    def settings(self) -> dict[str, Any]:
        """BOSH's network settings for the CPI and agent."""
        out: dict[str, Any] = {"type": self.type, "cloud_properties": dict(self.cloud_properties)}
        if self.ip is not None:
            out["ip"] = self.ip
        if self.netmask is not None:
            out["netmask"] = self.netmask
        if self.gateway is not None:
            out["gateway"] = self.gateway
        if self.dns:
            out["dns"] = list(self.dns)
        if self.default:
            out["default"] = list(self.default)
        return out


@attrs.frozen(kw_only=True)
class VmMaterial:
    """The VM an instance needs: everything that, when it changes, means a new VM."""

    instance: str
    """The instance's uuid."""
    stemcell_os: str
    stemcell_version: str
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    vm_resources: VmResources | None = None
    networks: tuple[NetworkPlacement, ...] = ()
    env: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class DiskMaterial:
    """A persistent disk an instance needs (``name`` is empty for the single default disk)."""

    instance: str
    name: str
    size: int
    """MiB."""
    disk_type: str | None = None
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class JobMaterial:
    """A job an instance runs, with its properties as merged for that instance."""

    instance: str
    name: str
    release: str
    release_version: str = ""
    """The release's version as the manifest names it (``latest`` until resolved)."""
    properties: Mapping[str, Any] = attrs.field(factory=dict)
    addon: str | None = None
    """The addon that brought the job, if it did not come from the instance group."""


@attrs.frozen(kw_only=True)
class GroupMaterial:
    """An instance group as the manifest draws it: what its instances are measured against
    (its AZs, its size) and how it updates."""

    name: str
    instances: int
    azs: tuple[str, ...] = ()
    lifecycle: Literal["service", "errand"] = "service"
    migrated_from: tuple[str, ...] = ()
    static_ips: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, hash=False)
    """Network → the ``static_ips`` entries (addresses or ranges) the group lists."""
    update: UpdateConfig = attrs.field(factory=UpdateConfig)
    """The group's ``update`` block layered over the deployment's."""


@attrs.frozen(kw_only=True)
class Blueprint:
    """Every material a deployment's inputs ask for."""

    deployment: str
    id_seed: str = ""
    """The seed new identities were drawn from; the foreman draws new VM and disk ids from
    it too, so a plan names the same things however often it is computed."""
    groups: tuple[GroupMaterial, ...] = ()
    """Instance groups in manifest order (the order BOSH updates them in)."""
    update: UpdateConfig = attrs.field(factory=UpdateConfig)
    """The deployment's ``update`` block."""
    instances: tuple[InstanceMaterial, ...] = ()
    vms: tuple[VmMaterial, ...] = ()
    disks: tuple[DiskMaterial, ...] = ()
    jobs: tuple[JobMaterial, ...] = ()
    extra: tuple[Any, ...] = ()
    """Materials added by plugins through ``jobsite_architect_materials``."""
    swap_addresses: Mapping[str, tuple[NetworkPlacement, ...]] = attrs.field(
        factory=dict, hash=False
    )
    """Instance uuid → a spare placement on each manual network where it has a dynamic
    address, for instance groups whose strategy creates new VMs before deleting old ones
    (``ArchitectInputs.swap_groups``). Not reserved: only used if the instance's VM is
    replaced, and then recorded by the assembler like any address."""

"""Cloud config: where and on what a deployment's VMs and disks are made.

Several cloud configs (BOSH's named configs) merge into one :class:`CloudConfig` by
concatenating their lists; ``compilation`` may come from only one of them (see
``jobsite.config._merge``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from jobsite.cpi import VmResources

__all__ = [
    "Az",
    "CloudConfig",
    "Compilation",
    "DiskType",
    "Network",
    "Subnet",
    "VmExtension",
    "VmResources",
    "VmType",
]

NetworkType = Literal["manual", "dynamic", "vip"]


@attrs.frozen(kw_only=True)
class Az:
    """An availability zone and the cloud properties every VM placed in it gets."""

    name: str
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    cpi: str | None = None


@attrs.frozen(kw_only=True)
class VmType:
    """A named VM size."""

    name: str
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class VmExtension:
    """Cloud properties merged onto a VM's (load balancers, security groups, ...)."""

    name: str
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class DiskType:
    """A named persistent disk size and kind."""

    name: str
    disk_size: int
    """MiB."""
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Subnet:
    """One subnet of a network.

    For manual networks ``range`` and ``gateway`` are required; ``reserved`` and ``static``
    hold addresses, ``a - b`` ranges or CIDR blocks, as BOSH writes them. For dynamic and vip
    networks only ``azs``, ``dns`` and ``cloud_properties`` (and, for vip, ``static``) apply.
    """

    range: str | None = None
    gateway: str | None = None
    dns: tuple[str, ...] = ()
    reserved: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    az: str | None = None
    azs: tuple[str, ...] | None = None
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    name: str | None = None
    prefix: int | None = None

    @property
    def zone_names(self) -> tuple[str, ...]:
        """The subnet's AZs whichever key gave them (``az`` or ``azs``)."""
        if self.azs is not None:
            return self.azs
        return (self.az,) if self.az is not None else ()


@attrs.frozen(kw_only=True)
class Network:
    """A network: ``manual`` (the director assigns IPs from subnets), ``dynamic`` (the cloud
    does) or ``vip`` (public addresses)."""

    name: str
    type: NetworkType = "manual"
    subnets: tuple[Subnet, ...] = ()
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    dns: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Compilation:
    """Where packages are compiled: ``workers`` VMs at most, reused or not."""

    workers: int
    network: str
    reuse_compilation_vms: bool = False
    az: str | None = None
    vm_type: str | None = None
    vm_resources: VmResources | None = None
    cloud_properties: Mapping[str, Any] | None = None
    env: Mapping[str, Any] = attrs.field(factory=dict)
    orphan_workers: bool = False


@attrs.frozen(kw_only=True)
class CloudConfig:
    """One cloud config, or several merged."""

    azs: tuple[Az, ...] = ()
    vm_types: tuple[VmType, ...] = ()
    vm_extensions: tuple[VmExtension, ...] = ()
    disk_types: tuple[DiskType, ...] = ()
    networks: tuple[Network, ...] = ()
    compilation: Compilation | None = None

    def az(self, name: str) -> Az | None:
        """The AZ called ``name``, if any."""
        return next((a for a in self.azs if a.name == name), None)

    def vm_type(self, name: str) -> VmType | None:
        """The vm_type called ``name``, if any."""
        return next((v for v in self.vm_types if v.name == name), None)

    def vm_extension(self, name: str) -> VmExtension | None:
        """The vm_extension called ``name``, if any."""
        return next((v for v in self.vm_extensions if v.name == name), None)

    def disk_type(self, name: str) -> DiskType | None:
        """The disk_type called ``name``, if any."""
        return next((d for d in self.disk_types if d.name == name), None)

    def network(self, name: str) -> Network | None:
        """The network called ``name``, if any."""
        return next((n for n in self.networks if n.name == name), None)

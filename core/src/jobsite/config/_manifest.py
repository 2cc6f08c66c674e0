"""The deployment manifest (v2), and the create-env form bosh-deployment's ``bosh.yml`` uses.

A v2 manifest names what to run (releases, stemcells, instance groups, jobs) and leaves the
where to the cloud config. A create-env manifest carries its own ``networks``,
``resource_pools``, ``disk_pools`` and ``cloud_provider``; both share this model so tools can
read either, and :attr:`Manifest.is_create_env` tells them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from jobsite.config._cloud import Network, VmResources
from jobsite.config._parts import Addon, Job, Lifecycle, Release, Variable
from jobsite.config._values import MaxInFlight, Version, WatchTime

__all__ = [
    "CloudProvider",
    "DiskPool",
    "Features",
    "InstanceGroup",
    "Manifest",
    "MigratedFrom",
    "NamedDisk",
    "NetworkRef",
    "ResourcePool",
    "Stemcell",
    "UpdateConfig",
]

VmStrategy = Literal["delete-create", "create-swap-delete"]

#: jobsite's strategy for each of BOSH's ``vm_strategy`` values.
VM_STRATEGIES: dict[str, str] = {"delete-create": "serial", "create-swap-delete": "hot_swap"}


@attrs.frozen(kw_only=True)
class Stemcell:
    """``stemcells[]``: an alias for an operating system (or stemcell name) and version."""

    alias: str
    os: str | None = None
    name: str | None = None
    version: Version


@attrs.frozen(kw_only=True)
class UpdateConfig:
    """The ``update`` block, at the top of a manifest or overriding it per instance group.

    Every field is optional so a group's block can override only what it names;
    :meth:`over` layers one block onto another. ``strategy`` is jobsite's (``serial``,
    ``hot_swap`` or a plugin's); ``vm_strategy`` is BOSH's spelling of the same choice.
    """

    canaries: int | None = None
    max_in_flight: MaxInFlight | None = None
    canary_watch_time: WatchTime | None = None
    update_watch_time: WatchTime | None = None
    serial: bool | None = None
    vm_strategy: VmStrategy | None = None
    strategy: str | None = None
    initial_deploy_az_update_strategy: Literal["parallel", "serial"] | None = None

    def over(self, base: UpdateConfig | None) -> UpdateConfig:
        """This block's values where set, ``base``'s elsewhere.

        ``strategy`` and ``vm_strategy`` are one choice spelt two ways: a group that names
        either replaces the deployment's choice whole, so a group's ``vm_strategy:
        delete-create`` wins over the deployment's ``strategy: hot_swap``.
        """
        if base is None:
            return self
        changes = {
            f.name: getattr(self, f.name)
            for f in attrs.fields(UpdateConfig)
            if getattr(self, f.name) is not None
        }
        if self.strategy is not None or self.vm_strategy is not None:
            changes["strategy"] = self.strategy
            changes["vm_strategy"] = self.vm_strategy
        return attrs.evolve(base, **changes)

    def strategy_name(self, default: str) -> str:
        """The strategy this block asks for: ``strategy``, else BOSH's ``vm_strategy``
        translated, else ``default`` (the director's)."""
        if self.strategy is not None:
            return self.strategy
        if self.vm_strategy is not None:
            return VM_STRATEGIES[self.vm_strategy]
        return default


@attrs.frozen(kw_only=True)
class NetworkRef:
    """An instance group's use of a network, with its static IPs and default roles."""

    name: str
    static_ips: tuple[str, ...] = ()
    default: tuple[Literal["dns", "gateway", "addressable"], ...] = ()


@attrs.frozen(kw_only=True)
class MigratedFrom:
    """``migrated_from[]``: an old instance group whose instances this one takes over."""

    name: str
    az: str | None = None


@attrs.frozen(kw_only=True)
class NamedDisk:
    """``persistent_disks[]``: one of several named persistent disks of an instance group."""

    name: str
    type: str


@attrs.frozen(kw_only=True)
class InstanceGroup:
    """``instance_groups[]``: identical instances running the same jobs."""

    name: str
    instances: int
    jobs: tuple[Job, ...] = ()
    azs: tuple[str, ...] = ()
    vm_type: str | None = None
    vm_extensions: tuple[str, ...] = ()
    vm_resources: VmResources | None = None
    stemcell: str | None = None
    persistent_disk: int | None = None
    persistent_disk_type: str | None = None
    persistent_disks: tuple[NamedDisk, ...] = ()
    networks: tuple[NetworkRef, ...] = ()
    update: UpdateConfig | None = None
    migrated_from: tuple[MigratedFrom, ...] = ()
    lifecycle: Lifecycle = "service"
    properties: Mapping[str, Any] | None = None
    env: Mapping[str, Any] = attrs.field(factory=dict)
    # create-env manifests name their VM and disk shapes here instead of in a cloud config
    resource_pool: str | None = None
    persistent_disk_pool: str | None = None

    @property
    def is_errand(self) -> bool:
        """Errands run on demand and get no long-running VM."""
        return self.lifecycle == "errand"


@attrs.frozen(kw_only=True)
class Features:
    """``features``: director behaviours a deployment opts into."""

    use_dns_addresses: bool | None = None
    use_short_dns_addresses: bool | None = None
    use_link_dns_names: bool | None = None
    randomize_az_placement: bool | None = None
    converge_variables: bool | None = None
    use_tmpfs_config: bool | None = None


@attrs.frozen(kw_only=True)
class ResourcePoolStemcell:
    """A create-env resource pool's stemcell tarball."""

    url: str
    sha1: str | None = None


@attrs.frozen(kw_only=True)
class ResourcePool:
    """create-env ``resource_pools[]``: the VM shape of the one instance."""

    name: str
    network: str
    stemcell: ResourcePoolStemcell | None = None
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    env: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class DiskPool:
    """create-env ``disk_pools[]``: the persistent disk shape."""

    name: str
    disk_size: int
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CloudProviderTemplate:
    """create-env ``cloud_provider.template``: the CPI job and its release."""

    name: str
    release: str


@attrs.frozen(kw_only=True)
class CloudProvider:
    """create-env ``cloud_provider``: the CPI the CLI runs itself, and how to reach the agent."""

    template: CloudProviderTemplate | None = None
    mbus: str | None = None
    cert: Any = None
    properties: Mapping[str, Any] = attrs.field(factory=dict)
    ssh_tunnel: Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True)
class Manifest:
    """A deployment manifest."""

    name: str
    director_uuid: str | None = None
    releases: tuple[Release, ...] = ()
    stemcells: tuple[Stemcell, ...] = ()
    update: UpdateConfig | None = None
    instance_groups: tuple[InstanceGroup, ...] = ()
    addons: tuple[Addon, ...] = ()
    variables: tuple[Variable, ...] = ()
    tags: Mapping[str, Any] = attrs.field(factory=dict)
    features: Features = attrs.field(factory=Features)
    properties: Mapping[str, Any] | None = None
    # create-env only
    networks: tuple[Network, ...] = ()
    resource_pools: tuple[ResourcePool, ...] = ()
    disk_pools: tuple[DiskPool, ...] = ()
    cloud_provider: CloudProvider | None = None

    @property
    def is_create_env(self) -> bool:
        """Whether this is a ``bosh create-env`` manifest (it carries its own cloud)."""
        return self.cloud_provider is not None

    def instance_group(self, name: str) -> InstanceGroup | None:
        """The instance group called ``name``, if any."""
        return next((g for g in self.instance_groups if g.name == name), None)

    def release(self, name: str) -> Release | None:
        """The release called ``name``, if any."""
        return next((r for r in self.releases if r.name == name), None)

    def stemcell(self, alias: str) -> Stemcell | None:
        """The stemcell aliased ``alias``, if any."""
        return next((s for s in self.stemcells if s.alias == alias), None)

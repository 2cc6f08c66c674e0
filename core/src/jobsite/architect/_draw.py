"""The architect: deployment configs and what the store remembers → the blueprint.

Pure: no I/O, no clock, no randomness of its own. New instances' uuids come from
``id_seed`` (a fresh random value per plan, chosen by the caller and saved with the plan), so
the same inputs always draw the same blueprint.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from jobsite._gcpause import without_gc
from jobsite.architect._addresses import AddressBook, AddressExhausted, netmask_of
from jobsite.architect._materials import (
    Blueprint,
    DiskMaterial,
    GroupMaterial,
    InstanceMaterial,
    InstanceState,
    JobMaterial,
    NetworkPlacement,
    VmMaterial,
)
from jobsite.architect._placement import KnownInstance, Placed, place_group
from jobsite.config import (
    Addon,
    CloudConfig,
    DeploymentConfigs,
    InstanceGroup,
    Manifest,
    Network,
    Placement,
    UpdateConfig,
)

__all__ = ["ArchitectInputs", "draw_blueprint"]

_NAMESPACE = uuid.UUID("5c8d4a58-6c39-4a8e-9a55-7a3f0b1f3a61")


@attrs.frozen(kw_only=True)
class ArchitectInputs:
    """Everything the architect reads, as values."""

    configs: DeploymentConfigs
    known: tuple[KnownInstance, ...] = ()
    """The deployment's instances as the store remembers them."""
    taken_addresses: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    """Per network, addresses held by *other* deployments."""
    held_addresses: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    """Per network, addresses this deployment holds now (its reservations and its VMs'):
    an instance keeps its own, but none goes to another instance in this plan."""
    id_seed: str = ""
    detached: frozenset[str] = frozenset()
    """Instance uuids stopped with ``--hard``: kept, but with no VM."""
    stopped: frozenset[str] = frozenset()
    """Instance uuids stopped (soft): kept stopped across deploys, as BOSH does."""
    restart: frozenset[str] = frozenset()
    """Instance uuids the operator asked to restart (``jobsite restart``)."""
    ignored: frozenset[str] = frozenset()
    """Instance uuids the operator asked jobsite to leave alone."""
    recreate: frozenset[str] = frozenset()
    """Instance uuids and group names whose VMs the operator asked to recreate."""
    recreate_all: bool = False
    """``--recreate``: every VM of the deployment."""
    latest_stemcells: Mapping[str, str] = attrs.field(factory=dict)
    """Stemcell os (and name) → the newest uploaded version: what a manifest's ``version:
    latest`` means, so uploading a newer stemcell makes the next deploy replace VMs, as in
    BOSH. A ``latest`` with nothing uploaded stays ``latest`` (the deploy refuses it)."""
    swap_groups: frozenset[str] = frozenset()
    """Instance groups whose strategy creates an instance's new VM while the old one still
    holds its address: each of their instances gets a spare address drawn
    (:attr:`Blueprint.swap_addresses`)."""


@without_gc
def draw_blueprint(inputs: ArchitectInputs) -> Blueprint:
    """Draw every material the inputs ask for."""
    manifest = inputs.configs.manifest
    cloud = inputs.configs.cloud_config
    networks = {n.name: n for n in cloud.networks}
    book = AddressBook(networks, inputs.taken_addresses, inputs.held_addresses)
    instances: list[InstanceMaterial] = []
    vms: list[VmMaterial] = []
    disks: list[DiskMaterial] = []
    jobs: list[JobMaterial] = []
    addons = (*manifest.addons, *inputs.configs.runtime_config.addons)
    versions = {
        r.name: str(r.version)
        for r in (*inputs.configs.runtime_config.releases, *manifest.releases)
    }

    def new_uuid(group: str, index: int) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{inputs.id_seed}/{manifest.name}/{group}/{index}"))

    known_by_group: dict[str, list[KnownInstance]] = {}
    for k in inputs.known:
        known_by_group.setdefault(k.group, []).append(k)
    placements: list[tuple[InstanceGroup, list[Placed]]] = []
    for group in manifest.instance_groups:
        known = list(known_by_group.get(group.name, ()))
        for old in group.migrated_from:
            # BOSH's migration to AZs: instances of an AZ-less group are placed in the AZ
            # its migrated_from entry names, keeping their identity and disk
            known.extend(
                attrs.evolve(k, az=old.az) if k.az is None and old.az else k
                for k in known_by_group.get(old.name, ())
            )
        placed, _obsolete = place_group(group, known, networks, new_uuid)
        placements.append((group, placed))
        for p in placed:  # static and kept addresses are claimed before any is handed out
            _claim(book, group, p)
    for group, placed in placements:
        bootstrap = _bootstrap(placed)
        for p in placed:
            state: InstanceState = (
                "detached"
                if p.uuid in inputs.detached
                else "stopped"
                if p.uuid in inputs.stopped
                else "started"
            )
            instances.append(
                InstanceMaterial(
                    deployment=manifest.name,
                    group=group.name,
                    index=p.index,
                    uuid=p.uuid,
                    az=p.az,
                    bootstrap=p.uuid == bootstrap,
                    lifecycle=group.lifecycle,
                    state=state,
                    ignored=p.uuid in inputs.ignored,
                    restart=p.uuid in inputs.restart,
                    recreate=(
                        inputs.recreate_all
                        or p.uuid in inputs.recreate
                        or group.name in inputs.recreate
                    ),
                    migrated_from=(
                        p.existing.group
                        if p.existing is not None and p.existing.group != group.name
                        else None
                    ),
                )
            )
            jobs.extend(_jobs(manifest, group, p, addons, versions))
            disks.extend(_disks(group, p, cloud))
            if not group.is_errand and state != "detached":
                vms.append(_vm(manifest, group, p, cloud, networks, book, inputs.latest_stemcells))
    swap_addresses = _spares(inputs.swap_groups, instances, vms, book, networks)
    groups = tuple(
        GroupMaterial(
            name=g.name,
            instances=g.instances,
            azs=g.azs,
            lifecycle=g.lifecycle,
            migrated_from=tuple(m.name for m in g.migrated_from),
            static_ips={n.name: n.static_ips for n in g.networks if n.static_ips},
            update=(g.update.over(manifest.update) if g.update is not None else manifest.update)
            or UpdateConfig(),
        )
        for g in manifest.instance_groups
    )
    return Blueprint(
        deployment=manifest.name,
        id_seed=inputs.id_seed,
        groups=groups,
        update=manifest.update or UpdateConfig(),
        instances=tuple(instances),
        vms=tuple(vms),
        disks=tuple(disks),
        jobs=tuple(jobs),
        swap_addresses=swap_addresses,
    )


def _spares(
    groups: frozenset[str],
    instances: list[InstanceMaterial],
    vms: list[VmMaterial],
    book: AddressBook,
    networks: Mapping[str, Network],
) -> dict[str, tuple[NetworkPlacement, ...]]:
    """A second address, in the same subnet's AZ, for every dynamically addressed manual
    placement of the instances of ``groups``. Drawn after every instance has its own, so
    spares never take an address an instance needs; an instance that cannot get a spare on
    every such network gets none (its strategy then replaces its VM delete-first)."""
    if not groups:
        return {}
    of = {i.uuid: i for i in instances}
    out: dict[str, tuple[NetworkPlacement, ...]] = {}
    for vm in vms:
        instance = of[vm.instance]
        if instance.group not in groups:
            continue
        spares: list[NetworkPlacement] = []
        for placement in vm.networks:
            if placement.type != "manual" or placement.static:
                continue
            try:
                ip, subnet = book.allocate(
                    placement.network, instance.az, f"{instance.group}/{instance.index}"
                )
            except AddressExhausted:
                spares = []
                break
            network = networks[placement.network]
            spares.append(
                attrs.evolve(
                    placement,
                    ip=ip,
                    netmask=netmask_of(subnet),
                    gateway=subnet.gateway,
                    dns=subnet.dns or network.dns,
                    cloud_properties=subnet.cloud_properties,
                )
            )
        if spares:
            out[vm.instance] = tuple(spares)
    return out


def _claim(book: AddressBook, group: InstanceGroup, p: Placed) -> None:
    for ref in group.networks:
        if ref.static_ips and p.static_ip is not None:
            if book.subnet_of(ref.name, p.static_ip) is not None:
                book.claim(ref.name, p.static_ip)
        elif p.existing is not None and book.manages(ref.name):
            book.keep(ref.name, p.az, p.existing.ips.get(ref.name))


def _bootstrap(placed: list[Placed]) -> str | None:
    existing = [p for p in placed if p.existing is not None and p.existing.bootstrap]
    if existing:
        return existing[0].uuid
    return min(placed, key=lambda p: p.index).uuid if placed else None


def _vm(
    manifest: Manifest,
    group: InstanceGroup,
    p: Placed,
    cloud: CloudConfig,
    networks: Mapping[str, Network],
    book: AddressBook,
    latest: Mapping[str, str],
) -> VmMaterial:
    # BOSH merges az, then vm_type, then each vm_extension, shallowly (Hash#merge)
    props: dict[str, Any] = {}
    az = cloud.az(p.az) if p.az else None
    if az is not None:
        props.update(az.cloud_properties)
    vm_type = cloud.vm_type(group.vm_type) if group.vm_type else None
    if vm_type is not None:
        props.update(vm_type.cloud_properties)
    for name in group.vm_extensions:
        ext = cloud.vm_extension(name)
        if ext is not None:
            props.update(ext.cloud_properties)
    stemcell = manifest.stemcell(group.stemcell or "")
    os_name = (stemcell.os or stemcell.name or "") if stemcell else ""
    version = stemcell.version if stemcell else ""
    if version == "latest":
        version = latest.get(os_name, version)
    return VmMaterial(
        instance=p.uuid,
        stemcell_os=os_name,
        stemcell_version=version,
        cloud_properties=props,
        vm_resources=group.vm_resources,
        networks=tuple(_network(group, p, networks, book)),
        env=group.env,
    )


def _network(
    group: InstanceGroup, p: Placed, networks: Mapping[str, Network], book: AddressBook
) -> list[NetworkPlacement]:
    out = []
    single = len(group.networks) == 1
    for ref in group.networks:
        network = networks[ref.name]
        default = ("dns", "gateway") if single else ref.default
        subnets = [s for s in network.subnets if p.az is None or p.az in s.zone_names]
        subnet = subnets[0] if subnets else (network.subnets[0] if network.subnets else None)
        if network.type == "manual":
            if ref.static_ips and p.static_ip is not None:
                ip, static = p.static_ip, True
                subnet = book.subnet_of(ref.name, ip) or subnet
            else:
                kept = p.existing.ips.get(ref.name) if p.existing is not None else None
                if kept is not None and book.kept(ref.name, kept):
                    ip, static = kept, False
                    subnet = book.subnet_of(ref.name, kept)
                else:
                    ip, subnet = book.allocate(ref.name, p.az, f"{group.name}/{p.index}")
                    static = False
            assert subnet is not None
            out.append(
                NetworkPlacement(
                    network=ref.name,
                    type="manual",
                    ip=ip,
                    netmask=netmask_of(subnet),
                    gateway=subnet.gateway,
                    dns=subnet.dns or network.dns,
                    default=tuple(default),
                    cloud_properties=subnet.cloud_properties,
                    static=static,
                )
            )
        else:
            vip = p.static_ip if ref.static_ips else None
            out.append(
                NetworkPlacement(
                    network=ref.name,
                    type=network.type,
                    ip=vip,
                    dns=(subnet.dns if subnet else ()) or network.dns,
                    default=tuple(default),
                    cloud_properties=(subnet.cloud_properties if subnet else None)
                    or network.cloud_properties,
                    static=vip is not None,
                )
            )
    return out


def _disks(group: InstanceGroup, p: Placed, cloud: CloudConfig) -> list[DiskMaterial]:
    if group.persistent_disk:
        return [DiskMaterial(instance=p.uuid, name="", size=group.persistent_disk)]
    if group.persistent_disk_type:
        dt = cloud.disk_type(group.persistent_disk_type)
        assert dt is not None
        return [
            DiskMaterial(
                instance=p.uuid,
                name="",
                size=dt.disk_size,
                disk_type=dt.name,
                cloud_properties=dt.cloud_properties,
            )
        ]
    out = []
    for disk in group.persistent_disks:
        dt = cloud.disk_type(disk.type)
        assert dt is not None
        out.append(
            DiskMaterial(
                instance=p.uuid,
                name=disk.name,
                size=dt.disk_size,
                disk_type=dt.name,
                cloud_properties=dt.cloud_properties,
            )
        )
    return out


def _jobs(
    manifest: Manifest,
    group: InstanceGroup,
    p: Placed,
    addons: tuple[Addon, ...],
    versions: Mapping[str, str],
) -> list[JobMaterial]:
    fallback = group.properties if group.properties is not None else (manifest.properties or {})
    out = [
        JobMaterial(
            instance=p.uuid,
            name=job.name,
            release=job.release,
            release_version=versions.get(job.release, ""),
            properties=job.properties if job.properties is not None else fallback,
        )
        for job in group.jobs
    ]
    for addon in addons:
        if _applies(addon, manifest, group, p):
            for job in addon.jobs:
                props = job.properties if job.properties is not None else (addon.properties or {})
                out.append(
                    JobMaterial(
                        instance=p.uuid,
                        name=job.name,
                        release=job.release,
                        release_version=versions.get(job.release, ""),
                        properties=props,
                        addon=addon.name,
                    )
                )
    return out


def _applies(addon: Addon, manifest: Manifest, group: InstanceGroup, p: Placed) -> bool:
    include = addon.include is None or _matches(addon.include, manifest, group, p)
    exclude = addon.exclude is not None and _matches(addon.exclude, manifest, group, p)
    return include and not exclude


def _matches(rule: Placement, manifest: Manifest, group: InstanceGroup, p: Placed) -> bool:
    """A placement block matches when every rule it gives matches (an empty block matches
    everything)."""
    stemcell = manifest.stemcell(group.stemcell or "")
    os_name = (stemcell.os or stemcell.name) if stemcell else None
    checks: list[tuple[object, Callable[[], bool]]] = [
        (rule.stemcell, lambda: any(r.os == os_name for r in rule.stemcell)),
        (rule.deployments, lambda: manifest.name in rule.deployments),
        (
            rule.jobs,
            lambda: any(
                (j.name, j.release) == (r.name, r.release) for r in rule.jobs for j in group.jobs
            ),
        ),
        (rule.instance_groups, lambda: group.name in rule.instance_groups),
        (rule.networks, lambda: any(n.name in rule.networks for n in group.networks)),
        (rule.azs, lambda: p.az in rule.azs),
        (rule.lifecycle, lambda: group.lifecycle == rule.lifecycle),
    ]
    return all(check() for given, check in checks if given)

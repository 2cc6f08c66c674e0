"""Checks of a deployment manifest against itself, the cloud config and the runtime config.

Types were checked when the document was structured; what remains are the references BOSH
resolves by name (vm_type, vm_extensions, disk_type, network, az, stemcell alias, release) and
the rules that span several keys (static IPs versus instances, one default network). Every
problem is collected, so one run reports them all.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from jobsite.config._check_cloud import check_networks
from jobsite.config._cloud import CloudConfig, Subnet
from jobsite.config._converter import unresolved_message
from jobsite.config._ipranges import parse_ip_range, parse_ip_ranges
from jobsite.config._problems import Problems, known

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jobsite.config._manifest import InstanceGroup, Manifest
    from jobsite.config._parts import Job
    from jobsite.config._runtime import RuntimeConfig
    from jobsite.errors import ConfigError

__all__ = ["check_manifest"]

Path = tuple[str | int, ...]
_CLOUD = "the cloud config"
_CLOUD_KEYS = ("networks", "resource_pools", "disk_pools")


def check_manifest(
    document: str,
    manifest: Manifest,
    cloud: CloudConfig | None,
    runtime: RuntimeConfig,
    runtime_document: str = "the runtime config",
) -> list[ConfigError]:
    """Every problem in ``manifest``. ``cloud`` is None for create-env manifests, which carry
    their own networks and pools."""
    problems = Problems(document)
    problems.duplicates(
        ("instance_groups",), (g.name for g in manifest.instance_groups), "instance group"
    )
    problems.duplicates(("releases",), (r.name for r in manifest.releases), "release")
    problems.duplicates(("variables",), (v.name for v in manifest.variables), "variable")
    seen_alias: set[str] = set()
    for index, stemcell in enumerate(manifest.stemcells):
        if stemcell.alias in seen_alias:
            problems.add(
                ("stemcells", index, "alias"),
                f"stemcell alias {stemcell.alias!r} is defined more than once",
            )
        seen_alias.add(stemcell.alias)
        if (stemcell.os is None) == (stemcell.name is None):
            problems.add(("stemcells", index), "must give exactly one of 'os' and 'name'")
    _check_runtime_releases(problems, manifest, runtime, runtime_document)

    releases = [r.name for r in manifest.releases] + [r.name for r in runtime.releases]
    if manifest.is_create_env:
        _check_create_env(problems, manifest, releases)
    else:
        if cloud is None:
            cloud = CloudConfig()
        for key in _CLOUD_KEYS:
            if getattr(manifest, key):
                problems.add(
                    (key,),
                    f"a manifest deployed with a cloud config must not define {key!r} (move it "
                    "to the cloud config)",
                )
        for index, group in enumerate(manifest.instance_groups):
            _check_group(problems, ("instance_groups", index), group, manifest, cloud, releases)
    for index, addon in enumerate(manifest.addons):
        _check_job_releases(problems, ("addons", index), addon.jobs, releases)
    return problems.errors


def _check_runtime_releases(
    problems: Problems, manifest: Manifest, runtime: RuntimeConfig, runtime_document: str
) -> None:
    for index, release in enumerate(manifest.releases):
        other = next((r for r in runtime.releases if r.name == release.name), None)
        if other is not None and other.version != release.version:
            problems.add(
                ("releases", index, "version"),
                f"release {release.name!r} is {release.version!r} here but {other.version!r} "
                f"in {runtime_document}",
            )


def _check_job_releases(
    problems: Problems,
    at: Path,
    jobs: tuple[Job, ...],
    releases: list[str],
    where: str = "the manifest's releases",
) -> None:
    """Every job names a release the deployment has (instance groups, addons, create-env)."""
    for j_index, job in enumerate(jobs):
        if job.release not in releases:
            problems.undefined((*at, "jobs", j_index, "release"), job.release, where, releases)


def _check_group(
    problems: Problems,
    at: Path,
    group: InstanceGroup,
    manifest: Manifest,
    cloud: CloudConfig,
    releases: list[str],
) -> None:
    if group.instances < 0:
        problems.add((*at, "instances"), "must not be negative")
    problems.duplicates((*at, "jobs"), (j.name for j in group.jobs), "job")
    _check_job_releases(problems, at, group.jobs, releases)
    if group.resource_pool is not None or group.persistent_disk_pool is not None:
        problems.add(
            at,
            "'resource_pool' and 'persistent_disk_pool' belong to create-env "
            "manifests; use 'vm_type' and 'persistent_disk_type'",
        )

    az_names = [a.name for a in cloud.azs]
    for a_index, az in enumerate(group.azs):
        if az not in az_names:
            problems.undefined((*at, "azs", a_index), az, _CLOUD, az_names)
    if not group.azs and az_names:
        problems.add((*at, "azs"), "is required when the cloud config defines azs", known(az_names))
    for m_index, old in enumerate(group.migrated_from):
        if old.az is not None and old.az not in az_names:
            problems.undefined((*at, "migrated_from", m_index, "az"), old.az, _CLOUD, az_names)

    if group.vm_type is not None:
        if cloud.vm_type(group.vm_type) is None:
            problems.undefined(
                (*at, "vm_type"), group.vm_type, _CLOUD, [v.name for v in cloud.vm_types]
            )
        if group.vm_resources is not None:
            problems.add(at, "must not give both 'vm_type' and 'vm_resources'")
    elif group.vm_resources is None:
        problems.add(
            (*at, "vm_type"),
            "is required (or give 'vm_resources')",
            known(v.name for v in cloud.vm_types),
        )
    for e_index, ext in enumerate(group.vm_extensions):
        if cloud.vm_extension(ext) is None:
            problems.undefined(
                (*at, "vm_extensions", e_index), ext, _CLOUD, [v.name for v in cloud.vm_extensions]
            )

    aliases = [s.alias for s in manifest.stemcells]
    if group.stemcell is None:
        problems.add((*at, "stemcell"), "is required", known(aliases, "aliases"))
    elif group.stemcell not in aliases:
        problems.undefined((*at, "stemcell"), group.stemcell, "the manifest's stemcells", aliases)

    _check_disks(problems, at, group, cloud)
    _check_group_networks(problems, at, group, cloud)


def _check_disks(problems: Problems, at: Path, group: InstanceGroup, cloud: CloudConfig) -> None:
    disk_types = [d.name for d in cloud.disk_types]
    given = [k for k in ("persistent_disk", "persistent_disk_type") if getattr(group, k)]
    if group.persistent_disks:
        given.append("persistent_disks")
    if len(given) > 1:
        problems.add(at, f"must give only one of {', '.join(repr(k) for k in given)}")
    if group.persistent_disk is not None and group.persistent_disk < 0:
        problems.add((*at, "persistent_disk"), "must not be negative")
    if (
        group.persistent_disk_type is not None
        and cloud.disk_type(group.persistent_disk_type) is None
    ):
        problems.undefined(
            (*at, "persistent_disk_type"), group.persistent_disk_type, _CLOUD, disk_types
        )
    problems.duplicates(
        (*at, "persistent_disks"), (d.name for d in group.persistent_disks), "persistent disk"
    )
    for d_index, disk in enumerate(group.persistent_disks):
        if cloud.disk_type(disk.type) is None:
            problems.undefined(
                (*at, "persistent_disks", d_index, "type"), disk.type, _CLOUD, disk_types
            )


def _check_group_networks(
    problems: Problems, at: Path, group: InstanceGroup, cloud: CloudConfig
) -> None:
    names = [n.name for n in cloud.networks]
    if not group.networks:
        problems.add((*at, "networks"), "needs at least one network", known(names))
        return
    problems.duplicates((*at, "networks"), (n.name for n in group.networks), "network")
    for n_index, ref in enumerate(group.networks):
        n_at = (*at, "networks", n_index)
        network = cloud.network(ref.name)
        if network is None:
            problems.undefined((*n_at, "name"), ref.name, _CLOUD, names)
            continue
        if network.subnets:
            missing = [
                az for az in group.azs if not any(az in s.zone_names for s in network.subnets)
            ]
            if missing:
                problems.add(
                    (*n_at, "name"),
                    f"network {ref.name!r} has no subnet in az {', '.join(missing)}",
                )
        if ref.static_ips:
            _check_static_ips(problems, n_at, group, ref.static_ips, network.subnets, network.type)
    if len(group.networks) > 1:
        for role in ("dns", "gateway"):
            claimed = [n.name for n in group.networks if role in n.default]
            if len(claimed) != 1:
                problems.add(
                    (*at, "networks"),
                    f"with more than one network, exactly one must be the default for {role} "
                    f"(add 'default: [dns, gateway]' to one; now: {', '.join(claimed) or 'none'})",
                )


def _check_static_ips(
    problems: Problems,
    at: Path,
    group: InstanceGroup,
    entries: tuple[str, ...],
    subnets: Iterable[Subnet],
    network_type: str,
) -> None:
    try:
        ips = list(parse_ip_ranges(entries))
    except ValueError as exc:
        bad = next((e for e in entries if unresolved_message(e)), None)
        problems.invalid((*at, "static_ips"), bad, str(exc))
        return
    if len(set(ips)) != len(ips):
        problems.add((*at, "static_ips"), "lists an address more than once")
    if network_type == "dynamic":
        problems.add((*at, "static_ips"), "a dynamic network cannot have static IPs")
        return
    if len(ips) != group.instances:
        problems.add(
            (*at, "static_ips"),
            f"has {len(ips)} addresses for {group.instances} instances (they must be equal)",
        )
    statics = []
    for subnet in subnets:
        for entry in subnet.static:
            with contextlib.suppress(ValueError):  # a bad entry is the cloud config's error
                statics.append(parse_ip_range(entry))
    for ip in ips:
        if not any(ip in r for r in statics):
            problems.add(
                (*at, "static_ips"), f"{ip} is not in a static range of the network's subnets"
            )


def _check_create_env(problems: Problems, manifest: Manifest, releases: list[str]) -> None:
    pools = [p.name for p in manifest.resource_pools]
    disk_pools = [p.name for p in manifest.disk_pools]
    networks = [n.name for n in manifest.networks]
    check_networks(problems, ("networks",), manifest.networks, None, "the manifest's networks")
    for index, pool in enumerate(manifest.resource_pools):
        if pool.network not in networks:
            problems.undefined(
                ("resource_pools", index, "network"),
                pool.network,
                "the manifest's networks",
                networks,
            )
    template = manifest.cloud_provider.template if manifest.cloud_provider else None
    if template is not None and template.release not in releases:
        problems.undefined(
            ("cloud_provider", "template", "release"),
            template.release,
            "the manifest's releases",
            releases,
        )
    if len(manifest.instance_groups) != 1:
        problems.add(("instance_groups",), "a create-env manifest has exactly one instance group")
    for index, group in enumerate(manifest.instance_groups):
        at = ("instance_groups", index)
        if group.instances != 1:
            problems.add((*at, "instances"), "a create-env instance group has exactly 1 instance")
        _check_job_releases(problems, at, group.jobs, releases)
        if group.resource_pool is not None and group.resource_pool not in pools:
            problems.undefined(
                (*at, "resource_pool"), group.resource_pool, "the manifest's resource_pools", pools
            )
        if group.persistent_disk_pool is not None and group.persistent_disk_pool not in disk_pools:
            problems.undefined(
                (*at, "persistent_disk_pool"),
                group.persistent_disk_pool,
                "the manifest's disk_pools",
                disk_pools,
            )
        for n_index, ref in enumerate(group.networks):
            if ref.name not in networks:
                problems.undefined(
                    (*at, "networks", n_index, "name"),
                    ref.name,
                    "the manifest's networks",
                    networks,
                )

"""Checks of a cloud config that need more than types: addresses, and names it refers to.

Each document is checked on its own paths but against the *merged* names, because BOSH lets
one cloud config's subnet use an AZ another one defines.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from jobsite.config._ipranges import IpRange, IpRanges, parse_ip_range
from jobsite.config._problems import Problems, known

if TYPE_CHECKING:
    from jobsite.config._cloud import CloudConfig, Compilation, Network, Subnet
    from jobsite.errors import ConfigError

__all__ = ["check_cloud_config", "check_networks"]

Path = tuple[str | int, ...]


def check_cloud_config(
    document: str, config: CloudConfig, merged: CloudConfig
) -> list[ConfigError]:
    """Every problem in one cloud config document, given all configs merged."""
    problems = Problems(document)
    for kind in ("azs", "vm_types", "vm_extensions", "disk_types", "networks"):
        problems.duplicates((kind,), (i.name for i in getattr(config, kind)), kind[:-1])
    for index, disk_type in enumerate(config.disk_types):
        if disk_type.disk_size < 0:
            problems.add(("disk_types", index, "disk_size"), "must not be negative")
    az_names = [a.name for a in merged.azs]
    check_networks(problems, ("networks",), config.networks, az_names, "the cloud config")
    if config.compilation is not None:
        _check_compilation(problems, config.compilation, merged)
    return problems.errors


def check_networks(
    problems: Problems,
    path: Path,
    networks: tuple[Network, ...],
    az_names: list[str] | None,
    where: str,
) -> None:
    """Check networks' subnets (shared with create-env manifests, which have no AZs: pass
    ``az_names=None`` to skip AZ checks)."""
    for n_index, network in enumerate(networks):
        for s_index, subnet in enumerate(network.subnets):
            at = (*path, n_index, "subnets", s_index)
            if az_names is not None:
                for a_index, az in enumerate(subnet.zone_names):
                    if az not in az_names:
                        key: Path = (*at, "azs", a_index) if subnet.azs is not None else (*at, "az")
                        problems.undefined(key, az, where, az_names)
            if subnet.az is not None and subnet.azs is not None:
                problems.add(at, "must not give both 'az' and 'azs'")
            if network.type == "manual":
                _check_manual_subnet(problems, at, subnet)
            elif network.type == "vip":
                _check_ranges(problems, (*at, "static"), subnet.static)


def _check_ranges(problems: Problems, path: Path, entries: tuple[str, ...]) -> IpRanges | None:
    ranges: list[IpRange] = []
    ok = True
    for index, entry in enumerate(entries):
        try:
            ranges.append(parse_ip_range(entry))
        except ValueError as exc:
            problems.invalid((*path, index), entry, str(exc))
            ok = False
    return IpRanges(tuple(ranges)) if ok else None


def _check_manual_subnet(problems: Problems, at: Path, subnet: Subnet) -> None:
    if subnet.range is None:
        problems.add((*at, "range"), "is required for a manual network")
        return
    try:
        cidr = ipaddress.ip_network(subnet.range, strict=False)
    except ValueError:
        problems.invalid(
            (*at, "range"), subnet.range, f"{subnet.range!r} is not a CIDR block like 10.0.0.0/24"
        )
        return
    whole = IpRange(cidr.network_address, cidr.broadcast_address)
    if subnet.gateway is None:
        problems.add((*at, "gateway"), "is required for a manual network")
    else:
        try:
            gateway = ipaddress.ip_address(subnet.gateway)
        except ValueError:
            problems.invalid(
                (*at, "gateway"), subnet.gateway, f"{subnet.gateway!r} is not an IP address"
            )
        else:
            if gateway not in whole:
                problems.add((*at, "gateway"), f"{gateway} is outside the range {cidr}")
    reserved = _check_ranges(problems, (*at, "reserved"), subnet.reserved)
    static = _check_ranges(problems, (*at, "static"), subnet.static)
    for key, ranges in (("reserved", reserved), ("static", static)):
        for index, r in enumerate(ranges.ranges if ranges else ()):
            if not (r.first in whole and r.last in whole):
                problems.add((*at, key, index), f"{r} is outside the range {cidr}")
    if static is not None and reserved is not None:
        for s, r in static.overlapping(reserved):
            problems.add((*at, "static"), f"static {s} overlaps reserved {r}")
    for index, dns in enumerate(subnet.dns):
        try:
            ipaddress.ip_address(dns)
        except ValueError:
            problems.invalid((*at, "dns", index), dns, f"{dns!r} is not an IP address")


def _check_compilation(problems: Problems, compilation: Compilation, merged: CloudConfig) -> None:
    at: Path = ("compilation",)
    if compilation.workers < 1:
        problems.add((*at, "workers"), "must be at least 1")
    network = merged.network(compilation.network)
    if network is None:
        problems.undefined(
            (*at, "network"), compilation.network, "the cloud config", _names(merged.networks)
        )
    az_names = _names(merged.azs)
    if compilation.az is not None:
        if compilation.az not in az_names:
            problems.undefined((*at, "az"), compilation.az, "the cloud config", az_names)
        elif (
            network is not None
            and network.subnets
            and not any(compilation.az in s.zone_names for s in network.subnets)
        ):
            problems.add(
                (*at, "az"),
                f"network {network.name!r} has no subnet in az {compilation.az!r}",
            )
    elif az_names:
        problems.add((*at, "az"), "is required when the cloud config defines azs", known(az_names))
    if compilation.vm_type is not None:
        if merged.vm_type(compilation.vm_type) is None:
            problems.undefined(
                (*at, "vm_type"), compilation.vm_type, "the cloud config", _names(merged.vm_types)
            )
        if compilation.vm_resources is not None:
            problems.add(at, "must not give both 'vm_type' and 'vm_resources'")


def _names(items: tuple[object, ...]) -> list[str]:
    return [str(getattr(i, "name", "")) for i in items]

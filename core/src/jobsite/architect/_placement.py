"""Which instances a group has, in which AZ, and which existing instance each one is.

BOSH's placement rules, kept because operators rely on them:

- an existing instance keeps its AZ (and so its disk) while that AZ is still in the group's
  list; instances in an AZ that was removed are replaced;
- scale-down keeps AZs balanced: instances are kept one AZ at a time, always from the AZ
  with the fewest kept so far, so the fullest AZ loses instances first; within an AZ,
  instances with a persistent disk and then the lowest indexes are kept;
- new instances go to the AZ with the fewest instances (ties: the group's AZ order) and take
  the lowest index no existing instance of the group holds;
- with static IPs, an instance's AZ is its IP's subnet's AZ; an instance that still owns one
  of the listed IPs keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs

from jobsite.config import InstanceGroup, Network, parse_ip_range

__all__ = ["KnownInstance", "Placed", "place_group"]


@attrs.frozen(kw_only=True)
class KnownInstance:
    """What the state store remembers of an instance: its identity and where it is."""

    group: str
    index: int
    uuid: str
    az: str | None
    bootstrap: bool = False
    has_disk: bool = False
    ips: Mapping[str, str] = attrs.field(factory=dict)
    """Network name → address the instance holds."""


@attrs.frozen(kw_only=True)
class Placed:
    """A desired instance: its index, uuid and AZ, and the existing instance it continues."""

    index: int
    uuid: str
    az: str | None
    existing: KnownInstance | None = None
    static_ip: str | None = None


def place_group(
    group: InstanceGroup,
    known: Sequence[KnownInstance],
    networks: Mapping[str, Network],
    new_uuid: Callable[[str, int], str],
) -> tuple[list[Placed], list[KnownInstance]]:
    """Place ``group``'s instances; return them (by index) and the existing ones to delete.

    ``known`` holds the group's existing instances (including those of the groups it
    ``migrated_from``); ``new_uuid(group, index)`` names a new instance.
    """
    static = next(((r.name, r.static_ips) for r in group.networks if r.static_ips), None)
    if static is not None:
        placed, obsolete = _place_static(group, known, networks[static[0]], static)
    else:
        placed, obsolete = _place_balanced(group, known)
    taken = {k.index for k in known}
    result: list[Placed] = []
    for entry in placed:
        if entry.existing is None:
            index = _lowest_free(taken)
            taken.add(index)
            entry = attrs.evolve(entry, index=index, uuid=new_uuid(group.name, index))
        result.append(entry)
    return sorted(result, key=lambda p: p.index), obsolete


def _lowest_free(taken: set[int]) -> int:
    index = 0
    while index in taken:
        index += 1
    return index


def _keep_order(instance: KnownInstance) -> tuple[bool, int]:
    return (not instance.has_disk, instance.index)


def _place_balanced(
    group: InstanceGroup, known: Sequence[KnownInstance]
) -> tuple[list[Placed], list[KnownInstance]]:
    azs: list[str | None] = list(group.azs) if group.azs else [None]
    by_az: dict[str | None, list[KnownInstance]] = {az: [] for az in azs}
    obsolete: list[KnownInstance] = []
    for instance in sorted(known, key=_keep_order):
        if instance.az in by_az:
            by_az[instance.az].append(instance)
        else:
            obsolete.append(instance)  # its AZ was removed from the group
    count: dict[str | None, int] = dict.fromkeys(azs, 0)
    placed: list[Placed] = []
    while len(placed) < group.instances:
        candidates = [az for az in azs if by_az[az]]
        if not candidates:
            break
        az = min(candidates, key=lambda a: (count[a], azs.index(a)))
        instance = by_az[az].pop(0)
        count[az] += 1
        placed.append(Placed(index=instance.index, uuid=instance.uuid, az=az, existing=instance))
    for leftovers in by_az.values():
        obsolete.extend(leftovers)
    while len(placed) < group.instances:
        az = min(azs, key=lambda a: (count[a], azs.index(a)))
        count[az] += 1
        placed.append(Placed(index=-1, uuid="", az=az))
    return placed, sorted(obsolete, key=lambda k: k.index)


def _ip_azs(ip: str, network: Network, group_azs: Sequence[str]) -> list[str | None]:
    """The group's AZs the subnet holding ``ip`` spans (None where AZs are not used)."""
    address = parse_ip_range(ip).first
    for subnet in network.subnets:
        static = [parse_ip_range(s) for s in subnet.static]
        if any(address in r for r in static):
            zones = [z for z in subnet.zone_names if z in group_azs]
            return list(zones) if group_azs else [None]
    return [None] if not group_azs else []


def _place_static(
    group: InstanceGroup,
    known: Sequence[KnownInstance],
    network: Network,
    static: tuple[str, tuple[str, ...]],
) -> tuple[list[Placed], list[KnownInstance]]:
    name, entries = static
    ips = [str(ip) for entry in entries for ip in parse_ip_range(entry)]
    unclaimed = sorted(known, key=_keep_order)
    placed: list[Placed] = []
    remaining: list[str] = []
    for ip in ips:
        owner = next((k for k in unclaimed if k.ips.get(name) == ip), None)
        zones = _ip_azs(ip, network, group.azs)
        if owner is not None and (owner.az in zones):
            unclaimed.remove(owner)
            placed.append(
                Placed(
                    index=owner.index, uuid=owner.uuid, az=owner.az, existing=owner, static_ip=ip
                )
            )
        else:
            remaining.append(ip)
    for ip in remaining:
        zones = _ip_azs(ip, network, group.azs)
        owner = next((k for k in unclaimed if k.az in zones), None)
        if owner is not None:  # an existing instance moves to a new address in its AZ
            unclaimed.remove(owner)
            placed.append(
                Placed(
                    index=owner.index, uuid=owner.uuid, az=owner.az, existing=owner, static_ip=ip
                )
            )
        else:
            placed.append(Placed(index=-1, uuid="", az=zones[0] if zones else None, static_ip=ip))
    return placed, sorted(unclaimed, key=lambda k: k.index)

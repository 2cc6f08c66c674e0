"""Addresses for ``create_vm``: refuse taken ones, hand out dynamic ones.

Real clouds refuse to give two live VMs the same private address, and that matters to
jobsite: a hot swap creates the new VM while the old one still holds the instance's static IP,
so a strategy that reuses the address too early must fail here as it would on AWS or vSphere.
Addresses are one flat space across networks: the mock has no VPCs.

For ``dynamic`` networks the cloud picks the address, from a private range, and says so in the
networks ``create_vm`` returns.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from jobsite.errors import VMCreationFailed

__all__ = ["DEFAULT_DYNAMIC_RANGE", "assign_networks"]

DEFAULT_DYNAMIC_RANGE = "10.254.0.0/16"

_TYPES = ("manual", "dynamic", "vip")


def assign_networks(
    networks: Mapping[str, Mapping[str, Any]],
    in_use: Mapping[str, str],
    dynamic_range: ipaddress.IPv4Network | ipaddress.IPv6Network,
    next_offset: int,
) -> tuple[dict[str, dict[str, Any]], int]:
    """The networks as the VM will have them, and where the next dynamic search starts.

    ``in_use`` maps every address held by a live VM to that VM's cid. Raises
    ``VMCreationFailed`` (not retryable: retrying cannot free the address) for a malformed
    network, an address in use, or a full dynamic range.
    """
    out: dict[str, dict[str, Any]] = {}
    taken: dict[str, str] = {}  # addresses claimed by this request, to network name
    dynamic: list[str] = []
    for name, settings in networks.items():
        if not isinstance(settings, Mapping):
            raise VMCreationFailed(f"network {name!r}: settings must be a mapping")
        kind = settings.get("type") or "manual"
        if kind not in _TYPES:
            raise VMCreationFailed(f"network {name!r}: unknown type {kind!r}")
        out[name] = dict(settings)
        if kind == "dynamic":
            dynamic.append(name)
            continue
        raw = settings.get("ip")
        try:
            if not isinstance(raw, str):
                raise ValueError(raw)
            address = str(ipaddress.ip_address(raw))
        except ValueError:
            raise VMCreationFailed(f"network {name!r}: invalid ip {raw!r}") from None
        holder = in_use.get(address)
        if holder is not None:
            raise VMCreationFailed(f"address {address} in use by {holder} (network {name!r})")
        if address in taken:
            raise VMCreationFailed(
                f"address {address} requested twice (networks {taken[address]!r} and {name!r})"
            )
        taken[address] = name
        out[name]["ip"] = address
    offset = next_offset
    for name in dynamic:
        address, offset = _free_address(dynamic_range, offset, in_use, taken)
        taken[address] = name
        out[name]["ip"] = address
        out[name].setdefault("netmask", str(dynamic_range.netmask))
        out[name].setdefault("gateway", str(dynamic_range.network_address + 1))
    return out, offset


def _free_address(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
    offset: int,
    in_use: Mapping[str, str],
    taken: Mapping[str, str],
) -> tuple[str, int]:
    """The first free host address at or after ``offset`` (wrapping), skipping the network
    address, the gateway (first host) and the broadcast address."""
    usable = network.num_addresses - 3
    if usable < 1:
        raise VMCreationFailed(f"dynamic range {network} has no usable addresses")
    for step in range(usable):
        index = (offset + step) % usable
        address = str(network.network_address + 2 + index)
        if address not in in_use and address not in taken:
            return address, index + 1
    raise VMCreationFailed(f"no free address in dynamic range {network}")

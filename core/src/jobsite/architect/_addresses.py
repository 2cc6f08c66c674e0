"""Giving instances addresses on manual networks, as the director's IP provider does.

A subnet's usable addresses are its range minus the network and broadcast addresses, the
gateway, ``reserved`` and ``static`` ranges (static addresses are only handed out through
``static_ips``). An instance keeps its address while it is still usable; new ones take the
lowest free address of the first subnet in their AZ. Running out is an error that names the
network and the subnets it tried.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import TYPE_CHECKING

from jobsite.config import IpRanges, Network, Subnet, parse_ip_range, parse_ip_ranges
from jobsite.errors import JobsiteError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["AddressBook", "AddressExhausted"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressExhausted(JobsiteError):
    """A manual network has no address left for an instance."""


class _Pool:
    """One subnet's usable addresses, handed out lowest first."""

    def __init__(self, subnet: Subnet) -> None:
        assert subnet.range is not None  # checked when the cloud config was loaded
        self.subnet = subnet
        self.cidr = ipaddress.ip_network(subnet.range, strict=False)
        self.excluded: IpRanges = parse_ip_ranges((*subnet.reserved, *subnet.static))
        self.static: IpRanges = parse_ip_ranges(subnet.static)
        self.gateway = ipaddress.ip_address(subnet.gateway) if subnet.gateway else None
        self._cursor: Iterator[Address] = self._candidates()

    def _candidates(self) -> Iterator[Address]:
        first, last = self.cidr.network_address, self.cidr.broadcast_address
        for value in range(int(first) + 1, int(last)):
            address = type(first)(value)
            if address != self.gateway and address not in self.excluded:
                yield address

    def usable(self, address: Address) -> bool:
        """Whether ``address`` may be handed out dynamically from this subnet."""
        return (
            address in self.cidr
            and address not in (self.cidr.network_address, self.cidr.broadcast_address)
            and address != self.gateway
            and address not in self.excluded
        )

    def next_free(self, taken: set[Address], held: set[Address]) -> Address | None:
        # addresses below the cursor are all taken for good within one blueprint
        for address in self._cursor:
            if address not in taken and address not in held:
                return address
        return None


class AddressBook:
    """The manual networks' address state for one blueprint."""

    def __init__(
        self,
        networks: Mapping[str, Network],
        taken: Mapping[str, frozenset[str]],
        held: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._pools = {
            name: [_Pool(s) for s in network.subnets]
            for name, network in networks.items()
            if network.type == "manual"
        }
        self._kept: set[tuple[str, str]] = set()
        self._taken: dict[str, set[Address]] = {
            name: {parse_address(a) for a in taken.get(name, ())} for name in self._pools
        }
        # held by this deployment's VMs now: an instance may keep its own, but none is handed
        # to another before the VM holding it is gone (a create-first strategy creates
        # new VMs while the old ones, even those being deleted, still hold their addresses)
        self._held: dict[str, set[Address]] = {
            name: {parse_address(a) for a in (held or {}).get(name, ())} for name in self._pools
        }

    def manages(self, network: str) -> bool:
        """Whether ``network`` is a manual network (the only kind jobsite hands out IPs on)."""
        return network in self._pools

    def kept(self, network: str, address: str) -> bool:
        """Whether :meth:`keep` let an existing instance keep ``address``."""
        return (network, address) in self._kept

    def subnet_of(self, network: str, address: str) -> Subnet | None:
        """The subnet of ``network`` whose range holds ``address``."""
        ip = parse_address(address)
        return next((p.subnet for p in self._pools[network] if ip in p.cidr), None)

    def claim(self, network: str, address: str) -> None:
        """Record an address as held (a static IP, or one an instance keeps)."""
        self._taken[network].add(parse_address(address))

    def keep(self, network: str, az: str | None, address: str | None) -> bool:
        """Claim ``address`` for an existing instance if it is still usable in ``az``."""
        if address is None:
            return False
        ip = parse_address(address)
        if ip in self._taken[network]:
            return False
        for pool in self._pools[network]:
            if (az is None or az in pool.subnet.zone_names) and pool.usable(ip):
                self._taken[network].add(ip)
                self._kept.add((network, address))
                return True
        return False

    def allocate(self, network: str, az: str | None, who: str) -> tuple[str, Subnet]:
        """The lowest free address for ``who`` in a subnet of ``network`` in ``az``."""
        tried = []
        for pool in self._pools[network]:
            if az is not None and pool.subnet.zone_names and az not in pool.subnet.zone_names:
                continue
            address = pool.next_free(self._taken[network], self._held[network])
            if address is not None:
                self._taken[network].add(address)
                return str(address), pool.subnet
            tried.append(str(pool.cidr))
        where = f" in az {az}" if az else ""
        raise AddressExhausted(
            f"network {network!r} has no free address{where} for {who} (subnets tried: "
            f"{', '.join(tried) or 'none in that az'}; all usable addresses are taken)"
        )


def netmask_of(subnet: Subnet) -> str:
    """The subnet's netmask, as BOSH's network settings carry it."""
    assert subnet.range is not None
    return _netmask(subnet.range)


@functools.lru_cache(maxsize=1024)
def _netmask(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False).netmask)


def parse_address(text: str) -> Address:
    """An address from its text, as ``ipaddress.ip_address`` reads it but several times
    faster for IPv4 (the C parser, then the packed form): a blueprint of 100,000 instances
    reads every kept address."""
    try:
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
    except (OSError, TypeError):
        return ipaddress.ip_address(text)


def in_static(subnet: Subnet, address: str) -> bool:
    """Whether ``address`` is in one of the subnet's static ranges."""
    ip = ipaddress.ip_address(address)
    return any(ip in parse_ip_range(s) for s in subnet.static)

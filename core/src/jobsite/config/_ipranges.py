"""Addresses as BOSH writes them in subnets: ``10.0.0.5``, ``10.0.0.5 - 10.0.0.9``,
``10.0.0.0/30``, or lists of those.

Parsed into inclusive integer ranges so membership, overlap and counting are arithmetic; the
architect allocates instance IPs from the same values.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

__all__ = ["IpRange", "IpRanges", "parse_ip_range", "parse_ip_ranges"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@attrs.frozen
class IpRange:
    """An inclusive range of addresses of one IP version."""

    first: IpAddress
    last: IpAddress

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return address.version == self.first.version and int(self.first) <= int(address) <= int(
            self.last
        )

    def __len__(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __iter__(self) -> Iterator[IpAddress]:
        cls = type(self.first)
        for value in range(int(self.first), int(self.last) + 1):
            yield cls(value)

    def overlaps(self, other: IpRange) -> bool:
        """Whether the two ranges share an address."""
        return (
            self.first.version == other.first.version
            and int(self.first) <= int(other.last)
            and int(other.first) <= int(self.last)
        )

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first} - {self.last}"


def parse_ip_range(text: str) -> IpRange:
    """Parse one entry; ``ValueError`` (with a message for users) when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"expected an address or range, got {text!r}")
    value = text.strip()
    try:
        if "/" in value:
            net = ipaddress.ip_network(value, strict=False)
            return IpRange(net.network_address, net.broadcast_address)
        if "-" in value:
            low_text, high_text = (p.strip() for p in value.split("-", 1))
            low, high = ipaddress.ip_address(low_text), ipaddress.ip_address(high_text)
            if low.version != high.version:
                raise ValueError(f"{text!r} mixes IPv4 and IPv6")
            if int(low) > int(high):
                raise ValueError(f"{text!r} starts after it ends")
            return IpRange(low, high)
        address = ipaddress.ip_address(value)
    except ValueError as exc:
        if "mixes" in str(exc) or "starts after" in str(exc):
            raise
        raise ValueError(f"{text!r} is not an IP address, range or CIDR block") from None
    return IpRange(address, address)


@attrs.frozen
class IpRanges:
    """Several ranges, as one subnet's ``reserved`` or ``static`` list."""

    ranges: tuple[IpRange, ...] = ()

    def __contains__(self, address: object) -> bool:
        return any(address in r for r in self.ranges)

    def __len__(self) -> int:
        return sum(len(r) for r in self.ranges)

    def __iter__(self) -> Iterator[IpAddress]:
        for r in self.ranges:
            yield from r

    def overlapping(self, other: IpRanges) -> list[tuple[IpRange, IpRange]]:
        """Pairs of ranges, one from each side, that share addresses."""
        return [(a, b) for a in self.ranges for b in other.ranges if a.overlaps(b)]


def parse_ip_ranges(entries: Iterable[str] | Sequence[str]) -> IpRanges:
    """Parse a list of entries; the first bad one raises ``ValueError``."""
    return IpRanges(tuple(parse_ip_range(e) for e in entries))

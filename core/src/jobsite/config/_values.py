"""Small values BOSH writes in more than one form, parsed once at the edge.

``canary_watch_time: 1000-30000`` and ``max_in_flight: 25%`` are strings to YAML but numbers
to every later phase; parsing them here means the foreman and assembler never see the text.
"""

from __future__ import annotations

import math
import re
from typing import Any, NewType

import attrs

from jobsite.config._converter import Invalid, describe_value, value_hook

__all__ = ["MaxInFlight", "Version", "WatchTime"]

_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_NUMBER = re.compile(r"^\s*(\d+)\s*$")
_PERCENT = re.compile(r"^\s*(\d+)\s*%\s*$")


@attrs.frozen
class WatchTime:
    """``canary_watch_time``/``update_watch_time`` in milliseconds: wait ``minimum``, then poll
    until the instance runs or ``maximum`` has passed. A single number means both."""

    minimum: int
    maximum: int

    def __str__(self) -> str:
        if self.minimum == self.maximum:
            return str(self.minimum)
        return f"{self.minimum}-{self.maximum}"


@value_hook(WatchTime)
def _parse_watch_time(value: Any) -> WatchTime:
    # BOSH reads the value with ``to_s`` and these two patterns, so "5000" is accepted too.
    if type(value) is int and value >= 0:
        return WatchTime(value, value)
    if isinstance(value, str):
        if m := _RANGE.match(value):
            low, high = int(m.group(1)), int(m.group(2))
            if low > high:
                raise Invalid(f"range {value!r} has its minimum above its maximum")
            return WatchTime(low, high)
        if m := _NUMBER.match(value):
            return WatchTime(int(m.group(1)), int(m.group(1)))
    raise Invalid(
        f"expected milliseconds as a number or a range like 1000-30000, got {describe_value(value)}"
    )


@attrs.frozen
class MaxInFlight:
    """How many instances of a group update at once: a count, or a percentage of the group."""

    value: int
    percent: bool = False

    def resolve(self, instances: int) -> int:
        """The count for a group of ``instances``: percentages round down, never below 1."""
        if not self.percent:
            return max(1, self.value)
        return max(1, math.floor(instances * self.value / 100))

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


@value_hook(MaxInFlight)
def _parse_max_in_flight(value: Any) -> MaxInFlight:
    if type(value) is int and value >= 1:
        return MaxInFlight(value)
    if isinstance(value, str) and (m := _PERCENT.match(value)):
        percent = int(m.group(1))
        if 1 <= percent <= 100:
            return MaxInFlight(percent, percent=True)
    raise Invalid(
        f"expected a positive integer or a percentage like 25%, got {describe_value(value)}"
    )


Version = NewType("Version", str)
"""A release or stemcell version. YAML reads ``version: 3`` and ``version: 621.5`` as numbers;
BOSH takes them as the text they are, so does jobsite (``latest`` included)."""


@value_hook(Version)
def _parse_version(value: Any) -> Version:
    if isinstance(value, str) and value:
        return Version(value)
    if type(value) in (int, float):
        return Version(str(value))
    raise Invalid(f"expected a version, got {describe_value(value)}")

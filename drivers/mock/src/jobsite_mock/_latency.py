"""Simulated latency: how long each driver call takes before it acts.

Real clouds take seconds per call; strategies that overlap work (hot_swap creating every VM up
front) only show their worth when calls take time. The wait is ``anyio.sleep``, so a cancelled
deploy stops waiting at once. With no latency a call still passes one checkpoint, as any real
I/O would: other tasks get to run and cancellation is seen, at the cost of microseconds.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import anyio
import anyio.lowlevel

from jobsite_mock._options import OptionError, read_seconds

__all__ = ["Latency", "LatencySpec"]

LatencySpec = float | Mapping[str, float]
"""What a caller may give: seconds for every call, or method → seconds with a ``default``."""


class Latency:
    """Per-method delays, validated against the driver's method names."""

    __slots__ = ("_default", "_per_method")

    def __init__(self, default: float = 0.0, per_method: Mapping[str, float] | None = None) -> None:
        self._default = default
        self._per_method = dict(per_method or {})

    @classmethod
    def parse(
        cls, value: Any, methods: Collection[str], driver: str, where: str = "latency"
    ) -> Latency:
        """Read the ``latency`` option: a number, or a map of method (or ``default``) → seconds.

        Unknown method names are refused: a misspelt one would silently add no latency.
        """
        if value is None:
            return cls()
        if isinstance(value, Mapping):
            default = 0.0
            per_method: dict[str, float] = {}
            for key, seconds in value.items():
                if key == "default":
                    default = read_seconds(seconds, driver, f"{where}.default")
                elif key in methods:
                    per_method[key] = read_seconds(seconds, driver, f"{where}.{key}")
                else:
                    raise OptionError(
                        f"option {where}: unknown method {key!r} "
                        f"(known: default, {', '.join(sorted(methods))})",
                        driver=driver,
                    )
            return cls(default, per_method)
        return cls(read_seconds(value, driver, where))

    def seconds(self, method: str) -> float:
        """How long ``method`` takes."""
        return self._per_method.get(method, self._default)

    async def wait(self, method: str) -> None:
        """Spend ``method``'s latency (cancellable); at least one checkpoint."""
        seconds = self._per_method.get(method, self._default)
        if seconds > 0:
            await anyio.sleep(seconds)
        else:
            await anyio.lowlevel.checkpoint()

"""Reading the mock drivers' options: strict, one-line errors that name the option.

``DriverContext.options`` arrive straight from the director config, unvalidated. A typo
(``latncy``) or a wrong type (``latency: fast``) must fail when the driver is built, saying
which option, instead of being ignored and leaving a test that silently injects nothing.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from jobsite.errors import DriverError

__all__ = [
    "OptionError",
    "check_known",
    "read_bool",
    "read_mapping",
    "read_positive_int",
    "read_probability",
    "read_seconds",
    "read_str",
    "read_str_list",
]


class OptionError(DriverError):
    """An option of a mock driver is unknown or malformed. ``str()`` is one line naming it."""


def _fail(driver: str, where: str, expected: str, value: Any) -> OptionError:
    return OptionError(f"option {where}: expected {expected}, got {value!r}", driver=driver)


def check_known(
    options: Mapping[str, Any], known: Collection[str], driver: str, where: str = ""
) -> None:
    """Refuse keys outside ``known``: a misspelt option must not be silently ignored."""
    if not isinstance(options, Mapping):
        raise _fail(driver, where or "options", "a mapping", options)
    for key in options:
        if key not in known:
            name = f"{where}.{key}" if where else str(key)
            raise OptionError(
                f"unknown option {name!r} (known: {', '.join(sorted(known))})", driver=driver
            )


def read_seconds(value: Any, driver: str, where: str) -> float:
    """A duration: a finite number >= 0 (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(driver, where, "seconds (a number >= 0)", value)
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise _fail(driver, where, "seconds (a number >= 0)", value)
    return seconds


def read_positive_int(value: Any, driver: str, where: str) -> int:
    """A count: an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(driver, where, "an integer >= 1", value)
    return value


def read_probability(value: Any, driver: str, where: str) -> float:
    """A probability in (0, 1]: zero would be a rule that can never fire."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise _fail(driver, where, "a probability in (0, 1]", value)
    return float(value)


def read_bool(value: Any, driver: str, where: str) -> bool:
    """A real boolean: ``"false"`` is a string, and a truthy one at that."""
    if not isinstance(value, bool):
        raise _fail(driver, where, "true or false", value)
    return value


def read_str(value: Any, driver: str, where: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise _fail(driver, where, "a non-empty string", value)
    return value


def read_str_list(value: Any, driver: str, where: str) -> tuple[str, ...]:
    """A list of non-empty strings."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _fail(driver, where, "a list of strings", value)
    return tuple(read_str(v, driver, f"{where}[{i}]") for i, v in enumerate(value))


def read_mapping(value: Any, driver: str, where: str) -> Mapping[str, Any]:
    """A mapping with string keys."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(driver, where, "a mapping", value)
    return value

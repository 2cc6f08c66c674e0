"""Collecting every problem of a document, so one run reports them all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite.config._converter import unresolved_message
from jobsite.errors import ConfigError, format_path

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Problems", "known"]


def known(names: Iterable[str], what: str = "known") -> str:
    """The hint listing what exists: ``known: default, small`` (or ``none defined``)."""
    listed = ", ".join(names)
    return f"{what}: {listed}" if listed else f"{what}: none defined"


class Problems:
    """An append-only list of :class:`ConfigError` for one document."""

    def __init__(self, document: str) -> None:
        self.document = document
        self.errors: list[ConfigError] = []

    def add(self, path: Iterable[str | int], message: str, hint: str = "") -> None:
        """Record that the value at ``path`` is wrong, and why."""
        self.errors.append(
            ConfigError(message, document=self.document, path=format_path(path), hint=hint)
        )

    def invalid(self, path: Iterable[str | int], value: object, message: str) -> None:
        """Record a malformed value; one still holding ``((name))`` is reported as the
        unresolved variable it is, not as a malformed address."""
        self.add(path, unresolved_message(value) or message)

    def undefined(
        self, path: Iterable[str | int], value: str, where: str, names: Iterable[str]
    ) -> None:
        """Record a reference to a name that is not defined: the commonest mistake, worded
        the same way everywhere."""
        self.add(path, f"{value!r} is not defined in {where}", known(names))

    def duplicates(self, path: tuple[str | int, ...], names: Iterable[str], what: str) -> None:
        """Record every name that appears more than once in a list of named items."""
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                self.add((*path, index, "name"), f"{what} {name!r} is defined more than once")
            seen.add(name)

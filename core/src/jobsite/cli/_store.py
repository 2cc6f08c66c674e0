"""The global ``--store`` option and opening the store it names, for every command.

The option is added to the ``jobsite`` group here so the group's own module stays unaware of
stores; its value travels in ``ctx.meta``, which every subcommand's context shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import anyio
import click

from jobsite.cli._app import cli
from jobsite.store import Store, open_store

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["store_url", "with_store"]

T = TypeVar("T")
_STORE_KEY = "jobsite.store"


def _remember_store(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    ctx.meta[_STORE_KEY] = value


cli.params.append(
    click.Option(
        ["--store"],
        metavar="URL",
        envvar="JOBSITE_STORE",
        expose_value=False,
        callback=_remember_store,
        help="The state store: sqlite:///abs/path.db, sqlite:relative.db or "
        "postgresql://user@host:port/db (default: jobsite.db in JOBSITE_HOME).",
    )
)


def store_url() -> str | None:
    """The store URL the command line (or ``JOBSITE_STORE``) chose, if any."""
    url: str | None = click.get_current_context().meta.get(_STORE_KEY)
    return url


def with_store(work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store the command line chose, run ``work`` on it, close it."""
    url = store_url()

    async def main() -> T:
        async with open_store(url) as store:
            return await work(store)

    return anyio.run(main)

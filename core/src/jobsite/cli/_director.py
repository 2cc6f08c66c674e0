"""The director behind the commands that change or read a deployment's world.

``deploy``, ``delete-deployment``, ``stop``/``start``/``restart``/``recreate``,
``instances``, ``vms`` and ``tasks`` all build one :class:`~jobsite.director.Director` from the
same options: ``--cpi NAME`` (default ``JOBSITE_CPI``, else ``mock``) with repeatable
``--cpi-option KEY=VALUE``, and ``--agent NAME`` (default: the CPI's name) with
``--agent-option``. The store is the global ``--store``; drivers keep their files in
``JOBSITE_HOME``.

The ``mock`` cloud lives in memory, so a command line that used it as it is would forget
every VM when the command ends while the store remembers them; unless told otherwise it
keeps its cloud in ``JOBSITE_HOME/mock-cloud.json``, shared by every command.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio
import click

from jobsite.cli._store import store_url
from jobsite.config import parse_yaml
from jobsite.director import Director, DirectorConfig, DriverChoice
from jobsite.store import default_home

__all__ = ["MOCK_STATE_FILE", "director_options", "option_value", "with_director"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

MOCK_STATE_FILE = "mock-cloud.json"
"""Where the command line keeps the ``mock`` cloud, in ``JOBSITE_HOME``."""


def option_value(text: str, flag: str = "--cpi-option") -> tuple[str, Any]:
    """``KEY=VALUE`` of a driver option, the value read as YAML (``latency=0.2`` is a
    number, ``failing_jobs=[web]`` a list); ``KEY=`` is the empty string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"expected KEY=VALUE, got {text!r}", param_hint=flag)
    return key, parse_yaml(raw, document=f"{flag} {key}") if raw else ""


def _options(values: Sequence[str], flag: str) -> dict[str, Any]:
    return dict(option_value(v, flag) for v in values)


def director_config(
    *,
    cpi: str,
    cpi_options: Sequence[str] = (),
    agent: str | None = None,
    agent_options: Sequence[str] = (),
) -> DirectorConfig:
    """The director the options describe, with the store of ``--store`` and the default home."""
    home = default_home()
    cpi_values = _options(cpi_options, "--cpi-option")
    if cpi == "mock" and "state_file" not in cpi_values:
        cpi_values["state_file"] = str(home / MOCK_STATE_FILE)
    return DirectorConfig(
        home=home,
        store=store_url(),
        cpi=DriverChoice(cpi, cpi_values),
        agent=DriverChoice(agent or cpi, _options(agent_options, "--agent-option")),
    )


def director_options(func: F) -> F:
    """Add the driver options to a command; it receives ``director_config``."""
    options = [
        click.option(
            "--cpi",
            metavar="NAME",
            envvar="JOBSITE_CPI",
            default="mock",
            show_default=True,
            help="The cloud driver (also JOBSITE_CPI).",
        ),
        click.option(
            "--cpi-option",
            "cpi_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="An option for the cloud driver (repeatable; VALUE is read as YAML).",
        ),
        click.option(
            "--agent",
            metavar="NAME",
            help="The agent driver (default: the one named like the CPI).",
        ),
        click.option(
            "--agent-option",
            "agent_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="An option for the agent driver (repeatable; VALUE is read as YAML).",
        ),
    ]

    @functools.wraps(func)
    def inner(
        *args: Any,
        cpi: str,
        cpi_options: tuple[str, ...],
        agent: str | None,
        agent_options: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        kwargs["director_config"] = director_config(
            cpi=cpi, cpi_options=cpi_options, agent=agent, agent_options=agent_options
        )
        return func(*args, **kwargs)

    wrapped: Callable[..., Any] = inner
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[return-value]


def with_director(
    config: DirectorConfig, work: Callable[[Director], Awaitable[T]], *, warn: bool = True
) -> T:
    """Open a director made from ``config``, run ``work`` with it, close it; with ``warn``,
    plugins that failed to load are warned about first."""

    async def main() -> T:
        async with Director(config) as director:
            for failure in director.plugins.failures if warn else ():
                click.echo(f"Warning: {failure}", err=True)
            return await work(director)

    return anyio.run(main)

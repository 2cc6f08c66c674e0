"""The ``jobsite`` command group and its error handling.

Every :class:`~jobsite.errors.JobsiteError` becomes one line per problem on standard error
and exit status 1; anything else is a bug and says so in one line (exit status 70), unless
``--debug`` (or ``JOBSITE_DEBUG=1``) asks for the traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from jobsite.errors import JobsiteError

__all__ = ["cli", "main"]

EXIT_ERROR = 1
EXIT_INTERNAL = 70  # EX_SOFTWARE


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # `jobsite vms | head`: the reader has gone; nothing more to say, and Python's
            # own flush at exit must not complain either
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(EXIT_ERROR)
        except JobsiteError as exc:
            if _debug(ctx):
                raise
            for line in str(exc).splitlines() or [type(exc).__name__]:
                click.echo(f"Error: {line}", err=True)
            ctx.exit(EXIT_ERROR)
        except Exception as exc:
            if _debug(ctx):
                raise
            click.echo(
                f"Internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
                "traceback, and please report it)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug"))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--debug",
    is_flag=True,
    envvar="JOBSITE_DEBUG",
    help="Show tracebacks instead of one-line errors.",
)
@click.version_option(package_name="jobsite-core", prog_name="jobsite")
def cli(debug: bool) -> None:
    """jobsite: deploy BOSH manifests with async, pluggable strategies and drivers."""


def main() -> NoReturn:
    """Entry point of the ``jobsite`` script."""
    sys.exit(cli.main(prog_name="jobsite"))

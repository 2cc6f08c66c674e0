"""The variable and ops-file options BOSH's commands share (``bosh int``, ``bosh deploy``).

Kept in one place so every command that reads a manifest spells them exactly as the bosh CLI
does: ``-v``, ``--var-file``, ``-l/--vars-file``, ``--vars-env``, ``-o/--ops-file``,
``--var-errs``.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click

from jobsite.config import Op, Variables, read_ops_file, variables_from_cli
from jobsite.errors import ConfigError, ConfigErrors

__all__ = ["Interpolation", "interpolation_options"]

F = TypeVar("F", bound=Callable[..., Any])


@attrs.frozen(kw_only=True)
class Interpolation:
    """What the options asked for: the ops to apply and the variables to substitute."""

    ops: tuple[Op, ...]
    variables: Variables
    expect_all: bool


def interpolation_options(func: F) -> F:
    """Add BOSH's interpolation options to a command; it receives ``interpolation``."""
    options = [
        click.option(
            "-o",
            "--ops-file",
            "ops_files",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Apply a go-patch ops file (repeatable, applied in order).",
        ),
        click.option(
            "-v",
            "--var",
            "var",
            multiple=True,
            metavar="NAME=VALUE",
            help="Set a variable (repeatable).",
        ),
        click.option(
            "--var-file",
            "var_files",
            multiple=True,
            metavar="NAME=PATH",
            help="Set a variable to a file's content (repeatable).",
        ),
        click.option(
            "-l",
            "--vars-file",
            "vars_files",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Load variables from a YAML file (repeatable).",
        ),
        click.option(
            "--vars-env",
            "vars_env",
            multiple=True,
            metavar="PREFIX",
            help="Load variables from environment variables PREFIX_name (repeatable).",
        ),
        click.option(
            "--var-errs",
            "var_errs",
            is_flag=True,
            help="Fail, listing every variable that has no value.",
        ),
    ]
    wrapped: Callable[..., Any] = _collect(func)
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[return-value]


def _collect(func: Callable[..., Any]) -> Callable[..., Any]:
    """Read every ops file and variable flag, reporting all their problems together."""

    @functools.wraps(func)
    def inner(
        *args: Any,
        ops_files: Sequence[Path],
        var: Sequence[str],
        var_files: Sequence[str],
        vars_files: Sequence[Path],
        vars_env: Sequence[str],
        var_errs: bool,
        **kwargs: Any,
    ) -> Any:
        errors: list[ConfigError] = []
        ops: list[Op] = []
        for path in ops_files:
            with _gather(errors):
                ops.extend(read_ops_file(path))
        variables = Variables()
        with _gather(errors):
            variables = variables_from_cli(
                var=var,
                vars_files=vars_files,
                vars_env=vars_env,
                var_files=var_files,
                environ=dict(os.environ),
            )
        if errors:
            raise ConfigErrors(errors)
        kwargs["interpolation"] = Interpolation(
            ops=tuple(ops), variables=variables, expect_all=var_errs
        )
        return func(*args, **kwargs)

    return inner


@contextlib.contextmanager
def _gather(errors: list[ConfigError]) -> Iterator[None]:
    try:
        yield
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    except ConfigError as exc:
        errors.append(exc)

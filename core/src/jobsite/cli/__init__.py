"""The ``jobsite`` command line: BOSH's words, one clean line per error."""

from __future__ import annotations

from jobsite.cli import (
    _configs,
    _deploy,
    _instances,
    _interpolate,
    _plan,
    _plugins,
    _stemcells,
    _store,
    _tasks,
    _validate,
)
from jobsite.cli._app import cli, main

__all__ = ["cli", "main"]

# Each command module adds itself to ``cli`` when imported.
del (
    _configs,
    _deploy,
    _instances,
    _interpolate,
    _plan,
    _plugins,
    _stemcells,
    _store,
    _tasks,
    _validate,
)

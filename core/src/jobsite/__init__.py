"""jobsite: a plugin-based, async re-imagining of the BOSH director's deploy pipeline.

The public API for plugin and driver authors and for applications embedding jobsite. Anything
not exported here (or from a public submodule: ``jobsite.cpi``, ``jobsite.blobstore``,
``jobsite.agent``, ``jobsite.store``, ``jobsite.errors``, ``jobsite.config``) is private.
"""

from __future__ import annotations

from jobsite.driver import DriverContext, Factory
from jobsite.hookspecs import Register, hookimpl

__all__ = [
    "Director",
    "DirectorConfig",
    "DriverChoice",
    "DriverContext",
    "Factory",
    "Register",
    "hookimpl",
]


_LAZY = {"Director", "DirectorConfig", "DriverChoice"}


def __getattr__(name: str) -> object:
    # The director pulls in every phase; importing it lazily keeps `import jobsite` (and so
    # every plugin's import and `jobsite --help`) light.
    if name in _LAZY:
        from jobsite import director

        return getattr(director, name)
    raise AttributeError(f"module 'jobsite' has no attribute {name!r}")

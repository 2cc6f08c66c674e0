"""jobsite: a plugin-based, async re-imagining of the BOSH director's deploy pipeline.

The public API for plugin and driver authors and for applications embedding jobsite. Anything
not exported here (or from a public submodule: ``jobsite.cpi``, ``jobsite.blobstore``,
``jobsite.agent``, ``jobsite.store``, ``jobsite.errors``, ``jobsite.config``) is private.
"""

from __future__ import annotations

from jobsite.driver import DriverContext, Factory
from jobsite.hookspecs import Register, hookimpl

__all__ = [
    "DriverContext",
    "Factory",
    "Register",
    "hookimpl",
]

"""The built-in state stores, registered as plugins: ``sqlite`` and ``postgres``.

Options (a store's ``DriverContext.options``): ``url``, in the forms
:func:`jobsite.store.open_store` accepts (for ``sqlite`` it may be left out: the file
``jobsite.db`` in the director's home), and for ``postgres`` ``pool_size``. The factories
return the store unmigrated and do no I/O; ``open_store`` migrates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite.errors import StoreError
from jobsite.hookspecs import hookimpl

if TYPE_CHECKING:
    from jobsite.driver import DriverContext
    from jobsite.hookspecs import Register
    from jobsite.store import Store

__all__ = ["jobsite_register_stores"]


def _sqlite(context: DriverContext) -> Store:
    from jobsite.store._open import make_store, parse_store_url

    url = context.options.get("url")
    target = parse_store_url(url or None, home=context.home)
    if target.kind != "sqlite":
        raise StoreError(f"{target.location}: the sqlite store needs a sqlite: URL")
    return make_store(target)


def _postgres(context: DriverContext) -> Store:
    from jobsite.store._open import make_store, parse_store_url

    url = context.options.get("url")
    if not url:
        raise StoreError("the postgres store needs a url option (postgresql://user@host/db)")
    target = parse_store_url(str(url), home=context.home)
    if target.kind != "postgres":
        raise StoreError(f"{target.location}: the postgres store needs a postgresql: URL")
    return make_store(target, options=context.options)


@hookimpl(trylast=True)
def jobsite_register_stores(register: Register) -> None:
    """SQLite (the default: one file under ``JOBSITE_HOME``) and PostgreSQL (shared)."""
    register("sqlite", _sqlite)
    register("postgres", _postgres)

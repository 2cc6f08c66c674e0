"""Opening a store from a URL: where state lives by default, and which engine serves it.

URL forms:

- ``sqlite:///abs/path.db``: a SQLite file at an absolute path;
- ``sqlite:relative.db``: a SQLite file relative to the current directory;
- ``postgresql://user@host:port/db`` (or ``postgres://``): PostgreSQL; libpq's query
  parameters pass through (``?options=-csearch_path%3Dmine``, ``sslmode=...``);
- none: ``JOBSITE_STORE`` if set, else the SQLite file ``jobsite.db`` in ``JOBSITE_HOME``,
  which defaults to the platform's user data directory (``~/.local/share/jobsite`` on Linux).

Messages never show a password: a URL is always shown masked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import attrs

from jobsite.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping
    from types import TracebackType

    from jobsite.plugins import Plugins
    from jobsite.store._protocol import Store

__all__ = [
    "DB_NAME",
    "HOME_ENV",
    "STORE_ENV",
    "StoreOpening",
    "StoreUrl",
    "default_home",
    "make_store",
    "mask_url",
    "open_store",
    "parse_store_url",
]

HOME_ENV = "JOBSITE_HOME"
STORE_ENV = "JOBSITE_STORE"
DB_NAME = "jobsite.db"

_FORMS = "sqlite:///abs/path.db, sqlite:relative.db or postgresql://user@host:port/db"


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``JOBSITE_HOME``, or the platform's user data directory for jobsite."""
    env = os.environ if environ is None else environ
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("jobsite", appauthor=False))


def mask_url(url: str) -> str:
    """``url`` with its password (in the authority or a ``password=`` parameter) as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}"
    query = parts.query
    if "password" in query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@attrs.frozen(kw_only=True)
class StoreUrl:
    """A parsed store URL: which store plugin serves it and where it points."""

    kind: str
    """The store's registered name: ``sqlite``, ``postgres`` or a plugin's scheme."""
    url: str
    path: Path | None = None
    """For SQLite, the absolute path of the file."""

    @property
    def location(self) -> str:
        """How messages name the store: the file's path, or the URL with no password."""
        return str(self.path) if self.path is not None else mask_url(self.url)


def parse_store_url(url: str | None, *, home: Path | None = None) -> StoreUrl:
    """Resolve ``url`` (or the default) to a :class:`StoreUrl`; a bad URL is a StoreError."""
    if not url:
        url = os.environ.get(STORE_ENV) or None
    if not url:
        path = (home or default_home()) / DB_NAME
        return StoreUrl(kind="sqlite", url=f"sqlite://{path.absolute()}", path=path.absolute())
    scheme, sep, rest = url.partition(":")
    if not sep or not scheme or len(scheme) == 1:  # "C:\..." is a path, not a scheme
        raise StoreError(f"{mask_url(url)}: not a store URL (use {_FORMS})")
    scheme = scheme.lower()
    if scheme == "sqlite":
        if rest.startswith("///"):
            raw = rest[2:]
        elif rest.startswith("//"):
            raise StoreError(f"{url}: a SQLite URL names a file, not a host (use {_FORMS})")
        else:
            raw = rest
        if raw.startswith("/"):  # sqlite:////abs (SQLAlchemy's spelling) means /abs too
            raw = "/" + raw.lstrip("/")
        if raw in ("", "/"):
            raise StoreError(f"{url}: no file named (use {_FORMS})")
        path = Path(raw).expanduser().absolute()
        return StoreUrl(kind="sqlite", url=f"sqlite://{path}", path=path)
    if scheme in ("postgresql", "postgres"):
        return StoreUrl(kind="postgres", url=url)
    return StoreUrl(kind=scheme, url=url)


def make_store(target: StoreUrl, *, options: Mapping[str, Any] | None = None) -> Store:
    """The built-in store for ``target``, not yet migrated (no I/O happens here)."""
    options = options or {}
    if target.kind == "sqlite":
        from jobsite.store._sqlite import sqlite_store

        assert target.path is not None
        return sqlite_store(target.path)
    if target.kind == "postgres":
        from jobsite.store._postgres import POOL_SIZE, postgres_store

        return postgres_store(
            target.url,
            location=target.location,
            pool_size=int(options.get("pool_size", POOL_SIZE)),
        )
    raise StoreError(
        f"{target.location}: no built-in store for {target.kind!r} URLs (use {_FORMS})"
    )


def _from_plugins(plugins: Plugins, target: StoreUrl, home: Path | None) -> Store:
    from jobsite.driver import DriverContext

    context = DriverContext(name=target.kind, options={"url": target.url}, home=home)
    store: Store = plugins.registry("store").create(context)
    return store


class StoreOpening:
    """What :func:`open_store` returns: await it for a migrated store, or use it as an async
    context manager that closes the store at the end of the block."""

    def __init__(
        self, url: str | None, home: Path | None, migrate: bool, plugins: Plugins | None
    ) -> None:
        self._url = url
        self._home = home
        self._migrate = migrate
        self._plugins = plugins
        self._store: Store | None = None

    async def _open(self) -> Store:
        target = parse_store_url(self._url, home=self._home)
        if not self._url and not os.environ.get(STORE_ENV) and target.path is not None:
            try:  # the default home is ours to create; a path given explicitly is not
                target.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{target.location}: cannot create its directory: {exc}") from exc
        if self._plugins is not None:
            store = _from_plugins(self._plugins, target, self._home)
        else:
            store = make_store(target)
        if self._migrate:
            try:
                await store.migrate()
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await store.aclose()
                raise
        return store

    def __await__(self) -> Generator[Any, None, Store]:
        return self._open().__await__()

    async def __aenter__(self) -> Store:
        self._store = await self._open()
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.aclose()


def open_store(
    url: str | None = None,
    *,
    home: Path | None = None,
    migrate: bool = True,
    plugins: Plugins | None = None,
) -> StoreOpening:
    """Open the store at ``url`` (see the module's docstring for the forms and the default).

    ``store = await open_store(url)`` (then ``await store.aclose()``), or
    ``async with open_store(url) as store:``. The schema is migrated on opening unless
    ``migrate=False``; a store written by a newer jobsite is refused. With ``plugins``, the
    store is built by the store plugin registered under the URL's kind (``sqlite``,
    ``postgres``, or a third party's scheme); otherwise the built-in engines serve it.
    """
    return StoreOpening(url, home, migrate, plugins)

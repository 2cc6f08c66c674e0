"""The SQLite store: where it lives, how the file is set up, migrations, and several processes
sharing one file (real subprocesses contending for one lock)."""

from __future__ import annotations

import re
import select
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from jobsite import DriverContext
from jobsite.errors import StoreError
from jobsite.plugins import load_plugins
from jobsite.store import (
    SCHEMA_VERSION,
    Store,
    _schema,
    _sql,
    default_home,
    open_store,
    parse_store_url,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    StartLocker = Callable[[str, float], "Locker"]

pytestmark = pytest.mark.anyio


@pytest.fixture
def no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBSITE_STORE", raising=False)
    monkeypatch.delenv("JOBSITE_HOME", raising=False)


def migrations(path: Path) -> list[tuple[int, str, float]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall()


# --- where the store lives -------------------------------------------------------------------


@pytest.mark.usefixtures("no_store_env")
async def test_the_default_store_is_jobsite_db_in_jobsite_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    home = tmp_path / "home" / "nested"
    monkeypatch.setenv("JOBSITE_HOME", str(home))
    async with open_store() as store:
        assert store.location == str(home / "jobsite.db")
    assert (home / "jobsite.db").is_file()


@pytest.mark.usefixtures("no_store_env")
def test_jobsite_home_defaults_to_the_platform_user_data_dir() -> None:
    import platformdirs

    assert default_home() == Path(platformdirs.user_data_dir("jobsite", appauthor=False))
    assert default_home({"JOBSITE_HOME": "~/js"}) == Path.home() / "js"


@pytest.mark.usefixtures("no_store_env")
def test_sqlite_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_store_url("sqlite:///abs/path.db").path == Path("/abs/path.db")
    assert parse_store_url("sqlite:////abs/path.db").path == Path("/abs/path.db")
    assert parse_store_url("sqlite:relative.db").path == tmp_path / "relative.db"
    assert parse_store_url(None, home=tmp_path).path == tmp_path / "jobsite.db"
    monkeypatch.setenv("JOBSITE_STORE", "sqlite:from-env.db")
    assert parse_store_url(None, home=tmp_path).path == tmp_path / "from-env.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("./jobsite.db", "not a store URL"),
        ("sqlite://host/x.db", "names a file, not a host"),
        ("sqlite:", "no file named"),
    ],
)
def test_bad_urls_say_which_forms_work(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as info:
        parse_store_url(url)
    assert "sqlite:///abs/path.db" in str(info.value)


async def test_an_unknown_scheme_has_no_built_in_store(anyio_backend: str) -> None:
    with pytest.raises(StoreError, match="no built-in store for 'mysql' URLs"):
        await open_store("mysql://db/jobsite")


# --- the file --------------------------------------------------------------------------------


async def test_the_file_uses_wal_normal_sync_and_foreign_keys(
    tmp_path: Path, anyio_backend: str
) -> None:
    path = tmp_path / "j.db"
    async with open_store(f"sqlite://{path}") as store:
        connection = store._engine._connection  # type: ignore[attr-defined]
        assert connection.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_file_that_cannot_be_opened_says_where_and_why(
    tmp_path: Path, anyio_backend: str
) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "j.db"
    with pytest.raises(StoreError, match=r"j\.db: cannot open: the directory .* does not exist"):
        await open_store(f"sqlite://{missing}")
    with pytest.raises(StoreError, match="cannot open: it is a directory"):
        await open_store(f"sqlite://{tmp_path}")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just bytes " * 100)
    with pytest.raises(
        StoreError, match=rf"^{re.escape(str(junk))}: cannot open: file is not a database$"
    ):
        await open_store(f"sqlite://{junk}")


# --- migrations ------------------------------------------------------------------------------


async def test_migrations_run_once(tmp_path: Path, anyio_backend: str) -> None:
    path = tmp_path / "j.db"
    async with open_store(f"sqlite://{path}"):
        pass
    first = migrations(path)
    assert [(v, n) for v, n, _ in first] == [(m.version, m.name) for m in _schema.MIGRATIONS]
    async with open_store(f"sqlite://{path}") as store:
        await store.migrate()
    assert migrations(path) == first


async def test_a_store_from_a_newer_jobsite_is_refused(tmp_path: Path, anyio_backend: str) -> None:
    path = tmp_path / "j.db"
    async with open_store(f"sqlite://{path}"):
        pass
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")
    with pytest.raises(
        StoreError,
        match=rf"^{re.escape(str(path))}: the store's schema is at version 99, newer than "
        rf"this jobsite understands \(up to {SCHEMA_VERSION}\); upgrade jobsite",
    ):
        await open_store(f"sqlite://{path}")
    async with open_store(f"sqlite://{path}", migrate=False) as store:
        assert await store.schema_version() == 99


async def test_a_failing_migration_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    path = tmp_path / "j.db"
    async with open_store(f"sqlite://{path}"):
        pass
    broken = _schema.Migration(
        SCHEMA_VERSION + 1,
        "half good",
        ("CREATE TABLE widgets (id TEXT PRIMARY KEY)", "ALTER TABLE nowhere ADD COLUMN x TEXT"),
    )
    monkeypatch.setattr(_schema, "MIGRATIONS", (*_schema.MIGRATIONS, broken))
    monkeypatch.setattr(_schema, "LATEST", broken.version)
    monkeypatch.setattr(_sql, "LATEST", broken.version)
    with pytest.raises(StoreError, match="no such table: nowhere"):
        await open_store(f"sqlite://{path}")
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "widgets" not in tables
    assert max(v for v, _, _ in migrations(path)) == SCHEMA_VERSION


async def test_a_version_1_store_is_migrated_keeping_its_vms_without_a_stemcell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    path = tmp_path / "v1.db"
    url = f"sqlite://{path}"
    with monkeypatch.context() as old_jobsite:  # a jobsite that knew only the first migration
        old_jobsite.setattr(_schema, "MIGRATIONS", _schema.MIGRATIONS[:1])
        old_jobsite.setattr(_schema, "LATEST", 1)
        old_jobsite.setattr(_sql, "LATEST", 1)
        async with open_store(url) as store:
            assert await store.schema_version() == 1
    with sqlite3.connect(path) as db:  # the rows as that jobsite wrote them
        columns = {row[1] for row in db.execute("PRAGMA table_info(vms)")}
        assert "stemcell_os" not in columns
        db.execute("INSERT INTO deployments VALUES ('cf', 'name: cf', '[]', 1.5e9, 1.5e9)")
        db.execute(
            "INSERT INTO vms (id, deployment, instance_uuid, cid, agent_id, stemcell_cid, "
            "cloud_properties, networks, env, state, active, created_at) "
            "VALUES ('vm-a', 'cf', NULL, 'i-123', 'agent-a', 'ami-9', '{\"type\": \"m5\"}', "
            "'{}', '{}', 'created', 1, 1.5e9)"
        )
    db.close()

    async with open_store(url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert [v for v, _, _ in migrations(path)] == [m.version for m in _schema.MIGRATIONS]
        [vm] = await store.list_vms("cf")
        assert (vm.id, vm.cid, vm.agent_id, vm.stemcell_cid) == (
            "vm-a",
            "i-123",
            "agent-a",
            "ami-9",
        )
        assert (vm.state, vm.active, dict(vm.cloud_properties)) == ("created", True, {"type": "m5"})
        assert vm.created_at.timestamp() == 1.5e9
        assert (vm.stemcell_os, vm.stemcell_version) == (None, None)
        upgraded = attrs.evolve(vm, stemcell_os="ubuntu-jammy", stemcell_version="1.108")
        async with store.transaction() as batch:
            batch.put_vm(upgraded)
        assert await store.get_vm("vm-a") == upgraded
    async with open_store(url) as store:  # and it is on disk, not just in a cache
        stored = await store.get_vm("vm-a")
        assert stored is not None
        assert (stored.stemcell_os, stored.stemcell_version) == ("ubuntu-jammy", "1.108")


# --- as a plugin -----------------------------------------------------------------------------


async def test_the_builtin_store_plugins_are_registered_by_default(
    tmp_path: Path, anyio_backend: str
) -> None:
    plugins = load_plugins(entrypoints=False)
    registry = plugins.registry("store")
    assert {"sqlite", "postgres"} <= set(registry.names())
    url = f"sqlite://{tmp_path / 'p.db'}"
    made = registry.create(DriverContext(name="sqlite", options={"url": url}))
    assert isinstance(made, Store)
    await made.aclose()
    async with open_store(url, plugins=plugins) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    with pytest.raises(StoreError, match="needs a url"):
        registry.create(DriverContext(name="postgres"))


# --- several processes, one file -------------------------------------------------------------

LOCKER = """
    import sys
    import anyio
    import anyio.to_thread
    from jobsite.store import open_store

    async def main(url: str, holder: str, ttl: float) -> None:
        async with open_store(url) as store:
            print("ready", flush=True)
            while True:
                line = (await anyio.to_thread.run_sync(sys.stdin.readline)).strip()
                if line == "acquire":
                    won = await store.acquire_lock("deploy:cf", holder, ttl)
                    print("won" if won else "lost", flush=True)
                elif line == "release":
                    released = await store.release_lock("deploy:cf", holder)
                    print("released" if released else "not-held", flush=True)
                else:
                    return

    anyio.run(main, sys.argv[1], sys.argv[2], float(sys.argv[3]))
"""


class Locker:
    """A director process holding the store open and taking orders on its stdin."""

    def __init__(self, script: Path, url: str, holder: str, ttl: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script), url, holder, str(ttl)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def answer(self) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready, "the locker process did not answer"
        return self.proc.stdout.readline().strip()

    def ask(self, command: str) -> str:
        self.send(command)
        return self.answer()


@pytest.fixture
def lockers(tmp_path: Path) -> Iterator[StartLocker]:
    script = tmp_path / "locker.py"
    script.write_text(textwrap.dedent(LOCKER))
    started: list[Locker] = []

    def start(holder: str, ttl: float) -> Locker:
        locker = Locker(script, f"sqlite://{tmp_path / 'shared.db'}", holder, ttl)
        started.append(locker)
        return locker

    yield start
    for locker in started:
        if locker.proc.poll() is None:
            locker.proc.kill()
        locker.proc.wait()
        for stream in (locker.proc.stdin, locker.proc.stdout):
            if stream is not None:
                stream.close()


def test_two_processes_contend_for_one_lock_and_exactly_one_wins(
    lockers: StartLocker, tmp_path: Path
) -> None:
    a, b = lockers("director-a", 60), lockers("director-b", 60)
    assert (a.answer(), b.answer()) == ("ready", "ready")  # both migrated one fresh file
    assert len(migrations(tmp_path / "shared.db")) == len(_schema.MIGRATIONS)
    a.send("acquire")
    b.send("acquire")
    answers = {"a": a.answer(), "b": b.answer()}
    assert sorted(answers.values()) == ["lost", "won"]
    winner, loser = (a, b) if answers["a"] == "won" else (b, a)
    assert loser.ask("release") == "not-held"
    assert winner.ask("release") == "released"
    assert loser.ask("acquire") == "won"
    assert winner.ask("acquire") == "lost"


def test_a_dead_holders_lease_expires_and_another_process_takes_the_lock(
    lockers: StartLocker,
) -> None:
    dead, alive = lockers("director-dead", 1.0), lockers("director-alive", 60)
    assert (dead.answer(), alive.answer()) == ("ready", "ready")
    assert dead.ask("acquire") == "won"
    dead.proc.kill()  # dies holding the lock: no release
    dead.proc.wait()
    assert alive.ask("acquire") == "lost"
    deadline = time.monotonic() + 20
    while alive.ask("acquire") != "won":
        assert time.monotonic() < deadline, "the dead holder's lease never expired"
        time.sleep(0.05)

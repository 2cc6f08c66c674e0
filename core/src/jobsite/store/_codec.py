"""Records to rows and back, table by table, and the SQL of every queued write.

One place knows each table's columns, so a query can say ``SELECT {VM.select} FROM vms`` and
the writes of a :class:`~jobsite.store.Batch` become parameterised statements that group into
``executemany`` calls. A table is described by one line of column specs,
``column[=field][:kind]``: the column's name, the record field it holds when the names differ,
and how values are stored (``json`` text, ``time`` as epoch seconds, ``bool``, ``int``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import attrs

from jobsite.store._json import dumps, from_epoch, loads, to_epoch
from jobsite.store._records import (
    CompiledPackageRecord,
    ConfigRecord,
    DeploymentRecord,
    DiskRecord,
    EventRecord,
    InstanceRecord,
    IpReservation,
    LockLease,
    ReleaseRecord,
    StemcellRecord,
    TaskRecord,
    VmRecord,
)

__all__ = ["TABLES", "Table", "write_statement"]

Row = Sequence[Any]
R = TypeVar("R")

_ENCODE: dict[str, Callable[[Any], Any]] = {
    "": lambda v: v,
    "int": lambda v: v,
    "bool": bool,
    "json": dumps,
    "ids": lambda v: dumps(list(v)),
    "time": to_epoch,
}
_DECODE: dict[str, Callable[[Any], Any]] = {
    "": lambda v: v,
    "int": int,
    "bool": bool,  # SQLite hands back 0/1
    "json": loads,
    "ids": lambda v: loads(v) or (),
    "time": lambda v: None if v is None else from_epoch(float(v)),
}


_set = object.__setattr__  # how attrs itself fills in frozen instances


@attrs.frozen
class Column:
    name: str
    field: str
    kind: str


def _columns(spec: str) -> tuple[Column, ...]:
    out = []
    for item in spec.split():
        names, _, kind = item.partition(":")
        name, _, field = names.partition("=")
        out.append(Column(name, field or name, kind))
    return tuple(out)


@attrs.frozen
class Table(Generic[R]):
    """A table's columns (in row order), its key, and the conversions of its rows."""

    name: str
    record: type[R]
    columns: tuple[Column, ...] = attrs.field(converter=_columns)
    key: tuple[str, ...]
    keep: tuple[str, ...] = ()
    """Columns an upsert leaves as first written."""

    @functools.cached_property
    def select(self) -> str:
        return ", ".join(c.name for c in self.columns)

    def to_row(self, record: R) -> tuple[Any, ...]:
        return tuple(_ENCODE[c.kind](getattr(record, c.field)) for c in self.columns)

    @functools.cached_property
    def _readers(self) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
        return tuple((c.field, None if c.kind == "" else _DECODE[c.kind]) for c in self.columns)

    @functools.cached_property
    def _whole(self) -> bool:
        """Whether the columns hold every field of the record (then rows can be read
        without running the record's converters)."""
        return {f.name for f in attrs.fields(self.record)} == {c.field for c in self.columns}  # type: ignore[arg-type]

    def from_row(self, row: Row) -> R:
        """The record a row holds.

        Rows are decoded into exactly the values the record's converters would produce
        (JSON frozen, times aware), so when the columns cover every field the record is
        filled in directly instead of through ``__init__``: reading a deployment of 100,000
        instances then costs what decoding it costs, not that twice.
        """
        if not self._whole:
            return self.record(
                **{c.field: _DECODE[c.kind](v) for c, v in zip(self.columns, row, strict=True)}
            )
        record = object.__new__(self.record)
        for (name, decode), value in zip(self._readers, row, strict=True):
            _set(record, name, value if decode is None else decode(value))
        return record

    @functools.cached_property
    def upsert(self) -> str:
        marks = ", ".join("?" for _ in self.columns)
        updates = ", ".join(
            f"{c.name} = excluded.{c.name}"
            for c in self.columns
            if c.name not in self.key + self.keep
        )
        return (
            f"INSERT INTO {self.name} ({self.select}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"
        )

    @functools.cached_property
    def delete(self) -> str:
        return f"DELETE FROM {self.name} WHERE " + " AND ".join(f"{k} = ?" for k in self.key)


_CREATED = ("created_at",)

CONFIG = Table("configs", ConfigRecord, "id:int type name content created_at:time", ("id",))
DEPLOYMENT = Table(
    "deployments",
    DeploymentRecord,
    "name manifest config_ids:ids created_at:time updated_at:time",
    ("name",),
    _CREATED,
)
INSTANCE = Table(
    "instances",
    InstanceRecord,
    "uuid deployment instance_group=group idx=index:int az state bootstrap:bool "
    "ignored=ignore:bool spec:json",
    ("uuid",),
)
VM = Table(
    "vms",
    VmRecord,
    "id deployment instance_uuid cid agent_id stemcell_cid cloud_properties:json "
    "networks:json env:json state active:bool created_at:time stemcell_os stemcell_version",
    ("id",),
    _CREATED,
)
DISK = Table(
    "disks",
    DiskRecord,
    "id deployment instance_uuid cid size:int disk_type name cloud_properties:json state "
    "active:bool orphaned_at:time created_at:time vm_id=vm",
    ("id",),
    _CREATED,
)
IP = Table(
    "ip_reservations",
    IpReservation,
    "network address deployment instance_uuid static:bool created_at:time",
    ("network", "address"),
    _CREATED,
)
RELEASE = Table(
    "releases",
    ReleaseRecord,
    "name version commit_hash manifest:json created_at:time",
    ("name", "version"),
    _CREATED,
)
STEMCELL = Table(
    "stemcells",
    StemcellRecord,
    "name version cpi os cid sha1 created_at:time",
    ("name", "version", "cpi"),
    _CREATED,
)
COMPILED_PACKAGE = Table(
    "compiled_packages",
    CompiledPackageRecord,
    "package fingerprint stemcell_os stemcell_version dependency_key blob_id sha256 "
    "created_at:time",
    ("package", "fingerprint", "stemcell_os", "stemcell_version", "dependency_key"),
)
LOCK = Table("locks", LockLease, "name holder acquired_at:time expires_at:time", ("name",))
TASK = Table(
    "tasks",
    TaskRecord,
    "id:int kind deployment description state started_at:time ended_at:time result",
    ("id",),
)
EVENT = Table(
    "events", EventRecord, "task_id:int seq:int emitted_at=at:time data:json", ("task_id", "seq")
)

TABLES: dict[str, Table[Any]] = {
    t.name: t
    for t in (
        CONFIG,
        DEPLOYMENT,
        INSTANCE,
        VM,
        DISK,
        IP,
        RELEASE,
        STEMCELL,
        COMPILED_PACKAGE,
        LOCK,
        TASK,
        EVENT,
    )
}

_PUTS: dict[str, Table[Any]] = {
    "put_deployment": DEPLOYMENT,
    "put_instance": INSTANCE,
    "put_vm": VM,
    "put_disk": DISK,
    "put_ip_reservation": IP,
    "put_release": RELEASE,
    "put_stemcell": STEMCELL,
    "put_compiled_package": COMPILED_PACKAGE,
}

_DELETES: dict[str, Table[Any]] = {
    "delete_deployment": DEPLOYMENT,
    "delete_instance": INSTANCE,
    "delete_vm": VM,
    "delete_disk": DISK,
    "delete_ip_reservation": IP,
    "delete_release": RELEASE,
    "delete_stemcell": STEMCELL,
}

_FINISH_TASK = "UPDATE tasks SET state = ?, result = ?, ended_at = ? WHERE id = ?"
_ADD_EVENT = f"INSERT INTO events ({EVENT.select}) VALUES (?, ?, ?, ?)"


def write_statement(operation: str, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of one queued :class:`~jobsite.store.Batch` operation."""
    if operation in _PUTS:
        table = _PUTS[operation]
        return table.upsert, table.to_row(args[0])
    if operation in _DELETES:
        return _DELETES[operation].delete, args
    if operation == "finish_task":
        task_id, state, result, ended_at = args
        return _FINISH_TASK, (state, result, to_epoch(ended_at) or time.time(), task_id)
    if operation == "add_event":
        return _ADD_EVENT, EVENT.to_row(args[0])
    raise ValueError(f"unknown store operation {operation!r}")

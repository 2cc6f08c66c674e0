"""The inspector against real parts: a store file (and PostgreSQL, where a server answers) and
the mock cloud, which keeps the CPI contract and records every call.

Store rows are written the way the assembler writes them (``store.transaction()``), cloud
VMs are created and tagged through the CPI, and the floorplan is checked against both.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from jobsite.architect import KnownInstance
from jobsite.cpi import VmListing, vm_metadata
from jobsite.errors import PluginError
from jobsite.inspector import Floorplan, known_instances, survey
from jobsite.plugins import load_plugins
from jobsite.store import (
    DeploymentRecord,
    DiskRecord,
    InstanceRecord,
    IpReservation,
    Store,
    VmRecord,
    open_store,
)
from jobsite_mock import Fault, MockCpi

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

pytestmark = pytest.mark.anyio

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "s.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        base = request.getfixturevalue("postgres_url")
        yield f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
async def store(store_url: str, anyio_backend: str) -> AsyncIterator[Store]:
    async with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def cpi() -> MockCpi:
    return MockCpi()


# --- building the world ----------------------------------------------------------------------


def at(seconds: int) -> datetime:
    """A creation time: the store lists VMs and disks oldest first."""
    return T0 + timedelta(seconds=seconds)


def deployment(name: str = "cf") -> DeploymentRecord:
    return DeploymentRecord(name=name, manifest=f"name: {name}\n", created_at=T0, updated_at=T0)


def instance(uuid: str, group: str = "web", index: int = 0, **changes: Any) -> InstanceRecord:
    fields: dict[str, Any] = {"uuid": uuid, "deployment": "cf", "group": group, "index": index}
    return InstanceRecord(**(fields | changes))


def vm_row(
    owner: InstanceRecord | None, cid: str | None, agent_id: str, created: int, **changes: Any
) -> VmRecord:
    fields: dict[str, Any] = {
        "id": f"vm-row-{agent_id}",
        "deployment": owner.deployment if owner else "cf",
        "instance_uuid": owner.uuid if owner else None,
        "cid": cid,
        "agent_id": agent_id,
        "state": "created" if cid else "creating",
        "active": cid is not None,
        "created_at": at(created),
    }
    return VmRecord(**(fields | changes))


def ip(
    address: str, owner: InstanceRecord | None, network: str = "default", **changes: Any
) -> IpReservation:
    fields: dict[str, Any] = {
        "network": network,
        "address": address,
        "deployment": owner.deployment if owner else "cf",
        "instance_uuid": owner.uuid if owner else None,
        "created_at": T0,
    }
    return IpReservation(**(fields | changes))


async def record(store: Store, *rows: object, deployments: tuple[str, ...] = ("cf",)) -> None:
    """Write deployments and rows in one transaction, as the assembler batches its writes."""
    async with store.transaction() as batch:
        for name in deployments:
            batch.put_deployment(deployment(name))
        for row in rows:
            if isinstance(row, InstanceRecord):
                batch.put_instance(row)
            elif isinstance(row, VmRecord):
                batch.put_vm(row)
            elif isinstance(row, DiskRecord):
                batch.put_disk(row)
            else:
                assert isinstance(row, IpReservation)
                batch.put_ip_reservation(row)


async def boot(cpi: MockCpi, agent_id: str, tags: dict[str, str] | None = None) -> str:
    """Create a VM in the cloud (tagged, when ``tags`` are given); its cid."""
    stemcell = await cpi.create_stemcell("", {})
    cid = (await cpi.create_vm(agent_id, stemcell, {}, {}, [], {})).vm_cid
    if tags is not None:
        await cpi.set_vm_metadata(cid, tags)
    return cid


async def deployed(store: Store, cpi: MockCpi, count: int) -> list[tuple[InstanceRecord, VmRecord]]:
    """``count`` web instances of ``cf``, each with a live, tagged, recorded VM."""
    out = []
    for i in range(count):
        owner = instance(f"w{i}", index=i)
        cid = await boot(cpi, f"agent-{i}", vm_metadata("jobsite", "cf", "web", owner.uuid, i))
        out.append((owner, vm_row(owner, cid, f"agent-{i}", created=i)))
    await record(store, *(row for pair in out for row in pair))
    return out


def kinds(floorplan: Floorplan) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(d.kind, d.vm_cid, d.vm, d.instance) for d in floorplan.drift]


# --- what the store remembers ----------------------------------------------------------------


async def test_an_empty_deployment_gives_an_empty_floorplan(store: Store, cpi: MockCpi) -> None:
    floorplan = await survey("cf", store, cpi)
    assert floorplan == Floorplan(deployment="cf", cloud_checked=True)
    assert floorplan.record is None
    assert known_instances(floorplan) == ()
    assert cpi.calls.methods() == ["list_vms"]  # nothing to check; the cloud was still asked


async def test_recorded_parts_come_back_and_other_deployments_addresses_are_taken(
    store: Store, cpi: MockCpi
) -> None:
    w0, w1 = instance("w0", az="z1", bootstrap=True), instance("w1", index=1, az="z2")
    v0 = vm_row(w0, await boot(cpi, "a0"), "a0", created=1, stemcell_os="ubuntu-jammy")
    v1 = vm_row(w1, await boot(cpi, "a1"), "a1", created=2, stemcell_version="1.5")
    disk = DiskRecord(
        id="d0", deployment="cf", instance_uuid="w0", cid="disk-1", size=1024, state="created",
        active=True, created_at=at(3),
    )  # fmt: skip
    orphan = DiskRecord(
        id="d-orphan", deployment="cf", cid="disk-2", size=512, state="created",
        orphaned_at=at(5), created_at=at(4),
    )  # fmt: skip
    own = [ip("10.0.0.10", w0), ip("10.0.0.11", w1), ip("10.1.0.10", w0, "backend")]
    spare = ip("10.0.0.50", None, static=True)
    db = instance("db0", "pg", deployment="db")
    db_rows = [
        db,
        vm_row(db, await boot(cpi, "db-a"), "db-a", created=0),
        DiskRecord(id="d-db", deployment="db", instance_uuid="db0", size=1, created_at=at(0)),
        ip("10.0.0.20", db),
        ip("10.0.0.21", None, deployment="db"),
        ip("192.168.0.2", db, "db-only"),
    ]
    await record(
        store, w0, w1, v0, v1, disk, orphan, *own, spare, *db_rows, deployments=("cf", "db")
    )

    floorplan = await survey("cf", store, cpi)
    assert floorplan.record == deployment("cf")
    assert floorplan.instances == (w0, w1)
    assert floorplan.vms == (v0, v1)
    assert floorplan.vms[0].stemcell_os == "ubuntu-jammy"
    assert floorplan.disks == (disk,)  # the orphaned disk is not the deployment's any more
    assert floorplan.addresses == (own[2], own[0], own[1], spare)  # by network, then address
    assert floorplan.taken_addresses == {
        "default": frozenset({"10.0.0.20", "10.0.0.21"}),
        "db-only": frozenset({"192.168.0.2"}),
    }
    assert (floorplan.drift, floorplan.missing_vms, floorplan.unknown_vms) == ((), frozenset(), ())
    assert floorplan.cloud_checked
    assert sorted(r.args["vm_cid"] for r in cpi.calls.of("has_vm")) == sorted([v0.cid, v1.cid])


# --- what the cloud says ---------------------------------------------------------------------


async def test_a_vm_deleted_from_the_cloud_behind_the_stores_back_is_missing(
    store: Store, cpi: MockCpi
) -> None:
    (_, v0), (_, v1), (_, v2) = await deployed(store, cpi, 3)
    assert v1.cid is not None
    await cpi.delete_vm(v1.cid)
    floorplan = await survey("cf", store, cpi)
    assert floorplan.missing_vms == {v1.id}
    assert kinds(floorplan) == [("vm_missing", v1.cid, v1.id, "w1")]
    assert v1.cid in floorplan.drift[0].message
    assert floorplan.unknown_vms == ()
    assert floorplan.vms == (v0, v1, v2)  # the store's memory is reported as it is


async def test_a_tagged_vm_the_store_never_recorded_is_unknown(store: Store, cpi: MockCpi) -> None:
    await deployed(store, cpi, 1)
    stray_tags = vm_metadata("jobsite", "cf", "web", "u-stray", 3)
    stray = await boot(cpi, "agent-stray", stray_tags)
    db_vm = await boot(cpi, "agent-db", vm_metadata("jobsite", "db", "pg", "u-db", 0))
    foreign_tags = vm_metadata("other-director", "cf", "web", "u-foreign", 0)
    foreign = await boot(cpi, "agent-foreign", foreign_tags)
    await boot(cpi, "agent-untagged")

    floorplan = await survey("cf", store, cpi)
    assert floorplan.unknown_vms == (
        VmListing(vm_cid=stray, agent_id="agent-stray", metadata=stray_tags),
    )
    [drift] = floorplan.drift
    assert (drift.kind, drift.vm_cid, drift.vm, drift.instance) == (
        "vm_unknown",
        stray,
        None,
        "u-stray",
    )
    assert drift.metadata == stray_tags
    assert stray in drift.message
    assert "'cf'" in drift.message
    assert floorplan.missing_vms == frozenset()

    # Another director's VMs are its own business, and found by that director.
    other = await survey("cf", store, cpi, director="other-director")
    assert [v.vm_cid for v in other.unknown_vms] == [foreign]
    assert [v.vm_cid for v in (await survey("db", store, cpi)).unknown_vms] == [db_vm]


class ForgetfulCloud(MockCpi):
    """A cloud that lists its VMs without the agent ids they were created for (``VmListing``
    allows it): recorded VMs must then be known by their cid alone."""

    async def list_vms(self) -> list[VmListing]:
        return [attrs.evolve(v, agent_id=None) for v in await super().list_vms()]


async def test_recorded_vms_are_known_by_cid_where_the_cloud_forgets_agent_ids(
    store: Store,
) -> None:
    cloud = ForgetfulCloud()
    await deployed(store, cloud, 2)
    stray = await boot(cloud, "agent-stray", vm_metadata("jobsite", "cf", "web", "u-s", 7))
    floorplan = await survey("cf", store, cloud)
    assert floorplan.unknown_vms == (
        VmListing(vm_cid=stray, metadata=vm_metadata("jobsite", "cf", "web", "u-s", 7)),
    )
    assert kinds(floorplan) == [("vm_unknown", stray, None, "u-s")]


async def test_an_interrupted_create_is_matched_by_agent_id_not_reported_unknown(
    store: Store, cpi: MockCpi
) -> None:
    w0 = instance("w0")
    intent = vm_row(w0, None, "agent-c", created=0)  # written before create_vm; no cid yet
    assert intent.state == "creating"
    await record(store, w0, intent)
    created = await boot(cpi, "agent-c", vm_metadata("jobsite", "cf", "web", "w0", 0))
    stranger = await boot(cpi, "agent-x", vm_metadata("jobsite", "cf", "web", "w9", 9))

    floorplan = await survey("cf", store, cpi)
    assert [v.vm_cid for v in floorplan.unknown_vms] == [stranger]
    # the interrupted create is recovered (its cid read from the cloud), not unknown
    assert kinds(floorplan) == [
        ("vm_recovered", created, intent.id, "w0"),
        ("vm_unknown", stranger, None, "w9"),
    ]
    [recovered] = [v for v in floorplan.vms if v.id == intent.id]
    assert (recovered.cid, recovered.state, recovered.active) == (created, "created", False)
    assert cpi.calls.of("has_vm") == []  # an intent has no cid to check
    assert floorplan.missing_vms == frozenset()


async def test_an_interrupted_create_that_never_reached_the_cloud_is_missing(
    store: Store, cpi: MockCpi
) -> None:
    w0 = instance("w0")
    intent = vm_row(w0, None, "agent-never", created=0)
    await record(store, w0, intent)
    floorplan = await survey("cf", store, cpi)
    assert floorplan.missing_vms == frozenset({intent.id})
    assert [d.kind for d in floorplan.drift] == ["vm_recovered"]


async def test_a_failing_has_vm_leaves_the_vm_unchecked_and_not_missing(
    store: Store, cpi: MockCpi
) -> None:
    (_, v0), (_, v1), (_, v2) = await deployed(store, cpi, 3)
    assert v1.cid is not None
    assert v2.cid is not None
    await cpi.delete_vm(v1.cid)
    await cpi.delete_vm(v2.cid)
    cpi.inject(Fault(method="has_vm", nth=2, message="throttled", transient=True))
    floorplan = await survey("cf", store, cpi, concurrency=1)  # one at a time, in store order
    assert [r.args["vm_cid"] for r in cpi.calls.of("has_vm")] == [v0.cid, v1.cid, v2.cid]
    assert kinds(floorplan) == [
        ("vm_unchecked", v1.cid, v1.id, "w1"),
        ("vm_missing", v2.cid, v2.id, "w2"),
    ]
    assert floorplan.missing_vms == {v2.id}  # gone too, but the cloud could not say so
    assert v1.cid in floorplan.drift[0].message
    assert "throttled" in floorplan.drift[0].message

    cpi.inject(Fault(method="has_vm", every=True, error="CpiError"))
    floorplan = await survey("cf", store, cpi)
    assert floorplan.missing_vms == frozenset()
    assert kinds(floorplan) == [
        ("vm_unchecked", v.cid, v.id, v.instance_uuid) for v in (v0, v1, v2)
    ]


async def test_a_failing_list_vms_is_reported_not_raised(store: Store, cpi: MockCpi) -> None:
    _, (_, v1) = await deployed(store, cpi, 2)
    assert v1.cid is not None
    await cpi.delete_vm(v1.cid)
    await boot(cpi, "agent-stray", vm_metadata("jobsite", "cf", "web", "u-stray", 5))
    cpi.inject(Fault(method="list_vms", every=True, message="listing is down"))
    floorplan = await survey("cf", store, cpi)
    assert kinds(floorplan) == [
        ("vm_missing", v1.cid, v1.id, "w1"),
        ("vm_unchecked", None, None, None),
    ]
    assert "listing is down" in floorplan.drift[1].message
    assert floorplan.unknown_vms == ()  # nothing assumed: nothing for --fix to delete
    assert floorplan.missing_vms == {v1.id}


async def test_without_a_cloud_nothing_is_checked(store: Store, cpi: MockCpi) -> None:
    w0 = instance("w0")
    gone = vm_row(w0, "vm-that-never-was", "a0", created=0)
    await record(store, w0, gone)
    await boot(cpi, "agent-stray", vm_metadata("jobsite", "cf", "web", "u-stray", 1))
    floorplan = await survey("cf", store, None)
    assert not floorplan.cloud_checked
    assert (floorplan.drift, floorplan.missing_vms, floorplan.unknown_vms) == ((), frozenset(), ())
    assert floorplan.vms == (gone,)
    checked = await survey("cf", store, cpi)
    assert checked.cloud_checked
    assert sorted(d.kind for d in checked.drift) == ["vm_missing", "vm_unknown"]


@pytest.mark.parametrize(("vms", "concurrency", "peak"), [(50, 5, 5), (50, 1, 1), (3, 32, 3)])
async def test_has_vm_calls_in_flight_are_bounded_by_concurrency(
    store: Store, cpi: MockCpi, vms: int, concurrency: int, peak: int
) -> None:
    rows = [vm for _, vm in await deployed(store, cpi, vms)]
    cpi.set_latency({"has_vm": 0.01})
    cpi.calls.clear()
    floorplan = await survey("cf", store, cpi, concurrency=concurrency)
    assert cpi.calls.max_concurrency("has_vm") == peak
    checked = Counter(r.args["vm_cid"] for r in cpi.calls.of("has_vm"))
    assert checked == Counter(vm.cid for vm in rows)  # every VM, each exactly once
    assert all(r.ok for r in cpi.calls.of("has_vm"))
    assert floorplan.drift == ()


# --- plugins ---------------------------------------------------------------------------------


class SyncObserver:
    def __init__(self) -> None:
        self.seen: list[tuple[str, object, object]] = []

    def jobsite_inspect(self, deployment: str, store: Store, cpi: object) -> list[object]:
        self.seen.append((deployment, store, cpi))
        return [("sync", deployment), ("sync", "second")]


class AsyncObserver:
    def __init__(self) -> None:
        self.seen: list[tuple[str, object, object]] = []

    async def jobsite_inspect(self, deployment: str, store: Store, cpi: object) -> list[object]:
        self.seen.append((deployment, store, cpi))
        instances = await store.list_instances(deployment)
        return [("async", tuple(i.uuid for i in instances))]


class QuietObserver:
    async def jobsite_inspect(self, deployment: str) -> None:
        return None


@pytest.mark.parametrize(
    ("observer", "expected"),
    [
        (SyncObserver, (("sync", "cf"), ("sync", "second"))),
        (AsyncObserver, (("async", ("w0", "w1")),)),
    ],
)
async def test_a_plugins_observations_are_in_the_floorplan(
    store: Store, cpi: MockCpi, observer: type[SyncObserver | AsyncObserver], expected: tuple[Any]
) -> None:
    await deployed(store, cpi, 2)
    obj = observer()
    plugins = load_plugins(entrypoints=False, builtins=(), plugins=[("obs", obj)])
    floorplan = await survey("cf", store, cpi, hooks=plugins.hooks)
    assert floorplan.observations == expected
    assert obj.seen == [("cf", store, cpi)]
    assert (await survey("cf", store, cpi)).observations == ()  # no hooks, no observations


async def test_observations_of_several_plugins_are_gathered_and_none_adds_nothing(
    store: Store, cpi: MockCpi
) -> None:
    await deployed(store, cpi, 1)
    plugins = load_plugins(
        entrypoints=False,
        builtins=(),
        plugins=[("sync", SyncObserver()), ("quiet", QuietObserver()), ("async", AsyncObserver())],
    )
    floorplan = await survey("cf", store, None, hooks=plugins.hooks)
    assert sorted(floorplan.observations, key=repr) == [
        ("async", ("w0",)),
        ("sync", "cf"),
        ("sync", "second"),
    ]


async def test_an_observation_that_is_not_an_iterable_is_refused(store: Store) -> None:
    class Bad:
        def jobsite_inspect(self) -> object:
            return 42

    plugins = load_plugins(entrypoints=False, builtins=(), plugins=[("bad", Bad())])
    with pytest.raises(PluginError, match="iterable of observations or None, got int"):
        await survey("cf", store, None, hooks=plugins.hooks)


# --- what the architect keeps ----------------------------------------------------------------


async def test_known_instances_keep_az_bootstrap_disk_and_addresses(store: Store) -> None:
    w0 = instance("w0", az="z1", bootstrap=True)
    w1 = instance("w1", index=1, az="z2")
    k0 = instance("k0", "worker")
    db = instance("db0", "pg", deployment="db")
    disks = [
        DiskRecord(
            id="d-w0", deployment="cf", instance_uuid="w0", size=1, state="created",
            active=True, created_at=at(0),
        ),
        # w1's disk is the old one of a migration: not in use.
        DiskRecord(id="d-w1", deployment="cf", instance_uuid="w1", size=1, created_at=at(1)),
        # k0's disk is orphaned: not the deployment's any more.
        DiskRecord(
            id="d-k0", deployment="cf", instance_uuid="k0", size=1, state="created",
            active=True, orphaned_at=at(3), created_at=at(2),
        ),
        DiskRecord(
            id="d-db", deployment="db", instance_uuid="db0", size=1, state="created",
            active=True, created_at=at(2),
        ),
    ]  # fmt: skip
    addresses = [
        ip("10.0.0.10", w0),
        ip("10.1.0.10", w0, "backend"),
        ip("10.0.0.11", w1),
        ip("10.0.0.50", None),  # reserved for no instance yet
        ip("10.0.0.20", db),
    ]
    await record(store, w0, w1, k0, db, *disks, *addresses, deployments=("cf", "db"))
    floorplan = await survey("cf", store, None)
    assert known_instances(floorplan) == (
        KnownInstance(
            group="web",
            index=0,
            uuid="w0",
            az="z1",
            bootstrap=True,
            has_disk=True,
            ips={"default": "10.0.0.10", "backend": "10.1.0.10"},
        ),
        KnownInstance(group="web", index=1, uuid="w1", az="z2", ips={"default": "10.0.0.11"}),
        KnownInstance(group="worker", index=0, uuid="k0", az=None),
    )

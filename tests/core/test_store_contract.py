"""The store contract: every method, on SQLite and PostgreSQL, under asyncio and trio.

One module, parametrised over the backends by the ``store`` fixture, so both databases are
held to exactly the same behaviour. PostgreSQL runs in a fresh schema per test (dropped
after) and is skipped, saying why, where no server answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import pytest

from jobsite.errors import StoreError
from jobsite.store import (
    SCHEMA_VERSION,
    Batch,
    CompiledPackageRecord,
    DeploymentRecord,
    DiskRecord,
    EventRecord,
    InstanceRecord,
    IpReservation,
    ReleaseRecord,
    StemcellRecord,
    Store,
    VmRecord,
    open_store,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'jobsite.db'}"
    else:
        schema = request.getfixturevalue("pg_schema")
        base = request.getfixturevalue("postgres_url")
        yield f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
async def store(store_url: str, anyio_backend: str) -> AsyncIterator[Store]:
    async with open_store(store_url) as opened:
        yield opened


def deployment(name: str = "cf", **changes: Any) -> DeploymentRecord:
    return DeploymentRecord(**({"name": name, "manifest": f"name: {name}\n"} | changes))


def instance(index: int = 0, deployment: str = "cf", **changes: Any) -> InstanceRecord:
    fields: dict[str, Any] = {
        "uuid": f"{deployment}-{index}",
        "deployment": deployment,
        "group": "web",
        "index": index,
    }
    return InstanceRecord(**(fields | changes))


async def seeded(store: Store, *instances: InstanceRecord) -> None:
    async with store.transaction() as batch:
        batch.put_deployment(deployment())
        for inst in instances:
            batch.put_instance(inst)


# --- lifecycle -------------------------------------------------------------------------------


async def test_an_opened_store_is_at_the_latest_schema_and_migrating_again_is_a_no_op(
    store: Store,
) -> None:
    assert isinstance(store, Store)
    assert await store.schema_version() == SCHEMA_VERSION
    await store.migrate()
    assert await store.schema_version() == SCHEMA_VERSION


async def test_a_closed_store_refuses_work(store_url: str, anyio_backend: str) -> None:
    store = await open_store(store_url)
    await store.aclose()
    with pytest.raises(StoreError, match="closed"):
        await store.list_deployments()


# --- configs ---------------------------------------------------------------------------------


async def test_configs_are_versioned_and_unchanged_content_adds_no_version(store: Store) -> None:
    first = await store.add_config("cloud", "default", "azs: []\n")
    same = await store.add_config("cloud", "default", "azs: []\n")
    second = await store.add_config("cloud", "default", "azs: [{name: z1}]\n")
    other = await store.add_config("cloud", "extra", "azs: []\n")
    runtime = await store.add_config("runtime", "default", "addons: []\n")
    assert same == first
    assert first.id < second.id < other.id < runtime.id
    assert await store.latest_config("cloud") == second
    assert await store.latest_config("cloud", "nope") is None
    assert await store.get_config(first.id) == first
    assert await store.get_config(10_000) is None
    assert await store.list_configs() == (second, other, runtime)
    assert await store.list_configs("cloud", history=True) == (second, first, other)
    assert await store.list_configs("cloud", "extra") == (other,)
    assert first.created_at.tzinfo is not None


# --- deployments, instances, VMs, disks, IPs -------------------------------------------------


async def test_deployments_are_replaced_by_name_keeping_when_they_were_created(
    store: Store,
) -> None:
    created = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    await store.apply(Batch().put_deployment(deployment(config_ids=[1, 2], created_at=created)))
    await store.apply(Batch().put_deployment(deployment(manifest="name: cf\nv: 2\n")))
    await store.apply(Batch().put_deployment(deployment("app")))
    (app, cf) = await store.list_deployments()
    assert (app.name, cf.name) == ("app", "cf")
    assert cf.manifest == "name: cf\nv: 2\n"
    assert cf.created_at == created
    assert cf.config_ids == ()
    assert await store.get_deployment("cf") == cf
    assert await store.get_deployment("nope") is None


async def test_instances_round_trip_with_their_spec_frozen(store: Store) -> None:
    spec = {"networks": {"default": {"ip": "10.0.0.5"}}, "jobs": [{"name": "nginx"}]}
    web0 = instance(0, az="z1", bootstrap=True, spec=spec)
    web1 = instance(1, az="z2", state="stopped", ignore=True)
    await seeded(store, web1, web0)
    assert await store.list_instances("cf") == (web0, web1)
    got = await store.get_instance("cf-0")
    assert got == web0
    assert got is not None
    assert got.spec["jobs"][0]["name"] == "nginx"
    with pytest.raises(TypeError):
        got.spec["networks"] = {}  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        got.state = "detached"  # type: ignore[misc]
    await store.apply(Batch().put_instance(attrs.evolve(web0, state="detached")))
    assert (await store.get_instance("cf-0")) == attrs.evolve(web0, state="detached")
    await store.apply(Batch().delete_instance("cf-1"))
    assert [i.uuid for i in await store.list_instances("cf")] == ["cf-0"]
    assert await store.get_instance("nope") is None


async def test_a_vm_is_written_as_an_intent_and_completed_with_its_cid(store: Store) -> None:
    await seeded(store, instance(0))
    intent = VmRecord(
        deployment="cf",
        instance_uuid="cf-0",
        agent_id="agent-1",
        cloud_properties={"cpu": 2},
        networks={"default": {"ip": "10.0.0.5", "default": ["dns", "gateway"]}},
        env={"bosh": {"group": "web"}},
    )
    await store.apply(Batch().put_vm(intent))
    assert await store.list_vms("cf") == (intent,)
    assert (await store.get_vm(intent.id)) == intent
    done = attrs.evolve(intent, cid="vm-abc", stemcell_cid="sc-1", state="created", active=True)
    await store.apply(Batch().put_vm(done))
    assert await store.list_vms() == (done,)
    assert done.networks["default"]["default"] == ("dns", "gateway")
    await store.apply(Batch().delete_vm(done.id))
    assert await store.list_vms("cf") == ()
    assert await store.get_vm(done.id) is None


async def test_disks_outlive_their_instance_and_deployment_as_orphans(store: Store) -> None:
    await seeded(store, instance(0))
    orphaned_at = datetime.now(UTC) - timedelta(hours=1)
    orphan = DiskRecord(deployment="cf", cid="disk-0", size=1024, orphaned_at=orphaned_at)
    attached = DiskRecord(
        deployment="cf",
        instance_uuid="cf-0",
        cid="disk-1",
        size=10_240,
        disk_type="large",
        cloud_properties={"type": "ssd"},
        state="created",
        active=True,
    )
    await store.apply(Batch().put_disk(orphan).put_disk(attached))
    assert await store.list_disks("cf") == (orphan, attached)
    assert await store.list_disks(orphaned=True) == (orphan,)
    assert await store.list_disks("cf", orphaned=False) == (attached,)
    assert orphan.orphaned
    assert not attached.orphaned
    await store.apply(Batch().delete_deployment("cf"))
    assert await store.get_disk(attached.id) == attrs.evolve(attached, instance_uuid=None)
    await store.apply(Batch().delete_disk(orphan.id))
    assert [d.id for d in await store.list_disks()] == [attached.id]
    assert await store.get_disk("nope") is None


async def test_ip_reservations_are_keyed_by_network_and_address(store: Store) -> None:
    await seeded(store, instance(0), instance(1))
    static = IpReservation(network="default", address="10.0.0.5", deployment="cf", static=True)
    dynamic = IpReservation(
        network="default", address="10.0.0.10", instance_uuid="cf-1", deployment="cf"
    )
    other = IpReservation(network="private", address="10.1.0.2", deployment="cf")
    await store.apply(Batch().put_ip_reservation(static).put_ip_reservation(dynamic))
    await store.apply(Batch().put_ip_reservation(other))
    assert await store.list_ip_reservations("cf", network="default") == (dynamic, static)
    held = attrs.evolve(static, instance_uuid="cf-0")
    await store.apply(Batch().put_ip_reservation(held))
    assert await store.list_ip_reservations(network="default") == (dynamic, held)
    await store.apply(Batch().delete_ip_reservation("private", "10.1.0.2"))
    await store.apply(Batch().delete_instance("cf-1"))  # an instance's addresses go with it
    assert await store.list_ip_reservations() == (held,)
    await store.apply(Batch().delete_deployment("cf"))
    assert await store.list_ip_reservations() == ()


async def test_deleting_a_deployment_takes_its_instances_and_vms(store: Store) -> None:
    await seeded(store, instance(0))
    await store.apply(Batch().put_vm(VmRecord(deployment="cf", instance_uuid="cf-0", agent_id="a")))
    await store.apply(Batch().delete_deployment("cf"))
    assert await store.list_instances("cf") == ()
    assert await store.list_vms() == ()
    assert await store.list_deployments() == ()


# --- releases, stemcells, compiled packages --------------------------------------------------


async def test_releases_and_stemcells_are_recorded_and_deleted(store: Store) -> None:
    nginx = ReleaseRecord(name="nginx", version="1.2", manifest={"jobs": [{"name": "nginx"}]})
    newer = ReleaseRecord(name="nginx", version="1.3", commit_hash="abc123")
    dns = ReleaseRecord(name="bosh-dns", version="1.0")
    await store.apply(Batch().put_release(nginx).put_release(newer).put_release(dns))
    assert await store.list_releases() == (dns, nginx, newer)
    assert await store.list_releases("nginx") == (nginx, newer)
    await store.apply(Batch().delete_release("nginx", "1.2"))
    assert await store.list_releases("nginx") == (newer,)

    jammy = StemcellRecord(name="bosh-warden-jammy", version="1.1", os="ubuntu-jammy", cid="sc1")
    again = attrs.evolve(jammy, cid="sc2", sha1="f00")
    other_cpi = attrs.evolve(jammy, cpi="aws", cid="ami-1")
    await store.apply(Batch().put_stemcell(jammy).put_stemcell(other_cpi).put_stemcell(again))
    assert {(s.cpi, s.cid, s.sha1) for s in await store.list_stemcells()} == {
        ("", "sc2", "f00"),
        ("aws", "ami-1", None),
    }
    await store.apply(Batch().delete_stemcell("bosh-warden-jammy", "1.1"))
    assert await store.list_stemcells() == (other_cpi,)


async def test_compiled_packages_are_found_by_package_stemcell_and_dependencies(
    store: Store,
) -> None:
    key = ("ruby", "fp1", "ubuntu-jammy", "1.1", "[]")
    ruby = CompiledPackageRecord(
        package="ruby",
        fingerprint="fp1",
        stemcell_os="ubuntu-jammy",
        stemcell_version="1.1",
        dependency_key="[]",
        blob_id="blob-1",
        sha256="aa",
    )
    await store.apply(Batch().put_compiled_package(ruby))
    assert await store.find_compiled_package(*key) == ruby
    assert await store.find_compiled_package("ruby", "fp1", "ubuntu-jammy", "1.2", "[]") is None
    rebuilt = attrs.evolve(ruby, blob_id="blob-2", sha256="bb")
    await store.apply(Batch().put_compiled_package(rebuilt))
    assert await store.find_compiled_package(*key) == rebuilt
    assert await store.list_compiled_packages("ruby") == (rebuilt,)
    assert await store.list_compiled_packages("go") == ()


# --- locks -----------------------------------------------------------------------------------


async def test_a_lock_has_one_holder_until_released(store: Store) -> None:
    lease = await store.acquire_lock("deploy:cf", "director-a", 30)
    assert lease is not None
    assert (lease.name, lease.holder) == ("deploy:cf", "director-a")
    assert (lease.expires_at - lease.acquired_at).total_seconds() == pytest.approx(30, abs=1)
    assert await store.acquire_lock("deploy:cf", "director-b", 30) is None
    assert await store.renew_lock("deploy:cf", "director-b", 30) is None
    assert not await store.release_lock("deploy:cf", "director-b")
    renewed = await store.renew_lock("deploy:cf", "director-a", 60)
    assert renewed is not None
    assert renewed.acquired_at == lease.acquired_at
    assert renewed.expires_at > lease.expires_at
    assert await store.get_lock("deploy:cf") == renewed
    assert await store.list_locks() == (renewed,)
    assert await store.release_lock("deploy:cf", "director-a")
    assert await store.get_lock("deploy:cf") is None
    taken = await store.acquire_lock("deploy:cf", "director-b", 30)
    assert taken is not None
    assert taken.holder == "director-b"


async def test_an_expired_lease_can_be_taken_by_another_holder(store: Store) -> None:
    assert await store.acquire_lock("compile:ruby", "dead", 0.05) is not None
    await anyio.sleep(0.1)
    taken = await store.acquire_lock("compile:ruby", "alive", 30)
    assert taken is not None
    assert taken.holder == "alive"
    assert await store.renew_lock("compile:ruby", "dead", 30) is None


async def test_of_many_concurrent_acquirers_exactly_one_wins(store: Store) -> None:
    winners: list[str] = []

    async def contend(holder: str) -> None:
        if await store.acquire_lock("deploy:cf", holder, 30) is not None:
            winners.append(holder)

    async with anyio.create_task_group() as tg:
        for n in range(8):
            tg.start_soon(contend, f"director-{n}")
    assert len(winners) == 1
    lock = await store.get_lock("deploy:cf")
    assert lock is not None
    assert lock.holder == winners[0]


# --- tasks and events ------------------------------------------------------------------------


async def test_tasks_and_their_event_logs(store: Store) -> None:
    first = await store.create_task("update-cloud-config")
    deploy = await store.create_task("deploy", deployment="cf", description="create deployment")
    assert first.id < deploy.id
    assert (deploy.state, deploy.ended_at, deploy.result) == ("processing", None, None)
    async with store.transaction() as batch:
        for seq in (1, 2, 3):
            batch.add_event(EventRecord(task_id=deploy.id, seq=seq, data={"stage": f"s{seq}"}))
        batch.finish_task(deploy.id, "done", "deployed 3 instances")
    done = await store.get_task(deploy.id)
    assert done is not None
    assert (done.state, done.result) == ("done", "deployed 3 instances")
    assert done.ended_at is not None
    assert [e.seq for e in await store.list_events(deploy.id)] == [1, 2, 3]
    (last,) = await store.list_events(deploy.id, after=2)
    assert last.data == {"stage": "s3"}
    assert await store.list_tasks() == (done, first)
    assert await store.list_tasks(deployment="cf") == (done,)
    assert await store.list_tasks(limit=1) == (done,)
    assert await store.get_task(10_000) is None


# --- batches ---------------------------------------------------------------------------------


async def test_an_exception_inside_a_transaction_writes_nothing(store: Store) -> None:
    async def deploy_then_fail() -> None:
        async with store.transaction() as batch:
            batch.put_deployment(deployment())
            batch.put_instance(instance(0))
            raise RuntimeError("cloud fell over")

    with pytest.raises(RuntimeError, match="cloud fell over"):
        await deploy_then_fail()
    assert await store.list_deployments() == ()


async def test_a_batch_that_fails_in_the_database_writes_none_of_its_rows(store: Store) -> None:
    batch = Batch().put_deployment(deployment())
    for n in range(50):
        batch.put_instance(instance(n))
    batch.put_instance(instance(0, deployment="no-such-deployment"))  # a foreign key fails
    with pytest.raises(StoreError, match=r"(?i)foreign key"):
        await store.apply(batch)
    assert await store.list_deployments() == ()
    assert await store.list_instances("cf") == ()


async def test_many_rows_in_one_batch(store: Store) -> None:
    await seeded(store)
    async with store.transaction() as batch:
        vms = [VmRecord(deployment="cf", agent_id=f"agent-{n}") for n in range(300)]
        for vm in vms:
            batch.put_vm(vm)
        assert len(batch) == 300
    assert {v.id for v in await store.list_vms("cf")} == {v.id for v in vms}
    await store.apply(Batch())  # an empty batch is fine

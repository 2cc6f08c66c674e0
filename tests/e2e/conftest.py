"""Deploying for real on the mock driver: a director, a SQLite store file, a mock cloud."""

from __future__ import annotations

import copy
import os
import uuid
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import yaml

from jobsite.assembler import DeployResult, Event, RetryPolicy
from jobsite.config import Document, load_deployment
from jobsite.director import Director, DirectorConfig, DriverChoice
from jobsite.planning import Plan, PlanRequest, render_text
from jobsite.store import Batch, StemcellRecord

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from jobsite.config import DeploymentConfigs


@pytest.fixture(params=["asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


MANIFEST: dict[str, Any] = {
    "name": "shop",
    "releases": [{"name": "app", "version": "1"}],
    "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": "1.0"}],
    "update": {
        "canaries": 1,
        "max_in_flight": 2,
        "canary_watch_time": "0-1000",
        "update_watch_time": "0-1000",
    },
    "instance_groups": [
        {
            "name": "web",
            "instances": 3,
            "azs": ["z1", "z2"],
            "jobs": [{"name": "web", "release": "app", "properties": {"port": 80}}],
            "vm_type": "small",
            "stemcell": "default",
            "persistent_disk_type": "ten",
            "networks": [{"name": "default"}],
        },
        {
            "name": "worker",
            "instances": 2,
            "azs": ["z1"],
            "jobs": [{"name": "worker", "release": "app"}],
            "vm_type": "small",
            "stemcell": "default",
            "networks": [{"name": "default"}],
        },
    ],
}

CLOUD: dict[str, Any] = {
    "azs": [
        {"name": "z1", "cloud_properties": {"zone": "a"}},
        {"name": "z2", "cloud_properties": {"zone": "b"}},
    ],
    "vm_types": [
        {"name": "small", "cloud_properties": {"cpu": 1}},
        {"name": "large", "cloud_properties": {"cpu": 4}},
    ],
    "disk_types": [
        {"name": "ten", "disk_size": 10240},
        {"name": "twenty", "disk_size": 20480},
    ],
    "networks": [
        {
            "name": "default",
            "type": "manual",
            "subnets": [
                {
                    "range": "10.0.0.0/24",
                    "gateway": "10.0.0.1",
                    "azs": ["z1"],
                    "static": ["10.0.0.10-10.0.0.20"],
                },
                {
                    "range": "10.0.1.0/24",
                    "gateway": "10.0.1.1",
                    "azs": ["z2"],
                    "static": ["10.0.1.10-10.0.1.20"],
                },
            ],
        }
    ],
    "compilation": {"workers": 2, "network": "default", "az": "z1", "vm_type": "small"},
}

FAST_RETRY = RetryPolicy(attempts=3, base=0.001, cap=0.01)


def manifest(**changes: Any) -> dict[str, Any]:
    """A copy of :data:`MANIFEST`; ``web={...}`` updates the web group, ``update={...}`` the
    update block, other keys replace top-level ones."""
    out = copy.deepcopy(MANIFEST)
    for key, value in changes.items():
        if key in ("web", "worker"):
            group = next(g for g in out["instance_groups"] if g["name"] == key)
            group.update(value)
        elif key == "update":
            out["update"].update(value)
        else:
            out[key] = value
    return out


def configs(man: dict[str, Any], cloud: dict[str, Any] | None = None) -> DeploymentConfigs:
    return load_deployment(
        Document("manifest.yml", man), [Document("cloud.yml", cloud or CLOUD)], []
    )


def request(man: dict[str, Any], cloud: dict[str, Any] | None = None, **flags: Any) -> PlanRequest:
    return PlanRequest(configs=configs(man, cloud), manifest_text=yaml.safe_dump(man), **flags)


async def upload_stemcell(director: Director, version: str = "1.0") -> None:
    cid = await director.cpi.create_stemcell("", {})
    await director.store.apply(
        Batch().put_stemcell(
            StemcellRecord(name="ubuntu-jammy", os="ubuntu-jammy", version=version, cid=cid)
        )
    )


def director_config(tmp_path: Path, **changes: Any) -> DirectorConfig:
    options = {"state_file": str(tmp_path / "cloud.json")}
    return DirectorConfig(
        home=tmp_path,
        store=f"sqlite:///{tmp_path / 'jobsite.db'}",
        cpi=DriverChoice("mock", changes.pop("cpi_options", options)),
        agent=DriverChoice("mock", changes.pop("agent_options", {})),
        retry=FAST_RETRY,
        **changes,
    )


class Site:
    """A test's director and the helpers to drive it (fixtures cannot be imported as
    modules under importlib mode, so helpers travel on this object)."""

    manifest = staticmethod(manifest)
    configs = staticmethod(configs)
    request = staticmethod(request)
    CLOUD = CLOUD

    def __init__(self, director: Director, tmp_path: Path) -> None:
        self.director = director
        self.tmp_path = tmp_path
        self.events: list[Event] = []

    @property
    def cpi(self) -> Any:
        return self.director.cpi

    @property
    def agent(self) -> Any:
        return self.director.agent

    @property
    def store(self) -> Any:
        return self.director.store

    async def plan(self, man: dict[str, Any] | None = None, **flags: Any) -> Plan:
        return await self.director.plan(request(man or manifest(), **flags))

    async def deploy(self, man: dict[str, Any] | None = None, **flags: Any) -> DeployResult:
        plan = await self.plan(man, **flags)
        return await self.director.deploy(plan, on_event=self.events.append)

    async def converged(self, man: dict[str, Any] | None = None) -> None:
        """The deployment is what ``man`` asks for: a new plan has nothing to do, every VM in
        the cloud is recorded, every disk attached to its instance's active VM."""
        plan = await self.plan(man)
        assert plan.construction.remodels == (), render_text(plan)
        await assert_consistent(self.director, plan.deployment)

    async def consistent(self, deployment: str = "shop") -> None:
        await assert_consistent(self.director, deployment)

    async def consistent_in(self, director: Director, deployment: str = "shop") -> None:
        await assert_consistent(director, deployment)

    def config_for(self, home: Path, **changes: Any) -> DirectorConfig:
        """A director config on the store and cloud files in ``home``."""
        return director_config(home, **changes)

    upload_stemcell = staticmethod(upload_stemcell)


async def assert_consistent(director: Director, deployment: str) -> None:
    """No leaked VM or disk: the cloud and the store agree."""
    store, cpi = director.store, director.cpi
    world = cpi.snapshot()
    vms = await store.list_vms()
    recorded_vms = {v.cid for v in vms}
    assert set(world.vms) == recorded_vms
    disks = await store.list_disks()
    assert set(world.disks) == {d.cid for d in disks}
    by_id = {v.id: v for v in vms}
    attached = {cid: d.vm_cid for cid, d in world.disks.items()}
    for disk in disks:
        if disk.orphaned:
            assert attached[disk.cid] is None
            continue
        assert disk.active, disk
        assert disk.vm is not None, disk
        vm = by_id[disk.vm]
        assert vm.active
        assert vm.instance_uuid == disk.instance_uuid
        assert attached[disk.cid] == vm.cid
    for vm in vms:
        assert vm.state == "created", vm
        assert vm.active, vm


POSTGRES_URL = os.environ.get("JOBSITE_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL database (dropped after), as a store URL; the
    test is skipped, saying why, where no server answers."""
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 does not answer: {' '.join(str(exc).split())}")
    name = f"jobsite_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{name}&application_name={name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            )
            admin.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
async def pg_site(tmp_path: Path, pg_store_url: str) -> AsyncIterator[Site]:
    """A :class:`Site` whose store is PostgreSQL (the mock cloud stays a file)."""
    config = attrs.evolve(director_config(tmp_path), store=pg_store_url)
    async with Director(config) as d:
        await upload_stemcell(d)
        await upload_stemcell(d, "2.0")
        await d.store.add_config("cloud", "default", yaml.safe_dump(CLOUD))
        yield Site(d, tmp_path)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with Director(director_config(tmp_path)) as d:
        await upload_stemcell(d)
        await upload_stemcell(d, "2.0")
        await d.store.add_config("cloud", "default", yaml.safe_dump(CLOUD))
        yield Site(d, tmp_path)

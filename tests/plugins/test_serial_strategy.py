"""The ``serial`` strategy (jobsite-serial): BOSH's delete-create update as a construction plan.

Unneeded instances first; then per group, canaries and a pool of ``max_in_flight``; groups
one after another unless consecutive ones say ``serial: false``; each instance's remodels
chained in the order given.
"""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

import jobsite_serial
from jobsite import DriverContext
from jobsite.architect import ArchitectInputs, draw_blueprint
from jobsite.config import Document, MaxInFlight, UpdateConfig, WatchTime, load_deployment
from jobsite.foreman import (
    ConstructionPlan,
    GroupUpdate,
    Limitations,
    Remodel,
    Stage,
    Strategy,
    UpdatePolicy,
    diff,
    order_remodels,
    update_policy,
)
from jobsite.inspector import Floorplan
from jobsite.plugins import load_plugins
from jobsite.store import InstanceRecord, VmRecord
from jobsite_serial import DELETE_STAGE, SerialStrategy

REPLACE = ("stop", "delete_vm", "create_vm", "apply", "start")


def remodels_of(
    group: str | None, instance: str | None, actions: tuple[str, ...] = REPLACE
) -> list[Remodel]:
    """One instance's remodels, in the order core's diff gives them."""
    owner = f"{group}/{instance}" if instance else f"{group}"
    return [
        Remodel(
            id=f"{owner}:{action}",
            action=action,
            deployment="shop",
            instance_group=group,
            instance=instance,
        )
        for action in actions
    ]


def instances(group: str, count: int, actions: tuple[str, ...] = REPLACE) -> list[Remodel]:
    """``count`` changing instances of ``group``, named ``<group>-0`` ..."""
    return [r for i in range(count) for r in remodels_of(group, f"{group}-{i}", actions)]


def group(name: str, size: int, **update: Any) -> GroupUpdate:
    return GroupUpdate(group=name, instances=size, update=UpdateConfig(**update), strategy="serial")


def policy(*groups: GroupUpdate) -> UpdatePolicy:
    return UpdatePolicy(strategy="serial", groups=groups)


async def plan(remodels: list[Remodel], update: UpdatePolicy) -> ConstructionPlan:
    drawn = await SerialStrategy().plan(remodels, update)
    drawn.check()
    return drawn


def stage(drawn: ConstructionPlan, name: str) -> Stage:
    return next(s for s in drawn.stages if s.name == name)


def members(drawn: ConstructionPlan, name: str) -> list[str]:
    """The instances a stage holds, in order."""
    out: list[str] = []
    for rid in stage(drawn, name).remodels:
        who = drawn.remodel(rid).instance or rid
        if who not in out:
            out.append(who)
    return out


def ancestors(drawn: ConstructionPlan, name: str) -> set[str]:
    """Every stage that must finish before ``name`` starts."""
    by_name = {s.name: s for s in drawn.stages}
    seen: set[str] = set()
    todo = list(by_name[name].after)
    while todo:
        other = todo.pop()
        if other not in seen:
            seen.add(other)
            todo.extend(by_name[other].after)
    return seen


def assert_every_remodel_once(drawn: ConstructionPlan, given: list[Remodel]) -> None:
    placed = Counter(rid for s in drawn.stages for rid in s.remodels)
    assert placed == Counter(r.id for r in given)
    assert drawn.remodels == tuple(given)


# --- canaries and batches --------------------------------------------------------------------


@pytest.mark.anyio
async def test_canaries_then_a_rolling_pool_of_a_percentage_of_the_group() -> None:
    given = instances("web", 10)
    drawn = await plan(
        given,
        policy(
            group(
                "web",
                10,
                canaries=2,
                max_in_flight=MaxInFlight(30, percent=True),
                canary_watch_time=WatchTime(1000, 30000),
                update_watch_time=WatchTime(5000, 5000),
            )
        ),
    )
    assert [s.name for s in drawn.stages] == ["web: canaries", "web: update"]
    assert members(drawn, "web: canaries") == ["web-0", "web-1"]
    # the rest is one pool: 3 instances at a time, the next starting as soon as one is done
    assert members(drawn, "web: update") == [f"web-{n}" for n in range(2, 10)]
    canaries = stage(drawn, "web: canaries")
    assert (canaries.kind, canaries.max_in_flight, canaries.watch_time) == (
        "canary",
        2,
        (1000, 30000),
    )
    assert canaries.after == ()
    pool = stage(drawn, "web: update")
    assert (pool.kind, pool.instance_group) == ("update", "web")
    assert (pool.max_in_flight, pool.watch_time) == (3, (5000, 5000))  # 30% of 10
    assert pool.after == ("web: canaries",)
    assert_every_remodel_once(drawn, given)


@pytest.mark.anyio
async def test_a_percentage_is_of_the_groups_size_not_of_the_instances_that_change() -> None:
    # 50% of a 4-instance group is 2, even when only 3 of its instances change.
    drawn = await plan(
        instances("web", 3), policy(group("web", 4, max_in_flight=MaxInFlight(50, percent=True)))
    )
    assert [s.name for s in drawn.stages] == ["web: canaries", "web: update"]
    assert members(drawn, "web: update") == ["web-1", "web-2"]
    assert stage(drawn, "web: update").max_in_flight == 2


@pytest.mark.anyio
async def test_canaries_run_no_more_at_once_than_max_in_flight() -> None:
    # BOSH feeds canaries through the group's pool of max_in_flight threads.
    drawn = await plan(
        instances("web", 5), policy(group("web", 5, canaries=3, max_in_flight=MaxInFlight(1)))
    )
    assert members(drawn, "web: canaries") == ["web-0", "web-1", "web-2"]
    assert stage(drawn, "web: canaries").max_in_flight == 1
    assert [s.name for s in drawn.stages][1:] == ["web: update"]
    assert stage(drawn, "web: update").max_in_flight == 1


@pytest.mark.anyio
async def test_unset_canaries_and_max_in_flight_mean_one_each_and_no_watch_time() -> None:
    drawn = await plan(instances("web", 3), policy(group("web", 3)))
    assert [s.name for s in drawn.stages] == ["web: canaries", "web: update"]
    assert [len(members(drawn, s.name)) for s in drawn.stages] == [1, 2]
    assert {s.watch_time for s in drawn.stages} == {None}
    assert {s.max_in_flight for s in drawn.stages} == {1}


@pytest.mark.anyio
async def test_zero_canaries_means_no_canary_stage() -> None:
    drawn = await plan(
        instances("web", 4), policy(group("web", 4, canaries=0, max_in_flight=MaxInFlight(2)))
    )
    assert [s.name for s in drawn.stages] == ["web: update"]
    assert {s.kind for s in drawn.stages} == {"update"}
    assert stage(drawn, "web: update").after == ()


@pytest.mark.anyio
async def test_more_canaries_than_changing_instances_leaves_no_empty_batch() -> None:
    drawn = await plan(instances("web", 2), policy(group("web", 5, canaries=3)))
    assert [s.name for s in drawn.stages] == ["web: canaries"]
    assert members(drawn, "web: canaries") == ["web-0", "web-1"]


@pytest.mark.anyio
async def test_groups_without_changes_and_an_empty_deploy_have_no_stages() -> None:
    drawn = await plan(instances("db", 1), policy(group("web", 3), group("db", 1), group("api", 2)))
    assert [s.name for s in drawn.stages] == ["db: canaries"]
    assert stage(drawn, "db: canaries").after == ()
    empty = await plan([], policy(group("web", 3)))
    assert (empty.stages, empty.edges, empty.strategy) == ((), (), "serial")


# --- groups: serial and serial: false --------------------------------------------------------


@pytest.mark.anyio
async def test_serial_groups_update_one_after_another_in_manifest_order() -> None:
    given = instances("api", 2) + instances("db", 2)  # given out of manifest order
    drawn = await plan(given, policy(group("db", 2), group("api", 2)))
    assert [s.name for s in drawn.stages] == [
        "db: canaries",
        "db: update",
        "api: canaries",
        "api: update",
    ]
    assert stage(drawn, "api: canaries").after == ("db: update",)


@pytest.mark.anyio
async def test_consecutive_non_serial_groups_update_alongside_each_other() -> None:
    given = [*instances("db", 2), *instances("web", 2), *instances("api", 2), *instances("log", 1)]
    drawn = await plan(
        given,
        policy(
            group("db", 2),
            group("web", 2, serial=False),
            group("api", 2, serial=False),
            group("log", 1),
        ),
    )
    # web and api both start once db is done, neither waits for the other ...
    assert stage(drawn, "web: canaries").after == ("db: update",)
    assert stage(drawn, "api: canaries").after == ("db: update",)
    assert not ancestors(drawn, "api: update") & {"web: canaries", "web: update"}
    assert not ancestors(drawn, "web: update") & {"api: canaries", "api: update"}
    # ... and the serial group after them waits for both.
    assert stage(drawn, "log: canaries").after == ("web: update", "api: update")


@pytest.mark.anyio
async def test_non_serial_groups_at_the_start_run_together_after_the_deletions() -> None:
    given = [*remodels_of("gone", "g-0", ("stop", "delete_vm", "delete_instance"))]
    given += instances("web", 1) + instances("api", 1)
    drawn = await plan(given, policy(group("web", 1, serial=False), group("api", 1, serial=False)))
    assert stage(drawn, "web: canaries").after == (DELETE_STAGE,)
    assert stage(drawn, "api: canaries").after == (DELETE_STAGE,)


@pytest.mark.anyio
async def test_a_non_serial_group_after_a_serial_one_waits_for_it_as_in_bosh() -> None:
    # BOSH partitions groups into runs of equal ``serial``; serial: false only joins
    # the non-serial groups right before it.
    drawn = await plan(
        instances("db", 1) + instances("web", 1),
        policy(group("db", 1), group("web", 1, serial=False)),
    )
    assert stage(drawn, "web: canaries").after == ("db: canaries",)


@pytest.mark.anyio
async def test_an_unchanged_serial_group_still_separates_non_serial_ones() -> None:
    drawn = await plan(
        instances("web", 1) + instances("api", 1),
        policy(group("web", 1, serial=False), group("db", 1), group("api", 1, serial=False)),
    )
    assert stage(drawn, "api: canaries").after == ("web: canaries",)


@pytest.mark.anyio
async def test_an_unchanged_non_serial_group_does_not_hold_up_the_next() -> None:
    drawn = await plan(
        instances("db", 1) + instances("log", 1),
        policy(group("db", 1), group("web", 1, serial=False), group("log", 1)),
    )
    assert stage(drawn, "log: canaries").after == ("db: canaries",)


# --- deletions --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_unneeded_instances_leftover_vms_and_removed_groups_are_deleted_first() -> None:
    scaled_down = remodels_of(
        "web", "web-9", ("stop", "delete_vm", "orphan_disk", "delete_instance")
    )
    removed_group = remodels_of("worker", "worker-0", ("stop", "apply", "start"))
    leftover_of_group = remodels_of("web", None, ("delete_vm",))
    leftover = [
        Remodel(id="shop:delete_vm:vm-7", action="delete_vm", deployment="shop", cid="vm-7")
    ]
    given = [
        *scaled_down,
        *removed_group,
        *instances("web", 2),
        *instances("db", 1),
        *leftover_of_group,
        *leftover,
    ]
    drawn = await plan(given, policy(group("web", 2), group("db", 1, serial=False)))
    first = drawn.stages[0]
    assert (first.name, first.kind, first.after) == (DELETE_STAGE, "delete", ())
    assert first.remodels == tuple(
        r.id for r in (*scaled_down, *removed_group, *leftover_of_group, *leftover)
    )
    for later in drawn.stages[1:]:
        assert DELETE_STAGE in ancestors(drawn, later.name), later.name
    assert members(drawn, "web: canaries") == ["web-0"]
    assert_every_remodel_once(drawn, given)


@pytest.mark.anyio
async def test_only_deletions_make_a_plan_of_one_stage() -> None:
    given = remodels_of("web", "web-3", ("stop", "delete_vm", "delete_instance"))
    drawn = await plan(given, policy(group("web", 3)))
    assert [s.name for s in drawn.stages] == [DELETE_STAGE]


# --- edges, and keeping every remodel ---------------------------------------------------------


@pytest.mark.anyio
async def test_edges_chain_each_instances_remodels_in_the_given_order() -> None:
    given = [
        *remodels_of("web", "web-9", ("stop", "delete_vm", "delete_instance")),
        *instances("web", 3),
        *remodels_of("web", "web-0", ("orphan_disk",)),  # a plugin's, after the others
    ]
    drawn = await plan(given, policy(group("web", 3)))
    expected = {
        ("web/web-9:stop", "web/web-9:delete_vm"),
        ("web/web-9:delete_vm", "web/web-9:delete_instance"),
    }
    for i in range(3):
        ids = [f"web/web-{i}:{a}" for a in REPLACE]
        if i == 0:
            ids.append("web/web-0:orphan_disk")
        expected |= set(itertools.pairwise(ids))
    assert set(drawn.edges) == expected
    assert len(drawn.edges) == len(expected)
    for before, after in drawn.edges:
        assert drawn.remodel(before).instance == drawn.remodel(after).instance
    # the late remodel stays with its instance
    assert "web/web-0:orphan_disk" in stage(drawn, "web: canaries").remodels


@pytest.mark.anyio
async def test_a_remodel_without_an_instance_has_no_edges() -> None:
    given = [
        Remodel(id="shop:delete_vm:a", action="delete_vm", deployment="shop"),
        Remodel(id="shop:delete_vm:b", action="delete_vm", deployment="shop"),
    ]
    drawn = await plan(given, policy())
    assert drawn.edges == ()
    assert stage(drawn, DELETE_STAGE).remodels == ("shop:delete_vm:a", "shop:delete_vm:b")


@pytest.mark.anyio
async def test_a_group_asking_for_another_strategy_is_still_planned_serially() -> None:
    hot = GroupUpdate(group="web", instances=2, update=UpdateConfig(), strategy="hot_swap")
    drawn = await plan(instances("web", 2), UpdatePolicy(strategy="serial", groups=(hot,)))
    assert [s.name for s in drawn.stages] == ["web: canaries", "web: update"]
    assert drawn.strategy == "serial"


# --- end to end: core's diff, through the entry point -----------------------------------------

MANIFEST = """
name: shop
releases: [{name: shop, version: "1"}]
stemcells: [{alias: default, os: ubuntu-jammy, version: "1.1"}]
update:
  canaries: 1
  max_in_flight: 50%
  canary_watch_time: 1000-30000
  update_watch_time: 2000
instance_groups:
- name: db
  instances: 2
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: pg, release: shop}]
- name: web
  instances: 4
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: nginx, release: shop}]
  update: {serial: false}
- name: api
  instances: 3
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: api, release: shop}]
  update: {serial: false, canaries: 0}
"""

CLOUD_CONFIG = """
azs: [{name: z1}]
vm_types: [{name: small}]
networks:
- name: default
  type: manual
  subnets: [{range: 10.0.0.0/24, gateway: 10.0.0.1, azs: [z1]}]
compilation: {workers: 1, az: z1, vm_type: small, network: default}
"""


@pytest.mark.anyio
async def test_core_diff_of_a_small_deployment_planned_through_the_entry_point() -> None:
    configs = load_deployment(
        Document("manifest.yml", yaml.safe_load(MANIFEST)),
        [Document("cloud-config.yml", yaml.safe_load(CLOUD_CONFIG))],
    )
    blueprint = draw_blueprint(ArchitectInputs(configs=configs, id_seed="test"))
    floorplan = Floorplan(
        deployment="shop",
        instances=(InstanceRecord(uuid="old-0", deployment="shop", group="worker", index=0),),
        vms=(
            VmRecord(
                deployment="shop",
                instance_uuid="old-0",
                cid="vm-1",
                agent_id="agent-1",
                state="created",
                active=True,
            ),
            VmRecord(deployment="shop", cid="vm-2", agent_id="agent-2", state="created"),
        ),
    )
    remodels = diff(blueprint, floorplan, Limitations())
    update = update_policy(blueprint)
    strategy = load_plugins().registry("strategy").create(DriverContext(name=update.strategy))
    drawn = await order_remodels(strategy, "serial", remodels, update)  # core's own checks
    drawn.check()

    assert [s.name for s in drawn.stages] == [
        DELETE_STAGE,
        "db: canaries",
        "db: update",
        "web: canaries",
        "web: update",
        "api: update",
    ]
    deleted = [drawn.remodel(rid) for rid in stage(drawn, DELETE_STAGE).remodels]
    assert [(r.instance, r.action, r.cid) for r in deleted] == [
        ("old-0", "stop", "vm-1"),
        ("old-0", "delete_vm", "vm-1"),
        ("old-0", "delete_instance", None),
        (None, "delete_vm", "vm-2"),
    ]
    # web and api (serial: false) both start when db is done; nothing waits on one of them
    assert stage(drawn, "web: canaries").after == ("db: update",)
    assert stage(drawn, "api: update").after == ("db: update",)
    assert stage(drawn, "db: canaries").after == (DELETE_STAGE,)
    # 50% of 4 web instances is 2, of 3 api instances 1; api has no canaries
    assert [len(members(drawn, s.name)) for s in drawn.stages[1:]] == [1, 1, 1, 3, 3]
    assert [s.max_in_flight for s in drawn.stages[1:]] == [1, 1, 1, 2, 1]
    assert stage(drawn, "web: canaries").watch_time == (1000, 30000)
    assert stage(drawn, "web: update").watch_time == (2000, 2000)
    for s in drawn.stages[1:]:
        assert {drawn.remodel(rid).instance_group for rid in s.remodels} == {s.instance_group}
    # every new instance: create_vm, then apply, then start, chained
    created = [r for r in remodels if r.action == "create_vm"]
    assert len(created) == 9
    edges = set(drawn.edges)
    for vm in created:
        apply_, start = (
            next(r.id for r in remodels if r.instance == vm.instance and r.action == a)
            for a in ("apply", "start")
        )
        assert {(vm.id, apply_), (apply_, start)} <= edges
    assert_every_remodel_once(drawn, remodels)


def test_the_entry_point_registers_the_serial_strategy() -> None:
    plugins = load_plugins()
    info = next(i for i in plugins.infos if i.name == "serial")
    assert (info.distribution, info.module) == ("jobsite-serial", "jobsite_serial.plugin")
    assert plugins.offered_by("serial") == {"strategy": ["serial"]}
    assert not [f for f in plugins.failures if f.name == "serial"]
    strategy = plugins.registry("strategy").create(DriverContext(name="serial"))
    assert isinstance(strategy, SerialStrategy)
    assert isinstance(strategy, Strategy)


def test_loading_the_plugin_does_not_import_the_strategy() -> None:
    code = textwrap.dedent(
        """
        import sys
        from jobsite.plugins import load_plugins
        assert "serial" in load_plugins().registry("strategy")
        print(sorted(m for m in sys.modules if m.startswith("jobsite_serial")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['jobsite_serial', 'jobsite_serial.plugin']"


def test_the_plugin_imports_only_jobsites_public_api() -> None:
    public = {"jobsite", "jobsite.foreman", "jobsite.config", "jobsite.errors"}
    seen: set[str] = set()
    for path in Path(jobsite_serial.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                seen.add(node.module)
            elif isinstance(node, ast.Import):
                seen.update(alias.name for alias in node.names)
    from_jobsite = {m for m in seen if m == "jobsite" or m.startswith("jobsite.")}
    assert from_jobsite
    assert from_jobsite <= public, from_jobsite - public

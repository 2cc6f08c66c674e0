"""The foreman, one change at a time: deploy a manifest, change one thing, and see exactly
the remodels that change needs, with its reasons, and no others.

"Deployed" is the floorplan a complete deploy of the first blueprint leaves
(:func:`jobsite.foreman.settled_records`); the second plan keeps identities through
:func:`jobsite.inspector.known_instances`, as ``jobsite plan`` does.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import attrs
import pytest

from jobsite.architect import ArchitectInputs, Blueprint, draw_blueprint
from jobsite.config import DeploymentConfigs, Document, load_deployment
from jobsite.cpi import VmListing
from jobsite.foreman import Limitations, Remodel, collect_remodels, diff, settled_records
from jobsite.inspector import Floorplan, known_instances
from jobsite.planning import plan_problems
from jobsite.plugins import load_plugins
from jobsite.store import VmRecord

MANIFEST: dict[str, Any] = {
    "name": "app",
    "releases": [{"name": "app", "version": "1"}],
    "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": "1.1"}],
    "update": {
        "canaries": 1,
        "max_in_flight": 2,
        "canary_watch_time": 1000,
        "update_watch_time": 1000,
    },
    "instance_groups": [
        {
            "name": "web",
            "instances": 3,
            "azs": ["z1", "z2"],
            "jobs": [
                {
                    "name": "web",
                    "release": "app",
                    "properties": {"port": 80, "tls": {"cert": "x", "key": "y"}},
                }
            ],
            "vm_type": "small",
            "stemcell": "default",
            "persistent_disk_type": "ten",
            "networks": [{"name": "default"}],
        },
        {
            "name": "smoke",
            "instances": 1,
            "lifecycle": "errand",
            "azs": ["z1"],
            "jobs": [{"name": "smoke", "release": "app"}],
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
        {"name": "small", "cloud_properties": {"cpu": 1, "ram": 1024}},
        {"name": "large", "cloud_properties": {"cpu": 4, "ram": 1024}},
    ],
    "disk_types": [
        {"name": "ten", "disk_size": 10240},
        {"name": "twenty", "disk_size": 20480},
        {"name": "ten-ssd", "disk_size": 10240, "cloud_properties": {"type": "ssd"}},
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
                    "reserved": ["10.0.0.2-10.0.0.9"],
                    "static": ["10.0.0.10-10.0.0.20"],
                },
                {
                    "range": "10.0.1.0/24",
                    "gateway": "10.0.1.1",
                    "azs": ["z2"],
                    "reserved": ["10.0.1.2-10.0.1.9"],
                    "static": ["10.0.1.10-10.0.1.20"],
                },
            ],
        }
    ],
    "compilation": {"workers": 2, "network": "default", "az": "z1", "vm_type": "small"},
}


def configs(manifest: dict[str, Any], cloud: dict[str, Any] | None = None) -> DeploymentConfigs:
    return load_deployment(
        Document("manifest.yml", manifest),
        [Document("cloud.yml", cloud if cloud is not None else CLOUD)],
        [],
    )


def deploy(manifest: dict[str, Any], cloud: dict[str, Any] | None = None) -> Floorplan:
    """The floorplan a complete first deploy of ``manifest`` leaves."""
    blueprint = draw_blueprint(ArchitectInputs(configs=configs(manifest, cloud), id_seed="first"))
    s = settled_records(blueprint)
    return Floorplan(
        deployment=blueprint.deployment,
        record=s.deployment,
        instances=s.instances,
        vms=s.vms,
        disks=s.disks,
        addresses=s.addresses,
    )


def replan(
    floorplan: Floorplan,
    manifest: dict[str, Any],
    cloud: dict[str, Any] | None = None,
    limitations: Limitations | None = None,
    **inputs: Any,
) -> tuple[Blueprint, list[Remodel]]:
    blueprint = draw_blueprint(
        ArchitectInputs(
            configs=configs(manifest, cloud),
            known=known_instances(floorplan),
            id_seed="second",
            **inputs,
        )
    )
    return blueprint, diff(blueprint, floorplan, limitations or Limitations())


def changed(**edits: Any) -> dict[str, Any]:
    """MANIFEST with the web group's keys replaced (``None`` removes a key)."""
    manifest = copy.deepcopy(MANIFEST)
    web = manifest["instance_groups"][0]
    for key, value in edits.items():
        if value is None:
            web.pop(key, None)
        else:
            web[key] = value
    return manifest


def by_instance(remodels: list[Remodel]) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for r in remodels:
        out.setdefault(r.instance, []).append(r.action)
    return out


def codes(remodels: list[Remodel]) -> set[str]:
    return {code for r in remodels for code in r.codes}


REPLACE = ["stop", "detach_disk", "delete_vm", "create_vm", "attach_disk", "apply", "start"]
RESTART = ["stop", "apply", "start"]


@pytest.fixture(scope="module")
def base() -> Floorplan:
    return deploy(MANIFEST)


def test_first_deploy_creates_every_service_instance_and_nothing_for_errands() -> None:
    blueprint, remodels = replan(Floorplan(deployment="app"), MANIFEST)
    steps = by_instance(remodels)
    web = [i.uuid for i in blueprint.instances if i.group == "web"]
    assert set(steps) == set(web)
    for uuid in web:
        assert steps[uuid] == ["create_vm", "create_disk", "attach_disk", "apply", "start"]
    assert codes(remodels) == {"new_instance"}


def test_redeploying_the_same_manifest_plans_nothing(base: Floorplan) -> None:
    _, remodels = replan(base, MANIFEST)
    assert remodels == []


def test_scale_up_adds_one_instance_in_the_emptiest_az(base: Floorplan) -> None:
    blueprint, remodels = replan(base, changed(instances=4))
    steps = by_instance(remodels)
    assert len(steps) == 1
    (uuid,) = steps
    new = next(i for i in blueprint.instances if i.uuid == uuid)
    assert (new.index, new.az) == (3, "z2")
    assert steps[uuid] == ["create_vm", "create_disk", "attach_disk", "apply", "start"]
    assert codes(remodels) == {"new_instance"}


def test_scale_down_deletes_from_the_fullest_az_and_orphans_the_disk(base: Floorplan) -> None:
    _, remodels = replan(base, changed(instances=2))
    steps = by_instance(remodels)
    assert len(steps) == 1
    (uuid,) = steps
    gone = next(i for i in base.instances if i.uuid == uuid)
    assert (gone.az, gone.index) == ("z1", 2)
    assert steps[uuid] == ["stop", "delete_vm", "orphan_disk", "delete_instance"]
    assert codes(remodels) == {"scale_down"}
    assert "scaled down to 2 instances" in remodels[0].reasons[0].message


def test_a_stemcell_bump_replaces_every_vm_and_keeps_disks(base: Floorplan) -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["stemcells"][0]["version"] = "1.2"
    _, remodels = replan(base, manifest)
    steps = by_instance(remodels)
    assert len(steps) == 3
    assert all(actions == REPLACE for actions in steps.values())
    assert codes(remodels) == {"stemcell_changed"}
    reason = remodels[0].reasons[0]
    assert reason.message == "stemcell ubuntu-jammy/1.1 → ubuntu-jammy/1.2"
    old_disks = {d.id for d in base.disks}
    attached = {r.disk for r in remodels if r.action == "attach_disk"}
    assert attached == old_disks  # the same disks move to the new VMs
    assert not [r for r in remodels if r.action in ("create_disk", "orphan_disk")]


def test_a_vm_type_change_names_the_cloud_property_keys_that_differ(base: Floorplan) -> None:
    _, remodels = replan(base, changed(vm_type="large"))
    assert all(a == REPLACE for a in by_instance(remodels).values())
    assert codes(remodels) == {"cloud_properties_changed"}
    create = next(r for r in remodels if r.action == "create_vm")
    assert create.reasons[0].details["keys"] == ["cpu"]
    assert create.material.cloud_properties["cpu"] == 4


def test_an_az_cloud_property_change_replaces_only_that_azs_vms(base: Floorplan) -> None:
    cloud = copy.deepcopy(CLOUD)
    cloud["azs"][1]["cloud_properties"] = {"zone": "b", "rack": "r9"}
    _, remodels = replan(base, MANIFEST, cloud)
    z2 = {i.uuid for i in base.instances if i.az == "z2" and i.group == "web"}
    assert set(by_instance(remodels)) == z2
    assert {k for r in remodels for reason in r.reasons for k in reason.details["keys"]} == {"rack"}


def test_network_settings_changes_name_the_network_and_fields(base: Floorplan) -> None:
    cloud = copy.deepcopy(CLOUD)
    for subnet in cloud["networks"][0]["subnets"]:
        subnet["dns"] = ["10.0.0.53"]
    _, remodels = replan(base, MANIFEST, cloud)
    assert len(by_instance(remodels)) == 3
    assert codes(remodels) == {"networks_changed"}
    reason = remodels[0].reasons[0]
    assert reason.details["networks"] == {"default": ["dns"]}
    assert reason.message == "network settings changed (default: dns)"


def test_an_env_change_names_keys_and_never_values(base: Floorplan) -> None:
    _, remodels = replan(base, changed(env={"bosh": {"password": "hunter2-secret"}}))
    assert codes(remodels) == {"env_changed"}
    assert all(a == REPLACE for a in by_instance(remodels).values())
    text = repr([r.reasons for r in remodels])
    assert "bosh" in text
    assert "hunter2-secret" not in text


def test_removing_an_az_replaces_its_instances_in_the_remaining_az(base: Floorplan) -> None:
    blueprint, remodels = replan(base, changed(azs=["z1"]))
    old_z2 = {i.uuid for i in base.instances if i.az == "z2"}
    steps = by_instance(remodels)
    for uuid in old_z2:
        assert steps[uuid] == ["stop", "delete_vm", "orphan_disk", "delete_instance"]
        assert {c for r in remodels if r.instance == uuid for c in r.codes} == {"az_removed"}
    new = [i for i in blueprint.instances if i.uuid not in {r.uuid for r in base.instances}]
    assert [i.az for i in new] == ["z1"] * len(old_z2)
    assert codes(remodels) == {"az_removed", "new_instance"}


def test_a_static_ip_moved_to_another_az_replaces_the_instance_there() -> None:
    manifest = changed(
        instances=1, azs=["z1", "z2"], networks=[{"name": "default", "static_ips": ["10.0.0.10"]}]
    )
    floorplan = deploy(manifest)
    assert [i.az for i in floorplan.instances if i.group == "web"] == ["z1"]
    moved = changed(
        instances=1, azs=["z1", "z2"], networks=[{"name": "default", "static_ips": ["10.0.1.10"]}]
    )
    blueprint, remodels = replan(floorplan, moved)
    (web,) = [i for i in blueprint.instances if i.group == "web"]
    assert web.az == "z2"  # a static IP decides the AZ
    (old,) = [i.uuid for i in floorplan.instances if i.group == "web"]
    assert web.uuid != old
    assert codes([r for r in remodels if r.instance == old]) == {"static_ip_removed"}
    assert "static IP 10.0.0.10 is no longer in web's static_ips" in remodels[0].reasons[0].message
    assert codes([r for r in remodels if r.instance == web.uuid]) == {"new_instance"}


def test_a_disk_resize_migrates_to_a_new_disk_and_orphans_the_old(base: Floorplan) -> None:
    _, remodels = replan(base, changed(persistent_disk_type="twenty"))
    steps = by_instance(remodels)
    assert len(steps) == 3
    for actions in steps.values():
        assert actions == [
            "stop",
            "create_disk",
            "attach_disk",
            "migrate_disk",
            "detach_disk",
            "orphan_disk",
            "apply",
            "start",
        ]
    assert codes(remodels) == {"disk_resized", "disk_type_changed"}
    migrate = next(r for r in remodels if r.action == "migrate_disk")
    assert migrate.source_disk in {d.id for d in base.disks}
    assert migrate.disk not in {d.id for d in base.disks}


def test_a_disk_type_with_other_cloud_properties_is_a_migration_too(base: Floorplan) -> None:
    cloud = copy.deepcopy(CLOUD)
    cloud["disk_types"][0]["cloud_properties"] = {"type": "gp3"}
    _, remodels = replan(base, MANIFEST, cloud)
    assert codes(remodels) == {"disk_properties_changed"}
    assert Counter(r.action for r in remodels)["migrate_disk"] == 3


def test_adding_and_removing_a_persistent_disk() -> None:
    without = deploy(changed(persistent_disk_type=None))
    _, added = replan(without, MANIFEST)
    for actions in by_instance(added).values():
        assert actions == ["stop", "create_disk", "attach_disk", "apply", "start"]
    assert codes(added) == {"disk_added"}

    with_disk = deploy(MANIFEST)
    _, removed = replan(with_disk, changed(persistent_disk_type=None))
    for actions in by_instance(removed).values():
        assert actions == ["stop", "detach_disk", "orphan_disk", "apply", "start"]
    assert codes(removed) == {"disk_removed"}


def test_a_property_change_restarts_in_place_naming_the_key_paths(base: Floorplan) -> None:
    jobs = [
        {
            "name": "web",
            "release": "app",
            "properties": {"port": 80, "tls": {"cert": "x", "key": "rotated-secret"}},
        }
    ]
    _, remodels = replan(base, changed(jobs=jobs))
    assert all(a == RESTART for a in by_instance(remodels).values())
    assert codes(remodels) == {"properties_changed"}
    reason = remodels[0].reasons[0]
    assert reason.details["paths"] == ["web: tls.key"]
    assert "rotated-secret" not in repr(remodels[0].reasons)


def test_a_release_bump_restarts_in_place(base: Floorplan) -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["releases"][0]["version"] = "2"
    _, remodels = replan(base, manifest)
    assert all(a == RESTART for a in by_instance(remodels).values())
    assert codes(remodels) == {"release_changed"}
    assert remodels[0].reasons[0].message == "release app/1 → app/2"


def test_adding_a_job_restarts_in_place(base: Floorplan) -> None:
    jobs = [*MANIFEST["instance_groups"][0]["jobs"], {"name": "metrics", "release": "app"}]
    _, remodels = replan(base, changed(jobs=jobs))
    assert all(a == RESTART for a in by_instance(remodels).values())
    assert codes(remodels) == {"jobs_changed"}
    assert remodels[0].reasons[0].details == {"added": ["metrics"], "removed": []}


def test_recreate_replaces_every_vm_or_only_those_asked(base: Floorplan) -> None:
    _, remodels = replan(base, MANIFEST, recreate_all=True)
    assert len(by_instance(remodels)) == 3
    assert codes(remodels) == {"recreate"}
    one = base.instances[0].uuid
    _, remodels = replan(base, MANIFEST, recreate=frozenset({one}))
    assert by_instance(remodels) == {one: REPLACE}


def test_a_missing_vm_is_a_problem_without_fix_and_recreated_with_it(base: Floorplan) -> None:
    vm = base.vms[0]
    broken = attrs.evolve(base, missing_vms=frozenset({vm.id}))
    from jobsite.inspector import Drift

    broken = attrs.evolve(
        broken,
        drift=(
            Drift(
                kind="vm_missing",
                message=f"VM {vm.cid} is recorded but missing from the cloud",
                vm_cid=vm.cid,
                vm=vm.id,
                instance=vm.instance_uuid,
            ),
        ),
    )
    _, remodels = replan(broken, MANIFEST)
    assert remodels == []
    problems = plan_problems(broken, Limitations())
    assert len(problems) == 1
    assert vm.cid is not None
    assert vm.cid in problems[0]
    assert "--fix" in problems[0]

    _, fixed = replan(broken, MANIFEST, limitations=Limitations(fix=True))
    assert by_instance(fixed) == {
        vm.instance_uuid: ["delete_vm", "create_vm", "attach_disk", "apply", "start"]
    }
    assert codes(fixed) == {"vm_missing"}
    assert plan_problems(broken, Limitations(fix=True)) == []


def test_stop_hard_deletes_the_vm_and_keeps_the_disk_and_start_brings_it_back(
    base: Floorplan,
) -> None:
    uuid = base.instances[0].uuid
    _, remodels = replan(base, MANIFEST, detached=frozenset({uuid}))
    assert by_instance(remodels) == {uuid: ["stop", "detach_disk", "delete_vm"]}
    assert codes(remodels) == {"detached"}

    record = attrs.evolve(base.instances[0], state="detached")
    detached = attrs.evolve(
        base,
        instances=(record, *base.instances[1:]),
        vms=tuple(v for v in base.vms if v.instance_uuid != uuid),
    )
    _, remodels = replan(detached, MANIFEST)
    assert by_instance(remodels) == {uuid: ["create_vm", "attach_disk", "apply", "start"]}
    assert codes(remodels) == {"vm_absent"}


def test_a_rename_with_migrated_from_keeps_identities_and_restarts(base: Floorplan) -> None:
    manifest = copy.deepcopy(MANIFEST)
    web = manifest["instance_groups"][0]
    web["name"] = "www"
    web["migrated_from"] = [{"name": "web"}]
    blueprint, remodels = replan(base, manifest)
    old = {i.uuid for i in base.instances if i.group == "web"}
    assert {i.uuid for i in blueprint.instances if i.group == "www"} == old
    assert all(a == RESTART for a in by_instance(remodels).values())
    assert codes(remodels) == {"renamed"}


def test_a_removed_group_is_deleted_with_that_reason() -> None:
    manifest = copy.deepcopy(MANIFEST)
    worker = copy.deepcopy(manifest["instance_groups"][0])
    worker["name"] = "worker"
    worker["instances"] = 1
    manifest["instance_groups"].append(worker)
    floorplan = deploy(manifest)
    _, remodels = replan(floorplan, MANIFEST)
    assert codes(remodels) == {"group_removed"}
    (uuid,) = by_instance(remodels)
    assert by_instance(remodels)[uuid] == ["stop", "delete_vm", "orphan_disk", "delete_instance"]


def test_leftover_and_unknown_vms_are_deleted(base: Floorplan) -> None:
    leftover = VmRecord(
        id="left",
        deployment="app",
        instance_uuid=None,
        cid="vm-left",
        agent_id="a",
        state="created",
    )
    stranger = VmListing(vm_cid="vm-stranger", metadata={"director": "jobsite"})
    floorplan = attrs.evolve(base, vms=(*base.vms, leftover), unknown_vms=(stranger,))
    _, remodels = replan(floorplan, MANIFEST)
    assert [(r.action, r.cid, r.codes) for r in remodels] == [
        ("delete_vm", "vm-left", ("vm_leftover",))
    ]
    _, remodels = replan(floorplan, MANIFEST, limitations=Limitations(fix=True))
    assert [(r.action, r.cid, r.codes) for r in remodels] == [
        ("delete_vm", "vm-left", ("vm_leftover",)),
        ("delete_vm", "vm-stranger", ("vm_unknown",)),
    ]


def test_two_changes_at_once_give_one_replacement_with_both_reasons(base: Floorplan) -> None:
    manifest = changed(vm_type="large", env={"persistent_disk_fs": "ext4"})
    manifest["stemcells"][0]["version"] = "1.2"
    _, remodels = replan(base, manifest)
    assert all(a == REPLACE for a in by_instance(remodels).values())
    stop = next(r for r in remodels if r.action == "stop")
    assert stop.codes == ("stemcell_changed", "cloud_properties_changed", "env_changed")


def test_skip_drain_reaches_every_stop(base: Floorplan) -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["stemcells"][0]["version"] = "1.2"
    _, remodels = replan(base, manifest, limitations=Limitations(skip_drain=True))
    stops = [r for r in remodels if r.action == "stop"]
    assert stops
    assert all(r.options["drain"] is False for r in stops)


def test_remodel_ids_are_unique_and_stable_across_plans(base: Floorplan) -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["stemcells"][0]["version"] = "1.2"
    _, first = replan(base, manifest)
    _, second = replan(base, manifest)
    assert [r.id for r in first] == [r.id for r in second]
    assert len({r.id for r in first}) == len(first)


@pytest.mark.anyio
async def test_ignored_instances_are_skipped_and_said_so(
    base: Floorplan, anyio_backend: str
) -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["stemcells"][0]["version"] = "1.2"
    ignored = base.instances[0].uuid
    blueprint, _ = replan(base, manifest)
    plugins = load_plugins(entrypoints=False)
    kept, skipped = await collect_remodels(
        blueprint, base, Limitations(ignored=frozenset({ignored})), plugins.hooks
    )
    assert ignored not in {r.instance for r in kept}
    assert {s.remodel.instance for s in skipped} == {ignored}
    assert {s.reason.code for s in skipped} == {"ignored"}
    assert len(kept) == 2 * len(REPLACE)


@pytest.mark.anyio
async def test_a_plugin_can_veto_remodels_and_is_named(base: Floorplan, anyio_backend: str) -> None:
    class NoDeletes:
        @staticmethod
        async def jobsite_foreman_veto(remodel: Remodel) -> str | None:
            return "deletes are frozen this week" if remodel.action == "delete_vm" else None

    manifest = copy.deepcopy(MANIFEST)
    manifest["stemcells"][0]["version"] = "1.2"
    blueprint, _ = replan(base, manifest)
    plugins = load_plugins(entrypoints=False, plugins=[("freeze", NoDeletes())])
    kept, skipped = await collect_remodels(blueprint, base, Limitations(), plugins.hooks)
    assert {s.remodel.action for s in skipped} == {"delete_vm"}
    assert {s.by for s in skipped} == {"freeze"}
    assert skipped[0].reason.message == "vetoed by freeze: deletes are frozen this week"
    assert "delete_vm" not in {r.action for r in kept}


def test_a_soft_stopped_instance_is_updated_but_stays_stopped(base: Floorplan) -> None:
    uuid = base.instances[0].uuid
    manifest = copy.deepcopy(MANIFEST)
    manifest["releases"][0]["version"] = "2"
    _, remodels = replan(base, manifest, stopped=frozenset({uuid}))
    steps = by_instance(remodels)
    assert steps[uuid] == ["stop", "apply"]
    assert all(actions == RESTART for other, actions in steps.items() if other != uuid)


def test_migrating_an_azless_group_into_an_az_keeps_identity_and_disk() -> None:
    first = copy.deepcopy(MANIFEST)
    web = first["instance_groups"][0]
    web.pop("azs")
    web["instances"] = 1
    first["instance_groups"] = [web]
    azless = copy.deepcopy(CLOUD)
    azless.pop("azs")
    azless["compilation"].pop("az")
    subnet = azless["networks"][0]["subnets"][0]
    subnet.pop("azs")
    azless["networks"][0]["subnets"] = [subnet]
    floorplan = deploy(first, azless)
    (old,) = floorplan.instances

    second = copy.deepcopy(first)
    www = second["instance_groups"][0]
    www.update(name="www", azs=["z1"], migrated_from=[{"name": "web", "az": "z1"}])
    blueprint, remodels = replan(floorplan, second)
    (moved,) = blueprint.instances
    assert (moved.uuid, moved.group, moved.az) == (old.uuid, "www", "z1")
    assert by_instance(remodels) == {old.uuid: REPLACE}
    assert {r.disk for r in remodels if r.action == "attach_disk"} == {floorplan.disks[0].id}
    stop = next(r for r in remodels if r.action == "stop")
    assert stop.codes == ("az_changed", "cloud_properties_changed", "renamed")
    assert stop.reasons[0].message == "placed in AZ z1"

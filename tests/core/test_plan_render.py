"""Rendering plans as text, JSON and Graphviz dot: real plans from ``make_plan`` on a SQLite
store, deployed states recorded as the assembler records them."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import pytest
import yaml

from jobsite.config import Document, Variables, interpolate, load_deployment
from jobsite.foreman import (
    ConstructionPlan,
    Reason,
    Remodel,
    Stage,
    UpdatePolicy,
    instance_spec,
)
from jobsite.planning import (
    Plan,
    PlanRequest,
    make_plan,
    plan_to_json,
    render_dot,
    render_text,
)
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

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from jobsite.architect import Blueprint

pytestmark = pytest.mark.anyio

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plan-json.md"
SECRET = "s3cr3t-Value-42"
OTHER_SECRET = "0ther-S3cret-77"

# --- inputs ------------------------------------------------------------------------------------

CLOUD_CONFIG = """
azs: [{name: z1}, {name: z2}]
vm_types:
- {name: small, cloud_properties: {instance_type: t3.small, token: ((password))}}
- {name: large, cloud_properties: {instance_type: t3.large, token: ((password))}}
disk_types:
- {name: fast, disk_size: 1024, cloud_properties: {iops: 3000, kms_key: ((password))}}
- {name: big, disk_size: 4096, cloud_properties: {iops: 3000, kms_key: ((password))}}
networks:
- name: default
  type: manual
  subnets:
  - {range: 10.0.1.0/24, gateway: 10.0.1.1, azs: [z1], cloud_properties: {key: ((password))}}
  - {range: 10.0.2.0/24, gateway: 10.0.2.1, azs: [z2], cloud_properties: {key: ((password))}}
compilation: {workers: 1, az: z1, vm_type: small, network: default}
"""


def manifest(
    *,
    zookeepers: int = 3,
    port: int = 2181,
    web_vm_type: str = "small",
    web_disk_type: str = "fast",
    stemcell: str = "1.5",
    web: bool = True,
    worker: bool = False,
) -> str:
    groups: list[dict[str, Any]] = [
        {
            "name": "zookeeper",
            "instances": zookeepers,
            "azs": ["z1", "z2"],
            "vm_type": "small",
            "stemcell": "default",
            "persistent_disk_type": "fast",
            "networks": [{"name": "default"}],
            "env": {"bosh": {"password": "((password))"}},
            "jobs": [
                {
                    "name": "zookeeper",
                    "release": "zookeeper",
                    "properties": {"port": port, "admin": {"password": "((password))"}},
                }
            ],
        },
        {
            "name": "web",
            "instances": 1,
            "azs": ["z1"],
            "vm_type": web_vm_type,
            "stemcell": "default",
            "persistent_disk_type": web_disk_type,
            "networks": [{"name": "default"}],
            "jobs": [{"name": "nginx", "release": "zookeeper", "properties": {}}],
        },
    ]
    if not web:
        del groups[1]
    if worker:
        groups.append(
            {
                "name": "worker",
                "instances": 1,
                "azs": ["z2"],
                "vm_type": "small",
                "stemcell": "default",
                "networks": [{"name": "default"}],
                "jobs": [{"name": "worker", "release": "zookeeper"}],
            }
        )
    return yaml.safe_dump(
        {
            "name": "zookeeper",
            "releases": [{"name": "zookeeper", "version": "0.0.9"}],
            "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": stemcell}],
            "update": {
                "canaries": 1,
                "max_in_flight": 2,
                "canary_watch_time": "1000-30000",
                "update_watch_time": "1000-30000",
            },
            "instance_groups": groups,
        }
    )


def request(password: str = SECRET, **manifest_args: Any) -> PlanRequest:
    variables = Variables({"password": password})

    def doc(name: str, text: str) -> Document:
        return Document(name, interpolate(yaml.safe_load(text), variables=variables))

    configs = load_deployment(
        doc("manifest.yml", manifest(**manifest_args)), [doc("cloud.yml", CLOUD_CONFIG)]
    )
    return PlanRequest(configs=configs, id_seed="render-tests")


# --- a strategy of the test's own ----------------------------------------------------------


class GroupByGroup:
    """Each instance group's remodels in one stage, stages one after another, each instance's
    remodels chained in the order the foreman gives them."""

    async def plan(self, remodels: Sequence[Remodel], update: UpdatePolicy) -> ConstructionPlan:
        members: dict[str | None, list[str]] = {}
        edges: list[tuple[str, str]] = []
        last: dict[str, str] = {}
        for remodel in remodels:
            members.setdefault(remodel.instance_group, []).append(remodel.id)
            if remodel.instance is not None:
                if remodel.instance in last:
                    edges.append((last[remodel.instance], remodel.id))
                last[remodel.instance] = remodel.id
        stages: list[Stage] = []
        for group, ids in members.items():
            policy = update.group(group)
            flight = watch = None
            if policy is not None:
                if policy.update.max_in_flight is not None:
                    flight = policy.update.max_in_flight.resolve(policy.instances)
                if policy.update.update_watch_time is not None:
                    t = policy.update.update_watch_time
                    watch = (t.minimum, t.maximum)
            stages.append(
                Stage(
                    name=f"{group or 'deployment'}: update",
                    remodels=tuple(ids),
                    after=(stages[-1].name,) if stages else (),
                    instance_group=group,
                    max_in_flight=flight,
                    watch_time=watch,
                )
            )
        return ConstructionPlan(
            strategy="serial", remodels=tuple(remodels), stages=tuple(stages), edges=tuple(edges)
        )


class StrategyPlugin:
    @staticmethod
    def jobsite_register_strategies(register: Any) -> None:
        register("serial", lambda context: GroupByGroup())


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path, anyio_backend: str) -> AsyncIterator[Store]:
    async with open_store("sqlite:///" + str(tmp_path / "s.db")) as opened:
        yield opened


async def plan_for(store: Store, req: PlanRequest) -> Plan:
    plugins = load_plugins(entrypoints=False, plugins=[("test-strategy", StrategyPlugin())])
    return await make_plan(req, store=store, cpi=None, plugins=plugins)


async def record_deployed(store: Store, blueprint: Blueprint) -> None:
    """Write ``blueprint`` into the store as a finished deploy leaves it."""
    vms = {m.instance: m for m in blueprint.vms}
    jobs: dict[str, list[Any]] = {}
    for job in blueprint.jobs:
        jobs.setdefault(job.instance, []).append(job)
    name = blueprint.deployment
    async with store.transaction() as batch:
        batch.put_deployment(DeploymentRecord(name=name, manifest=f"name: {name}\n"))
        for i in blueprint.instances:
            vm = vms.get(i.uuid)
            batch.put_instance(
                InstanceRecord(
                    uuid=i.uuid,
                    deployment=name,
                    group=i.group,
                    index=i.index,
                    az=i.az,
                    bootstrap=i.bootstrap,
                    spec=instance_spec(i, vm, jobs.get(i.uuid, [])),
                )
            )
            if vm is None:
                continue
            batch.put_vm(
                VmRecord(
                    id=f"vm-id-{i.uuid}",
                    deployment=name,
                    instance_uuid=i.uuid,
                    cid=f"vm-{i.group}-{i.index}",
                    agent_id=f"agent-{i.uuid}",
                    stemcell_os=vm.stemcell_os,
                    stemcell_version=vm.stemcell_version,
                    cloud_properties=vm.cloud_properties,
                    networks={n.network: n.settings() for n in vm.networks},
                    env=vm.env,
                    state="created",
                    active=True,
                )
            )
            for n in vm.networks:
                if n.ip is not None:
                    batch.put_ip_reservation(
                        IpReservation(
                            network=n.network,
                            address=n.ip,
                            deployment=name,
                            instance_uuid=i.uuid,
                            static=n.static,
                        )
                    )
        for d in blueprint.disks:
            owner = next(i for i in blueprint.instances if i.uuid == d.instance)
            batch.put_disk(
                DiskRecord(
                    deployment=name,
                    instance_uuid=d.instance,
                    cid=f"disk-{owner.group}-{owner.index}",
                    vm=f"vm-id-{d.instance}" if d.instance in vms else None,
                    size=d.size,
                    disk_type=d.disk_type,
                    name=d.name,
                    cloud_properties=d.cloud_properties,
                    state="created",
                    active=True,
                )
            )


async def deployed(store: Store, req: PlanRequest) -> Plan:
    """Plan ``req`` and record it as deployed; the plan of the first deploy."""
    first = await plan_for(store, req)
    await record_deployed(store, first.blueprint)
    return first


def instance_lines(text: str) -> dict[str, str]:
    """``group/index`` → the instance entry's head line."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\+|-|-/\+|~|=) (\S+/\d+)", line)
        if m:
            out[m.group(2)] = line
    return out


# --- a strict reader of the dot this module writes -----------------------------------------------

_DOT_TOKEN = re.compile(
    r'\s+|//[^\n]*|(?P<str>"(?:[^"\\]|\\.)*")|(?P<arrow>->)'
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*|-?(?:\.\d+|\d+(?:\.\d*)?))|(?P<punct>[{}\[\];=,])",
    re.S,
)


@attrs.define
class Dot:
    """What a dot text declares: node statements (with the cluster they sit in), edges,
    and each cluster's label."""

    nodes: set[str] = attrs.Factory(set)
    node_cluster: dict[str, str | None] = attrs.Factory(dict)
    node_attrs: dict[str, dict[str, str]] = attrs.Factory(dict)
    edges: list[tuple[str, str, dict[str, str]]] = attrs.Factory(list)
    clusters: dict[str, str] = attrs.Factory(dict)


def parse_dot(text: str) -> Dot:
    """Parse dot's grammar (graph, subgraph, node, edge and attribute statements), failing on
    anything else: unbalanced braces, an unterminated string, a stray token."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        assert m is not None, f"not dot at {pos}: {text[pos : pos + 40]!r}"
        pos = m.end()
        if m.lastgroup:
            tokens.append((m.lastgroup, m.group(m.lastgroup)))
    tokens.append(("end", ""))
    dot = Dot()
    at = 0

    def peek(offset: int = 0) -> tuple[str, str]:
        return tokens[at + offset]

    def take(value: str | None = None) -> tuple[str, str]:
        nonlocal at
        token = tokens[at]
        assert value is None or token[1] == value, f"expected {value!r}, got {token}"
        at += 1
        return token

    def ident() -> str:
        kind, value = take()
        assert kind in ("id", "str"), f"expected an id, got {value!r}"
        return value[1:-1].replace('\\"', '"') if kind == "str" else value

    def attr_list() -> dict[str, str]:
        out: dict[str, str] = {}
        while peek()[1] == "[":
            take("[")
            while peek()[1] != "]":
                key = ident()
                take("=")
                out[key] = ident()
                if peek()[1] in (",", ";"):
                    take()
            take("]")
        return out

    def statements(cluster: str | None) -> None:
        while peek()[1] != "}":
            kind, value = peek()
            if kind == "id" and value.lower() == "subgraph":
                take()
                name = ident() if peek()[1] != "{" else ""
                take("{")
                if name.startswith("cluster"):
                    dot.clusters[name] = ""
                statements(name if name.startswith("cluster") else cluster)
                take("}")
            elif kind == "id" and value.lower() in ("graph", "node", "edge"):
                take()
                attr_list()
            elif peek(1)[1] == "=":
                key = ident()
                take("=")
                value = ident()
                if key == "label" and cluster is not None:
                    dot.clusters[cluster] = value
            else:
                chain = [ident()]
                while peek()[0] == "arrow":
                    take()
                    chain.append(ident())
                attributes = attr_list()
                if len(chain) == 1:
                    dot.nodes.add(chain[0])
                    dot.node_cluster[chain[0]] = cluster
                    dot.node_attrs[chain[0]] = attributes
                else:
                    dot.edges.extend((a, b, attributes) for a, b in itertools.pairwise(chain))
            if peek()[1] == ";":
                take()

    assert take()[1].lower() == "digraph"
    if peek()[1] != "{":
        ident()
    take("{")
    statements(None)
    take("}")
    assert peek()[0] == "end", f"text after the graph: {peek()}"
    return dot


# --- text ---------------------------------------------------------------------------------------


async def test_a_first_deploy_creates_every_instance(store: Store) -> None:
    plan = await plan_for(store, request())
    text = render_text(plan)
    first = text.splitlines()[0]
    assert first == (
        "Plan for zookeeper (strategy serial): 4 VMs to create; 4 instances to create; "
        "4 disks to create."
    )
    heads = instance_lines(text)
    assert sorted(heads) == ["web/0", "zookeeper/0", "zookeeper/1", "zookeeper/2"]
    assert all(line.lstrip().startswith("+ ") for line in heads.values())
    z0 = next(i for i in plan.blueprint.instances if (i.group, i.index) == ("zookeeper", 0))
    assert z0.uuid in heads["zookeeper/0"]
    assert "(z1, 10.0.1." in heads["zookeeper/0"]
    assert "new instance zookeeper/0 in z1" in text
    assert "actions: create_vm → create_disk → attach_disk → apply → start" in text
    assert "\x1b[" not in text


async def test_a_changed_deployment_shows_each_instance_with_its_reasons(store: Store) -> None:
    await deployed(store, request())
    plan = await plan_for(
        store,
        request(zookeepers=2, port=2182, web_vm_type="large", web_disk_type="big", worker=True),
    )
    text = render_text(plan)
    assert text.splitlines()[0] == (
        "Plan for zookeeper (strategy serial): 2 VMs to create, 2 to delete; "
        "1 instance to create, 3 to update, 1 to delete; 1 disk to move, 1 to orphan."
    )
    heads = instance_lines(text)
    assert heads["zookeeper/0"].lstrip().startswith("~ zookeeper/0 (z1, 10.0.1.")
    assert heads["zookeeper/1"].lstrip().startswith("~ zookeeper/1 (z2, 10.0.2.")
    assert heads["zookeeper/2"].lstrip().startswith("- zookeeper/2 (z1, 10.0.1.")
    assert heads["web/0"].lstrip().startswith("-/+ web/0 (z1, 10.0.1.")
    assert heads["worker/0"].lstrip().startswith("+ worker/0 (z2, 10.0.2.")
    lines = text.splitlines()

    def entry(name: str) -> list[str]:
        start = lines.index(heads[name])
        end = next(
            (n for n in range(start + 1, len(lines)) if not lines[n].startswith(" " * 8)),
            len(lines),
        )
        return [line.strip() for line in lines[start + 1 : end]]

    assert entry("zookeeper/0") == [
        "properties changed: zookeeper: port",
        "actions: stop → apply → start",
    ]
    assert entry("zookeeper/2") == [
        "zookeeper is scaled down to 2 instances",
        "actions: stop → delete_vm → orphan_disk → delete_instance",
    ]
    assert entry("web/0") == [
        "cloud properties changed: instance_type",
        "persistent disk 1024 → 4096 MiB",
        "persistent disk type fast → big",
        "actions: stop → detach_disk → delete_vm → create_vm → attach_disk → create_disk "
        "→ attach_disk → migrate_disk → detach_disk → orphan_disk → apply → start",
    ]
    # groups in manifest order, each header once
    assert [line for line in lines if line in ("zookeeper:", "web:", "worker:")] == [
        "zookeeper:",
        "web:",
        "worker:",
    ]
    assert lines[lines.index("Stages (serial):") + 1 :] == [
        "   1. zookeeper: update  (update; max_in_flight 2; 10 remodels)",
        "   2. web: update        (update; max_in_flight 2; 12 remodels; after 1)",
        "   3. worker: update     (update; max_in_flight 2; 3 remodels; after 2)",
    ]


async def test_an_unchanged_deployment_says_no_changes(store: Store) -> None:
    await deployed(store, request())
    plan = await plan_for(store, request())
    text = render_text(plan)
    assert text == "No changes. zookeeper (strategy serial) matches its manifest.\n"
    data = plan_to_json(plan)
    assert data["summary"]["empty"] is True
    assert data["remodels"] == []
    changes = [i["change"] for g in data["instance_groups"] for i in g["instances"]]
    assert changes == ["none"] * 4
    dot = parse_dot(render_dot(plan))
    assert dot.nodes == set()
    assert dot.edges == []


async def test_a_removed_group_comes_last_with_its_instances_deleted(store: Store) -> None:
    await deployed(store, request())
    plan = await plan_for(store, request(web=False, stemcell="1.6"))
    text = render_text(plan)
    assert text.splitlines()[0] == (
        "Plan for zookeeper (strategy serial): 3 VMs to create, 4 to delete; "
        "3 instances to update, 1 to delete; 1 disk to orphan."
    )
    lines = text.splitlines()
    at = lines.index("web: (no longer in the manifest)")
    assert lines.index("zookeeper:") < at
    assert [line.strip() for line in lines[at + 2 : at + 4]] == [
        "instance group 'web' is no longer in the manifest",
        "actions: stop → delete_vm → orphan_disk → delete_instance",
    ]
    assert lines[at + 1].startswith("    - web/0 (z1, 10.0.1.")
    assert instance_lines(text)["zookeeper/1"].startswith("  -/+ zookeeper/1 (z2, 10.0.2.")
    assert " " * 8 + "stemcell ubuntu-jammy/1.5 → ubuntu-jammy/1.6" in lines
    web = plan_to_json(plan)["instance_groups"][1]
    assert (web["name"], web["in_manifest"]) == ("web", False)
    assert [i["change"] for i in web["instances"]] == ["delete"]


async def test_colors_only_when_asked(store: Store) -> None:
    await deployed(store, request())
    plan = await plan_for(store, request(zookeepers=2, port=2182, web_vm_type="large", worker=True))
    plain, colored = render_text(plan), render_text(plan, color=True)
    assert "\x1b[" not in plain
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain
    green, red, yellow, bold, reset = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m"
    assert f"{green}+{reset} {bold}worker/0{reset}" in colored
    assert f"{red}-{reset} {bold}zookeeper/2{reset}" in colored
    assert f"{yellow}~{reset} {bold}zookeeper/0{reset}" in colored
    assert f"{red}-{reset}/{green}+{reset} {bold}web/0{reset}" in colored


async def test_an_ignored_instance_is_listed_as_skipped(store: Store) -> None:
    first = await deployed(store, request())
    z0 = next(i for i in first.blueprint.instances if (i.group, i.index) == ("zookeeper", 0))
    plan = await plan_for(store, attrs.evolve(request(port=2182), ignored=frozenset({z0.uuid})))
    text = render_text(plan)
    assert text.splitlines()[0] == (
        "Plan for zookeeper (strategy serial): 2 instances to update; 3 remodels skipped."
    )
    heads = instance_lines(text)
    assert heads["zookeeper/0"].lstrip().startswith("= zookeeper/0 (z1, 10.0.1.")
    assert heads["zookeeper/1"].lstrip().startswith("~ zookeeper/1 ")
    lines = text.splitlines()
    at = lines.index(heads["zookeeper/0"])
    assert [line.strip() for line in lines[at + 1 : at + 4]] == [
        f"instance zookeeper/{z0.uuid} is ignored (jobsite ignore)",
        "properties changed: zookeeper: port",
        "skipped: stop → apply → start",
    ]
    data = plan_to_json(plan)
    (entry,) = [i for g in data["instance_groups"] for i in g["instances"] if i["id"] == z0.uuid]
    assert entry["change"] == "ignored"
    assert entry["remodels"] == []
    assert len(entry["skipped"]) == 3
    assert {(s["instance"], s["reason"]["code"], s["by"]) for s in data["skipped"]} == {
        (z0.uuid, "ignored", "jobsite")
    }
    assert [s["action"] for s in data["skipped"]] == ["stop", "apply", "start"]


async def test_a_leftover_vm_is_listed_apart_from_the_instances(store: Store) -> None:
    await deployed(store, request())
    async with store.transaction() as batch:
        batch.put_vm(
            VmRecord(
                deployment="zookeeper",
                cid="vm-left-behind",
                agent_id="agent-left",
                state="created",
            )
        )
    plan = await plan_for(store, request())
    text = render_text(plan)
    assert text.splitlines()[0] == "Plan for zookeeper (strategy serial): 1 VM to delete."
    lines = text.splitlines()
    at = lines.index("Not tied to an instance:")
    assert lines[at + 1 : at + 3] == [
        "    - delete_vm vm-left-behind",
        "        VM vm-left-behind is left over from an interrupted deploy",
    ]
    assert instance_lines(text) == {}
    (remodel,) = plan_to_json(plan)["remodels"]
    assert (remodel["action"], remodel["instance"], remodel["cid"]) == (
        "delete_vm",
        None,
        "vm-left-behind",
    )
    assert [r["code"] for r in remodel["reasons"]] == ["vm_leftover"]


async def test_problems_and_warnings_close_the_text(store: Store) -> None:
    await deployed(store, request())
    plan = attrs.evolve(
        await plan_for(store, request(port=2182)),
        problems=("instance web/x (web/0): VM vm-web-0 is missing; plan with --fix",),
        warnings=("could not check VM vm-zookeeper-1: timeout",),
    )
    lines = render_text(plan).splitlines()
    assert lines[-5:] == [
        "",
        "Error: instance web/x (web/0): VM vm-web-0 is missing; plan with --fix",
        "deploy will refuse this plan until this error is resolved.",
        "",
        "Warning: could not check VM vm-zookeeper-1: timeout",
    ]
    data = plan_to_json(plan)
    assert data["problems"] == list(plan.problems)
    assert data["warnings"] == list(plan.warnings)


# --- dot ----------------------------------------------------------------------------------------


async def changed_plan(store: Store) -> Plan:
    await deployed(store, request())
    return await plan_for(
        store,
        request(zookeepers=2, port=2182, web_vm_type="large", web_disk_type="big", worker=True),
    )


async def test_dot_draws_stages_as_clusters_and_remodels_as_nodes(store: Store) -> None:
    plan = await changed_plan(store)
    dot = parse_dot(render_dot(plan))
    remodel_ids = {r.id for r in plan.remodels}
    assert remodel_ids <= dot.nodes
    anchors = dot.nodes - remodel_ids  # a start and an end per stage
    assert len(anchors) == 2 * len(plan.construction.stages)
    assert all(dot.node_attrs[a]["style"] == "invis" for a in anchors)
    label_of = {f"cluster_{n}": s.name for n, s in enumerate(plan.construction.stages)}
    assert dot.clusters == label_of
    stage_of = plan.construction.stage_of()
    for remodel in plan.remodels:
        assert label_of[str(dot.node_cluster[remodel.id])] == stage_of[remodel.id]
        label = f"{remodel.action}\\n{remodel.instance_group}/{remodel.index}"
        assert dot.node_attrs[remodel.id]["label"] == label
    for before, after, _ in dot.edges:
        assert before in dot.nodes, before
        assert after in dot.nodes, after
    drawn = [(a, b) for a, b, attr in dot.edges if attr.get("style") not in ("invis", "dashed")]
    assert drawn == list(plan.construction.edges)
    stage_edges = [(attr["ltail"], attr["lhead"]) for _, _, attr in dot.edges if "ltail" in attr]
    assert stage_edges == [("cluster_0", "cluster_1"), ("cluster_1", "cluster_2")]
    for a, b, attr in dot.edges:  # anchors only link to their own stage's remodels
        if attr.get("style") == "invis":
            assert dot.node_cluster[a] == dot.node_cluster[b]


class OddRemodels:
    """A plugin adding a deployment-wide remodel whose id and reason need escaping."""

    ODD_ID = 'zookeeper:compile_package:a "quoted" \\ name {x} -> y;'

    @staticmethod
    def jobsite_foreman_remodels(blueprint: Blueprint, floorplan: Any, limitations: Any) -> Any:
        return [
            Remodel(
                id=OddRemodels.ODD_ID,
                action="compile_package",
                deployment=blueprint.deployment,
                reasons=(Reason(code="package_needed", message='needs "golang"\nfor linux'),),
            )
        ]


async def test_ids_and_labels_that_need_escaping_stay_valid(store: Store) -> None:
    await deployed(store, request())
    plugins = load_plugins(
        entrypoints=False,
        plugins=[("test-strategy", StrategyPlugin()), ("odd", OddRemodels())],
    )
    plan = await make_plan(request(), store=store, cpi=None, plugins=plugins)
    source = render_dot(plan)
    dot = parse_dot(source)
    assert OddRemodels.ODD_ID.replace("\\", "\\\\") in dot.nodes
    assert len(dot.clusters) == 1
    text = render_text(plan)
    assert text.splitlines()[0] == "Plan for zookeeper (strategy serial): 1 remodel."
    lines = text.splitlines()
    at = lines.index("Not tied to an instance:")
    assert lines[at + 1 : at + 3] == [
        f"    ~ compile_package {OddRemodels.ODD_ID}",
        '        needs "golang" for linux',
    ]
    assert json.loads(json.dumps(plan_to_json(plan)))["remodels"][0]["id"] == OddRemodels.ODD_ID


async def test_graphviz_accepts_the_dot(store: Store) -> None:
    dot_binary = shutil.which("dot")
    if dot_binary is None:
        pytest.skip("Graphviz's dot is not on PATH (apt-get install graphviz to run this)")
    plugins = load_plugins(
        entrypoints=False,
        plugins=[("test-strategy", StrategyPlugin()), ("odd", OddRemodels())],
    )
    plan = await changed_plan(store)
    odd = await make_plan(request(), store=store, cpi=None, plugins=plugins)
    for source in (render_dot(plan), render_dot(odd)):
        done = await anyio.run_process([dot_binary, "-Tsvg"], input=source.encode(), check=False)
        assert done.returncode == 0, done.stderr.decode()
        assert done.stderr == b""
        assert b"<svg" in done.stdout


# --- json ---------------------------------------------------------------------------------------

TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
}
CORE_CODES = [
    "disk_detached",
    "vm_reused",
    "disk_reused",
    "stopped",
    "started",
    "restart",
    "disk_leftover",
    "new_instance",
    "scale_down",
    "group_removed",
    "az_removed",
    "stemcell_changed",
    "az_changed",
    "cloud_properties_changed",
    "networks_changed",
    "env_changed",
    "vm_resources_changed",
    "vm_absent",
    "vm_missing",
    "recreate",
    "detached",
    "disk_added",
    "disk_removed",
    "disk_resized",
    "disk_type_changed",
    "disk_properties_changed",
    "renamed",
    "not_applied",
    "bootstrap_changed",
    "jobs_changed",
    "release_changed",
    "properties_changed",
    "vm_leftover",
    "vm_unknown",
    "ignored",
    "vetoed",
]


def documented_schema() -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """From docs/plan-json.md: object path → field → type, and reason code → details keys."""
    objects: dict[str, dict[str, str]] = {}
    codes: dict[str, set[str]] = {}
    paths: list[str] = []
    in_codes = False
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            paths = re.findall(r"`(\$[^`]*)`", line)
            in_codes = line.strip() == "## Reason codes"
            continue
        m = re.match(r"^\| `([a-z_]+)` \| ([^|]+) \| (.*) \|$", line)
        if m is None:
            continue
        if in_codes:
            codes[m.group(1)] = set(re.findall(r"`([a-z_]+)`", m.group(3)))
        for path in paths:
            objects.setdefault(path, {})[m.group(1)] = m.group(2).strip()
    return objects, codes


def select(data: Any, path: str) -> list[Any]:
    """The values at ``$.a[].b``-style ``path`` (``[]``: every element)."""
    items = [data]
    for part in path.split(".")[1:]:
        items = [item[part.removesuffix("[]")] for item in items]
        if part.endswith("[]"):
            items = [x for item in items for x in item]
    return items


def check_against_docs(data: dict[str, Any], seen: set[str]) -> None:
    objects, codes = documented_schema()
    for path, fields in objects.items():
        for value in select(data, path):
            seen.add(path)
            assert set(value) == set(fields), f"{path}: fields differ from the docs"
            for field, kind in fields.items():
                got = value[field]
                if got is None:
                    assert kind.endswith("or null"), f"{path}.{field} is null"
                    continue
                expected = TYPES[kind.split()[0]]
                assert isinstance(got, expected), f"{path}.{field}: {got!r} is not {kind}"
                assert expected is bool or not isinstance(got, bool), f"{path}.{field}"
    reasons = [
        *select(data, "$.remodels[].reasons[]"),
        *select(data, "$.skipped[].reason"),
        *select(data, "$.skipped[].reasons[]"),
    ]
    for reason in reasons:
        if reason["code"] in CORE_CODES:
            assert set(reason["details"]) == codes[reason["code"]], reason


def test_the_docs_describe_every_core_reason_code() -> None:
    objects, codes = documented_schema()
    assert set(CORE_CODES) <= set(codes)
    assert {"$", "$.summary", "$.remodels[]", "$.stages[]", "$.skipped[]"} <= set(objects)
    assert objects["$"]["format_version"] == "integer"


async def test_json_follows_the_documented_schema(store: Store) -> None:
    seen: set[str] = set()
    first = await plan_for(store, request())
    await record_deployed(store, first.blueprint)
    z0 = next(i for i in first.blueprint.instances if (i.group, i.index) == ("zookeeper", 0))
    changed = await plan_for(
        store,
        attrs.evolve(
            request(zookeepers=2, port=2182, web_vm_type="large", web_disk_type="big", worker=True),
            ignored=frozenset({z0.uuid}),
        ),
    )
    for plan in (first, changed):
        data = plan_to_json(plan)
        assert json.loads(json.dumps(data)) == data
        assert data["format_version"] == 1
        check_against_docs(data, seen)
    objects, _ = documented_schema()
    assert seen == set(objects)  # the scenarios reach every documented object


async def test_json_holds_every_instance_and_remodel(store: Store) -> None:
    plan = await changed_plan(store)
    data = plan_to_json(plan)
    assert data["summary"] == {**attrs.asdict(plan.summary), "empty": False}
    assert [g["name"] for g in data["instance_groups"]] == ["zookeeper", "web", "worker"]
    instances = {
        f"{i['group']}/{i['index']}": i for g in data["instance_groups"] for i in g["instances"]
    }
    assert {k: v["change"] for k, v in instances.items()} == {
        "zookeeper/0": "update",
        "zookeeper/1": "update",
        "zookeeper/2": "delete",
        "web/0": "replace",
        "worker/0": "create",
    }
    gone = instances["zookeeper/2"]
    assert (gone["in_manifest"], gone["lifecycle"]) == (False, None)
    assert gone["ips"]["default"].startswith("10.0.1.")
    assert [r["code"] for r in instances["web/0"]["reasons"]] == [
        "cloud_properties_changed",
        "disk_resized",
        "disk_type_changed",
    ]
    assert {i["id"] for i in instances.values()} == {
        *(i.uuid for i in plan.blueprint.instances),
        gone["id"],
    }
    stage_of = plan.construction.stage_of()
    assert sorted(r["id"] for r in data["remodels"]) == sorted(r.id for r in plan.remodels)
    for remodel in data["remodels"]:
        assert remodel["stage"] == stage_of[remodel["id"]]
    assert data["edges"] == [list(e) for e in plan.construction.edges]
    by_id = {r["id"]: r for r in data["remodels"]}
    (migrate,) = [r for r in data["remodels"] if r["action"] == "migrate_disk"]
    assert migrate["source_disk"] is not None
    assert migrate["cid"] == "disk-web-0"
    assert all(
        by_id[rid]["instance"] == instances["web/0"]["id"] for rid in instances["web/0"]["remodels"]
    )
    assert data["stages"][0] == {
        "name": "zookeeper: update",
        "kind": "update",
        "instance_group": "zookeeper",
        "after": [],
        "max_in_flight": 2,
        "watch_time": [1000, 30000],
        "remodels": list(plan.construction.stages[0].remodels),
    }


# --- secrets ------------------------------------------------------------------------------------


async def test_secret_values_appear_in_no_rendering(store: Store) -> None:
    first = await deployed(store, request(password=SECRET))
    plan = await plan_for(store, request(password=OTHER_SECRET))
    assert SECRET in repr(first.blueprint)  # the secrets are in the plans' materials ...
    assert OTHER_SECRET in repr(plan.blueprint)
    assert OTHER_SECRET in repr(plan.remodels)
    codes = {code for r in plan.remodels for code in r.codes}
    assert {
        "properties_changed",
        "env_changed",
        "cloud_properties_changed",
        "disk_properties_changed",
        "networks_changed",
    } <= codes
    text = render_text(plan)
    assert "properties changed: zookeeper: admin.password" in text
    assert "env changed: bosh" in text
    for rendering in (
        text,
        render_text(plan, color=True),
        json.dumps(plan_to_json(plan)),
        render_dot(plan),
        render_text(first),
        json.dumps(plan_to_json(first)),
        render_dot(first),
    ):
        # ... and in none of their renderings
        assert SECRET not in rendering
        assert OTHER_SECRET not in rendering


async def test_a_plan_whose_every_remodel_is_skipped_changes_nothing(store: Store) -> None:
    first = await deployed(store, request())
    every = frozenset(i.uuid for i in first.blueprint.instances)
    plan = await plan_for(store, attrs.evolve(request(port=2182), ignored=every))
    text = render_text(plan)
    assert text.splitlines()[0] == "No changes. zookeeper (strategy serial): 9 remodels skipped."
    heads = instance_lines(text)
    assert sorted(heads) == ["zookeeper/0", "zookeeper/1", "zookeeper/2"]
    assert all(line.lstrip().startswith("= ") for line in heads.values())

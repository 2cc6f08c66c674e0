"""``jobsite plan`` on the command line: real SQLite store files, real YAML files, CliRunner.

Deployed states are recorded as a complete deploy leaves them (``settled_records`` of a
blueprint ``make_plan`` drew from the same inputs), and for ``--cpi mock`` the recorded VMs
are real VMs of the mock cloud, shared with the command line through the mock's state file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from click.testing import CliRunner, Result

from jobsite.cli import cli
from jobsite.config import (
    DeploymentConfigs,
    Document,
    Variables,
    interpolate,
    load_deployment,
    read_yaml,
)
from jobsite.foreman import Settled, settled_records
from jobsite.planning import Plan, PlanRequest, make_plan
from jobsite.plugins import load_plugins
from jobsite.store import open_store
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "pl4n-cli-S3cret-never-shown"
OLD_SECRET = "0ld-cli-S3cret-never-shown"

CLOUD = """\
azs: [{name: z1}]
vm_types:
- {name: small, cloud_properties: {instance_type: t3.small}}
disk_types:
- {name: fast, disk_size: 1024}
networks:
- name: default
  type: manual
  subnets: [{range: 10.0.1.0/24, gateway: 10.0.1.1, azs: [z1]}]
compilation: {workers: 1, az: z1, vm_type: small, network: default}
"""

MANIFEST = """\
name: app
releases: [{name: app, version: "1.0"}]
stemcells: [{alias: default, os: ubuntu-jammy, version: "1.5"}]
update:
  canaries: 1
  max_in_flight: 1
  canary_watch_time: 1000-30000
  update_watch_time: 1000-30000
instance_groups:
- name: web
  instances: 2
  azs: [z1]
  vm_type: small
  stemcell: default
  persistent_disk_type: fast
  networks: [{name: default}]
  jobs:
  - name: nginx
    release: app
    properties: {admin: {password: ((password))}}
- name: worker
  instances: 1
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: worker, release: app}]
"""
INSTANCES = 3  # web/0, web/1, worker/0

RUNTIME = """\
releases: [{name: os-conf, version: "22.0"}]
addons:
- name: hardening
  jobs: [{name: login_banner, release: os-conf}]
"""

CREATE_ENV = """\
name: bosh
releases: [{name: bosh, version: "1.0"}]
resource_pools:
- name: vms
  network: default
  stemcell: {url: "https://example.com/stemcell.tgz", sha1: abc}
  cloud_properties: {instance_type: m5.large}
networks:
- name: default
  type: manual
  subnets: [{range: 10.0.0.0/24, gateway: 10.0.0.1}]
instance_groups:
- name: bosh
  instances: 1
  resource_pool: vms
  networks: [{name: default, static_ips: [10.0.0.6]}]
  jobs: [{name: director, release: bosh}]
cloud_provider:
  template: {name: cpi, release: bosh}
  mbus: "https://mbus:p@10.0.0.6:6868"
"""


class Site:
    """A working directory with a store file, YAML files, and the command line run in it."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.db = tmp_path / "jobsite.db"
        self.url = f"sqlite://{self.db}"  # sqlite:///abs/path.db
        self.runner = CliRunner()
        self.env: dict[str, str | None] = {
            "JOBSITE_HOME": str(tmp_path / "home"),
            "JOBSITE_STORE": None,
            "JOBSITE_DEBUG": None,
        }

    def write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text)
        return path

    def jobsite(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(
            cli, ["--store", self.url, *args], env=self.env, catch_exceptions=False
        )
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert "Traceback" not in result.output
        return result

    def plan(self, *args: str, code: int = 0, manifest: str = "manifest.yml") -> Result:
        return self.jobsite("plan", manifest, "-v", f"password={SECRET}", *args, code=code)

    def plan_json(self, *args: str, code: int = 0) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.plan("--format", "json", *args, code=code).stdout)
        return data

    def configs(self, *, password: str = SECRET) -> DeploymentConfigs:
        """MANIFEST and the cloud config, read the way ``jobsite plan`` reads its files."""
        variables = Variables({"password": password})
        manifest = self.dir / "manifest.yml"
        cloud = self.dir / "cloud.yml"
        return load_deployment(
            Document(manifest.name, interpolate(read_yaml(manifest), variables=variables)),
            [Document(cloud.name, read_yaml(cloud))],
        )

    def deploy(self, *, password: str = SECRET, state_file: Path | None = None) -> Settled:
        """Record MANIFEST (with ``password``) as completely deployed, into the store file.

        With ``state_file`` every VM is first created in the mock cloud that file holds, and
        the records name their real cids.
        """
        configs = self.configs(password=password)

        async def main() -> Settled:
            async with open_store(self.url) as store:
                plan = await make_plan(
                    PlanRequest(configs=configs), store=store, cpi=None, plugins=load_plugins()
                )
                settled = settled_records(plan.blueprint)
                if state_file is not None:
                    cids = await _create_vms(state_file, settled)
                    settled = settled_records(
                        plan.blueprint,
                        cid=lambda kind, ident: cids[ident] if kind == "vm" else f"disk-{ident}",
                    )
                async with store.transaction() as batch:
                    batch.put_deployment(settled.deployment)
                    for instance in settled.instances:
                        batch.put_instance(instance)
                    for vm in settled.vms:
                        batch.put_vm(vm)
                    for disk in settled.disks:
                        batch.put_disk(disk)
                    for address in settled.addresses:
                        batch.put_ip_reservation(address)
                return settled

        return anyio.run(main)


def _plain(value: Any) -> Any:
    """A store record's frozen JSON value as plain dicts and lists (what a CPI takes)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


async def _create_vms(state_file: Path, settled: Settled) -> dict[str, str]:
    """Create each settled VM in the mock cloud of ``state_file``: VM id → its real cid."""
    cpi = MockCpi(state_file=state_file)
    stemcell = await cpi.create_stemcell("", {})
    cids = {}
    for vm in settled.vms:
        created = await cpi.create_vm(
            vm.agent_id,
            stemcell,
            _plain(vm.cloud_properties),
            _plain(vm.networks),
            [],
            _plain(vm.env),
        )
        cids[vm.id] = created.vm_cid
    return cids


def _instances(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for group in plan["instance_groups"] for i in group["instances"]]


def _codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in reasons]


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Error:")]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.chdir(tmp_path)
    site = Site(tmp_path)
    site.write("cloud.yml", CLOUD)
    site.write("manifest.yml", MANIFEST)
    return site


# --- configs from the store --------------------------------------------------------------------


def test_the_stored_cloud_config_is_used_without_cloud_config(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    plan = site.plan_json()
    assert plan["summary"]["vms_created"] == INSTANCES
    ips = sorted(i["ips"]["default"] for i in _instances(plan))
    assert ips == ["10.0.1.2", "10.0.1.3", "10.0.1.4"]

    # the newest version is the one read
    site.write("cloud.yml", CLOUD.replace("10.0.1.", "10.0.2."))
    site.jobsite("update-cloud-config", "cloud.yml")
    ips = sorted(i["ips"]["default"] for i in _instances(site.plan_json()))
    assert ips == ["10.0.2.2", "10.0.2.3", "10.0.2.4"]


def test_stored_runtime_configs_are_applied_and_files_replace_them(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    site.deploy()
    assert site.plan("--detailed-exitcode").stdout.startswith("No changes.")

    site.write("runtime.yml", RUNTIME)
    site.jobsite("update-runtime-config", "runtime.yml")
    plan = site.plan_json()
    instances = _instances(plan)
    assert len(instances) == INSTANCES
    for instance in instances:
        assert instance["change"] == "update"
        (jobs,) = [r for r in instance["reasons"] if r["code"] == "jobs_changed"]
        assert jobs["details"] == {"added": ["login_banner"], "removed": []}
    applies = [r for r in plan["remodels"] if r["action"] == "apply"]
    assert sorted(r["instance"] for r in applies) == sorted(i["id"] for i in instances)

    # --runtime-config replaces the store's runtime configs: without the addon, no change
    site.write("no-addons.yml", "releases: []\naddons: []\n")
    result = site.plan("--runtime-config", "no-addons.yml", "--detailed-exitcode")
    assert result.stdout.startswith("No changes.")


# --- one-line errors ---------------------------------------------------------------------------


def test_without_any_cloud_config_it_says_how_to_give_one(site: Site) -> None:
    result = site.plan(code=1)
    assert result.stdout == ""
    assert result.stderr == (
        "Error: no cloud config: upload one with `jobsite update-cloud-config FILE` or pass "
        "--cloud-config FILE\n"
    )


def test_a_deployment_name_that_is_not_the_manifests_is_refused(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    result = site.plan("-d", "other", code=1)
    assert result.stdout == ""
    assert result.stderr == (
        "Error: manifest.yml: name: -d 'other' does not match the manifest's name 'app'\n"
    )
    assert site.plan("-d", "app").exit_code == 0


@pytest.mark.parametrize("stored_cloud_config", [True, False], ids=["cloud-config", "none"])
def test_a_create_env_manifest_is_refused(site: Site, stored_cloud_config: bool) -> None:
    if stored_cloud_config:
        site.jobsite("update-cloud-config", "cloud.yml")
    site.write("bosh.yml", CREATE_ENV)
    result = site.jobsite("plan", "bosh.yml", code=1)
    assert result.stdout == ""
    (line,) = _errors(result.stderr)
    assert line == (
        "Error: bosh.yml: is a create-env manifest (a single director VM for `bosh "
        "create-env`), not a deployment; jobsite plans deployments"
    )


def test_a_bad_manifest_is_one_located_line(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    site.write("bad.yml", MANIFEST.replace("vm_type: small", "vm_type: large", 1))
    result = site.plan(manifest="bad.yml", code=1)
    assert result.stdout == ""
    assert result.stderr == (
        "Error: bad.yml: instance_groups[0].vm_type: 'large' is not defined in the cloud "
        "config (known: small)\n"
    )


# --- exit codes --------------------------------------------------------------------------------


def test_detailed_exitcode_is_2_with_changes_and_0_without(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    first = site.plan("--detailed-exitcode", code=2)
    assert first.stdout.startswith("Plan for app (strategy serial): 3 VMs to create")
    site.plan()  # without the flag, changes are no failure

    site.deploy()
    again = site.plan("--detailed-exitcode", "--no-color")
    assert again.stdout.splitlines()[0] == (
        "No changes. app (strategy serial) matches its manifest."
    )

    site.write("manifest.yml", MANIFEST.replace("instances: 2", "instances: 3"))
    scaled = site.plan("--detailed-exitcode", code=2)
    assert "1 VM to create" in scaled.stdout.splitlines()[0]


# --- the cloud, through the mock CPI's state file ----------------------------------------------


def test_a_vm_gone_from_the_cloud_fails_the_plan_until_fix(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    state_file = site.dir / "cloud.json"
    settled = site.deploy(state_file=state_file)
    cpi = ("--cpi", "mock", "--cpi-option", f"state_file={state_file}")

    # every recorded VM is there: the cloud was checked and nothing changes
    checked = site.plan_json(*cpi, "--detailed-exitcode")
    assert checked["cloud_checked"] is True
    assert checked["problems"] == []
    assert checked["summary"]["empty"] is True

    web0 = next(i for i in settled.instances if (i.group, i.index) == ("web", 0))
    gone = next(vm for vm in settled.vms if vm.instance_uuid == web0.uuid)
    assert gone.cid is not None
    assert gone.cid.startswith("vm-")  # a cid of the mock cloud, not the default vm-<id>
    assert gone.cid != f"vm-{gone.id}"

    async def delete_behind_the_stores_back() -> None:
        await MockCpi(state_file=state_file).delete_vm(gone.cid or "")

    anyio.run(delete_behind_the_stores_back)

    text = site.plan(*cpi, "--no-color", code=1)
    (line,) = _errors(text.stdout)
    assert gone.cid in line
    assert "--fix" in line
    assert f"web/{web0.uuid}" in line

    as_json = site.plan("--format", "json", *cpi, code=1)
    (line,) = _errors(as_json.stderr)
    assert gone.cid in line
    assert "--fix" in line
    assert json.loads(as_json.stdout)["problems"] == [line.removeprefix("Error: ")]

    fixed = site.plan_json(*cpi, "--fix")
    assert fixed["problems"] == []
    create_vms = [r for r in fixed["remodels"] if r["action"] == "create_vm"]
    assert [r["instance"] for r in create_vms] == [web0.uuid]
    assert "vm_missing" in _codes(create_vms[0]["reasons"])
    (vm_missing,) = [r for r in create_vms[0]["reasons"] if r["code"] == "vm_missing"]
    assert vm_missing["details"] == {"cid": gone.cid}
    deletes = [r for r in fixed["remodels"] if r["action"] == "delete_vm"]
    assert [r["cid"] for r in deletes] == [gone.cid]


# --- formats and secrets -----------------------------------------------------------------------


def test_every_format_renders_and_no_secret_appears(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    for deployed in (False, True):
        if deployed:  # then the secret changes: a reason names the property, not its values
            site.deploy(password=OLD_SECRET)
        outputs = []

        plan_json = site.plan("--format", "json")
        data = json.loads(plan_json.stdout)
        assert data["format_version"] == 1
        assert data["deployment"] == "app"
        outputs.append(plan_json.output)

        dot = site.plan("--format", "dot")
        assert dot.stdout.startswith("digraph")
        assert dot.stdout.rstrip().endswith("}")
        outputs.append(dot.output)

        plain = site.plan("--no-color")
        assert "\x1b" not in plain.stdout
        outputs.append(plain.output)

        colored = site.plan("--color")
        assert "\x1b[" in colored.stdout  # so --no-color is what keeps them out
        outputs.append(colored.output)

        for output in outputs:
            assert SECRET not in output
            assert OLD_SECRET not in output
        if deployed:
            reasons = [r for i in _instances(data) for r in i["reasons"]]
            changed = [r for r in reasons if r["code"] == "properties_changed"]
            assert [r["details"]["paths"] for r in changed] == [["nginx: admin.password"]] * 2
            assert "properties changed: nginx: admin.password" in plain.stdout


# --- flags -------------------------------------------------------------------------------------


def test_recreate_replaces_every_vm(site: Site) -> None:
    site.jobsite("update-cloud-config", "cloud.yml")
    site.deploy()
    plan = site.plan_json("--recreate")
    instances = _instances(plan)
    assert len(instances) == INSTANCES
    assert {i["change"] for i in instances} == {"replace"}
    create_vms = [r for r in plan["remodels"] if r["action"] == "create_vm"]
    assert sorted(r["instance"] for r in create_vms) == sorted(i["id"] for i in instances)
    for remodel in create_vms:
        assert _codes(remodel["reasons"]) == ["recreate"]
    assert plan["summary"]["vms_deleted"] == INSTANCES


def test_skip_drain_stops_without_drain(site: Site) -> None:
    """The drain option of ``stop`` is not part of the JSON (remodel options never are), so
    the command line is checked through ``limitations.skip_drain`` and the option itself
    through the library, with the same request the command line makes."""
    site.jobsite("update-cloud-config", "cloud.yml")
    site.deploy()
    assert site.plan_json("--recreate")["limitations"]["skip_drain"] is False
    plan = site.plan_json("--recreate", "--skip-drain")
    assert plan["limitations"]["skip_drain"] is True
    assert len([r for r in plan["remodels"] if r["action"] == "stop"]) == INSTANCES

    configs = site.configs()

    async def stops(skip_drain: bool) -> list[Any]:
        async with open_store(site.url) as store:
            made: Plan = await make_plan(
                PlanRequest(configs=configs, recreate=True, skip_drain=skip_drain),
                store=store,
                cpi=None,
                plugins=load_plugins(),
            )
        return [r.options.get("drain") for r in made.remodels if r.action == "stop"]

    assert anyio.run(stops, True) == [False] * INSTANCES
    assert anyio.run(stops, False) == [True] * INSTANCES

"""``jobsite instances`` and ``jobsite vms``: deployments made with ``jobsite deploy`` on the mock
cloud (a state file shared with the test), read back from a real SQLite store file."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from click.testing import CliRunner, Result

from jobsite.cli import cli
from jobsite.cli._instances import table
from jobsite.store import Batch, StemcellRecord, open_store
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from pathlib import Path

CLOUD = """\
azs: [{name: z1}, {name: z2}]
vm_types: [{name: small}]
disk_types: [{name: fast, disk_size: 1024}]
networks:
- name: default
  type: manual
  subnets:
  - {range: 10.0.1.0/24, gateway: 10.0.1.1, azs: [z1]}
  - {range: 10.0.2.0/24, gateway: 10.0.2.1, azs: [z2]}
compilation: {workers: 1, az: z1, vm_type: small, network: default}
"""

MANIFEST = """\
name: {name}
releases: [{{name: app, version: "1.0"}}]
stemcells: [{{alias: default, os: ubuntu-jammy, version: "1.5"}}]
update: {{canaries: 1, max_in_flight: 2, canary_watch_time: 0-100, update_watch_time: 0-100}}
instance_groups:
- name: web
  instances: 2
  azs: [z1, z2]
  vm_type: small
  stemcell: default
  persistent_disk_type: fast
  networks: [{{name: default}}]
  jobs: [{{name: nginx, release: app}}]
- name: worker
  instances: 1
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{{name: default}}]
  jobs: [{{name: worker, release: app}}]
"""

INSTANCE_KEYS = {
    "deployment",
    "instance",
    "group",
    "index",
    "uuid",
    "az",
    "state",
    "process_state",
    "bootstrap",
    "ignore",
    "ips",
    "vm_cid",
    "agent_id",
    "disk_cids",
}
VM_KEYS = {
    "deployment",
    "instance",
    "uuid",
    "az",
    "state",
    "active",
    "ips",
    "vm_cid",
    "agent_id",
    "stemcell",
    "disk_cids",
}


class Site:
    """A store file and a mock cloud with a stemcell and a cloud config, and the CLI."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.url = f"sqlite://{tmp_path / 'j.db'}"
        self.state_file = tmp_path / "cloud.json"
        self.runner = CliRunner()
        self.env: dict[str, str | None] = {
            "JOBSITE_HOME": str(tmp_path / "home"),
            "JOBSITE_STORE": None,
            "JOBSITE_DEBUG": None,
            "JOBSITE_CPI": None,
        }
        (tmp_path / "cloud.yml").write_text(CLOUD)
        anyio.run(self._upload_stemcell)
        self.jobsite("update-cloud-config", str(tmp_path / "cloud.yml"))

    async def _upload_stemcell(self) -> None:
        cid = await MockCpi(state_file=self.state_file).create_stemcell("", {})
        async with open_store(self.url) as store:
            await store.apply(
                Batch().put_stemcell(
                    StemcellRecord(name="ubuntu-jammy", os="ubuntu-jammy", version="1.5", cid=cid)
                )
            )

    @property
    def cloud(self) -> tuple[str, ...]:
        return ("--cpi", "mock", "--cpi-option", f"state_file={self.state_file}")

    def jobsite(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(
            cli, ["--store", self.url, *args], env=self.env, catch_exceptions=False
        )
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert "Traceback" not in result.output
        return result

    def deploy(self, name: str = "shop") -> None:
        path = self.dir / f"{name}.yml"
        path.write_text(MANIFEST.format(name=name))
        self.jobsite("deploy", str(path), "-n", *self.cloud)

    def rows(self, *args: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.jobsite(*args, "--json").stdout)
        return rows


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_without_deployments_both_say_so(site: Site) -> None:
    assert site.jobsite("instances").stdout == "No deployments.\n"
    assert site.jobsite("vms").stdout == "No deployments.\n"
    assert site.rows("instances") == []


def test_instances_show_az_state_ips_vm_and_disks(site: Site) -> None:
    site.deploy()
    rows = site.rows("instances", "-d", "shop")
    assert [set(r) for r in rows] == [INSTANCE_KEYS] * 3
    by_name = {f"{r['group']}/{r['index']}": r for r in rows}
    assert sorted(by_name) == ["web/0", "web/1", "worker/0"]
    web0, web1 = by_name["web/0"], by_name["web/1"]
    assert web0["instance"] == f"web/0 ({web0['uuid']})"
    assert {web0["az"], web1["az"]} == {"z1", "z2"}
    assert web0["state"] == "started"
    assert web0["process_state"] is None
    assert len(web0["ips"]) == 1
    assert web0["ips"][0].startswith("10.0.")
    assert web0["vm_cid"].startswith("vm-")
    assert len(web0["disk_cids"]) == 1
    assert by_name["worker/0"]["disk_cids"] == []

    text = site.jobsite("instances", "-d", "shop").stdout
    lines = text.splitlines()
    assert lines[0].split() == ["Instance", "AZ", "State", "IPs", "VM", "CID", "Disk", "CIDs"]
    for row in rows:
        line = next(line for line in lines if line.startswith(row["instance"]))
        assert row["vm_cid"] in line
        assert row["ips"][0] in line
        assert row["az"] in line
    assert lines[-1] == "3 instances"


def test_ps_asks_every_agent_and_names_the_ones_that_do_not_answer(site: Site) -> None:
    site.deploy()
    rows = site.rows("instances", "--ps", *site.cloud, "--agent-option", "unresponsive=[worker]")
    states = {r["group"]: r["process_state"] for r in rows}
    assert states["worker"] == "unresponsive"
    assert states["web"] not in (None, "unresponsive")
    text = site.jobsite(
        "instances", "--ps", *site.cloud, "--agent-option", "unresponsive=[worker]"
    ).stdout
    assert "Process state" in text.splitlines()[0]
    assert "unresponsive" in next(line for line in text.splitlines() if "worker/0" in line)


def test_without_d_every_deployment_is_listed_under_its_name(site: Site) -> None:
    site.deploy("shop")
    site.deploy("blog")
    text = site.jobsite("instances").stdout
    assert "Deployment 'blog'" in text
    assert "Deployment 'shop'" in text
    assert {r["deployment"] for r in site.rows("instances")} == {"shop", "blog"}
    assert {r["deployment"] for r in site.rows("instances", "-d", "blog")} == {"blog"}
    assert {r["deployment"] for r in site.rows("vms")} == {"shop", "blog"}


def test_vms_list_every_recorded_vm_with_its_instance(site: Site) -> None:
    site.deploy()
    instances = {r["uuid"]: r for r in site.rows("instances", "-d", "shop")}
    vms = site.rows("vms", "-d", "shop")
    assert [set(v) for v in vms] == [VM_KEYS] * 3
    for vm in vms:
        instance = instances[vm["uuid"]]
        assert vm["instance"] == instance["instance"]
        assert vm["vm_cid"] == instance["vm_cid"]
        assert vm["disk_cids"] == instance["disk_cids"]
        assert vm["state"] == "created"
        assert vm["active"] is True
        assert vm["stemcell"] == "ubuntu-jammy/1.5"
    text = site.jobsite("vms", "-d", "shop").stdout
    assert text.splitlines()[-1] == "3 VMs"


def test_a_hard_stopped_instance_has_no_vm(site: Site) -> None:
    site.deploy()
    site.jobsite("stop", "-d", "shop", "worker", "--hard", "-n", *site.cloud)
    worker = next(r for r in site.rows("instances", "-d", "shop") if r["group"] == "worker")
    assert worker["vm_cid"] is None
    assert worker["ips"] == []
    assert len(site.rows("vms", "-d", "shop")) == 2
    line = next(x for x in site.jobsite("instances").stdout.splitlines() if "worker/0" in x)
    assert line.split()[-2:] == ["-", "-"]


def test_an_unknown_deployment_is_an_error(site: Site) -> None:
    for command in ("instances", "vms"):
        result = site.jobsite(command, "-d", "nope", code=1)
        assert result.stderr == "Error: deployment 'nope' does not exist\n"


def test_table_aligns_columns() -> None:
    text = table(["a", "long header"], [["wide value", "x"], ["b", "y"]])
    assert text == "a           long header\nwide value  x\nb           y\n"

"""``jobsite deploy``, ``delete-deployment``, ``stop``/``start``/``restart``/``recreate`` on the
command line: a real SQLite store file, the mock cloud kept in a state file the test shares
with the command line, CliRunner (and one real subprocess for Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from click.testing import CliRunner, Result

import jobsite.cli._deploy as deploy_cli
from jobsite.cli import cli
from jobsite.cli._deploy import apply_update_overrides, resolve_instances
from jobsite.config import Document, MaxInFlight, load_deployment, parse_yaml
from jobsite.store import Batch, InstanceRecord, StemcellRecord, open_store
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from pathlib import Path

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
  canary_watch_time: 0-100
  update_watch_time: 0-100
instance_groups:
- name: web
  instances: 2
  azs: [z1]
  vm_type: small
  stemcell: default
  persistent_disk_type: fast
  networks: [{name: default}]
  jobs: [{name: nginx, release: app, properties: {port: ((port))}}]
- name: worker
  instances: 1
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: worker, release: app}]
"""


class Site:
    """A directory with a store file, a mock cloud state file with a stemcell uploaded, a
    cloud config in the store, and the command line run against them."""

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
        (tmp_path / "manifest.yml").write_text(MANIFEST)
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

    def jobsite(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        result = self.runner.invoke(
            cli, ["--store", self.url, *args], env=self.env, input=input, catch_exceptions=False
        )
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert "Traceback" not in result.output
        return result

    def deploy(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        return self.jobsite(
            "deploy",
            str(self.dir / "manifest.yml"),
            "-v",
            "port=80",
            *self.cloud,
            *args,
            code=code,
            input=input,
        )

    def change(self, command: str, *args: str, code: int = 0) -> Result:
        return self.jobsite(command, "-d", "app", *args, "-n", *self.cloud, code=code)

    def instances(self) -> dict[str, dict[str, Any]]:
        """``jobsite instances --json`` by ``group/index``."""
        rows = json.loads(self.jobsite("instances", "-d", "app", "--json").stdout)
        return {f"{r['group']}/{r['index']}": r for r in rows}

    def cloud_vms(self) -> set[str]:
        """The cids of the VMs the mock cloud holds (as a new process finds them)."""
        return set(MockCpi(state_file=self.state_file).snapshot().vms)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def _failures(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " failed: " in line]


# --- deploy ------------------------------------------------------------------------------------


def test_a_deploy_creates_every_instance_and_instances_and_vms_show_them(site: Site) -> None:
    result = site.deploy("-n")
    assert "Plan for app" in result.stdout
    assert "Deployed app: 13 steps in" in result.stdout
    assert "  web/0 (" in result.stdout
    assert "): create_vm (00:00:00)" in result.stdout
    instances = site.instances()
    assert sorted(instances) == ["web/0", "web/1", "worker/0"]
    assert {r["state"] for r in instances.values()} == {"started"}
    assert {r["vm_cid"] for r in instances.values()} == site.cloud_vms()
    assert len(instances["web/0"]["disk_cids"]) == 1
    assert instances["worker/0"]["disk_cids"] == []
    text = site.jobsite("vms", "-d", "app").stdout
    for row in instances.values():
        assert row["instance"] in text
        assert row["vm_cid"] in text
    assert site.jobsite("manifest", "-d", "app").stdout.count("port: 80") == 1


def test_a_redeploy_without_changes_changes_nothing(site: Site) -> None:
    site.deploy("-n")
    before = site.instances()
    result = site.deploy()  # nothing to confirm: no question is asked
    assert "No changes" in result.stdout
    assert "Deployed app: 0 steps in" in result.stdout
    assert site.instances() == before


def test_dry_run_shows_the_plan_and_changes_nothing(site: Site) -> None:
    result = site.deploy("--dry-run")
    assert "3 VMs to create" in result.stdout
    assert "Task" not in result.stdout
    assert site.cloud_vms() == set()
    assert site.jobsite("deployments").stdout.strip().startswith("No deployments")


def test_json_prints_one_event_per_line_and_ends_with_deploy_finished(site: Site) -> None:
    result = site.deploy("-n", "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["kind"] == "deploy_started"
    assert events[-1]["kind"] == "deploy_finished"
    assert events[-1]["state"] == "done"
    assert events[-1]["done"] == 13
    assert sum(e["kind"] == "remodel_finished" for e in events) == 13


def test_without_n_off_a_terminal_it_refuses_and_changes_nothing(site: Site) -> None:
    result = site.deploy(code=1)
    assert "Error: standard input is not a terminal" in result.stderr
    assert "-n" in result.stderr
    assert site.cloud_vms() == set()


def test_on_a_terminal_it_asks_and_deploys_only_on_yes(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy_cli, "_stdin_is_terminal", lambda: True)
    no = site.deploy(input="n\n", code=1)
    assert "Continue? [yN]" in no.stdout
    assert site.cloud_vms() == set()
    yes = site.deploy(input="y\n")
    assert "Deployed app" in yes.stdout
    assert len(site.cloud_vms()) == 3


def test_a_failing_deploy_exits_1_naming_the_instance(site: Site) -> None:
    result = site.deploy("-n", "--agent-option", "failing_jobs=[web]", code=1)
    failures = _failures(result.stderr)
    assert failures, result.stderr
    assert failures[0].startswith("web/0 (")
    assert ": start failed: " in failures[0]
    assert "Deploy of app failed: 1 failed" in result.stdout


def test_a_deploy_the_assembler_refuses_is_one_error_line_and_changes_nothing(
    site: Site,
) -> None:
    (site.dir / "manifest.yml").write_text(MANIFEST.replace('version: "1.5"', 'version: "9.9"'))
    result = site.deploy("-n", code=1)
    assert result.stderr.strip() == (
        "Error: stemcell ubuntu-jammy/9.9 is not uploaded; upload it first "
        "(jobsite upload-stemcell)"
    )
    assert site.cloud_vms() == set()


def test_a_deployment_name_that_is_not_the_manifests_is_refused(site: Site) -> None:
    result = site.deploy("-n", "-d", "other", code=1)
    assert "-d 'other' does not match the manifest's name 'app'" in result.stderr


def test_canaries_and_max_in_flight_override_the_manifest(site: Site) -> None:
    result = site.deploy("--dry-run", "--canaries", "0", "--max-in-flight", "100%")
    assert "canaries" not in result.stdout
    assert "web: update" in result.stdout
    assert "(update; max_in_flight 2; 10 remodels)" in result.stdout
    bad = site.deploy("--dry-run", "--max-in-flight", "0", code=2)
    assert "--max-in-flight" in bad.stderr


def test_recreate_gives_every_instance_a_new_vm(site: Site) -> None:
    site.deploy("-n")
    before = {k: v["vm_cid"] for k, v in site.instances().items()}
    site.deploy("-n", "--recreate")
    after = {k: v["vm_cid"] for k, v in site.instances().items()}
    assert set(after) == set(before)
    assert not set(after.values()) & set(before.values())
    assert site.cloud_vms() == set(after.values())


# --- stop, start, restart, recreate ------------------------------------------------------------


def test_stop_stops_the_jobs_and_keeps_the_vm(site: Site) -> None:
    site.deploy("-n")
    before = site.instances()
    result = site.change("stop", "web/0")
    assert "Stopped web/0 in app: 1 step in" in result.stdout
    after = site.instances()
    assert after["web/0"]["state"] == "stopped"
    assert after["web/0"]["vm_cid"] == before["web/0"]["vm_cid"]
    assert after["web/1"]["state"] == after["worker/0"]["state"] == "started"


def test_stop_hard_deletes_the_vm_and_keeps_the_disk(site: Site) -> None:
    site.deploy("-n")
    before = site.instances()
    site.change("stop", "web/1", "--hard")
    after = site.instances()
    assert after["web/1"]["vm_cid"] is None
    assert after["web/1"]["disk_cids"] == before["web/1"]["disk_cids"]
    assert before["web/1"]["vm_cid"] not in site.cloud_vms()


def test_stop_hard_is_recorded_so_a_deploy_leaves_the_instance_detached(site: Site) -> None:
    site.deploy("-n")
    site.change("stop", "web/1", "--hard")
    assert site.instances()["web/1"]["state"] == "detached"
    assert "No changes" in site.deploy("--dry-run").stdout


def test_start_brings_a_hard_stopped_instance_back_on_a_new_vm(site: Site) -> None:
    site.deploy("-n")
    site.change("stop", "web/1", "--hard")
    result = site.change("start", "web/1")
    assert "Started web/1 in app:" in result.stdout
    row = site.instances()["web/1"]
    assert row["state"] == "started"
    assert row["vm_cid"] in site.cloud_vms()


def test_start_starts_a_stopped_instance_again(site: Site) -> None:
    site.deploy("-n")
    site.change("stop", "web/0")
    site.change("start", "web/0")
    assert site.instances()["web/0"]["state"] == "started"


def test_restart_restarts_the_selected_group(site: Site) -> None:
    site.deploy("-n")
    result = site.change("restart", "worker")
    assert "Restarted worker in app" in result.stdout


def test_restart_plans_a_stop_and_a_start_for_the_selected_instances_only(site: Site) -> None:
    site.deploy("-n")
    result = site.jobsite("restart", "-d", "app", "worker/0", "--dry-run", *site.cloud)
    assert "1 instance to update" in result.stdout
    assert "actions: stop → start" in result.stdout
    assert "web/0" not in result.stdout


def test_recreate_gives_the_selected_instances_new_vms(site: Site) -> None:
    site.deploy("-n")
    before = site.instances()
    result = site.change("recreate", "web")
    assert "Recreated web in app:" in result.stdout
    after = site.instances()
    assert after["web/0"]["vm_cid"] != before["web/0"]["vm_cid"]
    assert after["web/1"]["vm_cid"] != before["web/1"]["vm_cid"]
    assert after["worker/0"]["vm_cid"] == before["worker/0"]["vm_cid"]
    assert after["web/0"]["disk_cids"] == before["web/0"]["disk_cids"]


def test_an_instance_can_be_chosen_by_uuid(site: Site) -> None:
    site.deploy("-n")
    uuid = site.instances()["web/1"]["uuid"]
    site.change("stop", f"web/{uuid}")
    assert site.instances()["web/1"]["state"] == "stopped"


def test_unknown_groups_instances_and_deployments_are_one_line_errors(site: Site) -> None:
    site.deploy("-n")
    group = site.change("stop", "db", code=1)
    assert group.stderr.strip() == (
        "Error: deployment 'app' has no instance group 'db' (known: web, worker)"
    )
    instance = site.change("stop", "web/7", code=1)
    assert "no instance 'web/7' (known: web/0, web/1;" in instance.stderr
    assert len(instance.stderr.strip().splitlines()) == 1
    missing = site.jobsite("stop", "-d", "nope", "-n", *site.cloud, code=1)
    assert missing.stderr.strip() == "Error: deployment 'nope' does not exist"


# --- delete-deployment -------------------------------------------------------------------------


def test_delete_deployment_leaves_no_vm_in_the_cloud(site: Site) -> None:
    site.deploy("-n")
    refused = site.jobsite("delete-deployment", "-d", "app", *site.cloud, code=1)
    assert "standard input is not a terminal" in refused.stderr
    assert len(site.cloud_vms()) == 3
    result = site.jobsite("delete-deployment", "-d", "app", "-n", *site.cloud)
    assert "Deleted app:" in result.stdout
    assert site.cloud_vms() == set()
    assert "No deployments" in site.jobsite("instances").stdout
    again = site.jobsite("delete-deployment", "-d", "app", "-n", *site.cloud, code=1)
    assert again.stderr.strip() == "Error: deployment 'app' does not exist"


# --- helpers as functions ----------------------------------------------------------------------


def test_update_overrides_reach_every_group() -> None:
    text = MANIFEST.replace("((port))", "80").replace(
        "  jobs: [{name: worker, release: app}]",
        "  jobs: [{name: worker, release: app}]\n  update: {canaries: 3, max_in_flight: 2}",
    )
    configs = load_deployment(
        Document("manifest.yml", parse_yaml(text, document="manifest.yml")),
        [Document("cloud.yml", parse_yaml(CLOUD, document="cloud.yml"))],
    )
    changed = apply_update_overrides(configs, canaries=0, max_in_flight=MaxInFlight(50, True))
    manifest = changed.manifest
    assert manifest.update is not None
    assert (manifest.update.canaries, str(manifest.update.max_in_flight)) == (0, "50%")
    worker = manifest.instance_group("worker")
    assert worker is not None
    assert worker.update is not None
    assert (worker.update.canaries, str(worker.update.max_in_flight)) == (0, "50%")
    assert apply_update_overrides(configs) is configs


def test_selectors_resolve_groups_indexes_and_uuids() -> None:
    instances = [
        InstanceRecord(uuid=f"u{n}", deployment="d", group=g, index=i)
        for n, (g, i) in enumerate([("web", 0), ("web", 1), ("db", 0)])
    ]
    assert [i.uuid for i in resolve_instances("d", instances, None)] == ["u0", "u1", "u2"]
    assert [i.uuid for i in resolve_instances("d", instances, "web")] == ["u0", "u1"]
    assert [i.uuid for i in resolve_instances("d", instances, "web/1")] == ["u1"]
    assert [i.uuid for i in resolve_instances("d", instances, "db/u2")] == ["u2"]


# --- Ctrl-C ------------------------------------------------------------------------------------


def test_ctrl_c_stops_gently_with_130_and_the_next_deploy_converges(site: Site) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSITE_")}
    env["JOBSITE_HOME"] = str(site.dir / "home")
    command = [
        sys.executable, "-m", "jobsite", "--store", site.url,
        "deploy", str(site.dir / "manifest.yml"), "-v", "port=80", "-n", "--json",
        *site.cloud, "--cpi-option", "latency=0.2",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the watcher is listening before the deploy starts
            lines.append(json.loads(line))
            if lines[-1]["kind"] == "remodel_finished":
                break
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "Stopping: no new work starts; waiting for" in stderr
    finished = json.loads(rest.splitlines()[-1])
    assert finished["kind"] == "deploy_finished"
    assert finished["state"] == "stopped"
    assert finished["not_started"] > 0
    site.deploy("-n")
    assert "No changes" in site.deploy("--dry-run").stdout

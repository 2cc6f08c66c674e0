"""The config and deployment commands: real ``jobsite`` processes on a store in a temporary
JOBSITE_HOME, and CliRunner for the many small cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import anyio
import pytest
from click.testing import CliRunner, Result

from jobsite.cli import cli
from jobsite.store import Batch, DeploymentRecord, open_store

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Invoke = Callable[..., Result]

CLOUD = """\
azs:
- name: z1
vm_types:
- name: default
  cloud_properties: {cpu: 2}
networks:
- name: default
  type: manual
  subnets:
  - range: 10.0.0.0/24
    gateway: 10.0.0.1
    az: z1
compilation:
  workers: 2
  network: default
  az: z1
  vm_type: default
"""

MANIFEST = """\
name: cf
releases:
- {name: nginx, version: "1.2"}
- {name: bpm, version: "1.1"}
stemcells:
- {alias: default, os: ubuntu-jammy, version: "1.1"}
instance_groups:
- {name: web, instances: 3}
- {name: db, instances: 1}
- {name: smoke-tests, instances: 1, lifecycle: errand}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def jobsite(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line with its state in ``tmp_path/home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSITE_")}
    env["JOBSITE_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [sys.executable, "-m", "jobsite", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=60,
    )


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the command line in process, in ``tmp_path``, with its state in ``tmp_path/home``."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {"JOBSITE_HOME": str(tmp_path / "home"), "JOBSITE_STORE": None}

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


# --- real processes --------------------------------------------------------------------------


def test_update_cloud_config_stores_versions_and_prints_what_changed(tmp_path: Path) -> None:
    cloud = write(tmp_path, "cloud.yml", CLOUD)
    first = jobsite(tmp_path, "update-cloud-config", str(cloud))
    assert first.returncode == 0, first.stderr
    assert "+ azs:" in first.stdout.splitlines()
    assert first.stdout.splitlines()[-1] == "cloud config 'default' updated (id 1)"
    assert (tmp_path / "home" / "jobsite.db").is_file()

    again = jobsite(tmp_path, "update-cloud-config", str(cloud))
    assert again.stdout == "cloud config 'default': no changes\n"

    cloud.write_text(CLOUD.replace("cpu: 2", "cpu: 4"))
    changed = jobsite(tmp_path, "update-cloud-config", str(cloud))
    assert changed.stdout.splitlines() == [
        "  vm_types:",
        "  - cloud_properties:",
        "-     cpu: 2",
        "+     cpu: 4",
        "    name: default",
        "cloud config 'default' updated (id 2)",
    ]
    shown = jobsite(tmp_path, "cloud-config")
    assert "    cpu: 4\n" in shown.stdout
    listed = jobsite(tmp_path, "configs")
    assert listed.stdout.splitlines()[0].split() == ["ID", "Type", "Name", "Created"]
    assert listed.stdout.splitlines()[1].split()[:3] == ["2", "cloud", "default"]


def test_an_invalid_cloud_config_is_refused_one_line_per_problem(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "bad.yml",
        """\
        azs:
        - name: z1
          cloud_properties: 3
        vm_types:
        - name: default
          cpu: 2
          cloud_properties: []
        """,
    )
    result = jobsite(tmp_path, "update-cloud-config", bad.name)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "Error: bad.yml: azs[0].cloud_properties: expected a map, got 3 (an integer)" in lines
    assert any(line.startswith("Error: bad.yml: vm_types[0].cloud_properties") for line in lines)
    assert "Traceback" not in result.stderr
    assert jobsite(tmp_path, "configs").stdout == "No configs.\n"


def test_a_store_that_cannot_be_reached_is_one_line_without_its_password(tmp_path: Path) -> None:
    result = jobsite(tmp_path, "--store", "postgresql://ops:hunter22@127.0.0.1:1/test", "configs")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: postgresql://ops:***@127.0.0.1:1/test: cannot connect: ")
    assert "hunter22" not in result.stderr + result.stdout


# --- in process ------------------------------------------------------------------------------


def test_named_cloud_configs_are_checked_merged(tmp_path: Path, invoke: Invoke) -> None:
    invoke("update-cloud-config", str(write(tmp_path, "cloud.yml", CLOUD)))
    clash = write(tmp_path, "clash.yml", "vm_types:\n- name: default\n")
    refused = invoke("update-cloud-config", "--name", "extra", clash.name, code=1)
    assert refused.stderr == (
        "Error: clash.yml: vm_types[0].name: vm_type 'default' is already defined in cloud "
        "config 'default'\n"
    )
    extra = write(tmp_path, "extra.yml", "vm_types:\n- name: large\n  cloud_properties: {cpu: 8}\n")
    assert (
        "cloud config 'extra' updated"
        in invoke("update-cloud-config", "--name", "extra", str(extra)).stdout
    )
    assert "name: large" in invoke("cloud-config", "--name", "extra").stdout
    rows = invoke("configs", "--type", "cloud").stdout.splitlines()[1:3]
    assert [r.split()[2] for r in rows] == ["default", "extra"]
    listed = json.loads(invoke("configs", "--type", "cloud", "--json").stdout)
    assert [(c["type"], c["name"]) for c in listed] == [("cloud", "default"), ("cloud", "extra")]


def test_runtime_configs_take_variables_and_ops_files(tmp_path: Path, invoke: Invoke) -> None:
    runtime = write(
        tmp_path,
        "runtime.yml",
        """\
        releases:
        - name: bosh-dns
          version: ((dns_version))
        addons: []
        """,
    )
    missing = invoke("update-runtime-config", str(runtime), "--var-errs", code=1)
    assert "dns_version" in missing.stderr
    ops = write(tmp_path, "ops.yml", "- type: replace\n  path: /releases/0/sha1?\n  value: abc\n")
    invoke("update-runtime-config", str(runtime), "-v", "dns_version=1.39.0", "-o", str(ops))
    shown = invoke("runtime-config").stdout
    assert "version: 1.39.0" in shown
    assert "sha1: abc" in shown
    assert invoke("runtime-config", "--name", "dns", code=1).stderr == (
        "Error: no runtime config named 'dns' (known: default)\n"
    )


def test_a_missing_config_says_how_to_upload_one(invoke: Invoke) -> None:
    result = invoke("cloud-config", code=1)
    assert result.stderr == (
        "Error: no cloud config has been uploaded (use jobsite update-cloud-config FILE)\n"
    )


def test_deployments_and_their_manifests(tmp_path: Path, invoke: Invoke) -> None:
    assert invoke("deployments").stdout == "No deployments.\n"
    assert invoke("manifest", "-d", "cf", code=1).stderr == (
        "Error: no deployment named 'cf' (there are no deployments)\n"
    )

    async def deploy() -> None:
        async with open_store(f"sqlite://{tmp_path / 'home' / 'jobsite.db'}") as store:
            batch = Batch().put_deployment(DeploymentRecord(name="cf", manifest=MANIFEST))
            await store.apply(
                batch.put_deployment(DeploymentRecord(name="z", manifest="name: z\n"))
            )

    anyio.run(deploy)
    lines = invoke("deployments").stdout.splitlines()
    assert lines[0].split() == ["Name", "Release(s)", "Stemcell(s)", "Instances"]
    assert lines[1].split() == ["cf", "bpm/1.1,", "nginx/1.2", "ubuntu-jammy/1.1", "4"]
    assert lines[2].split() == ["z", "-", "-", "0"]
    assert lines[-1] == "2 deployments"
    listed = json.loads(invoke("deployments", "--json").stdout)
    assert [(d["name"], d["releases"], d["stemcells"], d["instances"]) for d in listed] == [
        ("cf", ["bpm/1.1", "nginx/1.2"], ["ubuntu-jammy/1.1"], 4),
        ("z", [], [], 0),
    ]
    assert invoke("manifest", "-d", "cf").stdout == MANIFEST
    assert invoke("manifest", "-d", "nope", code=1).stderr == (
        "Error: no deployment named 'nope' (known: cf, z)\n"
    )


def test_the_store_option_and_environment_variable_choose_the_store(
    tmp_path: Path, invoke: Invoke
) -> None:
    cloud = str(write(tmp_path, "cloud.yml", CLOUD))
    elsewhere = f"sqlite://{tmp_path / 'elsewhere.db'}"
    invoke("--store", elsewhere, "update-cloud-config", cloud)
    assert (tmp_path / "elsewhere.db").is_file()
    assert not (tmp_path / "home" / "jobsite.db").exists()
    result = CliRunner().invoke(cli, ["configs"], env={"JOBSITE_STORE": elsewhere})
    assert result.stdout.splitlines()[1].split()[:3] == ["1", "cloud", "default"]
    bad = invoke("--store", "./x.db", "configs", code=1)
    assert bad.stderr.startswith("Error: ./x.db: not a store URL (use sqlite:///abs/path.db")

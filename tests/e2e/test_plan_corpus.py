"""``jobsite plan`` on every deployment manifest of the BOSH corpus, end to end.

Each manifest is planned through the real command line (real SQLite store file, the
installed ``serial`` strategy plugin, every output format) against a cloud config it fits;
the counts the plan reports are computed here from the raw YAML and the variables given.
Then the plan's blueprint is recorded as deployed and planned again: nothing to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
import yaml
from click.testing import CliRunner

from jobsite.cli import cli
from jobsite.config import Document, interpolate, load_deployment, read_ops_file, read_yaml
from jobsite.config import variables_from_cli as cli_variables
from jobsite.foreman import settled_records
from jobsite.planning import PlanRequest, make_plan
from jobsite.plugins import load_plugins
from jobsite.store import open_store

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(
        not CORPUS.is_dir(), reason=f"the BOSH corpus is not beside the repository ({CORPUS})"
    ),
]
BOSH = CORPUS / "bosh-deployment"
CONCOURSE = CORPUS / "concourse-bosh-deployment"
SECRET = "pl4n-s3cret-never-printed"


@attrs.frozen
class Case:
    id: str
    manifest: Path
    cloud: Path
    runtime: tuple[Path, ...] = ()
    ops: tuple[Path, ...] = ()
    vars_files: tuple[Path, ...] = ()
    variables: dict[str, Any] = attrs.field(factory=dict)


def _keypair() -> dict[str, str]:
    return {"private_key": SECRET + "-private", "public_key": "ssh-rsa AAAA" + SECRET}


CONCOURSE_VARS: dict[str, Any] = {
    "deployment_name": "concourse",
    "network_name": "concourse",
    "web_vm_type": "concourse",
    "db_vm_type": "concourse",
    "worker_vm_type": "concourse",
    "db_persistent_disk_type": "db",
    "external_url": "https://ci.example.com",
    "web_instances": 1,
    "worker_instances": 3,
    "web_ip": "10.244.15.2",
    "azs": ["z1"],
    "local_user": {"username": "admin", "password": SECRET},
}

CASES = [
    Case(
        "zookeeper-on-warden",
        CORPUS / "zookeeper-release/manifests/zookeeper.yml",
        BOSH / "warden/cloud-config.yml",
        runtime=(BOSH / "runtime-configs/dns.yml",),
    ),
    Case(
        "concourse-cluster-on-vbox",
        CONCOURSE / "cluster/concourse.yml",
        CONCOURSE / "cluster/cloud_configs/vbox.yml",
        ops=tuple(
            CONCOURSE / "cluster/operations" / name
            for name in ("scale.yml", "static-web.yml", "basic-auth.yml", "privileged-http.yml")
        ),
        vars_files=(CONCOURSE / "versions.yml",),
        variables=CONCOURSE_VARS,
    ),
    Case(
        "concourse-external-worker-on-vbox",
        CONCOURSE / "cluster/external-worker.yml",
        CONCOURSE / "cluster/cloud_configs/vbox.yml",
        vars_files=(CONCOURSE / "versions.yml",),
        variables={
            "deployment_name": "workers",
            "concourse_sha1": "0" * 40,
            "instances": 2,
            "azs": ["z1"],
            "worker_vm_type": "concourse",
            "external_worker_network_name": "concourse",
            "worker_tags": ["gpu"],
            "tsa_host": "10.0.0.5",
            "tsa_host_key": _keypair(),
            "worker_key": _keypair(),
        },
    ),
    Case(
        "concourse-external-windows-worker-on-vbox",
        CONCOURSE / "cluster/external-windows-worker.yml",
        CONCOURSE / "cluster/cloud_configs/vbox.yml",
        vars_files=(CONCOURSE / "versions.yml",),
        variables={
            "deployment_name": "windows-workers",
            "concourse_sha1": "0" * 40,
            "windows_utilities_version": "0.18.0",
            "windows_utilities_sha1": "1" * 40,
            "instances": 4,
            "azs": ["z1"],
            "worker_vm_type": "concourse",
            "external_worker_network_name": "concourse",
            "worker_tags": ["windows"],
            "tsa_host": "10.0.0.5",
            "tsa_host_key": _keypair(),
            "worker_key": _keypair(),
        },
    ),
    Case(
        "concourse-single-vm-on-vbox",
        CORPUS / "concourse-bosh-release/manifests/single-vm.yml",
        CONCOURSE / "cluster/cloud_configs/vbox.yml",
        variables={
            "deployment_name": "concourse-single",
            "concourse_version": "7.11.2",
            "network_name": "concourse",
            "web_ip": "10.244.15.2",
            "vm_type": "concourse",
            "postgres_password": SECRET,
            "token_signing_key": _keypair(),
            "tsa_host_key": _keypair(),
            "worker_key": _keypair(),
            "external_url": "https://ci.example.com",
        },
    ),
]


def _deployment_manifests() -> set[Path]:
    """Every corpus file that is a v2 deployment manifest (not create-env, not an ops file)."""
    out = set()
    for path in CORPUS.rglob("*.yml"):
        data = yaml.safe_load(path.read_text())
        if (
            isinstance(data, dict)
            and "instance_groups" in data
            and "name" in data
            and not {"resource_pools", "disk_pools", "cloud_provider"} & data.keys()
        ):
            out.add(path)
    return out


def test_the_cases_cover_every_deployment_manifest_of_the_corpus() -> None:
    assert _deployment_manifests() == {c.manifest for c in CASES}


def _substituted(value: Any, variables: dict[str, Any]) -> Any:
    """``((name))`` → value, for the facts: an independent, naive substitution."""
    if isinstance(value, str) and value.startswith("((") and value.endswith("))"):
        return variables[value[2:-2]]
    return value


def _expected(case: Case, variables: dict[str, Any]) -> dict[str, int]:
    """What a first deploy creates, from the raw YAML (and the ops files' effects that
    matter here, read off the files by eye: scale.yml sets instance counts from variables)."""
    raw = yaml.safe_load(case.manifest.read_text())
    groups = raw["instance_groups"]
    vms = disks = 0
    for group in groups:
        if group.get("lifecycle") == "errand":
            continue
        count = _substituted(group["instances"], variables)
        if case.id == "concourse-cluster-on-vbox":  # operations/scale.yml
            count = {
                "web": variables["web_instances"],
                "worker": variables["worker_instances"],
            }.get(group["name"], count)
        vms += count
        if "persistent_disk" in group or "persistent_disk_type" in group:
            disks += count
    return {"vms_created": vms, "instances_created": vms, "disks_created": disks}


def _args(case: Case, tmp_path: Path) -> list[str]:
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(case.variables))
    args = [str(case.manifest), "--cloud-config", str(case.cloud)]
    for runtime in case.runtime:
        args += ["--runtime-config", str(runtime)]
    for ops in case.ops:
        args += ["-o", str(ops)]
    for path in (*case.vars_files, vars_file):
        args += ["-l", str(path)]
    return args


def _variables(case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in case.vars_files:
        out.update(yaml.safe_load(path.read_text()))
    out.update(case.variables)
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_plan_json_counts_what_the_raw_yaml_says(case: Case, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'jobsite.db'}"
    runner = CliRunner()
    args = ["--store", store, "plan", *_args(case, tmp_path)]
    result = runner.invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    expected = _expected(case, _variables(case))
    summary = plan["summary"]
    assert {k: summary[k] for k in expected} == expected
    assert summary["vms_deleted"] == summary["instances_deleted"] == 0
    assert plan["strategy"] == "serial"
    actions = {r["action"] for r in plan["remodels"]}
    assert actions <= {"create_vm", "create_disk", "attach_disk", "apply", "start"}
    staged = [rid for stage in plan["stages"] for rid in stage["remodels"]]
    assert sorted(staged) == sorted(r["id"] for r in plan["remodels"])

    for fmt in ("text", "dot", "json"):
        out = runner.invoke(cli, [*args, "--format", fmt, "--no-color"])
        assert out.exit_code == 0, out.output
        assert SECRET not in out.output, f"a secret leaked into the {fmt} plan"
    text = runner.invoke(cli, [*args, "--no-color"]).stdout
    assert f"{expected['vms_created']} VM" in text.splitlines()[0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_after_deploying_the_plan_a_new_plan_has_nothing_to_do(case: Case, tmp_path: Path) -> None:
    variables = cli_variables(
        vars_files=[*case.vars_files, _write(tmp_path, case.variables)], environ={}
    )
    ops = [op for path in case.ops for op in read_ops_file(path)]
    manifest = interpolate(read_yaml(case.manifest), ops=ops, variables=variables)
    configs = load_deployment(
        Document(case.manifest.name, manifest),
        [Document(case.cloud.name, interpolate(read_yaml(case.cloud), variables=variables))],
        [Document(p.name, read_yaml(p)) for p in case.runtime],
    )
    plugins = load_plugins()

    async def main() -> tuple[int, int, str]:
        async with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
            first = await make_plan(
                PlanRequest(configs=configs), store=store, cpi=None, plugins=plugins
            )
            s = settled_records(first.blueprint)
            async with store.transaction() as batch:
                batch.put_deployment(s.deployment)
                for rows, put in (
                    (s.instances, batch.put_instance),
                    (s.vms, batch.put_vm),
                    (s.disks, batch.put_disk),
                    (s.addresses, batch.put_ip_reservation),
                ):
                    for row in rows:
                        put(row)  # type: ignore[operator]
            again = await make_plan(
                PlanRequest(configs=configs), store=store, cpi=None, plugins=plugins
            )
            kept = {i.uuid for i in again.blueprint.instances} == {
                i.uuid for i in first.blueprint.instances
            }
            return len(first.remodels), len(again.remodels), str(kept)

    first, again, kept = anyio.run(main)
    assert first > 0
    assert again == 0
    assert kept == "True"


def _write(tmp_path: Path, variables: dict[str, Any]) -> Path:
    path = tmp_path / "case-vars.yml"
    path.write_text(yaml.safe_dump(variables))
    return path

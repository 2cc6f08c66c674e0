"""Real BOSH files from ../shared/corpus load, interpolate and validate.

Every fact asserted here is computed from the raw YAML in the test (or read off the file by
eye and written down), never taken from the code under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from jobsite.config import (
    Document,
    Op,
    interpolate,
    load_cloud_config,
    load_deployment,
    load_runtime_config,
    parse_ops,
    read_ops_file,
    read_yaml,
    variables_from_cli,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(
        not CORPUS.is_dir(), reason=f"the BOSH corpus is not beside the repository ({CORPUS})"
    ),
]

BOSH = CORPUS / "bosh-deployment"
CONCOURSE = CORPUS / "concourse-bosh-deployment"


def raw(path: Path) -> Any:
    """The file as plain PyYAML reads it: the independent view the facts come from."""
    return yaml.safe_load(path.read_text())


def yaml_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yml", ".yaml") or p.name == "spec")


def ops_files() -> list[Path]:
    return [p for p in yaml_files() if isinstance(raw(p), list)]


def cloud_config_files() -> list[Path]:
    return sorted(BOSH.glob("*/cloud-config*.yml")) + sorted(
        (CONCOURSE / "cluster" / "cloud_configs").glob("*.yml")
    )


def variables(*files: Path) -> Any:
    """Variables as ``-l FILE ...`` would give them."""
    return variables_from_cli(vars_files=list(files), environ={})


def test_the_corpus_is_all_there() -> None:
    # SOURCES.md says 382 files were copied; the YAML among them is what we read
    assert len(yaml_files()) > 300
    assert len(ops_files()) > 150


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_reads_as_pyyaml_does(path: Path) -> None:
    assert read_yaml(path) == raw(path)


@pytest.mark.parametrize("path", ops_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_ops_file_parses(path: Path) -> None:
    ops = read_ops_file(path)
    assert len(ops) == len(raw(path))
    assert all(isinstance(op, Op) for op in ops)
    assert [op.type for op in ops] == [entry["type"] for entry in raw(path)]


CLOUD_VARS = {
    "internal_cidr": "10.0.0.0/24",
    "internal_gw": "10.0.0.1",
    "internal_ip": "10.0.0.6",
    "internal_reserved_ips": ["10.0.0.2 - 10.0.0.5"],
    "internal_static_ips": ["10.0.0.10 - 10.0.0.20"],
}


@pytest.mark.parametrize("path", cloud_config_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_cloud_config_loads_with_its_variables(path: Path, tmp_path: Path) -> None:
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(CLOUD_VARS))
    document = interpolate(read_yaml(path), variables=variables(vars_file), document_name=path.name)
    loaded = load_cloud_config(Document(path.name, document))
    expected = raw(path)
    cloud = loaded.value
    assert [n.name for n in cloud.networks] == [n["name"] for n in expected["networks"]]
    assert [v.name for v in cloud.vm_types] == [v["name"] for v in expected.get("vm_types", [])]
    assert [a.name for a in cloud.azs] == [a["name"] for a in expected.get("azs", [])]
    assert (cloud.compilation is not None) == ("compilation" in expected)
    if "compilation" in expected:
        assert cloud.compilation is not None
        assert cloud.compilation.workers == expected["compilation"]["workers"]


def test_the_vbox_cloud_config_warns_about_its_unknown_key() -> None:
    path = CONCOURSE / "cluster" / "cloud_configs" / "vbox.yml"
    loaded = load_cloud_config(Document("vbox.yml", read_yaml(path)))
    assert [str(w) for w in loaded.warnings] == [
        "vbox.yml: vm_types[0]: unknown key 'network' is ignored (known: name, cloud_properties)"
    ]


@pytest.mark.parametrize(
    "path", sorted((BOSH / "runtime-configs").glob("*.yml")), ids=lambda p: p.name
)
def test_every_runtime_config_loads(path: Path) -> None:
    runtime = load_runtime_config(Document(path.name, read_yaml(path))).value
    expected = raw(path)
    assert [a.name for a in runtime.addons] == [a["name"] for a in expected["addons"]]
    assert [r.name for r in runtime.releases] == [r["name"] for r in expected["releases"]]


def test_the_three_runtime_configs_merge() -> None:
    paths = sorted((BOSH / "runtime-configs").glob("*.yml"))
    runtime = load_runtime_config(*(Document(p.name, read_yaml(p)) for p in paths)).value
    assert len(runtime.addons) == sum(len(raw(p)["addons"]) for p in paths)


def jobs_added_by(ops_path: Path, group: str) -> list[str]:
    """Job names an ops file appends to an instance group, read straight off the file."""
    names = []
    for op in raw(ops_path):
        paths = (f"/instance_groups/name={group}/jobs/-", "/instance_groups/0/jobs/-")
        if op["type"] == "replace" and op["path"] in paths:
            names.append(op["value"]["name"])
    return names


BOSH_OPS = ["warden/cpi.yml", "uaa.yml", "credhub.yml", "jumpbox-user.yml"]
BOSH_VARS = {
    "internal_cidr": "10.244.0.0/24",
    "internal_gw": "10.244.0.1",
    "internal_ip": "10.244.0.2",
}


def bosh_vars(tmp_path: Path) -> Any:
    vars_file = tmp_path / "bosh-vars.yml"
    vars_file.write_text(yaml.safe_dump(BOSH_VARS))
    return variables(vars_file)


def test_bosh_yml_without_its_network_variables_says_which_are_unresolved() -> None:
    from jobsite.errors import ConfigErrors

    with pytest.raises(ConfigErrors) as info:
        load_deployment(Document("bosh.yml", read_yaml(BOSH / "bosh.yml")))
    assert [str(e) for e in info.value.errors] == [
        "bosh.yml: networks[0].subnets[0].range: ((internal_cidr)) is an unresolved variable "
        "(give it a value with -v, -l, --var-file or --vars-env)",
    ]


def test_bosh_yml_with_warden_uaa_credhub_and_jumpbox_loads_as_create_env(tmp_path: Path) -> None:
    ops: list[Op] = []
    for name in BOSH_OPS:
        ops.extend(read_ops_file(BOSH / name))
    document = interpolate(
        read_yaml(BOSH / "bosh.yml"),
        ops=ops,
        variables=bosh_vars(tmp_path),
        document_name="bosh.yml",
    )
    configs = load_deployment(Document("bosh.yml", document))
    manifest = configs.manifest
    assert manifest.is_create_env
    (group,) = manifest.instance_groups
    assert group.name == "bosh"
    base_jobs = [j["name"] for j in raw(BOSH / "bosh.yml")["instance_groups"][0]["jobs"]]
    added = [j for name in BOSH_OPS for j in jobs_added_by(BOSH / name, "bosh")]
    assert {"uaa", "credhub", "user_add"} <= set(added)
    job_names = [j.name for j in group.jobs]
    assert job_names[: len(base_jobs)] == base_jobs
    assert set(added) <= set(job_names)
    release_names = {r.name for r in manifest.releases}
    assert {"bosh", "bpm", "uaa", "credhub", "os-conf", "bosh-warden-cpi"} <= release_names


@pytest.mark.parametrize(
    "cpi", sorted(p.relative_to(BOSH) for p in BOSH.glob("*/cpi.yml")), ids=str
)
def test_every_iaas_cpi_ops_file_applies_to_bosh_yml_and_loads(cpi: Path, tmp_path: Path) -> None:
    document = interpolate(
        read_yaml(BOSH / "bosh.yml"),
        ops=read_ops_file(BOSH / cpi),
        variables=bosh_vars(tmp_path),
        document_name="bosh.yml",
    )
    manifest = load_deployment(Document("bosh.yml", document)).manifest
    template = manifest.cloud_provider.template if manifest.cloud_provider else None
    assert template is not None
    assert manifest.release(template.release) is not None


CONCOURSE_VARS = {
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
}


def test_concourse_cluster_with_ops_files_and_versions_deploys_on_the_vbox_cloud_config(
    tmp_path: Path,
) -> None:
    vars_file = tmp_path / "concourse-vars.yml"
    vars_file.write_text(yaml.safe_dump({**CONCOURSE_VARS, "azs": ["z1"]}))
    ops: list[Op] = []
    for name in ("scale.yml", "static-web.yml", "basic-auth.yml", "privileged-http.yml"):
        ops.extend(read_ops_file(CONCOURSE / "cluster" / "operations" / name))
    values = variables(CONCOURSE / "versions.yml", vars_file)
    manifest_doc = interpolate(
        read_yaml(CONCOURSE / "cluster" / "concourse.yml"),
        ops=ops,
        variables=values,
        document_name="concourse.yml",
    )
    cloud_doc = read_yaml(CONCOURSE / "cluster" / "cloud_configs" / "vbox.yml")
    configs = load_deployment(
        Document("concourse.yml", manifest_doc), [Document("vbox.yml", cloud_doc)]
    )
    manifest = configs.manifest
    groups = {g.name: g for g in manifest.instance_groups}
    assert list(groups) == [
        g["name"] for g in raw(CONCOURSE / "cluster" / "concourse.yml")["instance_groups"]
    ]
    assert groups["web"].instances == 1
    assert groups["worker"].instances == 3
    assert groups["web"].networks[0].static_ips == ("10.244.15.2",)
    versions = raw(CONCOURSE / "versions.yml")
    assert manifest.release("concourse") is not None
    assert manifest.release("concourse").version == versions["concourse_version"]  # type: ignore[union-attr]
    assert manifest.update is not None
    assert manifest.update.serial is False


def test_every_concourse_ops_file_applies_or_fails_with_a_located_error() -> None:
    from jobsite.errors import JobsiteError

    base = read_yaml(CONCOURSE / "cluster" / "concourse.yml")
    applied, failures = 0, []
    for path in sorted((CONCOURSE / "cluster" / "operations").glob("*.yml")):
        try:
            interpolate(base, ops=read_ops_file(path), document_name="concourse.yml")
        except JobsiteError as exc:
            failures.append((path.name, str(exc)))
        else:
            applied += 1
    # an ops file that builds on another one fails alone, and its error names the file
    assert all(name in message for name, message in failures), failures
    assert applied > 50


def test_zookeeper_deploys_on_the_warden_cloud_config() -> None:
    manifest_path = CORPUS / "zookeeper-release" / "manifests" / "zookeeper.yml"
    configs = load_deployment(
        Document("zookeeper.yml", read_yaml(manifest_path)),
        [Document("cloud-config.yml", read_yaml(BOSH / "warden" / "cloud-config.yml"))],
        [Document("dns.yml", read_yaml(BOSH / "runtime-configs" / "dns.yml"))],
    )
    expected = raw(manifest_path)["instance_groups"]
    groups = configs.manifest.instance_groups
    assert [(g.name, g.instances, g.azs) for g in groups] == [
        (g["name"], g["instances"], tuple(g["azs"])) for g in expected
    ]
    assert [g.is_errand for g in groups] == [g.get("lifecycle") == "errand" for g in expected]
    assert groups[0].persistent_disk == 10240


def test_a_typo_in_a_real_manifest_is_one_located_line() -> None:
    from jobsite.errors import ConfigErrors

    manifest_path = CORPUS / "zookeeper-release" / "manifests" / "zookeeper.yml"
    typo = parse_ops(
        [{"type": "replace", "path": "/instance_groups/name=zookeeper/vm_type", "value": "large"}],
        document="typo.yml",
    )
    document = interpolate(read_yaml(manifest_path), ops=typo, document_name="zookeeper.yml")
    with pytest.raises(ConfigErrors) as info:
        load_deployment(
            Document("zookeeper.yml", document),
            [Document("cloud-config.yml", read_yaml(BOSH / "warden" / "cloud-config.yml"))],
        )
    assert [str(e) for e in info.value.errors] == [
        "zookeeper.yml: instance_groups[0].vm_type: 'large' is not defined in the cloud config "
        "(known: default)"
    ]

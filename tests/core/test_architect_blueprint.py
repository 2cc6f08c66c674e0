"""Drawing blueprints from real BOSH inputs: identity, placement, addresses, addons."""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path

import pytest
import yaml

from jobsite.architect import ArchitectInputs, KnownInstance, draw_blueprint
from jobsite.config import Document, load_deployment

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no BOSH corpus at {CORPUS}")


def zookeeper_inputs(**kw: object) -> ArchitectInputs:
    def doc(rel: str) -> Document:
        return Document(Path(rel).name, yaml.safe_load((CORPUS / rel).read_text()))

    configs = load_deployment(
        doc("zookeeper-release/manifests/zookeeper.yml"),
        [doc("bosh-deployment/warden/cloud-config.yml")],
        [doc("bosh-deployment/runtime-configs/dns.yml")],
    )
    return ArchitectInputs(**{"configs": configs, "id_seed": "test", **kw})  # type: ignore[arg-type]


def test_zookeeper_on_warden_draws_five_vms_balanced_with_distinct_addresses() -> None:
    blueprint = draw_blueprint(zookeeper_inputs())
    zk = [i for i in blueprint.instances if i.group == "zookeeper"]
    assert len(zk) == 5
    assert Counter(i.az for i in zk) == {"z1": 2, "z2": 2, "z3": 1}
    assert [i.index for i in zk] == [0, 1, 2, 3, 4]
    assert sum(i.bootstrap for i in zk) == 1
    errand = [i for i in blueprint.instances if i.group == "smoke-tests"]
    assert [i.lifecycle for i in errand] == ["errand"]
    assert {vm.instance for vm in blueprint.vms} == {i.uuid for i in zk}  # errands: no VM
    ips = [vm.networks[0].ip for vm in blueprint.vms]
    assert len(set(ips)) == 5
    subnet = ipaddress.ip_network("10.244.0.0/24")
    for ip in ips:
        assert ip is not None
        assert ipaddress.ip_address(ip) in subnet
        assert ip not in ("10.244.0.0", "10.244.0.1", "10.244.0.34", "10.244.0.255")
    assert {(d.size, d.name) for d in blueprint.disks} == {(10240, "")}
    assert len(blueprint.disks) == 5
    assert {vm.stemcell_os for vm in blueprint.vms} == {"ubuntu-xenial"}
    # dns.yml's first addon includes ubuntu-xenial: every instance gets bosh-dns
    dns_jobs = [j for j in blueprint.jobs if j.addon == "bosh-dns"]
    assert {j.instance for j in dns_jobs} == {i.uuid for i in blueprint.instances}
    assert not [j for j in blueprint.jobs if j.addon == "bosh-dns-windows"]


def test_the_same_inputs_draw_the_same_blueprint() -> None:
    assert draw_blueprint(zookeeper_inputs()) == draw_blueprint(zookeeper_inputs())


def test_a_redeploy_keeps_every_identity_az_and_address() -> None:
    first = draw_blueprint(zookeeper_inputs())
    ips = {vm.instance: {n.network: n.ip for n in vm.networks} for vm in first.vms}
    known = tuple(
        KnownInstance(
            group=i.group,
            index=i.index,
            uuid=i.uuid,
            az=i.az,
            bootstrap=i.bootstrap,
            has_disk=True,
            ips={k: v for k, v in ips.get(i.uuid, {}).items() if v},
        )
        for i in first.instances
    )
    second = draw_blueprint(zookeeper_inputs(known=known, id_seed="another plan"))
    assert second.instances == first.instances
    assert second.vms == first.vms


def test_addresses_held_elsewhere_are_skipped() -> None:
    taken = {"default": frozenset(f"10.244.0.{n}" for n in range(2, 12))}
    blueprint = draw_blueprint(zookeeper_inputs(taken_addresses=taken))
    assert sorted(vm.networks[0].ip or "" for vm in blueprint.vms) == [
        f"10.244.0.{n}" for n in range(12, 17)
    ]

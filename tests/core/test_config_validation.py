"""Cross-references and multi-key rules: every problem, located, with what is known."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jobsite.config import (
    Document,
    load_cloud_config,
    load_deployment,
    load_runtime_config,
    parse_ip_range,
    parse_ip_ranges,
)
from jobsite.errors import ConfigErrors

CLOUD: dict[str, Any] = {
    "azs": [{"name": "z1"}, {"name": "z2"}],
    "vm_types": [{"name": "default"}, {"name": "small"}],
    "vm_extensions": [{"name": "lb"}],
    "disk_types": [{"name": "ssd", "disk_size": 1024}],
    "networks": [
        {
            "name": "default",
            "type": "manual",
            "subnets": [
                {
                    "range": "10.0.0.0/24",
                    "gateway": "10.0.0.1",
                    "reserved": ["10.0.0.2 - 10.0.0.9"],
                    "static": ["10.0.0.10 - 10.0.0.20"],
                    "azs": ["z1", "z2"],
                }
            ],
        },
        {"name": "public", "type": "vip"},
    ],
    "compilation": {"workers": 2, "network": "default", "az": "z1", "vm_type": "default"},
}

MANIFEST: dict[str, Any] = {
    "name": "demo",
    "releases": [{"name": "app", "version": "1"}],
    "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": "latest"}],
    "update": {"canaries": 1, "max_in_flight": 1},
    "instance_groups": [
        {
            "name": "web",
            "instances": 2,
            "azs": ["z1", "z2"],
            "vm_type": "default",
            "stemcell": "default",
            "networks": [{"name": "default"}],
            "jobs": [{"name": "server", "release": "app"}],
        },
        {
            "name": "db",
            "instances": 1,
            "azs": ["z1"],
            "vm_type": "small",
            "stemcell": "default",
            "persistent_disk_type": "ssd",
            "networks": [{"name": "default", "static_ips": ["10.0.0.10"]}],
            "jobs": [{"name": "db", "release": "app"}],
        },
    ],
}


def deploy_errors(
    manifest: dict[str, Any], cloud: dict[str, Any] | None = None, runtime: Any = None
) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load_deployment(
            Document("manifest.yml", manifest),
            [Document("cloud.yml", cloud if cloud is not None else CLOUD)],
            [Document("runtime.yml", runtime)] if runtime is not None else [],
        )
    return [str(e) for e in info.value.errors]


def test_a_consistent_deployment_loads() -> None:
    configs = load_deployment(Document("manifest.yml", MANIFEST), [Document("cloud.yml", CLOUD)])
    assert [g.name for g in configs.manifest.instance_groups] == ["web", "db"]
    assert configs.cloud_config.compilation is not None
    assert configs.warnings == ()


def test_an_undefined_vm_type_names_the_place_and_what_is_known() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["instance_groups"][1]["vm_type"] = "large"
    assert deploy_errors(manifest) == [
        "manifest.yml: instance_groups[1].vm_type: 'large' is not defined in the cloud config "
        "(known: default, small)"
    ]


def test_every_cross_reference_is_checked_and_reported_together() -> None:
    manifest = copy.deepcopy(MANIFEST)
    web = manifest["instance_groups"][0]
    web["azs"] = ["z1", "z9"]
    web["vm_extensions"] = ["lb", "firewall"]
    web["stemcell"] = "xenial"
    web["networks"] = [{"name": "private"}]
    web["jobs"][0]["release"] = "apps"
    db = manifest["instance_groups"][1]
    db["persistent_disk_type"] = "hdd"
    db["migrated_from"] = [{"name": "old-db", "az": "z7"}]
    assert deploy_errors(manifest) == [
        "manifest.yml: instance_groups[0].jobs[0].release: 'apps' is not defined in the "
        "manifest's releases (known: app)",
        "manifest.yml: instance_groups[0].azs[1]: 'z9' is not defined in the cloud config "
        "(known: z1, z2)",
        "manifest.yml: instance_groups[0].vm_extensions[1]: 'firewall' is not defined in the "
        "cloud config (known: lb)",
        "manifest.yml: instance_groups[0].stemcell: 'xenial' is not defined in the manifest's "
        "stemcells (known: default)",
        "manifest.yml: instance_groups[0].networks[0].name: 'private' is not defined in the "
        "cloud config (known: default, public)",
        "manifest.yml: instance_groups[1].migrated_from[0].az: 'z7' is not defined in the "
        "cloud config (known: z1, z2)",
        "manifest.yml: instance_groups[1].persistent_disk_type: 'hdd' is not defined in the "
        "cloud config (known: ssd)",
    ]


def test_static_ips_must_match_instances_and_lie_in_static_ranges() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["instance_groups"][1]["instances"] = 2
    manifest["instance_groups"][1]["networks"][0]["static_ips"] = ["10.0.0.10", "10.0.0.30"]
    manifest["instance_groups"][0]["networks"][0]["static_ips"] = ["10.0.0.11"]
    assert deploy_errors(manifest) == [
        "manifest.yml: instance_groups[0].networks[0].static_ips: has 1 addresses for 2 "
        "instances (they must be equal)",
        "manifest.yml: instance_groups[1].networks[0].static_ips: 10.0.0.30 is not in a static "
        "range of the network's subnets",
    ]


def test_several_networks_need_one_default_for_dns_and_gateway() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["instance_groups"][0]["networks"] = [{"name": "default"}, {"name": "public"}]
    errors = deploy_errors(manifest)
    assert errors == [
        "manifest.yml: instance_groups[0].networks: with more than one network, exactly one "
        "must be the default for dns (add 'default: [dns, gateway]' to one; now: none)",
        "manifest.yml: instance_groups[0].networks: with more than one network, exactly one "
        "must be the default for gateway (add 'default: [dns, gateway]' to one; now: none)",
    ]
    manifest["instance_groups"][0]["networks"][0]["default"] = ["dns", "gateway"]
    load_deployment(Document("manifest.yml", manifest), [Document("cloud.yml", CLOUD)])


def test_a_group_az_without_a_subnet_on_its_network_is_refused() -> None:
    cloud = copy.deepcopy(CLOUD)
    cloud["networks"][0]["subnets"][0]["azs"] = ["z1"]
    assert deploy_errors(MANIFEST, cloud) == [
        "manifest.yml: instance_groups[0].networks[0].name: network 'default' has no subnet "
        "in az z2"
    ]


def test_vm_type_or_vm_resources_exactly_one_and_one_disk_form() -> None:
    manifest = copy.deepcopy(MANIFEST)
    del manifest["instance_groups"][0]["vm_type"]
    manifest["instance_groups"][1]["persistent_disk"] = 1024
    manifest["instance_groups"][1]["vm_resources"] = {
        "cpu": 2,
        "ram": 2048,
        "ephemeral_disk_size": 10240,
    }
    assert deploy_errors(manifest) == [
        "manifest.yml: instance_groups[0].vm_type: is required (or give 'vm_resources') "
        "(known: default, small)",
        "manifest.yml: instance_groups[1]: must not give both 'vm_type' and 'vm_resources'",
        "manifest.yml: instance_groups[1]: must give only one of 'persistent_disk', "
        "'persistent_disk_type'",
    ]


def test_duplicate_names_are_refused() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["instance_groups"][1]["name"] = "web"
    manifest["instance_groups"][0]["jobs"].append({"name": "server", "release": "app"})
    assert deploy_errors(manifest) == [
        "manifest.yml: instance_groups[1].name: instance group 'web' is defined more than once",
        "manifest.yml: instance_groups[0].jobs[1].name: job 'server' is defined more than once",
    ]


def test_a_v2_manifest_must_not_carry_cloud_config_keys() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["networks"] = CLOUD["networks"]
    assert deploy_errors(manifest) == [
        "manifest.yml: networks: a manifest deployed with a cloud config must not define "
        "'networks' (move it to the cloud config)"
    ]


def test_a_v2_manifest_without_any_cloud_config_is_refused() -> None:
    with pytest.raises(ConfigErrors) as info:
        load_deployment(Document("manifest.yml", MANIFEST))
    assert str(info.value.errors[-1]).startswith("manifest.yml: a v2 manifest needs a cloud config")


def test_cloud_config_addresses_are_checked() -> None:
    cloud = copy.deepcopy(CLOUD)
    subnet = cloud["networks"][0]["subnets"][0]
    subnet["gateway"] = "10.0.1.1"
    subnet["reserved"] = ["10.0.0.2 - 10.0.0.12", "banana"]
    subnet["static"] = ["10.0.0.10 - 10.0.2.20"]
    subnet["azs"] = ["z1", "z3"]
    cloud["compilation"]["network"] = "nope"
    with pytest.raises(ConfigErrors) as info:
        load_cloud_config(Document("cloud.yml", cloud))
    assert [str(e) for e in info.value.errors] == [
        "cloud.yml: networks[0].subnets[0].azs[1]: 'z3' is not defined in the cloud config "
        "(known: z1, z2)",
        "cloud.yml: networks[0].subnets[0].gateway: 10.0.1.1 is outside the range 10.0.0.0/24",
        "cloud.yml: networks[0].subnets[0].reserved[1]: 'banana' is not an IP address, range or "
        "CIDR block",
        "cloud.yml: networks[0].subnets[0].static[0]: 10.0.0.10 - 10.0.2.20 is outside the range "
        "10.0.0.0/24",
        "cloud.yml: compilation.network: 'nope' is not defined in the cloud config (known: "
        "default, public)",
    ]


def test_several_cloud_configs_merge_and_refuse_duplicates_and_two_compilations() -> None:
    extra = {
        "vm_types": [{"name": "large"}, {"name": "small"}],
        "networks": [
            {"name": "extra", "type": "dynamic", "subnets": [{"azs": ["z2"]}]},
        ],
        "compilation": {"workers": 1, "network": "extra", "az": "z2", "vm_type": "large"},
    }
    with pytest.raises(ConfigErrors) as info:
        load_cloud_config(Document("cloud.yml", CLOUD), Document("extra.yml", extra))
    assert [str(e) for e in info.value.errors] == [
        "extra.yml: vm_types[1].name: vm_type 'small' is already defined in cloud.yml",
        "extra.yml: compilation: 'compilation' cannot be defined in multiple cloud configs "
        "(also in cloud.yml)",
    ]
    del extra["compilation"]
    extra["vm_types"] = [{"name": "large"}]
    merged = load_cloud_config(Document("cloud.yml", CLOUD), Document("extra.yml", extra)).value
    assert [v.name for v in merged.vm_types] == ["default", "small", "large"]
    assert [n.name for n in merged.networks] == ["default", "public", "extra"]
    # a subnet may use an az another config defines
    azs_only = {"azs": [{"name": "z3"}]}
    uses_z3 = {"networks": [{"name": "n3", "type": "dynamic", "subnets": [{"az": "z3"}]}]}
    merged = load_cloud_config(Document("a.yml", azs_only), Document("b.yml", uses_z3)).value
    assert merged.network("n3") is not None


def test_runtime_configs_merge_and_check_their_releases() -> None:
    dns = {
        "releases": [{"name": "bosh-dns", "version": "1.39.28"}],
        "addons": [{"name": "dns", "jobs": [{"name": "bosh-dns", "release": "bosh-dns"}]}],
        "tags": {"team": "platform"},
    }
    syslog = {
        "releases": [{"name": "syslog", "version": "12"}],
        "addons": [{"name": "syslog", "jobs": [{"name": "forwarder", "release": "sislog"}]}],
        "tags": {"owner": "me"},
    }
    with pytest.raises(ConfigErrors) as info:
        load_runtime_config(Document("dns.yml", dns), Document("syslog.yml", syslog))
    assert [str(e) for e in info.value.errors] == [
        "syslog.yml: tags: 'tags' cannot be defined in multiple runtime configs (also in dns.yml)",
        "syslog.yml: addons[0].jobs[0].release: 'sislog' is not defined in the runtime "
        "config's releases (known: bosh-dns, syslog)",
    ]
    del syslog["tags"]
    syslog["addons"][0]["jobs"][0]["release"] = "syslog"
    merged = load_runtime_config(Document("dns.yml", dns), Document("syslog.yml", syslog)).value
    assert [a.name for a in merged.addons] == ["dns", "syslog"]
    assert merged.tags == {"team": "platform"}


def test_a_runtime_config_release_must_agree_with_the_manifest_version() -> None:
    runtime = {"releases": [{"name": "app", "version": "2"}]}
    assert deploy_errors(MANIFEST, runtime=runtime) == [
        "manifest.yml: releases[0].version: release 'app' is '1' here but '2' in runtime.yml"
    ]


def test_ip_ranges_parse_every_form_bosh_writes() -> None:
    assert len(parse_ip_range("10.0.0.0/30")) == 4
    assert str(parse_ip_range(" 10.0.0.5 -10.0.0.9 ")) == "10.0.0.5 - 10.0.0.9"
    ranges = parse_ip_ranges(["10.0.0.1", "10.0.0.4-10.0.0.5", "fd00::/126"])
    assert len(ranges) == 1 + 2 + 4
    assert [str(ip) for ip in parse_ip_ranges(["10.0.0.4-10.0.0.5"])] == ["10.0.0.4", "10.0.0.5"]
    with pytest.raises(ValueError, match="starts after it ends"):
        parse_ip_range("10.0.0.9 - 10.0.0.1")
    with pytest.raises(ValueError, match="mixes IPv4 and IPv6"):
        parse_ip_range("10.0.0.1 - fd00::1")

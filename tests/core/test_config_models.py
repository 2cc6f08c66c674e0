"""Structuring BOSH documents into models: strict types, located errors, unknown-key warnings."""

from __future__ import annotations

from typing import Any

import pytest

from jobsite.config import (
    CloudConfig,
    Document,
    Manifest,
    MaxInFlight,
    UpdateConfig,
    WatchTime,
    load_cloud_config,
    load_manifest,
)
from jobsite.errors import ConfigErrors


def manifest(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "demo",
        "releases": [{"name": "app", "version": "1.2.3"}],
        "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": "latest"}],
        "update": {
            "canaries": 1,
            "max_in_flight": "25%",
            "canary_watch_time": "1000-30000",
            "update_watch_time": 5000,
        },
        "instance_groups": [
            {
                "name": "web",
                "instances": 3,
                "azs": ["z1"],
                "vm_type": "small",
                "stemcell": "default",
                "networks": [{"name": "default"}],
                "jobs": [{"name": "server", "release": "app", "properties": {"port": 80}}],
            }
        ],
    }
    doc.update(overrides)
    return doc


def errors_of(doc: Any, name: str = "manifest.yml") -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load_manifest(Document(name, doc))
    return [str(e) for e in info.value.errors]


def test_a_manifest_structures_into_frozen_models_with_parsed_values() -> None:
    loaded = load_manifest(Document("manifest.yml", manifest()))
    m = loaded.value
    assert isinstance(m, Manifest)
    assert loaded.warnings == ()
    group = m.instance_groups[0]
    assert (group.name, group.instances, group.azs, group.lifecycle) == (
        "web",
        3,
        ("z1",),
        "service",
    )
    assert group.jobs[0].properties == {"port": 80}
    assert m.update == UpdateConfig(
        canaries=1,
        max_in_flight=MaxInFlight(25, percent=True),
        canary_watch_time=WatchTime(1000, 30000),
        update_watch_time=WatchTime(5000, 5000),
    )
    with pytest.raises(AttributeError):
        m.name = "other"  # type: ignore[misc]


def test_numeric_versions_read_as_text_like_bosh() -> None:
    doc = manifest(
        releases=[{"name": "app", "version": 3}],
        stemcells=[{"alias": "default", "os": "ubuntu-jammy", "version": 621.5}],
    )
    m = load_manifest(Document("m.yml", doc)).value
    assert m.releases[0].version == "3"
    assert m.stemcells[0].version == "621.5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", "expected an integer, got '3' (a string)"),
        (True, "expected an integer, got true (a boolean)"),
        (2.5, "expected an integer, got 2.5 (a number)"),
        ([3], "expected an integer, got a list"),
        ("((count))", "((count)) is an unresolved variable"),
    ],
)
def test_scalars_are_strict_where_cattrs_would_coerce(value: object, expected: str) -> None:
    doc = manifest()
    doc["instance_groups"][0]["instances"] = value
    (error,) = errors_of(doc)
    assert error.startswith(f"manifest.yml: instance_groups[0].instances: {expected}")


def test_booleans_are_not_strings() -> None:
    doc = manifest(update={"serial": "false"})
    assert errors_of(doc) == [
        "manifest.yml: update.serial: expected true or false, got 'false' (a string)"
    ]


def test_every_problem_of_a_document_is_reported_together() -> None:
    doc = manifest()
    del doc["name"]
    group = doc["instance_groups"][0]
    group["instances"] = "three"
    group["lifecycle"] = "daemon"
    group["networks"] = {"name": "default"}
    doc["update"]["max_in_flight"] = "0%"
    doc["update"]["canary_watch_time"] = "30000-1000"
    assert sorted(errors_of(doc)) == sorted(
        [
            "manifest.yml: name: is required",
            "manifest.yml: instance_groups[0].instances: expected an integer, got 'three' "
            "(a string)",
            "manifest.yml: instance_groups[0].lifecycle: must be one of service, errand; got "
            "'daemon' (a string)",
            "manifest.yml: instance_groups[0].networks: expected a list, got a map",
            "manifest.yml: update.max_in_flight: expected a positive integer or a percentage "
            "like 25%, got '0%' (a string)",
            "manifest.yml: update.canary_watch_time: range '30000-1000' has its minimum above "
            "its maximum",
        ]
    )


def test_unknown_keys_warn_with_a_did_you_mean_and_the_rest_loads() -> None:
    doc = manifest()
    doc["instance_groups"][0]["vm_typ"] = "small"
    doc["instance_groups"][0]["jobs"][0]["propertes"] = {}
    doc["x-custom"] = "kept for other tools"
    loaded = load_manifest(Document("manifest.yml", doc))
    assert sorted(str(w) for w in loaded.warnings) == [
        "manifest.yml: instance_groups[0].jobs[0]: unknown key 'propertes' is ignored "
        "(did you mean 'properties'?)",
        "manifest.yml: instance_groups[0]: unknown key 'vm_typ' is ignored (did you mean "
        "'vm_type'?)",
        "manifest.yml: unknown key 'x-custom' is ignored (known: name, director_uuid, releases, "
        "stemcells, update, instance_groups, addons, variables, tags, features, properties, "
        "networks, resource_pools, disk_pools, cloud_provider)",
    ]
    assert loaded.value.instance_groups[0].vm_type == "small"


def test_an_empty_or_non_map_document_is_one_clear_error() -> None:
    assert errors_of(None) == ["manifest.yml: is empty"]
    assert errors_of(["a", "b"]) == ["manifest.yml: expected a map, got a list"]


def test_update_blocks_layer_per_instance_group() -> None:
    top = UpdateConfig(canaries=2, max_in_flight=MaxInFlight(1), serial=True)
    group = UpdateConfig(max_in_flight=MaxInFlight(50, percent=True), serial=False)
    merged = group.over(top)
    assert merged == UpdateConfig(
        canaries=2, max_in_flight=MaxInFlight(50, percent=True), serial=False
    )
    assert group.over(None) is group


@pytest.mark.parametrize(
    ("value", "instances", "count"),
    [(MaxInFlight(3), 10, 3), (MaxInFlight(25, True), 10, 2), (MaxInFlight(10, True), 3, 1)],
)
def test_max_in_flight_percentages_round_down_but_never_below_one(
    value: MaxInFlight, instances: int, count: int
) -> None:
    assert value.resolve(instances) == count


def test_cloud_config_networks_default_to_manual_and_subnets_read_az_or_azs() -> None:
    doc = {
        "azs": [{"name": "z1"}, {"name": "z2"}],
        "vm_types": [{"name": "small"}],
        "networks": [
            {
                "name": "private",
                "subnets": [
                    {"range": "10.0.0.0/24", "gateway": "10.0.0.1", "az": "z1"},
                    {"range": "10.0.1.0/24", "gateway": "10.0.1.1", "azs": ["z1", "z2"]},
                ],
            },
            {"name": "public", "type": "vip"},
        ],
        "compilation": {"workers": 2, "network": "private", "az": "z1", "vm_type": "small"},
    }
    cloud = load_cloud_config(Document("cloud.yml", doc)).value
    assert isinstance(cloud, CloudConfig)
    private = cloud.network("private")
    assert private is not None
    assert private.type == "manual"
    assert [s.zone_names for s in private.subnets] == [("z1",), ("z1", "z2")]
    assert cloud.compilation is not None
    assert cloud.compilation.reuse_compilation_vms is False

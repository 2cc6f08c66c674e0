"""AZ placement and instance identity, as BOSH places instances."""

from __future__ import annotations

from collections import Counter

from jobsite.architect._placement import KnownInstance, place_group
from jobsite.config import InstanceGroup, Network, NetworkRef, Subnet

NETWORKS = {
    "default": Network(
        name="default",
        subnets=(
            Subnet(
                range="10.0.1.0/24",
                gateway="10.0.1.1",
                static=("10.0.1.10 - 10.0.1.19",),
                azs=("z1",),
            ),
            Subnet(
                range="10.0.2.0/24",
                gateway="10.0.2.1",
                static=("10.0.2.10 - 10.0.2.19",),
                azs=("z2",),
            ),
        ),
    )
}


def group(instances: int, azs: tuple[str, ...] = ("z1", "z2", "z3"), **kw: object) -> InstanceGroup:
    networks = kw.pop("networks", (NetworkRef(name="default"),))
    return InstanceGroup(name="web", instances=instances, azs=azs, networks=networks, **kw)  # type: ignore[arg-type]


def new_uuid(name: str, index: int) -> str:
    return f"new-{name}-{index}"


def known(index: int, az: str, **kw: object) -> KnownInstance:
    return KnownInstance(group="web", index=index, uuid=f"uuid-{index}", az=az, **kw)  # type: ignore[arg-type]


def test_a_new_group_is_spread_across_its_azs_in_order() -> None:
    placed, obsolete = place_group(group(5), [], NETWORKS, new_uuid)
    assert [(p.index, p.az, p.uuid) for p in placed] == [
        (0, "z1", "new-web-0"),
        (1, "z2", "new-web-1"),
        (2, "z3", "new-web-2"),
        (3, "z1", "new-web-3"),
        (4, "z2", "new-web-4"),
    ]
    assert obsolete == []


def test_existing_instances_keep_identity_and_az_and_scale_up_fills_the_emptiest_az() -> None:
    existing = [known(0, "z1"), known(1, "z1"), known(2, "z2")]
    placed, obsolete = place_group(group(5), existing, NETWORKS, new_uuid)
    kept = {p.uuid: p.az for p in placed if p.existing is not None}
    assert kept == {"uuid-0": "z1", "uuid-1": "z1", "uuid-2": "z2"}
    new = [(p.index, p.az) for p in placed if p.existing is None]
    assert new == [(3, "z3"), (4, "z2")]
    assert obsolete == []


def test_scale_down_removes_from_the_fullest_az_first() -> None:
    existing = [known(0, "z1"), known(1, "z1"), known(2, "z1"), known(3, "z2"), known(4, "z3")]
    placed, obsolete = place_group(group(3), existing, NETWORKS, new_uuid)
    assert Counter(p.az for p in placed) == {"z1": 1, "z2": 1, "z3": 1}
    assert [o.index for o in obsolete] == [1, 2]
    assert all(p.existing is not None for p in placed)


def test_an_instance_with_a_disk_is_kept_before_a_lower_index_without_one() -> None:
    existing = [known(0, "z1"), known(1, "z1", has_disk=True)]
    placed, obsolete = place_group(group(1, azs=("z1",)), existing, NETWORKS, new_uuid)
    assert [p.uuid for p in placed] == ["uuid-1"]
    assert [o.uuid for o in obsolete] == ["uuid-0"]


def test_instances_of_a_removed_az_are_replaced_with_new_indexes() -> None:
    existing = [known(0, "z1"), known(1, "z2"), known(2, "z3")]
    placed, obsolete = place_group(group(3, azs=("z1", "z2")), existing, NETWORKS, new_uuid)
    assert [o.uuid for o in obsolete] == ["uuid-2"]
    assert [(p.index, p.az, p.existing is None) for p in placed] == [
        (0, "z1", False),
        (1, "z2", False),
        (3, "z1", True),  # index 2 still belongs to the instance being deleted
    ]


def test_static_ips_decide_the_az_and_an_owner_keeps_its_address() -> None:
    static = (NetworkRef(name="default", static_ips=("10.0.1.10", "10.0.2.10", "10.0.1.11")),)
    existing = [
        known(0, "z2", ips={"default": "10.0.2.10"}),
        known(1, "z1", ips={"default": "10.0.1.99"}),
    ]
    placed, obsolete = place_group(
        group(3, azs=("z1", "z2"), networks=static), existing, NETWORKS, new_uuid
    )
    assert [(p.index, p.az, p.static_ip, p.existing is not None) for p in placed] == [
        (0, "z2", "10.0.2.10", True),
        (1, "z1", "10.0.1.10", True),  # kept, moved to a listed address in its own AZ
        (2, "z1", "10.0.1.11", False),
    ]
    assert obsolete == []


def test_a_group_without_azs_places_everything_in_no_az() -> None:
    placed, _ = place_group(group(2, azs=()), [], NETWORKS, new_uuid)
    assert [(p.index, p.az) for p in placed] == [(0, None), (1, None)]

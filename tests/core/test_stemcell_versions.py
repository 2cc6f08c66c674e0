"""``version: latest``: the newest uploaded stemcell, with versions ordered as BOSH orders
them."""

from __future__ import annotations

from jobsite.planning._make import latest_stemcells, version_key
from jobsite.store import StemcellRecord


def test_versions_compare_numerically_part_by_part() -> None:
    ordered = ["1.9", "1.10", "1.10.1", "2", "2.0.1", "10"]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert version_key("621.74") > version_key("621.9")


def test_latest_is_by_os_and_by_name() -> None:
    def stemcell(version: str, name: str = "bosh-aws-ubuntu-jammy") -> StemcellRecord:
        return StemcellRecord(name=name, os="ubuntu-jammy", version=version, cid=f"c-{version}")

    latest = latest_stemcells(
        [stemcell("1.10"), stemcell("1.9"), stemcell("1.2", name="bosh-other-jammy")]
    )
    assert latest == {
        "ubuntu-jammy": "1.10",
        "bosh-aws-ubuntu-jammy": "1.10",
        "bosh-other-jammy": "1.2",
    }

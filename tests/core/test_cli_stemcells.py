"""``jobsite upload-stemcell``, ``stemcells`` and ``delete-stemcell`` on the command line, with
a real SQLite store file and the mock cloud kept in a state file, through a deploy of a
manifest that uses the uploaded stemcell and the deletion of that deployment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from jobsite.cli import cli
from jobsite.director import Director, DirectorConfig, DriverChoice
from jobsite.stemcell import write_stemcell
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from pathlib import Path

CLOUD = """\
azs: [{name: z1}]
vm_types: [{name: small, cloud_properties: {instance_type: t3.small}}]
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
update: {canaries: 1, max_in_flight: 1, canary_watch_time: 0-100, update_watch_time: 0-100}
instance_groups:
- name: web
  instances: 1
  azs: [z1]
  vm_type: small
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: nginx, release: app}]
"""

NAME = "bosh-mock-ubuntu-jammy-go_agent"


class Site:
    """A store file, a mock cloud state file, a stemcell tarball, and the command line."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.home = tmp_path / "home"
        self.url = f"sqlite://{tmp_path / 'j.db'}"
        self.state_file = tmp_path / "cloud.json"
        self.runner = CliRunner()
        self.env: dict[str, str | None] = {
            "JOBSITE_HOME": str(self.home),
            "JOBSITE_STORE": None,
            "JOBSITE_DEBUG": None,
            "JOBSITE_CPI": None,
        }
        self.tarball = write_stemcell(
            tmp_path / "stemcell.tgz",
            name=NAME,
            os="ubuntu-jammy",
            version="1.5",
            cloud_properties={"boot_mode": "uefi"},
            image=b"a small disk image",
        )
        (tmp_path / "cloud.yml").write_text(CLOUD)
        (tmp_path / "manifest.yml").write_text(MANIFEST)

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

    def stemcells(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(
            self.jobsite("stemcells", "--json", *self.cloud).stdout
        )
        return rows

    def cloud_stemcells(self) -> dict[str, Any]:
        """The stemcells the mock cloud holds (as a new process finds them)."""
        return dict(MockCpi(state_file=self.state_file).snapshot().stemcells)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_upload_deploy_and_delete_a_stemcell(site: Site) -> None:
    assert site.jobsite("stemcells", *site.cloud).stdout == "No stemcells.\n"

    uploaded = site.jobsite("upload-stemcell", str(site.tarball), *site.cloud)
    [cid] = site.cloud_stemcells()
    assert uploaded.stdout == f"Uploaded stemcell {NAME}/1.5 (ubuntu-jammy) to mock as {cid}.\n"
    assert site.cloud_stemcells()[cid].cloud_properties == {"boot_mode": "uefi"}
    assert list((site.home / "tmp").iterdir()) == []  # the extracted image is gone

    again = site.jobsite("upload-stemcell", str(site.tarball), *site.cloud)
    assert "already uploaded" in again.stdout
    assert list(site.cloud_stemcells()) == [cid]  # no second image in the cloud

    [row] = site.stemcells()
    assert {k: row[k] for k in ("name", "os", "version", "cid", "cpi", "in_use_by")} == {
        "name": NAME,
        "os": "ubuntu-jammy",
        "version": "1.5",
        "cid": cid,
        "cpi": "mock",
        "in_use_by": [],
    }

    site.jobsite("update-cloud-config", str(site.dir / "cloud.yml"))
    deployed = site.jobsite("deploy", str(site.dir / "manifest.yml"), "-n", *site.cloud)
    assert "Deployed app" in deployed.stdout
    vms = json.loads(site.jobsite("vms", "-d", "app", "--json").stdout)
    assert [vm["stemcell"] for vm in vms] == ["ubuntu-jammy/1.5"]

    [row] = site.stemcells()
    assert row["in_use_by"] == ["app"]
    table = site.jobsite("stemcells", *site.cloud).stdout
    assert table.splitlines()[0].split() == [
        "Name",
        "OS",
        "Version",
        "CID",
        "CPI",
        "In",
        "use",
        "by",
    ]
    assert table.splitlines()[1].split() == [NAME, "ubuntu-jammy", "1.5", cid, "mock", "app"]

    refused = site.jobsite("delete-stemcell", f"{NAME}/1.5", *site.cloud, code=1)
    assert refused.stderr.strip().splitlines() == [
        f"Error: stemcell {NAME}/1.5 is in use by deployment app: delete or redeploy it onto "
        "another stemcell first"
    ]
    assert list(site.cloud_stemcells()) == [cid]

    site.jobsite("delete-deployment", "-d", "app", "-n", *site.cloud)
    deleted = site.jobsite("delete-stemcell", f"{NAME}/1.5", *site.cloud)
    assert deleted.stdout == f"Deleted stemcell {NAME}/1.5 ({cid}) from mock.\n"
    assert site.cloud_stemcells() == {}
    assert site.stemcells() == []

    gone = site.jobsite("delete-stemcell", f"{NAME}/1.5", *site.cloud, code=1)
    assert gone.stderr == f"Error: stemcell {NAME}/1.5 is not uploaded\n"


def test_a_deploy_before_the_upload_says_to_upload_the_stemcell(site: Site) -> None:
    site.jobsite("update-cloud-config", str(site.dir / "cloud.yml"))
    refused = site.jobsite("deploy", str(site.dir / "manifest.yml"), "-n", *site.cloud, code=1)
    assert "stemcell ubuntu-jammy/1.5 is not uploaded" in refused.stderr
    site.jobsite("upload-stemcell", str(site.tarball), *site.cloud)
    assert (
        "Deployed app"
        in site.jobsite("deploy", str(site.dir / "manifest.yml"), "-n", *site.cloud).stdout
    )


def test_a_bad_tarball_is_one_line_and_uploads_nothing(site: Site) -> None:
    bad = site.dir / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    result = site.jobsite("upload-stemcell", str(bad), *site.cloud, code=1)
    assert result.stderr.startswith(f"Error: {bad}: not a readable stemcell tarball")
    assert len(result.stderr.splitlines()) == 1
    assert site.stemcells() == []


def test_delete_stemcell_wants_name_slash_version(site: Site) -> None:
    result = site.jobsite("delete-stemcell", NAME, *site.cloud, code=2)
    assert "expected NAME/VERSION" in result.stderr


@pytest.mark.anyio
async def test_the_director_uploads_once_without_calling_the_cloud_again(tmp_path: Path) -> None:
    tarball = write_stemcell(tmp_path / "s.tgz", name=NAME, os="ubuntu-jammy", version="2")
    config = DirectorConfig(
        home=tmp_path, store=f"sqlite://{tmp_path / 'j.db'}", cpi=DriverChoice("mock")
    )
    async with Director(config) as director:
        first = await director.upload_stemcell(tarball)
        second = await director.upload_stemcell(tarball)
        assert second == first
        assert first.cpi == "mock"
        cpi = director.cpi
        assert isinstance(cpi, MockCpi)
        assert [c.args["image_path"] for c in cpi.calls.of("create_stemcell")] == [""]
        await director.delete_stemcell(NAME, "2")
        assert [c.args["stemcell_cid"] for c in cpi.calls.of("delete_stemcell")] == [first.cid]
        assert await director.stemcells() == []

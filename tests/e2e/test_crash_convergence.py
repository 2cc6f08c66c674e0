"""Crash test: a deploy in a child process is killed (SIGKILL) at every step boundary in turn;
each time, a rerun converges with no leaked VM or disk and every disk attached to its
instance (the mock cloud keeps its state in a file, as a real cloud outlives a director)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from jobsite.director import Director

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.anyio

CHILD = Path(__file__).with_name("crash_deploy.py")


def small(version: str = "1.0", strategy: str = "serial") -> dict[str, Any]:
    """Two web instances with disks, one worker: every kind of step, few boundaries."""
    return {
        "name": "shop",
        "releases": [{"name": "app", "version": "1"}],
        "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": version}],
        "update": {
            "canaries": 1,
            "max_in_flight": 2,
            "canary_watch_time": "0-1000",
            "update_watch_time": "0-1000",
            "strategy": strategy,
        },
        "instance_groups": [
            {
                "name": "web",
                "instances": 2,
                "azs": ["z1", "z2"],
                "jobs": [{"name": "web", "release": "app"}],
                "vm_type": "small",
                "stemcell": "default",
                "persistent_disk_type": "ten",
                "networks": [{"name": "default"}],
            },
            {
                "name": "worker",
                "instances": 1,
                "azs": ["z1"],
                "jobs": [{"name": "worker", "release": "app"}],
                "vm_type": "small",
                "stemcell": "default",
                "networks": [{"name": "default"}],
            },
        ],
    }


def run_child(home: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), str(home), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def crash_everywhere(site: Site, template: Path, man: dict[str, Any]) -> int:
    """Kill a deploy of ``man`` (starting from ``template``) at boundary 1, 2, ... until one
    runs to the end; after each kill, rerun and check convergence. Returns the number of
    boundaries."""
    kill_at = 1
    while True:
        home = template.parent / f"{template.name}-kill-{kill_at}"
        shutil.copytree(template, home)
        (home / "manifest.yml").write_text(yaml.safe_dump(man))
        child = run_child(home, kill_at)
        if child.returncode == 0:
            assert "COMPLETED" in child.stdout, child.stdout + child.stderr
            return kill_at - 1
        assert child.returncode == -signal.SIGKILL, child.stderr
        async with Director(site.config_for(home)) as director:
            rerun = await director.deploy(
                await director.plan(await director.request_for(yaml.safe_dump(man)))
            )
            assert rerun.ok, (kill_at, rerun.failures)
            again = await director.plan(await director.request_for(yaml.safe_dump(man)))
            assert again.construction.remodels == (), (kill_at, again.construction.remodels)
            await site.consistent_in(director, "shop")
        shutil.rmtree(home)
        kill_at += 1


async def test_a_deploy_killed_at_any_step_boundary_converges_on_rerun(
    site: Site, tmp_path: Path
) -> None:
    # the template: stemcells uploaded, a cloud config stored, nothing deployed
    await site.director.__aexit__(None, None, None)
    first = tmp_path / "first"
    shutil.copytree(site.tmp_path, first, ignore=shutil.ignore_patterns("first", "*-kill-*"))
    boundaries = await crash_everywhere(site, first, small())
    assert boundaries > 20

    # then a stemcell bump over a deployed state: every VM replaced, disks moved
    deployed = tmp_path / "deployed"
    shutil.copytree(first, deployed)
    (deployed / "manifest.yml").write_text(yaml.safe_dump(small()))
    assert run_child(deployed, 10**6).returncode == 0
    boundaries = await crash_everywhere(site, deployed, small("2.0"))
    assert boundaries > 20


async def test_a_hot_swap_killed_at_any_step_boundary_converges_on_rerun(
    site: Site, tmp_path: Path
) -> None:
    """Killed between creating new VMs and swapping them in, a rerun adopts what was made
    (never creating twice, never leaking: bosh#2072), whatever the moment of the kill."""
    await site.director.__aexit__(None, None, None)
    deployed = tmp_path / "deployed"
    shutil.copytree(site.tmp_path, deployed, ignore=shutil.ignore_patterns("deployed*"))
    (deployed / "manifest.yml").write_text(yaml.safe_dump(small(strategy="hot_swap")))
    assert run_child(deployed, 10**6).returncode == 0
    boundaries = await crash_everywhere(site, deployed, small("2.0", strategy="hot_swap"))
    assert boundaries > 20
